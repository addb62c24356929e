"""The README's workspace install, run as written on ROS 2 Humble, in a fresh workspace and a fresh venv.

`test_the_readme_workspace_install_runs_as_written_on_humble` takes the bash block after the README's
`<!-- test: workspace-install -->` marker and runs it in one bash, in a workspace under a temporary HOME, with:
- a fresh venv from `.venv-humble`'s base interpreter (pyenv's CPython 3.10.13) standing for Ubuntu 22.04's
  Python: only what Humble's own tools need (numpy 1.21.5, colcon, empy 3, ...), not airo-ipc: the README's pip
  step must bring it;
- Humble's setup.bash sourced (the Humble root is the AMENT_PREFIX_PATH entry with a setup.bash beside its `lib`,
  as `tools/humble` exports it), as a Humble user's terminal has it;
- two lines replaced: `git clone <this repository> ...` by a copy of the tracked files as committed (what a clone
  gives), and `rosdep install ...` by nothing where rosdep is not installed (it is not on these machines; the fresh
  venv already has numpy and PyYAML, and the synthetic camera's raw topics need nothing else rosdep would bring).
The block's last line, `ros2 launch airo_mp_camera synthetic.launch.py`, runs until the camera's rgb topic reaches
a real rclpy subscription in this process; then Ctrl-C (SIGINT to the block's process group, as a terminal sends
it) must end it with 0, leaving no process, and none of the shared memory camera_node and its processes owned.

pip needs the package registry. `tools/humble` runs tests as root in a private network namespace with only
loopback (so DDS cannot leave the host); there the install's pip (and only pip, through HTTPS_PROXY) reaches the
registry through `RegistryRelay`, an HTTPS CONNECT relay whose outgoing connections are made from the network
namespace tools/humble was started from (the nearest ancestor process's outside this one). Elsewhere pip connects
directly.
"""

from __future__ import annotations

import ctypes
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- test: workspace-install -->"
SHM_DIR = Path("/dev/shm")
# What Humble's own Python tools import (../shared/ros-humble/README.md, "Use"), and colcon: a Humble machine's
# python3 with ROS 2 and colcon installed from apt. Pinned as .venv-humble is (constraints-humble.txt).
HUMBLE_TOOLS = (
    "numpy==1.21.5",
    "pyyaml",
    "lark",
    "empy==3.3.4",
    "catkin_pkg",
    "netifaces",
    "psutil",
    "packaging",
    "argcomplete",
    "colcon-common-extensions",
)
# Environment variables kept from the test's own: locale, and DDS confined to loopback (tools/isolated).
KEPT = ("LANG", "LC_ALL", "TERM", "ROS_LOCALHOST_ONLY", "ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_DOMAIN_ID")
KEPT_PREFIXES = ("PIP_", "CYCLONEDDS_", "RMW_")
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
INSTALL_DEADLINE_S = 1200.0  # pip, colcon build and the launch up to the first messages, on a loaded 2-core machine
REGISTRY = ("pypi.org", 443)
CLONE_NEWNET = 0x40000000


def readme_install_block() -> list[str]:
    """The lines of the fenced block right after the README's marker."""
    text = (ROOT / "README.md").read_text()
    assert text.count(MARKER) == 1, f"README.md must have exactly one {MARKER}"
    after = text.split(MARKER, 1)[1].lstrip("\n")
    match = re.match(r"```bash\n(.*?)\n```", after, re.DOTALL)
    assert match is not None, f"no ```bash block right after {MARKER} in README.md"
    return match.group(1).splitlines()


def _requirement_names(lines: list[str]) -> set[str]:
    names = set()
    for line in lines:
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            names.add(re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_the_readme_block_is_the_install_the_test_runs() -> None:
    block = readme_install_block()
    assert sum(line.startswith("git clone ") for line in block) == 1
    assert any(line.startswith("rosdep install --from-paths src") for line in block)
    assert "python3 -m pip install -r src/airo_mp_camera/requirements-ros.txt" in block
    assert any(line.startswith("colcon build") for line in block)
    assert "source install/setup.bash" in block
    assert block[-1] == "ros2 launch airo_mp_camera synthetic.launch.py"


def test_requirements_ros_is_what_setup_py_needs_beyond_the_rosdep_keys_of_package_xml() -> None:
    """Every install requirement of setup.py is a rosdep key of package.xml or in requirements-ros.txt, and the
    file asks for nothing setup.py does not declare (install_requires, or the `replay` extra the node's
    camera_type:=replay needs)."""
    setup = (ROOT / "setup.py").read_text()
    install_requires = re.search(r"install_requires=\[(.*?)\]", setup, re.DOTALL)
    replay = re.search(r'"replay": \[(.*?)\]', setup)
    assert install_requires is not None and replay is not None
    declared = _requirement_names(re.findall(r'"([^"]+)"', install_requires.group(1)))
    extra = _requirement_names(re.findall(r'"([^"]+)"', replay.group(1)))
    package_xml = (ROOT / "package.xml").read_text()
    from_rosdep = {"numpy": "python3-numpy", "pyyaml": "python3-yaml"}
    for name, key in from_rosdep.items():
        assert f">{key}</exec_depend>" in package_xml, f"{name}: package.xml does not declare {key}"
    listed = _requirement_names((ROOT / "requirements-ros.txt").read_text().splitlines())
    assert listed == (declared - set(from_rosdep)) | extra, listed


def _humble_root() -> Path | None:
    """The Humble install on AMENT_PREFIX_PATH: the entry with a setup.bash beside its lib and bin/ros2."""
    for entry in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        root = Path(entry)
        if entry and (root / "setup.bash").is_file() and (root / "lib").is_dir() and (root / "bin" / "ros2").exists():
            return root
    return None


def _skip_reason() -> str | None:
    if os.environ.get("ROS_DISTRO") != "humble" or _humble_root() is None:
        return "ROS 2 Humble is not sourced (run through tools/humble: ../shared/ros-humble)"
    if shutil.which("ros2") is None or shutil.which("colcon") is None:
        return "no `ros2` or `colcon` command (tools/humble provides both)"
    if sys.version_info[:2] != (3, 10):
        return "not Humble's Python 3.10 (tools/humble runs .venv-humble)"
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return "not a git checkout: the tracked files stand for the clone"
    return None


def _enter_namespace(fd: int) -> None:
    """Moves the calling thread (only) into the network namespace `fd` refers to."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


class RegistryRelay:
    """An HTTPS proxy on 127.0.0.1 (HTTP CONNECT to port 443 only) whose outgoing connections are made from the
    network namespace `namespace_path` names; each connection is relayed by a thread of its own, which alone
    enters that namespace."""

    def __init__(self, namespace_path: str) -> None:
        self._namespace = os.open(namespace_path, os.O_RDONLY)
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def reaches(self, address: tuple[str, int], timeout: float) -> bool:
        """Whether a connection to `address` made from the namespace succeeds."""
        reached: list[bool] = []

        def attempt() -> None:
            try:
                _enter_namespace(self._namespace)
                socket.create_connection(address, timeout=timeout).close()
                reached.append(True)
            except OSError:
                reached.append(False)

        thread = threading.Thread(target=attempt, daemon=True)
        thread.start()
        thread.join(timeout + 5.0)
        return reached == [True]

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._relay, args=(client,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _track(self, connection: socket.socket) -> socket.socket:
        with self._lock:
            self._open.add(connection)
        return connection

    def _relay(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            self._track(client).settimeout(30.0)
            request = b""
            while b"\r\n\r\n" not in request and len(request) < 65536:
                chunk = client.recv(4096)
                if not chunk:
                    return
                request += chunk
            head, rest = request.split(b"\r\n\r\n", 1)
            method, target = (head.split(b"\r\n", 1)[0].decode("latin-1").split() + ["", ""])[:2]
            host, _, port = target.rpartition(":")
            if method != "CONNECT" or port != "443" or not host:
                client.sendall(b"HTTP/1.1 403 Forbidden\r\n\r\n")
                return
            _enter_namespace(self._namespace)
            upstream = self._track(socket.create_connection((host.strip("[]"), 443), timeout=30.0))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            peers = {client: upstream, upstream: client}
            while not self._stop.is_set():
                readable, _, _ = select.select(list(peers), [], [], 1.0)
                for connection in readable:
                    data = connection.recv(65536)
                    if not data:
                        return
                    peers[connection].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for connection in (client, upstream):
                if connection is not None:
                    connection.close()
                    with self._lock:
                        self._open.discard(connection)

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        with self._lock:
            for connection in self._open:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for thread in self._threads:
            thread.join(5.0)
        os.close(self._namespace)


def _reaches_directly(address: tuple[str, int], timeout: float) -> bool:
    try:
        socket.create_connection(address, timeout=timeout).close()
    except OSError:
        return False
    return True


def _outer_network_namespace() -> str | None:
    """The network namespace of the nearest ancestor process outside this one's (where tools/humble was started),
    or None when every ancestor below pid 1 shares this process's."""
    own = os.stat("/proc/self/ns/net").st_ino
    pid = os.getppid()
    while pid > 1:
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino != own:
                return f"/proc/{pid}/ns/net"
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return None
    return None


@contextmanager
def registry_access() -> Iterator[dict[str, str]]:
    """Environment variables with which pip reaches the package registry from here (none when it does already)."""
    if _reaches_directly(REGISTRY, timeout=10.0):
        yield {}
        return
    outer = _outer_network_namespace()
    if outer is None:
        pytest.skip(f"the package registry ({REGISTRY[0]}) is not reachable from here: pip cannot install")
    try:
        relay = RegistryRelay(outer)
    except OSError as error:
        pytest.skip(f"{REGISTRY[0]} is not reachable from this network namespace and {outer} cannot be used: {error}")
    try:
        if not relay.reaches(REGISTRY, timeout=15.0):
            pytest.skip(f"the package registry ({REGISTRY[0]}) is not reachable from here: pip cannot install")
        yield {"HTTPS_PROXY": relay.url, "https_proxy": relay.url}
    finally:
        relay.close()


def _export_committed(destination: Path) -> None:
    """The tracked files as committed (HEAD), which is what `git clone` gives."""
    destination.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=ROOT, capture_output=True, timeout=60)
    assert archive.returncode == 0, archive.stderr.decode()
    subprocess.run(["tar", "-x", "-C", str(destination)], input=archive.stdout, check=True, timeout=60)


def _script(block: list[str], staged: Path) -> str:
    lines = []
    for line in block:
        if line.startswith("git clone "):
            # The clone's directory name is the line's last word; the tracked files stand for the clone.
            lines.append(f"cp -a {staged} {line.split()[-1]}")
        elif line.startswith("rosdep ") and shutil.which("rosdep") is None:
            lines.append(f"# (not installed here) {line}")  # rosdep is not on these machines: nothing runs
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _descendants(root: int) -> dict[int, str]:
    """Every living process below `root` (by parent pid), with its start time (a reused pid is another process)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                start = _start_time(pid)
                if start is not None:
                    found[pid] = start
                    frontier.append(pid)
    return found


def _command(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return str(pid)
    return f"{pid} {command.strip()}"


def _alive(processes: dict[int, str]) -> list[str]:
    left = []
    for pid, start in processes.items():
        if _start_time(pid) == start:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state != "Z":
                left.append(_command(pid))
    return left


def _owned_shared_memory(pids: list[int]) -> dict[Path, int]:
    """The /dev/shm files the processes own: what they have open or mapped, but of Fast DDS's only the segments
    whose lock file (`<segment>_el`) they hold; a participant also maps its peers' segments, which are not its own.
    Fast DDS's port segments (`fastrtps_port<n>`, `fastdds_port<n>`) are left for the next participant on the
    port by design, and are not counted. Each file with the pid that owns it."""
    owned: dict[Path, int] = {}
    for pid in pids:
        try:
            opened = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
            maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
        except OSError:
            continue
        mapped = [fields[5] for fields in (line.split(maxsplit=5) for line in maps) if len(fields) == 6]
        for path in opened + mapped:
            path = path.removesuffix(" (deleted)")
            name = Path(path).name
            if not path.startswith("/dev/shm/") or "_port" in name:
                continue
            if name.endswith("_el"):
                owned.update({Path(path): pid, Path(path.removesuffix("_el")): pid})
            elif not name.startswith(("fastrtps_", "fastdds_")):
                owned[Path(path)] = pid
    return owned


def _kill_all(group: int, processes: dict[int, str]) -> None:
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for pid, start in processes.items():
        if _start_time(pid) == start:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.mark.slow
@pytest.mark.timeout(INSTALL_DEADLINE_S + 300)
def test_the_readme_workspace_install_runs_as_written_on_humble(processes, tmp_path: Path) -> None:
    reason = _skip_reason()
    if reason is not None:
        pytest.skip(reason)
    if (SHM_DIR / "airo_mp_camera.camera").exists():
        pytest.skip("another program on this machine uses the synthetic launch's default namespace 'camera'")
    from sensor_msgs.msg import Image

    from support.ros_support import subscriber

    humble = _humble_root()
    assert humble is not None
    home = tmp_path / "home"
    home.mkdir()
    staged = tmp_path / "clone"
    _export_committed(staged)
    block_script = tmp_path / "install.sh"
    block_script.write_text(_script(readme_install_block(), staged))
    real_home = Path(os.environ.get("HOME", str(Path.home())))
    env = {key: value for key, value in os.environ.items() if key in KEPT or key.startswith(KEPT_PREFIXES)}
    env.update(
        HOME=str(home),  # the README's ~/ros2_ws
        PATH=SYSTEM_PATH,
        XDG_CACHE_HOME=os.environ.get("XDG_CACHE_HOME", str(real_home / ".cache")),  # pip's cache and settings
        XDG_CONFIG_HOME=os.environ.get("XDG_CONFIG_HOME", str(real_home / ".config")),
        PYTHONUNBUFFERED="1",
    )
    venv = tmp_path / "venv"
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    log = tmp_path / "install.log"
    with registry_access() as proxy:
        env.update(proxy)
        subprocess.run([str(base), "-m", "venv", str(venv)], check=True, timeout=120, env=env)
        tools = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints-humble.txt")]
            + list(HUMBLE_TOOLS),
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )
        assert tools.returncode == 0, tools.stdout[-3000:] + tools.stderr[-3000:]
        check = "import airo_ipc"
        without = subprocess.run([str(venv / "bin" / "python"), "-c", check], capture_output=True, timeout=60)
        assert without.returncode != 0, "the fresh venv has airo_ipc before the README's pip step"
        wrapper = (
            f'set -e\nsource {venv}/bin/activate\nsource {humble}/setup.bash\ncd "$HOME"\nsource {block_script}\n'
        )
        with log.open("wb") as output:  # a file, not a pipe: nothing blocks on a full pipe
            process = processes.popen(
                ["bash", "-c", wrapper],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=home,
                start_new_session=True,  # its own process group, as a terminal's foreground job
            )
        seen: dict[int, str] = {}
        owned: dict[Path, int] = {}
        commands: dict[int, str] = {}
        try:
            with subscriber() as probe:
                probe.subscribe(Image, "/camera/rgb/image_raw", keep=False)
                deadline = time.monotonic() + INSTALL_DEADLINE_S
                while probe.count("/camera/rgb/image_raw") < 5:
                    seen.update(_descendants(process.pid))
                    assert process.poll() is None, (
                        f"the install ended with {process.returncode}:\n" + (log.read_text()[-5000:])
                    )
                    assert time.monotonic() < deadline, (
                        f"no rgb messages in {INSTALL_DEADLINE_S:.0f} s:\n" + (log.read_text()[-5000:])
                    )
                    time.sleep(0.5)
                seen.update(_descendants(process.pid))
                commands = {pid: _command(pid) for pid in seen}
                # The package's processes: camera_node and everything it started. Humble's static_transform_publisher
                # (rclcpp) dies of a second SIGINT that comes during its shutdown (a terminal's Ctrl-C reaches it, and
                # launch sends one more) before it removes its Fast DDS segment: rclcpp's, not checked here.
                nodes = [pid for pid, command in commands.items() if "/lib/airo_mp_camera/camera_node" in command]
                assert nodes, f"no camera_node among {sorted(commands.values())}"
                owned = _owned_shared_memory([pid for node in nodes for pid in (node, *_descendants(node))])
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"still running 60 s after Ctrl-C:\n{log.read_text()[-5000:]}") from None
            deadline = time.monotonic() + 10.0  # the launch waited for its nodes; their children may lag a moment
            while _alive(seen) and time.monotonic() < deadline:
                time.sleep(0.2)
            left = _alive(seen)
        finally:
            _kill_all(process.pid, seen)
    text = log.read_text()
    assert process.returncode == 0, f"exit {process.returncode} after Ctrl-C:\n{text[-5000:]}"
    assert not left, f"still running after Ctrl-C: {left}"
    assert any(path.name.startswith("fastrtps_") for path in owned), f"no Fast DDS segment seen: {sorted(owned)}"
    assert SHM_DIR / "airo_mp_camera.camera" in owned, f"the camera's segment was not seen: {sorted(owned)}"
    left_behind = {str(path): commands.get(pid, str(pid)) for path, pid in owned.items() if path.exists()}
    assert not left_behind, f"left in /dev/shm (file: its owner): {left_behind}"
    assert not (SHM_DIR / "airo_mp_camera.camera").exists()
    numpy = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import numpy, airo_ipc; print(numpy.__version__)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert numpy.stdout.strip() == "1.21.5", f"the README's pip step changed Humble's numpy: {numpy}"
