"""ReplayCamera: a recorded bag played through a real publisher process into a shared-memory receiver.

The shipped bag (test/support/data/synthetic_bag, written by tools/make_test_bag.py) is read independently here
(rosbags + rosbags-image) to know what every frame must contain.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rosbags.highlevel import AnyReader
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from airo_mp_camera import MultiprocessStereoRGBDPublisher, MultiprocessStereoRGBDReceiver
from airo_mp_camera.cameras import replay
from airo_mp_camera.cameras.errors import EndOfRecordingError
from airo_mp_camera.cameras.replay import ReplayCamera, decode_depth, decode_rgb
from support.bag_reading import BAG, RecordedFrame, read_bag_independently

TYPESTORE = get_typestore(Stores.ROS2_HUMBLE)


@pytest.fixture(scope="module")
def recorded() -> list[RecordedFrame]:
    frames = read_bag_independently()
    assert len(frames) == 10
    return frames


class FakeClock:
    """Stands in for the replay module's `time`: monotonic time moves only when the camera sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def time(self) -> float:
        return 1_800_000_000.0 + self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(replay, "time", fake)
    return fake


def test_a_receiver_gets_the_bags_pixels_and_stamps_through_a_publisher_process(
    recorded: list[RecordedFrame], namespace: str, processes
) -> None:
    kwargs = {"bag_path": str(BAG), "rate": 1.0, "loop": True, "restamp": False}
    with MultiprocessStereoRGBDPublisher(
        ReplayCamera, kwargs, namespace, enable_pointcloud=True, enable_confidence=True
    ) as publisher:
        processes.track(publisher.pid)
        with MultiprocessStereoRGBDReceiver(namespace, enable_pointcloud=True, enable_confidence=True) as receiver:
            seen = []
            while len(seen) < 12:  # more than one pass: the loop goes through the publisher too
                receiver.grab_images(timeout=10.0)
                frame_id = receiver.frame_id
                expected = recorded[(frame_id - 1) % len(recorded)]
                assert receiver.capture_timestamp == pytest.approx(expected.stamp, abs=1e-6), "recorded stamp"
                np.testing.assert_array_equal(receiver.retrieve_rgb_image_as_int(), expected.rgb)
                np.testing.assert_array_equal(receiver.retrieve_rgb_image_as_int("right"), expected.right)
                np.testing.assert_array_equal(receiver.retrieve_depth_map(), expected.depth)
                np.testing.assert_array_equal(receiver.retrieve_confidence_map(), expected.confidence)
                np.testing.assert_allclose(receiver.intrinsics_matrix(), expected.intrinsics)
                cloud = receiver.retrieve_colored_point_cloud()
                if expected.points is not None:
                    np.testing.assert_array_equal(cloud.points, expected.points)
                    np.testing.assert_array_equal(cloud.colors, expected.colors)
                else:  # computed from the recorded depth: z is the depth, colors are the image
                    np.testing.assert_array_equal(cloud.points[:, 2], expected.depth.reshape(-1))
                    np.testing.assert_array_equal(cloud.colors, expected.rgb.reshape(-1, 3))
                seen.append(frame_id)
            assert receiver.resolution == (320, 240)
            assert receiver.fps == pytest.approx(10.0)
            assert receiver.pose_of_right_view_in_left_view[0, 3] == pytest.approx(0.12)
    assert max(seen) > len(recorded), "playback must have looped"


def test_a_publisher_ends_normally_after_the_last_frame_when_not_looping(namespace: str, processes) -> None:
    publisher = MultiprocessStereoRGBDPublisher(
        ReplayCamera, {"bag_path": str(BAG), "rate": 0, "loop": False}, namespace
    )
    publisher.start()
    processes.track(publisher.pid)
    publisher.join(30)
    assert publisher.exitcode == 0, "the end of a recording is a normal end, not a failure"
    assert publisher.frames_published == 10
    assert not Path(f"/dev/shm/airo_mp_camera.{namespace}").exists()
    publisher.stop()


def test_playback_keeps_the_recorded_stamp_deltas_scaled_by_rate(
    recorded: list[RecordedFrame], clock: FakeClock
) -> None:
    for rate in (1.0, 2.0):
        camera = ReplayCamera(str(BAG), rate=rate, loop=False, restamp=True)
        times = []
        for _ in range(10):
            camera.grab_images()
            times.append(clock.now)
        recorded_deltas = np.diff([frame.stamp_ns for frame in recorded]) / 1e9
        np.testing.assert_allclose(np.diff(times), recorded_deltas / rate, atol=1e-9)
        np.testing.assert_allclose(camera.capture_timestamp, clock.time())  # restamped: playback time
        camera.close()


def test_as_fast_as_possible_plays_every_frame_without_waiting(
    recorded: list[RecordedFrame], clock: FakeClock
) -> None:
    camera = ReplayCamera(str(BAG), rate=0, loop=False, restamp=False)
    stamps = []
    for _ in range(10):
        camera.grab_images()
        stamps.append(camera.capture_timestamp)
    assert clock.sleeps == []
    assert stamps == pytest.approx([frame.stamp for frame in recorded], abs=1e-6)
    with pytest.raises(EndOfRecordingError, match="ended after 10 frames"):
        camera.grab_images()


def test_the_last_frame_is_still_readable_after_the_recording_ended(recorded: list[RecordedFrame]) -> None:
    camera = ReplayCamera(str(BAG), rate=0, loop=False, restamp=False)
    for _ in range(10):
        camera.grab_images()
    with pytest.raises(EndOfRecordingError):
        camera.grab_images()  # the pass is over: its bag reader is closed
    np.testing.assert_array_equal(camera.retrieve_rgb_image_as_int(), recorded[-1].rgb)
    np.testing.assert_array_equal(camera.intrinsics_matrix(), recorded[-1].intrinsics)
    camera.close()


def test_looping_starts_again_one_frame_period_after_the_last_frame(
    recorded: list[RecordedFrame], clock: FakeClock
) -> None:
    camera = ReplayCamera(str(BAG), rate=1.0, loop=True, restamp=False)
    start = clock.now
    stamps, times = [], []
    for _ in range(25):
        camera.grab_images()
        stamps.append(camera.recorded_timestamp)
        times.append(clock.now - start)
    assert stamps == pytest.approx([recorded[i % 10].stamp for i in range(25)], abs=1e-6)
    np.testing.assert_allclose(times, np.arange(25) * 0.1, atol=1e-6)
    assert camera.frame_id == 25


def test_restamping_gives_playback_time(recorded: list[RecordedFrame]) -> None:
    camera = ReplayCamera(str(BAG), rate=0, restamp=True)
    before = time.time()
    camera.grab_images()
    assert before <= camera.capture_timestamp <= time.time()
    assert camera.recorded_timestamp == pytest.approx(recorded[0].stamp)


def test_the_prefix_is_found_or_given(tmp_path: Path) -> None:
    assert ReplayCamera(str(BAG)).topic_prefix == "/camera"
    assert ReplayCamera(str(BAG), topic_prefix="camera/").topic_prefix == "/camera"
    with pytest.raises(ValueError, match="no camera under topic prefix '/robot'; cameras found: '/camera'"):
        ReplayCamera(str(BAG), topic_prefix="/robot")


def test_a_missing_bag_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="bag not found"):
        ReplayCamera(str(tmp_path / "absent"))
    (tmp_path / "not_a_bag").mkdir()
    with pytest.raises(ValueError, match="cannot read bag"):
        ReplayCamera(str(tmp_path / "not_a_bag"))


def test_an_empty_bag_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    with Writer(empty, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        writer.add_connection("/camera/rgb/image_raw", "sensor_msgs/msg/Image", typestore=TYPESTORE)
        writer.add_connection("/camera/rgb/camera_info", "sensor_msgs/msg/CameraInfo", typestore=TYPESTORE)
    with pytest.raises(ValueError, match="no messages on /camera/rgb/image_raw"):
        ReplayCamera(str(empty))
    other = tmp_path / "other"
    with Writer(other, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        writer.add_connection("/chatter", "std_msgs/msg/String", typestore=TYPESTORE)
    with pytest.raises(ValueError, match=r"no camera of a known layout.*'/chatter'"):
        ReplayCamera(str(other))


def image_message(array: np.ndarray, encoding: str) -> Any:
    types = TYPESTORE.types
    header = types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](sec=1, nanosec=0), frame_id="f")
    height, width = array.shape[:2]
    padded_step = array[0].nbytes + 4  # rows padded, as some drivers do
    data = np.zeros((height, padded_step), dtype=np.uint8)
    data[:, : array[0].nbytes] = np.ascontiguousarray(array).view(np.uint8).reshape(height, -1)
    return types["sensor_msgs/msg/Image"](
        header=header,
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=padded_step,
        data=data.reshape(-1),
    )


def test_bgr8_and_millimetre_depth_decode_to_rgb_and_metres() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(decode_rgb(image_message(np.ascontiguousarray(rgb[..., ::-1]), "bgr8")), rgb)
    millimetres = np.array([[0, 1000], [1500, 65535]], dtype=np.uint16)
    metres = decode_depth(image_message(millimetres, "16UC1"))
    assert metres.dtype == np.float32 and np.isnan(metres[0, 0])
    np.testing.assert_allclose(metres[[0, 1, 1], [1, 0, 1]], [1.0, 1.5, 65.535], rtol=1e-6)
    with pytest.raises(ValueError, match="unsupported image encoding"):
        decode_rgb(image_message(rgb, "yuv422"))


def test_without_rosbags_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rosbags.highlevel", None)
    with pytest.raises(ImportError, match="pip install rosbags"):
        ReplayCamera(str(BAG))


def test_a_sqlite3_bag_replays_like_the_mcap_one(recorded: list[RecordedFrame], tmp_path: Path) -> None:
    copy = tmp_path / "sqlite_bag"
    with AnyReader([BAG]) as reader, Writer(copy, version=9, storage_plugin=StoragePlugin.SQLITE3) as writer:
        connections = {
            connection.topic: writer.add_connection(connection.topic, connection.msgtype, typestore=TYPESTORE)
            for connection in reader.connections
        }
        for connection, timestamp, raw in reader.messages():
            if timestamp < recorded[3].stamp_ns:
                writer.write(connections[connection.topic], timestamp, raw)
    assert list(copy.glob("*.db3")), "the copy must be a sqlite3 bag"
    camera = ReplayCamera(str(copy), rate=0, loop=False, restamp=False)
    for frame in recorded[:3]:
        camera.grab_images()
        assert camera.capture_timestamp == pytest.approx(frame.stamp, abs=1e-6)
        np.testing.assert_array_equal(camera.retrieve_rgb_image_as_int(), frame.rgb)
        np.testing.assert_array_equal(camera.retrieve_depth_map(), frame.depth)
    with pytest.raises(EndOfRecordingError):
        camera.grab_images()
    camera.close()
