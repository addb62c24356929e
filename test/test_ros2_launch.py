"""`ros2 launch` itself, as a user runs it: argument errors, a failing camera, Ctrl-C (exit codes and logs).

Needs `ros2` with ros2launch (ros2cli, launch, launch_ros: a ROS 2 install, not on PyPI) and this package built
with colcon and sourced; skipped with the reason where they are missing, as in `make test`'s venv. Static
transforms are started only where tf2_ros is installed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
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


def launch(processes, *arguments: str) -> subprocess.Popen[bytes]:
    tf = "true" if _tf_available() else "false"
    return processes.popen(
        ["ros2", "launch", "airo_mp_camera", *arguments, f"publish_tf:={tf}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as in a terminal
    )


def finish(process: subprocess.Popen[bytes], timeout: float = 60.0) -> str:
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate(timeout=10)
        raise AssertionError(f"ros2 launch still running after {timeout} s: {output.decode()[-3000:]}") from None
    return output.decode()


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
