"""Bags as the drivers record them (zed-ros2-wrapper 4.x/5.x, realsense-ros, this package's compressed
topics, ROS 1 .bag files, other names by mapping) replayed by ReplayCamera, in this process and through a
real publisher process into a shared-memory receiver. The bags are written in each test's tmp dir
(test/support/driver_bags.py); what was written is what must come back.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from airo_mp_camera import (
    MultiprocessRGBDPublisher,
    MultiprocessRGBDReceiver,
    MultiprocessRGBPublisher,
    MultiprocessRGBReceiver,
    MultiprocessStereoRGBDPublisher,
    MultiprocessStereoRGBDReceiver,
)
from airo_mp_camera.cameras.bag_layouts import BagLayoutError
from airo_mp_camera.cameras.errors import EndOfRecordingError
from airo_mp_camera.cameras.image_decoding import decode_depth, decode_rgb
from airo_mp_camera.cameras.replay import ReplayCamera
from airo_mp_camera.pipeline.errors import PublisherStartError
from support.driver_bags import (
    BASELINE,
    FRAMES,
    HEIGHT,
    IMAGE,
    INFO,
    ROS2,
    START_NS,
    WIDTH,
    WrittenBag,
    WrittenFrame,
    _BagWriter,
    intrinsics,
    write_custom,
    write_own,
    write_realsense,
    write_two_cameras,
    write_zed,
)

# 32FC1 through compressedDepth (inverse depth, A = z0 (z0 + 1) = 10100 with the plugin's defaults): a depth d
# comes back as d' with d <= d' < d + d^2 / (A - d).
_INVERSE_DEPTH_A = 100.0 * 101.0


def assert_depth_equal(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_array_equal(actual[~np.isnan(actual)], expected[~np.isnan(expected)])


def assert_frame(camera: object, written: WrittenFrame, bag: WrittenBag, *, depth: bool = True) -> None:
    """Every stream the frame has, exactly as written."""
    np.testing.assert_array_equal(camera.retrieve_rgb_image_as_int(), written.rgb)  # type: ignore[attr-defined]
    np.testing.assert_allclose(camera.intrinsics_matrix(), bag.intrinsics)  # type: ignore[attr-defined]
    if depth and written.depth is not None:
        assert_depth_equal(camera.retrieve_depth_map(), written.depth)  # type: ignore[attr-defined]


def write(kind: str, tmp_path: Path) -> WrittenBag:
    if kind == "zed 4.x":
        return write_zed(tmp_path / "zed4", 4)
    if kind == "zed 5.x":
        return write_zed(tmp_path / "zed5", 5)
    if kind == "zed 4.x, ROS 1":
        return write_zed(tmp_path / "zed4.bag", 4, ros1=True)
    if kind == "realsense":
        return write_realsense(tmp_path / "realsense")
    if kind == "realsense, ROS 1":
        return write_realsense(tmp_path / "realsense.bag", ros1=True)
    raise AssertionError(kind)


LAYOUT_OF = {
    "zed 4.x": "zed-ros2-wrapper 4.x",
    "zed 5.x": "zed-ros2-wrapper 5.x",
    "zed 4.x, ROS 1": "zed-ros2-wrapper 4.x",
    "realsense": "realsense-ros 4.x",
    "realsense, ROS 1": "realsense-ros 4.x",
}


@pytest.mark.parametrize("kind", list(LAYOUT_OF))
def test_a_driver_bag_is_recognised_and_every_frame_comes_back_as_written(kind: str, tmp_path: Path) -> None:
    bag = write(kind, tmp_path)
    camera = ReplayCamera(str(bag.path), rate=0, loop=False, restamp=False)
    assert camera.layout == LAYOUT_OF[kind]
    assert camera.resolution == (WIDTH, HEIGHT)
    assert camera.fps == pytest.approx(10.0)
    for written in bag.frames:
        camera.grab_images()
        assert camera.capture_timestamp == pytest.approx(written.stamp_ns / 1e9, abs=1e-6)
        assert_frame(camera, written, bag)
        cloud = camera.retrieve_colored_point_cloud()
        assert written.points is not None
        # ZED clouds are recorded in the body frame (x forward) and come back in the optical frame
        np.testing.assert_array_equal(cloud.points, written.points)
        np.testing.assert_array_equal(cloud.colors, written.colors)
        if written.right is not None:
            np.testing.assert_array_equal(camera.retrieve_rgb_image_as_int("right"), written.right)
            np.testing.assert_array_equal(camera.retrieve_confidence_map(), written.confidence)
            np.testing.assert_allclose(camera.intrinsics_matrix("right"), bag.right_intrinsics)
            assert camera.pose_of_right_view_in_left_view[0, 3] == pytest.approx(BASELINE)
    with pytest.raises(EndOfRecordingError):
        camera.grab_images()
    camera.close()


@pytest.mark.parametrize("kind", ["zed 4.x", "zed 5.x, ROS 1"])
def test_a_zed_bag_plays_through_a_publisher_process_into_a_stereo_receiver(
    kind: str, tmp_path: Path, namespace: str, processes
) -> None:
    ros1 = kind.endswith("ROS 1")
    bag = write_zed(tmp_path / ("zed.bag" if ros1 else "zed"), 5 if "5.x" in kind else 4, ros1=ros1)
    kwargs = {"bag_path": str(bag.path), "rate": 1.0, "loop": True, "restamp": False}
    with MultiprocessStereoRGBDPublisher(
        ReplayCamera, kwargs, namespace, enable_pointcloud=True, enable_confidence=True
    ) as publisher:
        processes.track(publisher.pid)
        with MultiprocessStereoRGBDReceiver(namespace, enable_pointcloud=True, enable_confidence=True) as receiver:
            receiver.grab_images(timeout=10.0)
            written = bag.frames[(receiver.frame_id - 1) % FRAMES]
            assert receiver.capture_timestamp == pytest.approx(written.stamp_ns / 1e9, abs=1e-6)
            assert_frame(receiver, written, bag)
            np.testing.assert_array_equal(receiver.retrieve_rgb_image_as_int("right"), written.right)
            np.testing.assert_array_equal(receiver.retrieve_confidence_map(), written.confidence)
            cloud = receiver.retrieve_colored_point_cloud()
            np.testing.assert_array_equal(cloud.points, written.points)
            np.testing.assert_array_equal(cloud.colors, written.colors)
            assert receiver.pose_of_right_view_in_left_view[0, 3] == pytest.approx(BASELINE)


def test_a_realsense_bag_plays_through_a_publisher_process_at_the_recorded_rate(
    tmp_path: Path, namespace: str, processes
) -> None:
    bag = write_realsense(tmp_path / "realsense")
    kwargs = {"bag_path": str(bag.path), "rate": 1.0, "loop": True, "restamp": False}
    with MultiprocessRGBDPublisher(ReplayCamera, kwargs, namespace, enable_pointcloud=True) as publisher:
        processes.track(publisher.pid)
        with MultiprocessRGBDReceiver(namespace, enable_pointcloud=True) as receiver:
            seen = 0
            while seen < FRAMES + 2:  # more than one pass
                receiver.grab_images(timeout=10.0)
                written = bag.frames[(receiver.frame_id - 1) % FRAMES]
                assert receiver.capture_timestamp == pytest.approx(written.stamp_ns / 1e9, abs=1e-6)
                assert_frame(receiver, written, bag)
                cloud = receiver.retrieve_colored_point_cloud()  # dense: the points realsense kept
                np.testing.assert_array_equal(cloud.points, written.points)
                np.testing.assert_array_equal(cloud.colors, written.colors)
                seen += 1
            assert receiver.fps == pytest.approx(10.0)


def test_a_bag_of_only_compressed_topics_replays_within_the_codecs_bounds(
    tmp_path: Path, namespace: str, processes
) -> None:
    bag = write_own(tmp_path / "jpeg_rvl", colour_codec="jpg", depth_codec="rvl")
    kwargs = {"bag_path": str(bag.path), "rate": 1.0, "loop": True, "restamp": False}
    with MultiprocessRGBDPublisher(ReplayCamera, kwargs, namespace) as publisher:
        processes.track(publisher.pid)
        with MultiprocessRGBDReceiver(namespace) as receiver:
            for _ in range(FRAMES):
                receiver.grab_images(timeout=10.0)
                written = bag.frames[(receiver.frame_id - 1) % FRAMES]
                rgb = receiver.retrieve_rgb_image_as_int()
                error = np.abs(rgb.astype(np.int16) - written.rgb.astype(np.int16))
                assert rgb.shape == written.rgb.shape and error.mean() < 8, "JPEG at OpenCV's quality 95"
                np.testing.assert_allclose(receiver.intrinsics_matrix(), bag.intrinsics)
                depth, expected = receiver.retrieve_depth_map(), written.depth
                assert expected is not None
                np.testing.assert_array_equal(np.isnan(depth), np.isnan(expected))
                valid = ~np.isnan(expected)
                assert (depth[valid] >= expected[valid] * (1 - 1e-6)).all()
                bound = expected[valid] ** 2 / (_INVERSE_DEPTH_A - expected[valid])
                assert (depth[valid] - expected[valid] <= bound * (1 + 1e-3) + 1e-6).all()


def test_a_compressed_colour_image_decodes_as_opencv_decodes_its_bytes(tmp_path: Path) -> None:
    bag = write_own(tmp_path / "jpeg_png", colour_codec="jpg", depth_codec="png")
    camera = ReplayCamera(str(bag.path), rate=0, loop=False)
    camera.grab_images()
    written = bag.frames[0]
    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(written.rgb[..., ::-1]))
    assert ok
    independently = cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(camera.retrieve_rgb_image_as_int(), independently)


@pytest.mark.parametrize("codec", ["png", "rvl"])
def test_16uc1_compressed_depth_replays_the_millimetres_exactly(codec: str, tmp_path: Path) -> None:
    bag = write_realsense(tmp_path / "realsense", depth_codec=codec)
    camera = ReplayCamera(str(bag.path), rate=0, loop=False)
    assert camera.topics["depth"] == "/camera/camera/aligned_depth_to_color/image_raw/compressedDepth"
    for written in bag.frames:
        camera.grab_images()
        assert_frame(camera, written, bag)


def test_32fc1_png_compressed_depth_replays_within_the_inverse_depth_bound(tmp_path: Path) -> None:
    bag = write_own(tmp_path / "png_depth", depth_codec="png")
    camera = ReplayCamera(str(bag.path), rate=0, loop=False)
    for written in bag.frames:
        camera.grab_images()
        depth, expected = camera.retrieve_depth_map(), written.depth
        assert expected is not None
        np.testing.assert_array_equal(np.isnan(depth), np.isnan(expected))
        valid = ~np.isnan(expected)
        error = depth[valid] - expected[valid]
        bound = expected[valid] ** 2 / (_INVERSE_DEPTH_A - expected[valid])
        assert (error >= -1e-6 * expected[valid]).all() and (error <= bound * (1 + 1e-3) + 1e-6).all()
        assert error.max() > 0, "quantised: some depths must have moved"


def test_png_compressed_topics_replay_exactly(tmp_path: Path) -> None:
    bag = write_own(tmp_path / "png", colour_codec="png")
    camera = ReplayCamera(str(bag.path), rate=0, loop=False)
    assert camera.topics["rgb"] == "/camera/rgb/image_raw/compressed"
    for written in bag.frames:
        camera.grab_images()
        assert_frame(camera, written, bag)


def test_a_bag_with_two_cameras_is_an_error_that_names_them_and_says_how_to_choose(tmp_path: Path) -> None:
    write_two_cameras(tmp_path / "two")
    with pytest.raises(BagLayoutError) as error:
        ReplayCamera(str(tmp_path / "two"))
    message = str(error.value)
    assert "holds 2 cameras" in message
    assert "'/zed/zed_node' (zed-ros2-wrapper 4.x" in message
    assert "'/camera/camera' (realsense-ros 4.x" in message
    assert "topic_prefix" in message and "replay.topic_prefix" in message and "topics=" in message
    chosen = ReplayCamera(str(tmp_path / "two"), topic_prefix="/camera/camera/")
    assert chosen.layout == "realsense-ros 4.x" and chosen.topic_prefix == "/camera/camera"


def test_a_bag_without_depth_replays_rgb_only(tmp_path: Path, namespace: str, processes) -> None:
    bag = write_own(tmp_path / "rgb_only", depth=False)
    assert ReplayCamera.unavailable_streams(str(bag.path)).keys() == {"depth", "points", "right", "confidence"}
    with MultiprocessRGBPublisher(ReplayCamera, {"bag_path": str(bag.path), "restamp": False}, namespace) as pub:
        processes.track(pub.pid)
        with MultiprocessRGBReceiver(namespace) as receiver:
            receiver.grab_images(timeout=10.0)
            written = bag.frames[(receiver.frame_id - 1) % FRAMES]
            np.testing.assert_array_equal(receiver.retrieve_rgb_image_as_int(), written.rgb)


def test_asking_a_bag_without_depth_for_depth_says_so(tmp_path: Path, namespace: str, processes) -> None:
    bag = write_own(tmp_path / "rgb_only", depth=False)
    publisher = MultiprocessRGBDPublisher(ReplayCamera, {"bag_path": str(bag.path)}, namespace)
    try:
        with pytest.raises(PublisherStartError, match=r"has no depth topic.*use an RGB publisher"):
            publisher.start()
    finally:
        processes.track(publisher.pid)
        publisher.stop()


def test_an_explicit_mapping_replays_topics_of_any_names(tmp_path: Path) -> None:
    bag = write_custom(tmp_path / "custom")
    with pytest.raises(BagLayoutError, match="no camera of a known layout"):
        ReplayCamera(str(bag.path))
    camera = ReplayCamera(str(bag.path), rate=0, loop=False, topics=bag.topics)
    assert camera.layout == "explicit mapping" and camera.topics == bag.topics
    for written in bag.frames:
        camera.grab_images()
        assert_frame(camera, written, bag)


@pytest.mark.parametrize(
    ("topics", "message"),
    [
        ({"rgb": "/robot/head_cam/image"}, "must map 'rgb_info'"),
        ({"rgb": "/robot/head_cam/image", "rgb_info": "/robot/absent"}, "'/robot/absent' is not in the bag"),
        ({"rgb": "/robot/head_cam/info", "rgb_info": "/robot/head_cam/info"}, "carries sensor_msgs/msg/CameraInfo"),
        ({"rgb": "/robot/head_cam/image", "rgb_info": "/robot/head_cam/info", "colour": "/x"}, "unknown stream"),
    ],
)
def test_a_wrong_mapping_says_what_is_wrong(tmp_path: Path, topics: dict[str, str], message: str) -> None:
    bag = write_custom(tmp_path / "custom")
    with pytest.raises(BagLayoutError, match=message):
        ReplayCamera(str(bag.path), topics=topics)


def test_realsense_unaligned_depth_is_not_replayed_and_the_message_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bag = write_realsense(tmp_path / "unaligned", aligned=False)
    reasons = ReplayCamera.unavailable_streams(str(bag.path))
    assert "depth" in reasons and "depth/image_rect_raw is not replayed" in reasons["depth"]
    assert "intrinsics" in reasons["depth"] and "align_depth.enable" in reasons["depth"]
    with caplog.at_level(logging.WARNING):
        camera = ReplayCamera(str(bag.path), rate=0, loop=False)
    assert "depth" not in camera.topics
    assert "/camera/camera/depth/image_rect_raw is not replayed" in caplog.text
    camera.grab_images()
    np.testing.assert_array_equal(camera.retrieve_rgb_image_as_int(), bag.frames[0].rgb)


def test_realsense_unaligned_depth_replays_when_mapped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bag = write_realsense(tmp_path / "unaligned", aligned=False)
    prefix = "/camera/camera"
    topics = {
        "rgb": f"{prefix}/color/image_raw",
        "rgb_info": f"{prefix}/color/camera_info",
        "depth": f"{prefix}/depth/image_rect_raw",
        "depth_info": f"{prefix}/depth/camera_info",
    }
    with caplog.at_level(logging.WARNING):
        camera = ReplayCamera(str(bag.path), rate=0, loop=False, topics=topics)
    assert "unaligned depth" in caplog.text and "other intrinsics" in caplog.text
    camera.grab_images()
    assert_frame(camera, bag.frames[0], bag)  # the pixels as recorded, the colour camera's intrinsics


def test_points_in_another_optical_frame_are_replayed_as_recorded_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bag = write_realsense(tmp_path / "realsense")
    camera = ReplayCamera(str(bag.path), rate=0, loop=False)
    camera.grab_images()
    with caplog.at_level(logging.WARNING):
        cloud = camera.retrieve_colored_point_cloud()
    np.testing.assert_array_equal(cloud.points, bag.frames[0].points)
    assert "camera_depth_optical_frame, not in the colour camera's camera_color_optical_frame" in caplog.text


def test_depth_of_another_size_than_the_colour_image_is_a_clear_error(tmp_path: Path) -> None:
    bag = write_realsense(tmp_path / "unaligned", aligned=False, unaligned_size=(60, 40))
    prefix = "/camera/camera"
    topics = {"rgb": f"{prefix}/color/image_raw", "rgb_info": f"{prefix}/color/camera_info"}
    with pytest.raises(ValueError, match="depth /camera/camera/depth/image_rect_raw is 60x40 but .* is 64x48"):
        ReplayCamera(str(bag.path), topics={**topics, "depth": f"{prefix}/depth/image_rect_raw"})


def _image(pixels: np.ndarray, encoding: str, bigendian: bool = False) -> object:
    height, width = pixels.shape[:2]
    data = np.ascontiguousarray(pixels).view(np.uint8).reshape(-1)
    header = ROS2.types["std_msgs/msg/Header"](
        stamp=ROS2.types["builtin_interfaces/msg/Time"](sec=1, nanosec=0), frame_id="f"
    )
    return ROS2.types["sensor_msgs/msg/Image"](
        header=header,
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=int(bigendian),
        step=len(data) // height,
        data=data,
    )


def _compressed(data: bytes, image_format: str) -> object:
    header = ROS2.types["std_msgs/msg/Header"](
        stamp=ROS2.types["builtin_interfaces/msg/Time"](sec=1, nanosec=0), frame_id="f"
    )
    return ROS2.types["sensor_msgs/msg/CompressedImage"](
        header=header, format=image_format, data=np.frombuffer(data, dtype=np.uint8)
    )


def test_the_drivers_other_encodings_decode() -> None:
    rng = np.random.default_rng(7)
    metres = rng.uniform(0.2, 5.0, (6, 5)).astype(np.float32)
    np.testing.assert_array_equal(decode_depth(_image(metres.astype(">f4"), "32FC1", bigendian=True)), metres)
    millimetres = np.array([[0, 1234], [65535, 7]], dtype=np.uint16)
    expected = np.array([[np.nan, 1.234], [65.535, 0.007]], dtype=np.float32)
    np.testing.assert_array_equal(decode_depth(_image(millimetres, "mono16")), expected)  # ZED OpenNI mode
    rgb = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    rgba = np.concatenate([rgb, np.full((6, 5, 1), 9, dtype=np.uint8)], axis=-1)
    np.testing.assert_array_equal(decode_rgb(_image(rgba, "rgba8")), rgb)
    gray = rgb[..., 0].copy()
    np.testing.assert_array_equal(decode_rgb(_image(gray, "mono8")), np.repeat(gray[..., None], 3, axis=-1))
    ok, png = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    assert ok
    np.testing.assert_array_equal(decode_rgb(_compressed(png.tobytes(), "png")), rgb)  # older format string
    ok, png16 = cv2.imencode(".png", millimetres)
    assert ok
    np.testing.assert_array_equal(decode_depth(_compressed(png16.tobytes(), "16UC1; png compressed mono16")), expected)


def test_the_remote_bridges_twin_of_a_camera_is_not_a_second_camera(tmp_path: Path) -> None:
    bag = write_own(tmp_path / "local_and_remote", remote=True)
    local = ReplayCamera(str(bag.path), rate=0, loop=False)
    assert local.topics["rgb"] == "/camera/rgb/image_raw" and local.topics["depth"] == "/camera/depth/image_raw"
    remote = ReplayCamera(str(bag.path), rate=0, loop=False, topic_prefix="/camera/remote")
    assert remote.topics["rgb"] == "/camera/remote/rgb/image_raw/compressed"
    assert remote.topics["depth"] == "/camera/remote/depth/image_raw/compressedDepth"
    for written in bag.frames:
        for camera in (local, remote):
            camera.grab_images()
            np.testing.assert_array_equal(camera.retrieve_rgb_image_as_int(), written.rgb)  # PNG: exact
        assert_depth_equal(local.retrieve_depth_map(), written.depth)
        np.testing.assert_array_equal(np.isnan(remote.retrieve_depth_map()), np.isnan(written.depth))


def test_a_camera_info_recorded_once_and_depth_at_its_own_stamps_still_replay(tmp_path: Path) -> None:
    """Messages at stamps without an RGB image are not lost: they are current from the next image on."""
    rng = np.random.default_rng(8)
    k = intrinsics(55.0)
    written = []
    with _BagWriter(tmp_path / "unsynced", ros1=False) as bag:
        bag.write("/camera/rgb/camera_info", INFO, 0, bag.camera_info(k, 0, "c"))  # once, stamp 0
        for index in range(FRAMES):
            stamp = START_NS + index * 10**8
            rgb = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
            depth = rng.uniform(0.5, 3.0, (HEIGHT, WIDTH)).astype(np.float32)
            written.append((rgb, depth))
            bag.write("/camera/depth/image_raw", IMAGE, stamp - 10**6, bag.image(depth, "32FC1", stamp - 10**6, "c"))
            bag.write("/camera/rgb/image_raw", IMAGE, stamp, bag.image(rgb, "rgb8", stamp, "c"))
    camera = ReplayCamera(str(tmp_path / "unsynced"), rate=0, loop=False)
    for rgb, depth in written:
        camera.grab_images()
        np.testing.assert_array_equal(camera.retrieve_rgb_image_as_int(), rgb)
        np.testing.assert_array_equal(camera.retrieve_depth_map(), depth)  # recorded 1 ms before the image
        np.testing.assert_allclose(camera.intrinsics_matrix(), k)
    with pytest.raises(EndOfRecordingError):
        camera.grab_images()
