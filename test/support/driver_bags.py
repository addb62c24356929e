"""Small bags written as the camera drivers record them, for the replay tests (generated in a tmp dir).

The topic names, encodings, frame ids and point cloud layouts are written out here literally, from the
drivers' sources (see airo_mp_camera/cameras/bag_layouts.py for the versions): they are not taken from the
package's layout table, so a wrong name there fails the tests. Content is random but seeded; each
`WrittenFrame` keeps what the replay must give back (RGB in RGB order, depth in metres with NaN where
invalid, intrinsics, points in the left optical frame).

Bags are written with rosbags: rosbag2 version 9 in MCAP (`rosbags.rosbag2.Writer`) with ROS 2 CDR
messages, or ROS 1 `.bag` files (`rosbags.rosbag1.Writer`) with ROS 1 serialisation and the ROS 1 message
definitions (CameraInfo's D, K, R, P; Header's seq).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.rosbag1 import Writer as Ros1Writer
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

WIDTH, HEIGHT = 64, 48
FRAMES = 4
FPS = 10
START_NS = 1_760_000_000_000_000_000
BASELINE = 0.12
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
INFO = "sensor_msgs/msg/CameraInfo"
CLOUD = "sensor_msgs/msg/PointCloud2"
STRING = "std_msgs/msg/String"
ROS2 = get_typestore(Stores.ROS2_HUMBLE)
ROS1 = get_typestore(Stores.ROS1_NOETIC)


@dataclass
class WrittenFrame:
    """What one recorded frame holds, as the replay must hand it out."""

    stamp_ns: int
    rgb: np.ndarray
    depth: np.ndarray | None = None
    right: np.ndarray | None = None
    confidence: np.ndarray | None = None
    points: np.ndarray | None = None
    colors: np.ndarray | None = None


@dataclass
class WrittenBag:
    """A bag on disk and what was written into it."""

    path: Path
    frames: list[WrittenFrame]
    intrinsics: np.ndarray
    right_intrinsics: np.ndarray | None = None
    topics: dict[str, str] = field(default_factory=dict)


class _BagWriter:
    """Writes messages of one typestore into a rosbag2 (MCAP) directory or a ROS 1 .bag file."""

    def __init__(self, path: Path, ros1: bool) -> None:
        self.store = ROS1 if ros1 else ROS2
        self.ros1 = ros1
        self.writer: Any = Ros1Writer(path) if ros1 else Writer(path, version=9, storage_plugin=StoragePlugin.MCAP)
        self.connections: dict[str, Any] = {}

    def __enter__(self) -> _BagWriter:
        self.writer.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.writer.close()

    def write(self, topic: str, msgtype: str, stamp_ns: int, message: Any) -> None:
        if topic not in self.connections:
            self.connections[topic] = self.writer.add_connection(topic, msgtype, typestore=self.store)
        if self.ros1:
            data = self.store.serialize_ros1(message, msgtype)
        else:
            data = self.store.serialize_cdr(message, msgtype)
        self.writer.write(self.connections[topic], stamp_ns, data)

    # ------------------------------------------------------------------------------ messages
    def header(self, stamp_ns: int, frame_id: str) -> Any:
        types = self.store.types
        stamp = types["builtin_interfaces/msg/Time"](sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
        if self.ros1:
            return types["std_msgs/msg/Header"](seq=0, stamp=stamp, frame_id=frame_id)
        return types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)

    def image(self, pixels: np.ndarray, encoding: str, stamp_ns: int, frame_id: str, pad: int = 0) -> Any:
        """An Image whose rows are padded by `pad` bytes (drivers pad rows to alignments)."""
        height, width = pixels.shape[:2]
        row = np.ascontiguousarray(pixels).view(np.uint8).reshape(height, -1)
        data = np.zeros((height, row.shape[1] + pad), dtype=np.uint8)
        data[:, : row.shape[1]] = row
        return self.store.types[IMAGE](
            header=self.header(stamp_ns, frame_id),
            height=height,
            width=width,
            encoding=encoding,
            is_bigendian=0,
            step=data.shape[1],
            data=data.reshape(-1),
        )

    def compressed(self, data: bytes, image_format: str, stamp_ns: int, frame_id: str) -> Any:
        return self.store.types[COMPRESSED](
            header=self.header(stamp_ns, frame_id), format=image_format, data=np.frombuffer(data, dtype=np.uint8)
        )

    def camera_info(self, intrinsics: np.ndarray, stamp_ns: int, frame_id: str, baseline: float = 0.0) -> Any:
        projection = np.zeros((3, 4))
        projection[:, :3] = intrinsics
        projection[0, 3] = -intrinsics[0, 0] * baseline
        values = {"d": np.zeros(5), "k": intrinsics.reshape(9), "r": np.eye(3).reshape(9), "p": projection.reshape(12)}
        matrices = {(name.upper() if self.ros1 else name): value for name, value in values.items()}
        roi = self.store.types["sensor_msgs/msg/RegionOfInterest"](
            x_offset=0, y_offset=0, height=0, width=0, do_rectify=False
        )
        return self.store.types[INFO](
            header=self.header(stamp_ns, frame_id),
            height=HEIGHT,
            width=WIDTH,
            distortion_model="plumb_bob",
            binning_x=0,
            binning_y=0,
            roi=roi,
            **matrices,
        )

    def cloud(
        self,
        xyz: np.ndarray,
        packed_colour: np.ndarray,
        stamp_ns: int,
        frame_id: str,
        *,
        colour_offset: int,
        point_step: int,
        organised: bool,
    ) -> Any:
        """A PointCloud2 with float32 x, y, z at 0, 4, 8 and a FLOAT32 'rgb' field holding `packed_colour`'s bytes."""
        point_field = self.store.types["sensor_msgs/msg/PointField"]
        fields = [point_field(name=n, offset=4 * i, datatype=7, count=1) for i, n in enumerate("xyz")]
        fields.append(point_field(name="rgb", offset=colour_offset, datatype=7, count=1))
        data = np.zeros((len(xyz), point_step), dtype=np.uint8)
        data[:, :12] = xyz.astype("<f4").view(np.uint8).reshape(-1, 12)
        data[:, colour_offset : colour_offset + 4] = packed_colour.astype("<u4").view(np.uint8).reshape(-1, 4)
        height, width = (HEIGHT, WIDTH) if organised else (1, len(xyz))
        return self.store.types[CLOUD](
            header=self.header(stamp_ns, frame_id),
            height=height,
            width=width,
            fields=fields,
            is_bigendian=False,
            point_step=point_step,
            row_step=point_step * width,
            data=data.reshape(-1),
            is_dense=not organised,
        )


def intrinsics(fx: float) -> np.ndarray:
    return np.array([[fx, 0.0, WIDTH / 2 - 0.5], [0.0, fx + 1.0, HEIGHT / 2 - 0.5], [0.0, 0.0, 1.0]])


def _content(rng: np.random.Generator, stamp_ns: int, millimetres: bool = False) -> WrittenFrame:
    rgb = _smooth_colours(rng)
    depth = rng.uniform(0.3, 4.0, (HEIGHT, WIDTH)).astype(np.float32)
    depth[rng.random((HEIGHT, WIDTH)) < 0.1] = np.nan
    if millimetres:  # what a 16UC1 image can hold: whole millimetres, 0 for invalid
        depth = np.round(depth * 1000.0) / np.float32(1000.0)
    points = rng.uniform(-2.0, 2.0, (HEIGHT * WIDTH, 3)).astype(np.float32)
    points[rng.random(len(points)) < 0.1] = np.nan
    return WrittenFrame(
        stamp_ns=stamp_ns,
        rgb=rgb,
        depth=depth.astype(np.float32),
        right=_smooth_colours(rng),
        confidence=rng.uniform(1.0, 100.0, (HEIGHT, WIDTH)).astype(np.float32),
        points=points,
        colors=rng.integers(0, 256, (HEIGHT * WIDTH, 3), dtype=np.uint8),
    )


def _smooth_colours(rng: np.random.Generator) -> np.ndarray:
    """Channels of different gradients plus a little noise: JPEG keeps them close, a channel swap is far off."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    base = np.stack([x * 200 // WIDTH, y * 200 // HEIGHT, 200 - (x + y) * 100 // (WIDTH + HEIGHT)], axis=-1)
    noise = rng.integers(0, 40, (HEIGHT, WIDTH, 3))
    return (base + noise).astype(np.uint8)


def _packed(colors: np.ndarray, alpha: int) -> np.ndarray:
    """0xAARRGGBB of RGB colours (a little-endian uint32's bytes: B, G, R, A)."""
    c = colors.astype(np.uint32)
    return (np.uint32(alpha) << 24) | (c[:, 0] << 16) | (c[:, 1] << 8) | c[:, 2]


def _bgra(rgb: np.ndarray) -> np.ndarray:
    alpha = np.full(rgb.shape[:2] + (1,), 255, dtype=np.uint8)
    return np.concatenate([rgb[..., ::-1], alpha], axis=-1)


def _stamps(frames: int) -> list[int]:
    return [START_NS + index * 10**9 // FPS for index in range(frames)]


def write_zed(
    path: Path, version: int = 4, *, ros1: bool = False, prefix: str = "/zed/zed_node", seed: int = 1
) -> WrittenBag:
    """A zed-ros2-wrapper bag: 4.x names (also zed-ros-wrapper for ROS 1) or 5.x (5.1 on) names."""
    rng = np.random.default_rng(seed)
    k, k_right = intrinsics(52.0), intrinsics(52.0)
    camera = prefix.strip("/").split("/")[0]
    if version == 4:
        rgb, rgb_info = "rgb/image_rect_color", "rgb/camera_info"
        right, right_info = "right/image_rect_color", "right/camera_info"
        left_optical, right_optical = f"{camera}_left_camera_optical_frame", f"{camera}_right_camera_optical_frame"
    else:
        rgb, rgb_info = "rgb/color/rect/image", "rgb/color/rect/camera_info"
        right, right_info = "right/color/rect/image", "right/color/rect/camera_info"
        left_optical, right_optical = f"{camera}_left_camera_frame_optical", f"{camera}_right_camera_frame_optical"
    frames = []
    with _BagWriter(path, ros1) as bag:
        for stamp in _stamps(FRAMES):
            frame = _content(rng, stamp)
            assert frame.points is not None and frame.colors is not None and frame.depth is not None
            assert frame.right is not None and frame.confidence is not None
            frames.append(frame)
            body = np.stack([frame.points[:, 2], -frame.points[:, 0], -frame.points[:, 1]], axis=1)  # x fwd, y left
            bag.write(f"{prefix}/{rgb}", IMAGE, stamp, bag.image(_bgra(frame.rgb), "bgra8", stamp, left_optical, 16))
            bag.write(f"{prefix}/{rgb_info}", INFO, stamp, bag.camera_info(k, stamp, left_optical))
            bag.write(
                f"{prefix}/depth/depth_registered", IMAGE, stamp, bag.image(frame.depth, "32FC1", stamp, left_optical)
            )
            bag.write(f"{prefix}/depth/camera_info", INFO, stamp, bag.camera_info(k, stamp, left_optical))
            bag.write(
                f"{prefix}/confidence/confidence_map",
                IMAGE,
                stamp,
                bag.image(frame.confidence, "32FC1", stamp, left_optical),
            )
            bag.write(f"{prefix}/{right}", IMAGE, stamp, bag.image(_bgra(frame.right), "bgra8", stamp, right_optical))
            bag.write(f"{prefix}/{right_info}", INFO, stamp, bag.camera_info(k_right, stamp, right_optical, BASELINE))
            cloud = bag.cloud(
                body,
                _packed(frame.colors, 255),
                stamp,
                f"{camera}_left_camera_frame",
                colour_offset=12,
                point_step=16,
                organised=True,
            )
            bag.write(f"{prefix}/point_cloud/cloud_registered", CLOUD, stamp, cloud)
            bag.write(f"{prefix}/status", STRING, stamp, bag.store.types[STRING](data="ok"))  # not a camera topic
    return WrittenBag(path, frames, k, k_right)


def write_realsense(
    path: Path,
    *,
    aligned: bool = True,
    unaligned: bool = True,
    unaligned_size: tuple[int, int] = (WIDTH, HEIGHT),
    ros1: bool = False,
    depth_codec: str | None = None,
    seed: int = 2,
) -> WrittenBag:
    """A realsense-ros 4.x bag (/camera/camera): colour rgb8, aligned depth 16UC1 mm, dense rgb point cloud.

    With `depth_codec` ("png" or "rvl") the aligned depth is recorded only as its compressedDepth twin.
    """
    from airo_mp_camera.codecs.compressed_depth import encode_compressed_depth

    rng = np.random.default_rng(seed)
    prefix = "/camera/camera"
    k, k_depth = intrinsics(48.0), intrinsics(40.0)
    frames = []
    with _BagWriter(path, ros1) as bag:
        for stamp in _stamps(FRAMES):
            frame = _content(rng, stamp, millimetres=True)
            assert frame.depth is not None and frame.points is not None and frame.colors is not None
            frame.right = frame.confidence = None
            valid = ~np.isnan(frame.points).any(axis=1)  # dense: realsense drops points without depth
            frame.points, frame.colors = frame.points[valid], frame.colors[valid]
            frames.append(frame)
            millimetres = np.nan_to_num(frame.depth * 1000.0, nan=0.0).round().astype(np.uint16)
            colour_frame, depth_frame = "camera_color_optical_frame", "camera_depth_optical_frame"
            bag.write(f"{prefix}/color/image_raw", IMAGE, stamp, bag.image(frame.rgb, "rgb8", stamp, colour_frame, 4))
            bag.write(f"{prefix}/color/camera_info", INFO, stamp, bag.camera_info(k, stamp, colour_frame))
            if aligned and depth_codec is None:
                aligned_image = bag.image(millimetres, "16UC1", stamp, colour_frame)
                bag.write(f"{prefix}/aligned_depth_to_color/image_raw", IMAGE, stamp, aligned_image)
            elif aligned:
                depth_format, data = encode_compressed_depth(millimetres, encoding="16UC1", codec=depth_codec)
                message = bag.compressed(data, depth_format, stamp, colour_frame)
                bag.write(f"{prefix}/aligned_depth_to_color/image_raw/compressedDepth", COMPRESSED, stamp, message)
            if aligned:
                aligned_info = bag.camera_info(k, stamp, colour_frame)
                bag.write(f"{prefix}/aligned_depth_to_color/camera_info", INFO, stamp, aligned_info)
            if unaligned:  # the depth sensor's own view: other intrinsics, maybe another size
                own_view = bag.image(
                    millimetres[: unaligned_size[1], : unaligned_size[0]], "16UC1", stamp, depth_frame
                )
                bag.write(f"{prefix}/depth/image_rect_raw", IMAGE, stamp, own_view)
                bag.write(f"{prefix}/depth/camera_info", INFO, stamp, bag.camera_info(k_depth, stamp, depth_frame))
            # x, y, z, 4 bytes of padding, then rgb at 16: point_step 20; B, G, R bytes then 0
            cloud = bag.cloud(
                frame.points,
                _packed(frame.colors, 0),
                stamp,
                depth_frame,
                colour_offset=16,
                point_step=20,
                organised=False,
            )
            bag.write(f"{prefix}/depth/color/points", CLOUD, stamp, cloud)
    return WrittenBag(path, frames, k)


def write_own(
    path: Path,
    *,
    prefix: str = "/camera",
    colour_codec: str | None = None,
    depth_codec: str | None = None,
    depth: bool = True,
    remote: bool = False,
    seed: int = 3,
) -> WrittenBag:
    """This package's topics; with a codec, only the compressed / compressedDepth twins of rgb and depth.

    With `remote`, also what the remote bridge publishes under `<prefix>/remote`: PNG colour and RVL depth.
    """
    rng = np.random.default_rng(seed)
    k = intrinsics(60.0)
    frame_id = f"{prefix.strip('/').split('/')[0]}_left_camera_optical_frame"
    frames = []
    with _BagWriter(path, ros1=False) as bag:
        for stamp in _stamps(FRAMES):
            frame = _content(rng, stamp)
            frame.right = frame.confidence = frame.points = frame.colors = None
            if not depth:
                frame.depth = None
            frames.append(frame)
            _write_own_frame(bag, frame, prefix, colour_codec, depth_codec, k, frame_id)
            if remote:
                _write_own_frame(bag, frame, f"{prefix}/remote", "png", "rvl", k, frame_id)
    return WrittenBag(path, frames, k)


def _write_own_frame(
    bag: _BagWriter,
    frame: WrittenFrame,
    prefix: str,
    colour_codec: str | None,
    depth_codec: str | None,
    k: np.ndarray,
    frame_id: str,
) -> None:
    import cv2

    from airo_mp_camera.codecs.compressed_depth import encode_compressed_depth

    stamp = frame.stamp_ns
    if colour_codec is None:
        bag.write(f"{prefix}/rgb/image_raw", IMAGE, stamp, bag.image(frame.rgb, "rgb8", stamp, frame_id))
    else:
        ok, encoded = cv2.imencode(f".{colour_codec}", np.ascontiguousarray(frame.rgb[..., ::-1]))
        assert ok
        image_format = f"rgb8; {'jpeg' if colour_codec == 'jpg' else colour_codec} compressed bgr8"
        message = bag.compressed(encoded.tobytes(), image_format, stamp, frame_id)
        bag.write(f"{prefix}/rgb/image_raw/compressed", COMPRESSED, stamp, message)
    bag.write(f"{prefix}/rgb/camera_info", INFO, stamp, bag.camera_info(k, stamp, frame_id))
    if frame.depth is None:
        return
    if depth_codec is None:
        bag.write(f"{prefix}/depth/image_raw", IMAGE, stamp, bag.image(frame.depth, "32FC1", stamp, frame_id))
    else:
        depth_format, data = encode_compressed_depth(frame.depth, encoding="32FC1", codec=depth_codec)
        message = bag.compressed(data, depth_format, stamp, frame_id)
        bag.write(f"{prefix}/depth/image_raw/compressedDepth", COMPRESSED, stamp, message)
    bag.write(f"{prefix}/depth/camera_info", INFO, stamp, bag.camera_info(k, stamp, frame_id))


def write_custom(path: Path, seed: int = 4) -> WrittenBag:
    """A bag of no known layout: a robot's own names, colour bgr8 and depth 16UC1 millimetres."""
    rng = np.random.default_rng(seed)
    k = intrinsics(45.0)
    topics = {
        "rgb": "/robot/head_cam/image",
        "rgb_info": "/robot/head_cam/info",
        "depth": "/robot/head_cam/range",
        "depth_info": "/robot/head_cam/range_info",
    }
    frames = []
    with _BagWriter(path, ros1=False) as bag:
        for stamp in _stamps(FRAMES):
            frame = _content(rng, stamp, millimetres=True)
            assert frame.depth is not None
            frame.right = frame.confidence = frame.points = frame.colors = None
            frames.append(frame)
            millimetres = np.nan_to_num(frame.depth * 1000.0, nan=0.0).round().astype(np.uint16)
            bag.write(
                topics["rgb"],
                IMAGE,
                stamp,
                bag.image(np.ascontiguousarray(frame.rgb[..., ::-1]), "bgr8", stamp, "head"),
            )
            bag.write(topics["rgb_info"], INFO, stamp, bag.camera_info(k, stamp, "head"))
            bag.write(topics["depth"], IMAGE, stamp, bag.image(millimetres, "16UC1", stamp, "head"))
            bag.write(topics["depth_info"], INFO, stamp, bag.camera_info(k, stamp, "head"))
    return WrittenBag(path, frames, k, topics=topics)


def write_two_cameras(path: Path) -> None:
    """A ZED 4.x camera and a RealSense camera in one bag."""
    rng = np.random.default_rng(5)
    k = intrinsics(50.0)
    with _BagWriter(path, ros1=False) as bag:
        for stamp in _stamps(2):
            frame = _content(rng, stamp)
            zed = "/zed/zed_node"
            bag.write(f"{zed}/rgb/image_rect_color", IMAGE, stamp, bag.image(_bgra(frame.rgb), "bgra8", stamp, "z"))
            bag.write(f"{zed}/rgb/camera_info", INFO, stamp, bag.camera_info(k, stamp, "z"))
            realsense = "/camera/camera"
            bag.write(f"{realsense}/color/image_raw", IMAGE, stamp, bag.image(frame.rgb, "rgb8", stamp, "c"))
            bag.write(f"{realsense}/color/camera_info", INFO, stamp, bag.camera_info(k, stamp, "c"))


def write_own_pair(path: Path, offset_ns: int, frames: int = 10) -> dict[str, WrittenBag]:
    """Two of this package's cameras in one bag, '/wrist' and '/top', the top one stamped `offset_ns` later."""
    rng = np.random.default_rng(6)
    k = intrinsics(60.0)
    written: dict[str, WrittenBag] = {"/wrist": WrittenBag(path, [], k), "/top": WrittenBag(path, [], k)}
    with _BagWriter(path, ros1=False) as bag:
        for stamp in _stamps(frames):
            for prefix, shift in (("/wrist", 0), ("/top", offset_ns)):
                frame = _content(rng, stamp + shift)
                frame.right = frame.confidence = frame.points = frame.colors = None
                written[prefix].frames.append(frame)
                _write_own_frame(bag, frame, prefix, None, None, k, f"{prefix[1:]}_left_camera_optical_frame")
    return written
