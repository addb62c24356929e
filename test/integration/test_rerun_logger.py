"""The Rerun logger processes: real publisher, real logger process, the .rrd read back with the rerun SDK.

Images are stored uncompressed, so each logged image must be the synthetic camera's exact image and
carry, in its watermark, the frame id that the `frame_id` timeline gives it.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from airo_mp_camera import MultiprocessRGBDPublisher, MultiprocessRGBPublisher, SyntheticCamera
from airo_mp_camera.cameras import watermark
from airo_mp_camera.consumers import (
    ConsumerStartError,
    MissingDependencyError,
    MultiprocessRGBDRerunLogger,
    MultiprocessRGBRerunLogger,
)
from support.rerun_files import flat, image_of, read_rrd, rerun_chunk, values, wait_until_logged

RESOLUTION = (320, 240)
FPS = 30.0


def synthetic() -> dict[str, object]:
    return {"resolution": RESOLUTION, "fps": FPS}


def seconds(column: list[Any]) -> np.ndarray:
    """A timestamp column as seconds since the epoch."""
    return np.array([scalar.value for scalar in column], dtype=np.int64) / 1e9


def without_watermark(array: np.ndarray) -> np.ndarray:
    """The array with the watermarked head and tail elements cut off (flattened)."""
    flat = array.reshape(-1)
    cut = 8 if array.dtype == np.uint8 else 1
    return flat[cut:-cut]


def test_rgb_logger_writes_every_logged_frame_exactly_with_its_capture_time(
    namespace: str, processes, tmp_path: Path
) -> None:
    path = tmp_path / "camera.rrd"
    with MultiprocessRGBPublisher(SyntheticCamera, synthetic(), namespace) as publisher:
        processes.track(publisher.pid)
        logger = MultiprocessRGBRerunLogger(namespace, "test_app", rrd_path=path)
        started = time.time()
        logger.start()
        processes.track(logger.pid)
        wait_until_logged(logger, 20)
        logger.stop()
        stopped = time.time()
    assert logger.exitcode == 0 and logger.failure is None
    assert logger.frames_logged == logger.frames_received
    rows = read_rrd(path)
    rgb = rows["/camera/rgb"]
    assert len(rgb["Image:buffer"]) == logger.frames_logged
    assert rows["/camera/rgb#static"]["Pinhole:image_from_camera"], "the intrinsics were not logged"
    frame_ids, capture_times = values(rgb["frame_id"]), seconds(rgb["capture_time"])
    assert frame_ids == sorted(set(frame_ids)), "each frame logged once, in order"
    assert np.all(np.diff(capture_times) > 0)
    assert started - 1.0 < capture_times[0] and capture_times[-1] < stopped, "not the frames' capture times"
    assert len(frame_ids) + logger.frames_missed == frame_ids[-1] - frame_ids[0] + 1
    scene = SyntheticCamera(RESOLUTION).retrieve_rgb_image_as_int()
    for buffer, format_, frame_id in zip(rgb["Image:buffer"], rgb["Image:format"], frame_ids, strict=True):
        image = image_of(buffer, format_, np.uint8, 3)
        assert image.shape == (RESOLUTION[1], RESOLUTION[0], 3)
        assert watermark.matches(image, frame_id), "image logged under another frame's id"
        assert np.array_equal(without_watermark(image), without_watermark(scene))


def test_rgbd_logger_logs_depth_in_metres_and_the_colored_point_cloud(
    namespace: str, processes, tmp_path: Path
) -> None:
    path = tmp_path / "camera.rrd"
    with MultiprocessRGBDPublisher(SyntheticCamera, synthetic(), namespace, enable_pointcloud=True) as publisher:
        processes.track(publisher.pid)
        logger = MultiprocessRGBDRerunLogger(namespace, rrd_path=path, log_point_cloud=True, max_rate=10.0)
        logger.start()
        processes.track(logger.pid)
        wait_until_logged(logger, 8)
        logger.stop()
    assert logger.exitcode == 0 and logger.failure is None
    rows = read_rrd(path)
    logged = logger.frames_logged
    assert len(rows["/camera/rgb"]["Image:buffer"]) == logged
    depth, points = rows["/camera/depth"], rows["/camera/points"]
    assert len(depth["DepthImage:buffer"]) == logged
    assert len(points["Points3D:positions"]) == logged
    frame_ids = values(depth["frame_id"])
    assert frame_ids == values(points["frame_id"]) == values(rows["/camera/rgb"]["frame_id"])
    # max_rate: at most 10 frames per second of capture time (a frame is logged only 0.1 s after the last).
    times = seconds(depth["capture_time"])
    assert np.all(np.diff(times) >= 0.1 - 1e-6)
    assert all(meter == [1.0] for meter in values(depth["DepthImage:meter"]))
    camera = SyntheticCamera(RESOLUTION)
    depth_rows = zip(depth["DepthImage:buffer"], depth["DepthImage:format"], frame_ids, strict=True)
    for buffer, format_, frame_id in depth_rows:
        depth_map = image_of(buffer, format_, np.float32, 1)
        assert watermark.matches(depth_map, frame_id)
        assert np.array_equal(without_watermark(depth_map), without_watermark(camera.retrieve_depth_map()))
    cloud = camera.retrieve_colored_point_cloud()
    positions = flat(points["Points3D:positions"][0]).reshape(-1, 3)
    colors = flat(points["Points3D:colors"][0])
    assert positions.shape == (RESOLUTION[0] * RESOLUTION[1], 3)
    assert np.allclose(positions[1:-1], cloud.points[1:-1])
    assert cloud.colors is not None
    expected_rgba = (cloud.colors[:, 0].astype(np.uint32) << 24) | (cloud.colors[:, 1].astype(np.uint32) << 16)
    expected_rgba |= (cloud.colors[:, 2].astype(np.uint32) << 8) | 0xFF
    assert np.array_equal(colors[3:-3], expected_rgba[3:-3])


def test_rgbd_logger_without_depth_logs_rgb_only(namespace: str, processes, tmp_path: Path) -> None:
    path = tmp_path / "camera.rrd"
    with MultiprocessRGBDPublisher(SyntheticCamera, synthetic(), namespace) as publisher:
        processes.track(publisher.pid)
        with MultiprocessRGBDRerunLogger(namespace, rrd_path=path, log_depth=False) as logger:
            processes.track(logger.pid)
            wait_until_logged(logger, 3)
    rows = read_rrd(path)
    assert len(rows["/camera/rgb"]["Image:buffer"]) == logger.frames_logged
    assert "/camera/depth" not in rows and "/camera/points" not in rows


def test_point_cloud_from_a_publisher_without_one_fails_to_start_saying_so(
    namespace: str, processes, tmp_path: Path
) -> None:
    with MultiprocessRGBDPublisher(SyntheticCamera, synthetic(), namespace) as publisher:
        processes.track(publisher.pid)
        logger = MultiprocessRGBDRerunLogger(namespace, rrd_path=tmp_path / "camera.rrd", log_point_cloud=True)
        with pytest.raises(ConsumerStartError, match="SchemaMismatchError"):
            logger.start()
        processes.track(logger.pid)
        logger.join(10)
        assert not logger.is_alive()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_the_logger_still_leaves_a_complete_rrd(
    namespace: str, processes, tmp_path: Path, signum: int
) -> None:
    path = tmp_path / "camera.rrd"
    with MultiprocessRGBDPublisher(SyntheticCamera, synthetic(), namespace) as publisher:
        processes.track(publisher.pid)
        logger = MultiprocessRGBDRerunLogger(namespace, rrd_path=path)
        logger.start()
        processes.track(logger.pid)
        wait_until_logged(logger, 10)
        os.kill(logger.pid, signum)
        logger.join(30)
        assert not logger.is_alive(), "the logger did not exit on the signal"
    assert logger.exitcode == 0
    rows = read_rrd(path)
    assert len(rows["/camera/rgb"]["Image:buffer"]) == logger.frames_logged
    assert len(rows["/camera/depth"]["DepthImage:buffer"]) == logger.frames_logged
    # A complete file has its footer: the manifest-based reader opens it.
    assert rerun_chunk.RrdReader(path).store().summary()


def test_missing_rerun_is_one_clear_error_saying_how_to_install_it(
    namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rerun", None)  # what an absent package looks like to the import system
    with pytest.raises(MissingDependencyError, match=r"pip install 'rerun-sdk>=0\.23'"):
        MultiprocessRGBRerunLogger(namespace, rrd_path=tmp_path / "camera.rrd")
    with pytest.raises(MissingDependencyError, match=r"pip install 'rerun-sdk>=0\.23'"):
        MultiprocessRGBDRerunLogger(namespace, rrd_path=tmp_path / "camera.rrd")
