"""The remote-facing bridge as a child process of camera_node, and the host's network checks.

Consumers on other machines get their own bridge: one more shared-memory receiver, in its own process,
with its own rclpy context, DDS participant and writers, publishing compressed streams under
`/<camera>/remote/`. A slow or congested link can then back up only that process's writers; the camera
process, the native receivers and the local bridge's writers never wait for it.

`RemoteBridgeProcess` starts it as `remote_bridge_node` (ros/remote_bridge_node.py), node `remote` in the camera
node's namespace, stops it by pid on every path (it also dies with its parent: PR_SET_PDEATHSIG plus a parent-pid
check), and restarts it a bounded number of times if it dies. That is what a camera node started alone does; the
launch files start the remote bridge as a sibling node instead (with `respawn`) and tell the camera node so
(`REMOTE_BRIDGE_SIBLING_ENV`).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airo_mp_camera.ros.discovery import with_discovery_range
from airo_mp_camera.ros.fastdds_profiles import versioned_profile, with_profile
from airo_mp_camera.ros.link_pacing import PUBLICATION_MODE_ENV

logger = logging.getLogger(__name__)

PARENT_PID_ENV = "AIRO_MP_CAMERA_PARENT_PID"
REMOTE_BRIDGE_SIBLING_ENV = "AIRO_MP_CAMERA_REMOTE_BRIDGE_SIBLING"
"""Set (to 1) on a camera node whose remote bridge the launch file starts beside it: it starts no child of its own."""
MAX_REMOTE_RESTARTS = 3
_PR_SET_PDEATHSIG = 1
_SOCKET_BUFFER_SYSCTLS = {"receive": "net.core.rmem_max", "send": "net.core.wmem_max"}
REMOTE_PROFILES = {"udp": "fastdds_remote_udp.xml", "large_data": "fastdds_multi_host.xml"}
"""The package's Fast DDS profile (in config/) of the remote bridge, by `remote.transport`.

udp: plain RTPS over UDP, tuned on the sending side only, so a subscriber with stock settings (Fast DDS with
no profile file, Cyclone DDS) receives it. large_data: Fast DDS's large-data mode (TCP for data), which only a
subscriber with the same mode can receive."""


def remote_profile(transport: str, fastdds_profile: str = "") -> str:
    """The remote bridge's Fast DDS profile: `fastdds_profile` if given, else the package's for `transport`."""
    return fastdds_profile or versioned_profile(package_config(REMOTE_PROFILES[transport]))


def package_config(name: str) -> str:
    """Path of a file in the package's config/ (installed share directory, else the source tree)."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

        try:
            installed = Path(get_package_share_directory("airo_mp_camera")) / "config" / name
            if installed.is_file():
                return str(installed)
        except PackageNotFoundError:
            pass
    except ImportError:
        pass
    return str(Path(__file__).resolve().parents[2] / "config" / name)


class RemoteBridgeProcess:
    """`remote_bridge_node`, started, watched and stopped by camera_node.

    Args:
        parameters: the child's parameter values (bridge and remote.* parameters; remote.enable is set here).
        namespace: the ROS namespace of the child's node (the camera node's fully qualified name).
        fastdds_profile: the child's Fast DDS profile file (FASTDDS_DEFAULT_PROFILES_FILE; 2.x: FASTRTPS_...).
        discovery_range: the child's discovery range (`with_discovery_range`; SYSTEM_DEFAULT: the distro's).
        paced_profile: the XML text of a profile to give the child instead of `fastdds_profile` (written to a
            file of its own while the child runs, with rmw_fastrtps told to apply its publication mode: see
            ros/link_pacing.py); None: `fastdds_profile` as it is.
        node_name: the child's node name (its topics: <namespace>/<node_name>/...).
    """

    def __init__(
        self,
        parameters: Mapping[str, Any],
        namespace: str,
        fastdds_profile: str,
        discovery_range: str,
        paced_profile: str | None = None,
        node_name: str = "remote",
    ) -> None:
        self.parameters = {**parameters, "remote.enable": True}
        self.namespace = namespace
        self.node_name = node_name
        self.fastdds_profile = fastdds_profile
        self.discovery_range = discovery_range
        self.paced_profile = paced_profile
        self.restarts = 0
        self.error: str | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._params_file: str | None = None
        self._profile_file: str | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def label(self) -> str:
        """What logs and /diagnostics call it: "remote bridge", and its node name if that is not the default."""
        return "remote bridge" if self.node_name == "remote" else f"remote bridge {self.node_name}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Starts the child (its output goes to the parent's stdout and stderr)."""
        with self._lock:
            parameters = json.dumps({"/**": {"ros__parameters": self.parameters}})  # JSON is YAML
            path = self._params_file = _temporary_file(".yaml", parameters)
            profile = self.fastdds_profile
            if self.paced_profile is not None:
                profile = self._profile_file = _temporary_file(".xml", self.paced_profile)
            env = with_profile(os.environ, profile)  # Fast DDS 2.x reads FASTRTPS_DEFAULT_PROFILES_FILE
            if self.paced_profile is not None:
                env.update(PUBLICATION_MODE_ENV)
            env = with_discovery_range(env, self.discovery_range)  # Humble: ROS_LOCALHOST_ONLY
            env[PARENT_PID_ENV] = str(os.getpid())
            args = [
                sys.executable,
                "-m",
                "airo_mp_camera.ros.remote_bridge_node",
                "--ros-args",
                "-r",
                f"__node:={self.node_name}",
                "-r",
                f"__ns:={self.namespace}",
                "--params-file",
                path,
            ]
            self.process = subprocess.Popen(args, env=env)
            logger.info("%s started (pid %d)", self.label, self.process.pid)

    def watch(self) -> str | None:
        """Restarts the child if it died (at most MAX_REMOTE_RESTARTS times); returns a message if it did."""
        process = self.process
        if process is None or process.poll() is None:
            return None
        code = process.returncode
        self._remove_temporary_files()
        if code == 2:  # bad parameters: restarting cannot help
            self.error = f"{self.label} exited: invalid parameters (see its log)"
            self.process = None
            return self.error
        if self.restarts >= MAX_REMOTE_RESTARTS:
            self.error = f"{self.label} exited with code {code}; gave up after {MAX_REMOTE_RESTARTS} restarts"
            self.process = None
            return self.error
        self.restarts += 1
        self.error = f"{self.label} exited with code {code}; restarted ({self.restarts}/{MAX_REMOTE_RESTARTS})"
        self.start()
        return self.error

    def stop(self, timeout: float = 5.0) -> None:
        """SIGINT, then SIGTERM, then SIGKILL, by pid, each after `timeout` s."""
        with self._lock:
            process = self.process
            self.process = None
            if process is not None and process.poll() is None:
                for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
                    try:
                        process.send_signal(sig)
                        process.wait(timeout)
                        break
                    except subprocess.TimeoutExpired:
                        logger.warning("%s (pid %d) did not stop after signal %d", self.label, process.pid, sig)
                    except ProcessLookupError:
                        break
            self._remove_temporary_files()

    def _remove_temporary_files(self) -> None:
        for path in (self._params_file, self._profile_file):
            if path is not None:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
        self._params_file = self._profile_file = None


def _temporary_file(suffix: str, text: str) -> str:
    """A new file in the temporary directory holding `text` (the child's parameters or profile); its path."""
    handle, path = tempfile.mkstemp(prefix="airo_mp_camera_remote_", suffix=suffix)
    with os.fdopen(handle, "w") as file:
        file.write(text)
    return path


def die_with_parent() -> None:
    """In the remote bridge child: SIGTERM when the parent camera_node dies, even by SIGKILL (Linux)."""
    parent = os.environ.get(PARENT_PID_ENV)
    if not parent:
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != int(parent):  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def parent_gone() -> bool:
    """In the remote bridge child: whether the parent that started it is gone (a backstop to PDEATHSIG)."""
    parent = os.environ.get(PARENT_PID_ENV)
    return bool(parent) and os.getppid() != int(parent or 0)


def lower_priority(niceness: int) -> None:
    """Raises the niceness of every thread of this process (DDS threads included) to at least `niceness`."""
    for task in os.listdir("/proc/self/task"):
        try:
            tid = int(task)
            if os.getpriority(os.PRIO_PROCESS, tid) < niceness:
                os.setpriority(os.PRIO_PROCESS, tid, niceness)
        except (OSError, ValueError):
            pass


def socket_buffer_limits() -> dict[str, int]:
    """The kernel's caps on socket buffers, from /proc/sys/net/core (bytes); empty where unreadable."""
    limits = {}
    for sysctl in _SOCKET_BUFFER_SYSCTLS.values():
        try:
            limits[sysctl] = int(Path("/proc/sys", *sysctl.split(".")).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return limits


def profile_socket_buffers(profile: str) -> dict[str, int]:
    """The largest UDP socket buffer sizes a Fast DDS XML profile asks for (bytes), by sysctl that caps them."""
    import xml.etree.ElementTree as ElementTree

    asked: dict[str, int] = {}
    try:
        root = ElementTree.parse(profile).getroot()
    except (OSError, ElementTree.ParseError):
        return asked
    wmem, rmem = "net.core.wmem_max", "net.core.rmem_max"
    tags = {
        "sendBufferSize": (wmem,),
        "sendSocketBufferSize": (wmem,),
        "receiveBufferSize": (rmem,),
        "listenSocketBufferSize": (rmem,),
    }
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        sizes = []
        if tag in tags and element.text and element.text.strip().isdigit():
            sizes = [(sysctl, int(element.text.strip())) for sysctl in tags[tag]]
        elif tag == "builtinTransports" and element.get("sockets_size", "").strip().isdigit():
            sizes = [(sysctl, int(element.get("sockets_size", "0"))) for sysctl in (wmem, rmem)]
        for sysctl, size in sizes:
            asked[sysctl] = max(asked.get(sysctl, 0), size)
    return asked


def socket_buffer_warnings(profile: str) -> list[str]:
    """One warning per sysctl that caps a socket buffer below what `profile` asks for."""
    limits = socket_buffer_limits()
    warnings = []
    for sysctl, wanted in sorted(profile_socket_buffers(profile).items()):
        limit = limits.get(sysctl)
        if limit is not None and limit < wanted:
            warnings.append(
                f"the Fast DDS profile {profile} asks for {wanted} byte socket buffers but the kernel caps them at "
                f"{limit} ({sysctl}); large messages to other machines will be lost and resent. "
                f"Raise it: sudo sysctl -w {sysctl}={wanted}"
            )
    return warnings
