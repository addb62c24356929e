"""`ros2 launch` itself, as a user runs it: argument errors, a failing camera, Ctrl-C (exit codes and logs).

Needs `ros2` with ros2launch (ros2cli, launch, launch_ros: a ROS 2 install, not on PyPI) and this package built
with colcon and sourced; skipped with the reason where they are missing, as in `make test`'s venv. Static
transforms are started only where tf2_ros is installed. The web view's two-hosts test also needs root (network
namespaces: benchmarks/two_hosts.py) and rerun-sdk.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from airo_mp_camera.pipeline.frame_ring import segment_path


def _skip_reason() -> str | None:
    if shutil.which("ros2") is None:
        return "no `ros2` command (ros2cli is part of a ROS 2 install; not on PyPI)"
    if importlib.util.find_spec("ros2launch") is None or importlib.util.find_spec("launch_ros") is None:
        return "ros2launch/launch_ros are not installed (a ROS 2 install; not on PyPI)"
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    try:
        prefix = Path(get_package_prefix("airo_mp_camera"))
    except PackageNotFoundError:
        return "airo_mp_camera is not in the ament index: build it with colcon and source install/setup.bash"
    if not (prefix / "lib" / "airo_mp_camera" / "camera_node").exists():
        return "airo_mp_camera was not installed by colcon (no lib/airo_mp_camera/camera_node)"
    return None


ROOT = Path(__file__).resolve().parents[1]
SKIP_REASON = _skip_reason()
pytestmark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")


def _tf_available() -> bool:
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    try:
        get_package_prefix("tf2_ros")
    except PackageNotFoundError:
        return False
    return True


def camera() -> str:
    return f"test_launch_{uuid.uuid4().hex[:8]}"  # test_: the shared-memory check knows it as a test's


def launch_command(*arguments: str) -> list[str]:
    """`ros2 launch airo_mp_camera <arguments>`, with static transforms only where tf2_ros is installed."""
    tf = "true" if _tf_available() else "false"
    return ["ros2", "launch", "airo_mp_camera", *arguments, f"publish_tf:={tf}"]


def terminal() -> int:
    """The far end of a new pseudo-terminal, for a launch's stdin (its near end stays open while tests run).

    `ros2 launch` takes a run whose stdin is no terminal as non-interactive, and on Ctrl-C then sends SIGINT again
    to each process it started, on top of the one the terminal sent the whole group: Humble's C++
    static_transform_publisher, interrupted twice, dies with -2, logged as an error. A user's terminal is a tty.
    """
    near, far = os.openpty()
    _TERMINALS.append(near)
    return far


_TERMINALS: list[int] = []


def launch(processes, *arguments: str) -> subprocess.Popen[bytes]:
    far = terminal()
    try:
        return processes.popen(
            launch_command(*arguments),
            stdin=far,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as in a terminal
        )
    finally:
        os.close(far)


def finish(process: subprocess.Popen[bytes], timeout: float = 60.0, log: Path | None = None) -> str:
    """Waits for the launch to end and returns its output (piped, or written to `log`); SIGKILLs its group on
    timeout."""

    def text(output: bytes | None) -> str:
        return output.decode() if output is not None else log.read_text() if log is not None else ""

    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate(timeout=10)
        raise AssertionError(f"ros2 launch still running after {timeout} s: {text(output)[-3000:]}") from None
    return text(output)


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("enable_pointcloud:=ture", "launch argument enable_pointcloud:='ture' is invalid: expected true or false"),
        ("baseline:=abc", "launch argument baseline:='abc' is invalid: expected a number"),
        ("camera_type:=webcam", "launch argument camera_type:='webcam' is invalid: expected one of zed"),
        ("config_file:=/nonexistent.yaml", "config_file:=/nonexistent.yaml: no such parameters file"),
    ],
)
def test_a_wrong_argument_stops_the_launch_naming_it_before_anything_starts(
    processes, argument: str, message: str
) -> None:
    name = camera()
    process = launch(processes, "zed.launch.py", "camera_type:=synthetic", f"camera_name:={name}", argument)
    output = finish(process)
    assert process.returncode != 0, output
    assert message in output, output
    assert "process started" not in output, "a process was started before the arguments were checked"


def test_a_failing_camera_node_ends_the_launch_with_a_non_zero_code(processes) -> None:
    name = camera()  # serial_number is fine for the launch but the ZED is absent (no pyzed here)
    process = launch(processes, "zed.launch.py", "camera_type:=zed", f"camera_name:={name}")
    output = finish(process, timeout=90)
    assert process.returncode != 0, output
    assert f"camera_node '{name}' exited with code" in output, output
    assert not Path(segment_path(name)).exists()


def test_ctrl_c_stops_the_launch_cleanly_without_an_error(processes) -> None:
    name = camera()
    process = launch(processes, "synthetic.launch.py", f"camera_name:={name}")
    deadline = time.monotonic() + 60
    while not Path(segment_path(name)).exists():  # the camera runs
        assert process.poll() is None and time.monotonic() < deadline, finish(process, 10)
        time.sleep(0.2)
    time.sleep(3.0)  # the bridge is reading
    os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole foreground process group
    output = finish(process, timeout=30)
    assert process.returncode == 0, output
    assert "[ERROR]" not in output, output
    assert not Path(segment_path(name)).exists()


def test_web_view_from_ros2_launch_reaches_a_second_host_only_when_bound_to_the_network(tmp_path: Path) -> None:
    """`ros2 launch airo_mp_camera synthetic.launch.py web:=true web_bind:=<bind>` on simulated host A, probed from
    host B over the veth pair (benchmarks/two_hosts.py): bound to 127.0.0.1, B is refused on both of the viewer's
    ports while A gets the viewer; bound to 0.0.0.0, B gets it. Each time Ctrl-C (SIGINT to the launch's process
    group) ends the launch with 0 and no error, of ROS or of rerun (the logger flushes before its server stops),
    leaves no process in A's network namespace and no segment in A's /dev/shm; the namespaces are gone at the end.
    """
    sys.path.insert(0, str(ROOT))
    from web_viewer_probe import (
        check_reached_only_when_bound_to_the_network,
        probe_both,
        processes_in,
        shared_memory_in,
        wait_until_served,
    )

    from benchmarks.two_hosts import TwoHosts, missing_requirements, namespaces_gone

    reason = missing_requirements()
    if reason is not None:
        pytest.skip(f"two simulated hosts: {reason}")
    if importlib.util.find_spec("rerun") is None:
        pytest.skip("rerun-sdk is not installed (pip install rerun-sdk; it needs numpy >= 2)")
    port, grpc_port = 9191, 9876  # web_port:=9191; rerun.web.grpc_port's default (each host has its own ports)
    seen: dict[str, dict[str, dict[str, object]]] = {}
    ended: dict[str, tuple[int | None, str, list[str], list[str]]] = {}
    hosts = TwoHosts()
    try:
        assert hosts.b is not None
        for bind in ("127.0.0.1", "0.0.0.0"):
            log = tmp_path / f"launch-{bind}.log"
            arguments = (f"camera_name:={camera()}", "web:=true", f"web_bind:={bind}", f"web_port:={port}")
            far = terminal()
            with log.open("wb") as output:  # a file, not a pipe: nothing blocks on a full pipe while it runs
                process = hosts.a.popen(
                    launch_command("synthetic.launch.py", *arguments),
                    stdin=far,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group, as in a terminal
                )
            os.close(far)
            try:
                wait_until_served(hosts.a, process, port, grpc_port, f"ros2 launch (web_bind:={bind})")
                seen[bind] = probe_both(hosts, port, grpc_port)
            except AssertionError as error:
                raise AssertionError(f"{error}\n{log.read_text()[-3000:]}") from None
            finally:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole foreground group
                text = finish(process, timeout=30, log=log)
            deadline = time.monotonic() + 10.0  # the launch waited for its nodes; their children may lag a moment
            while processes_in(hosts.a) and time.monotonic() < deadline:
                time.sleep(0.2)
            ended[bind] = (process.returncode, text, processes_in(hosts.a), shared_memory_in(hosts.a))
    finally:
        hosts.close()
    assert namespaces_gone(hosts), "a namespace or the veth pair outlived the test"
    check_reached_only_when_bound_to_the_network(seen)
    for bind, (code, text, left, shm) in ended.items():
        assert code == 0, f"web_bind:={bind}: exit {code}\n{text[-3000:]}"
        assert "ERROR" not in text, f"web_bind:={bind}:\n{text[-3000:]}"  # ROS's [ERROR] and rerun's own
        assert "took not all frames" not in text, f"web_bind:={bind}: the server went before the logger\n{text}"
        assert "to the web viewer (open http://" in text, f"web_bind:={bind}: no web viewer line\n{text[-3000:]}"
        assert not left, f"web_bind:={bind}: still running in host A after Ctrl-C: {left}"
        assert not [name for name in shm if name.startswith("airo_mp_camera.")], f"web_bind:={bind}: {shm}"
