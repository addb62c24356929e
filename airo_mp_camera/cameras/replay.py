"""Replays a rosbag2 recording of this package's ROS topics as a camera, at the recorded rate.

The bag is read with `rosbags` (MCAP or sqlite3, imported only when a `ReplayCamera` is constructed).
The topics are those the ROS bridge publishes under a camera's prefix (e.g. "/camera"):

    <prefix>/rgb/image_raw         sensor_msgs/Image rgb8 (bgr8, rgba8, bgra8, mono8 accepted)
    <prefix>/rgb/camera_info       sensor_msgs/CameraInfo (K gives the intrinsics)
    <prefix>/depth/image_raw       sensor_msgs/Image 32FC1 metres (16UC1 millimetres accepted)
    <prefix>/depth/camera_info
    <prefix>/points                sensor_msgs/PointCloud2, float32 x, y, z, rgb (0x00RRGGBB in the float's bytes)
    <prefix>/right/image_raw       optional right view; its camera_info's P[0, 3] = -fx * baseline
    <prefix>/right/camera_info
    <prefix>/confidence/image_raw  optional, 32FC1

Messages with the same header stamp form one frame; a frame exists for every RGB image. A stream recorded
at a lower rate than RGB keeps its last value until its next message; a frame without its own point
cloud gets one computed from its depth and intrinsics. Decoding is vectorised numpy.
"""

from __future__ import annotations

import heapq
import logging
import struct
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from airo_mp_camera.cameras.errors import EndOfRecordingError
from airo_mp_camera.cameras.interface import LEFT_RGB, RIGHT_RGB, PointCloud, check_view

logger = logging.getLogger(__name__)

ROSBAGS_MISSING = "ReplayCamera needs the `rosbags` package to read bags: `pip install rosbags`."

# Stream name -> topic suffix under the camera prefix.
TOPICS = {
    "rgb": "rgb/image_raw",
    "rgb_info": "rgb/camera_info",
    "depth": "depth/image_raw",
    "depth_info": "depth/camera_info",
    "points": "points",
    "right": "right/image_raw",
    "right_info": "right/camera_info",
    "confidence": "confidence/image_raw",
}
# A frame waits for slower streams at most this many frames before it is handed out as it is.
_MAX_PENDING_FRAMES = 32

_IMAGE_LAYOUTS: dict[str, tuple[str, int]] = {
    "rgb8": ("u1", 3),
    "bgr8": ("u1", 3),
    "rgba8": ("u1", 4),
    "bgra8": ("u1", 4),
    "mono8": ("u1", 1),
    "32FC1": ("f4", 1),
    "16UC1": ("u2", 1),
}


def import_rosbags() -> ModuleType:
    """`rosbags.highlevel`, or an ImportError that says how to install it."""
    try:
        import rosbags.highlevel as highlevel
    except ImportError as error:
        raise ImportError(ROSBAGS_MISSING) from error
    return highlevel


# ---------------------------------------------------------------------------------------------- decoding


def decode_image(message: Any) -> np.ndarray:
    """HxWxC (C > 1) or HxW array of a sensor_msgs/Image, a view of its data where the layout allows."""
    layout = _IMAGE_LAYOUTS.get(message.encoding)
    if layout is None:
        raise ValueError(f"unsupported image encoding {message.encoding!r}; expected one of {sorted(_IMAGE_LAYOUTS)}")
    kind, channels = layout
    dtype = np.dtype(kind).newbyteorder(">" if message.is_bigendian else "<")
    height, width, step = int(message.height), int(message.width), int(message.step)
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes or len(message.data) < step * height:
        raise ValueError(f"{message.encoding} image of {width}x{height} has inconsistent step {step}")
    pixels = _strided_rows(message.data, dtype, height, width * channels, step)
    return pixels.reshape(height, width, channels) if channels > 1 else pixels.reshape(height, width)


def _strided_rows(data: Any, dtype: np.dtype, height: int, row_items: int, step: int) -> np.ndarray:
    """(height, row_items) view of `data` whose rows start `step` bytes apart (padding skipped, no copy).

    Built from strides rather than by `.view(dtype)` of a row slice: numpy < 1.23 refuses to view a
    non-contiguous (padded-row) array as a dtype of another size.
    """
    buffer = np.frombuffer(data, dtype=np.uint8, count=step * height)
    return np.ndarray((height, row_items), dtype=dtype, buffer=buffer, strides=(step, dtype.itemsize))


def decode_rgb(message: Any) -> np.ndarray:
    """HxWx3 uint8 RGB of an rgb8/bgr8/rgba8/bgra8/mono8 image."""
    pixels = decode_image(message)
    encoding = message.encoding
    if encoding in ("rgb8", "rgba8"):
        return pixels[..., :3]
    if encoding in ("bgr8", "bgra8"):
        return pixels[..., 2::-1]
    if encoding == "mono8":
        return np.repeat(pixels[..., None], 3, axis=-1)
    raise ValueError(f"an RGB image must be rgb8, bgr8, rgba8, bgra8 or mono8, got {encoding!r}")


def decode_depth(message: Any) -> np.ndarray:
    """HxW float32 metres of a 32FC1 (metres) or 16UC1 (millimetres, 0 = unknown -> NaN) depth image."""
    pixels = decode_image(message)
    if message.encoding == "32FC1":
        return pixels.astype(np.float32, copy=False)
    if message.encoding == "16UC1":
        metres = pixels.astype(np.float32) / 1000.0
        metres[pixels == 0] = np.nan
        return metres
    raise ValueError(f"a depth image must be 32FC1 (metres) or 16UC1 (millimetres), got {message.encoding!r}")


def decode_point_cloud(message: Any) -> PointCloud:
    """Points (N, 3) float32 and colors (N, 3) uint8 of a PointCloud2 with float32 x, y, z and optional rgb."""
    fields = {item.name: item for item in message.fields}
    missing = [name for name in ("x", "y", "z") if name not in fields]
    if missing:
        raise ValueError(f"PointCloud2 lacks fields {missing}; has {sorted(fields)}")
    float32 = 7  # sensor_msgs/PointField FLOAT32
    endian = ">" if message.is_bigendian else "<"
    names, formats, offsets = [], [], []
    for name in ("x", "y", "z", "rgb"):
        if name not in fields:
            continue
        if fields[name].datatype != float32:
            raise ValueError(f"PointCloud2 field {name!r} must be FLOAT32, got datatype {fields[name].datatype}")
        names.append(name)
        formats.append(endian + ("u4" if name == "rgb" else "f4"))  # rgb: the float's bytes are 0x00RRGGBB
        offsets.append(int(fields[name].offset))
    point_step, width, height = int(message.point_step), int(message.width), int(message.height)
    dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": point_step})
    data = np.frombuffer(message.data, dtype=np.uint8)
    row_step = int(message.row_step)
    if row_step != width * point_step:  # padded rows: drop the padding first
        data = np.ascontiguousarray(data[: row_step * height].reshape(height, row_step)[:, : width * point_step])
    cloud = data[: width * height * point_step].view(dtype)
    points = np.empty((len(cloud), 3), dtype=np.float32)
    points[:, 0], points[:, 1], points[:, 2] = cloud["x"], cloud["y"], cloud["z"]
    if "rgb" not in fields:
        return PointCloud(points, None)
    packed = cloud["rgb"].astype(np.uint32, copy=False)
    colors = np.empty((len(cloud), 3), dtype=np.uint8)
    colors[:, 0] = packed >> 16
    colors[:, 1] = packed >> 8
    colors[:, 2] = packed
    return PointCloud(points, colors)


def depth_to_point_cloud(depth: np.ndarray, intrinsics: np.ndarray, rgb: np.ndarray | None) -> PointCloud:
    """Organised point cloud (H*W points) of a depth map in metres through pinhole intrinsics."""
    height, width = depth.shape
    u = (np.arange(width, dtype=np.float32) - np.float32(intrinsics[0, 2])) / np.float32(intrinsics[0, 0])
    v = (np.arange(height, dtype=np.float32) - np.float32(intrinsics[1, 2])) / np.float32(intrinsics[1, 1])
    points = np.empty((height, width, 3), dtype=np.float32)
    np.multiply(u[None, :], depth, out=points[..., 0])
    np.multiply(v[:, None], depth, out=points[..., 1])
    points[..., 2] = depth
    colors = None if rgb is None or rgb.shape[:2] != depth.shape else rgb.reshape(-1, 3)
    return PointCloud(points.reshape(-1, 3), colors)


def depth_visualisation(depth: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 gray image of a depth map: near is bright, unknown depth is black."""
    finite = np.isfinite(depth) & (depth > 0)
    if not finite.any():
        return np.zeros((*depth.shape, 3), dtype=np.uint8)
    near, far = float(depth[finite].min()), float(depth[finite].max())
    scaled = (far - np.where(finite, depth, far)) * (255.0 / max(far - near, 1e-6))
    gray = np.where(finite, np.clip(scaled, 1, 255), 0).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=-1)


# ---------------------------------------------------------------------------------------------- reading frames


@dataclass
class _Message:
    """A serialised message, deserialised on first use (a frame's unused streams are never deserialised)."""

    raw: bytes
    msgtype: str
    typestore: Any
    _value: Any = None

    def get(self) -> Any:
        if self._value is None:
            self._value = self.typestore.deserialize_cdr(self.raw, self.msgtype)
        return self._value


@dataclass
class _Frame:
    """The messages of one header stamp, by stream name."""

    stamp_ns: int
    messages: dict[str, _Message] = field(default_factory=dict)


def _raw_stamp_ns(raw: bytes) -> int:
    """Header stamp of a CDR message whose first field is a std_msgs/Header (Image, CameraInfo, PointCloud2).

    After the 4-byte encapsulation header (byte 1: 1 little-endian, 0 big-endian) come stamp.sec (int32)
    and stamp.nanosec (uint32).
    """
    sec, nanosec = struct.unpack_from("<iI" if raw[1] == 1 else ">iI", raw, 4)
    return int(sec) * 1_000_000_000 + int(nanosec)


def _read_frames(highlevel: ModuleType, path: Path, topics: dict[str, str]) -> Generator[_Frame, None, None]:
    """Frames of one pass over the bag, in stamp order, each once every stream has moved past its stamp."""
    with highlevel.AnyReader([path], default_typestore=_default_typestore()) as reader:
        stream_of = {topic: stream for stream, topic in topics.items()}
        connections = [connection for connection in reader.connections if connection.topic in stream_of]
        present = {stream_of[connection.topic] for connection in connections}
        pending: dict[int, _Frame] = {}
        order: list[int] = []  # heap of pending stamps
        latest: dict[str, int] = {}
        for connection, _, raw in reader.messages(connections=connections):
            stream = stream_of[connection.topic]
            message = _Message(raw, connection.msgtype, reader.typestore)
            stamp = _raw_stamp_ns(raw)
            if stamp not in pending:
                pending[stamp] = _Frame(stamp)
                heapq.heappush(order, stamp)
            pending[stamp].messages[stream] = message
            latest[stream] = max(stamp, latest.get(stream, stamp))
            horizon = min(latest.get(name, -1) for name in present)
            while order and (order[0] <= horizon or len(order) > _MAX_PENDING_FRAMES):
                frame = pending.pop(heapq.heappop(order))
                if "rgb" in frame.messages:
                    yield frame
        while order:
            frame = pending.pop(heapq.heappop(order))
            if "rgb" in frame.messages:
                yield frame


def _default_typestore() -> Any:
    """ROS 2 message types for bags that do not embed their definitions (older sqlite3 bags)."""
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.LATEST)


class ReplayCamera:
    """A camera that plays back a rosbag2 recording of this package's topics (see the module docstring).

    Args:
        bag_path: the bag's directory (or its .mcap/.db3 file's directory).
        rate: playback speed relative to the recording (1.0: as recorded, 2.0: twice as fast); 0 plays
            as fast as frames can be read.
        loop: start again at the end; otherwise the grab after the last frame raises `EndOfRecordingError`.
        topic_prefix: the camera's topic prefix, e.g. "/camera"; None finds the one topic ending in
            rgb/image_raw.
        restamp: `capture_timestamp` is the playback wall time (True) or the recorded header stamp (False).

    """

    def __init__(
        self,
        bag_path: str,
        rate: float = 1.0,
        loop: bool = True,
        topic_prefix: str | None = None,
        restamp: bool = True,
    ) -> None:
        if not rate >= 0:
            raise ValueError(f"rate must be >= 0 (0: as fast as possible), got {rate}")
        path = Path(bag_path)
        if not path.exists():
            raise FileNotFoundError(f"bag not found: {bag_path}")
        if path.is_file():  # a bag's storage file: its directory holds metadata.yaml
            path = path.parent
        if not (path / "metadata.yaml").is_file():
            raise ValueError(f"cannot read bag {bag_path}: not a rosbag2 directory (it has no metadata.yaml)")
        self._highlevel = highlevel = import_rosbags()
        self._path = path
        self._rate = float(rate)
        self._loop = loop
        self._restamp = restamp
        try:
            with highlevel.AnyReader([path], default_typestore=_default_typestore()) as reader:
                counts = {connection.topic: 0 for connection in reader.connections}
                for connection in reader.connections:
                    counts[connection.topic] += connection.msgcount
                # end_time is "after the latest message": latest + 1 ns
                duration_ns = int(reader.end_time) - 1 - int(reader.start_time) if reader.message_count else 0
        except highlevel.AnyReaderError as error:
            raise ValueError(f"cannot read bag {bag_path}: {error}") from error
        self._prefix = self._find_prefix(counts, topic_prefix)
        self._topics = {
            stream: f"{self._prefix}/{suffix}"
            for stream, suffix in TOPICS.items()
            if f"{self._prefix}/{suffix}" in counts
        }
        rgb_count = counts.get(self._topics["rgb"], 0)
        if rgb_count == 0:
            raise ValueError(f"bag {bag_path} has no messages on {self._topics['rgb']}")
        if "rgb_info" not in self._topics:
            raise ValueError(f"bag {bag_path} has no {self._prefix}/rgb/camera_info: the intrinsics are unknown")
        self._recorded_fps = (rgb_count - 1) / (duration_ns / 1e9) if rgb_count > 1 and duration_ns > 0 else 0.0
        self._frames: Generator[_Frame, None, None] = _read_frames(highlevel, path, self._topics)
        self._next: _Frame | None = next(self._frames, None)
        if self._next is None:
            raise ValueError(f"bag {bag_path} has no complete frame on {self._topics['rgb']}")
        self._latest: dict[str, _Message | None] = {}
        self._decoded: dict[str, tuple[Any, Any]] = {}
        self._apply(self._next)  # resolution and intrinsics are known before the first grab
        rgb = self._decode("rgb", decode_rgb)
        self._resolution = (int(rgb.shape[1]), int(rgb.shape[0]))
        self._frame: _Frame | None = None
        self._frame_id = 0
        self._pass_frames = 0
        self._capture_timestamp = 0.0
        self._anchor: tuple[float, int] | None = None  # (monotonic time, recorded stamp) that pacing follows
        self._last_target = 0.0

    @staticmethod
    def _find_prefix(counts: dict[str, int], topic_prefix: str | None) -> str:
        suffix = "/" + TOPICS["rgb"]
        if topic_prefix is not None:
            prefix = "/" + topic_prefix.strip("/") if topic_prefix.strip("/") else ""
            if prefix + suffix not in counts:
                raise ValueError(f"the bag has no topic {prefix + suffix}; its topics: {sorted(counts)}")
            return prefix
        candidates = sorted(topic for topic in counts if topic.endswith(suffix) or topic == suffix[1:])
        if len(candidates) != 1:
            what = "no topic" if not candidates else f"several topics ({candidates})"
            raise ValueError(f"the bag has {what} ending in {suffix}; pass topic_prefix. Its topics: {sorted(counts)}")
        return candidates[0][: -len(suffix)]

    # ------------------------------------------------------------------------------ properties
    @property
    def resolution(self) -> tuple[int, int]:
        """(width, height) of the recorded RGB images."""
        return self._resolution

    @property
    def fps(self) -> float:
        """Frame rate of playback: the recorded rate times `rate` (the recorded rate when `rate` is 0)."""
        return self._recorded_fps * self._rate if self._rate > 0 else self._recorded_fps

    @property
    def topic_prefix(self) -> str:
        """The camera's topic prefix in the bag, e.g. "/camera"."""
        return self._prefix

    @property
    def frame_id(self) -> int:
        """Number of frames played since construction, starting at 1 (loops keep counting)."""
        return self._frame_id

    @property
    def recorded_timestamp(self) -> float:
        """Header stamp of the current frame as recorded, in seconds since the epoch."""
        return self._frame.stamp_ns / 1e9 if self._frame is not None else 0.0

    @property
    def capture_timestamp(self) -> float:
        """Playback wall time of the current frame (restamp=True) or its recorded stamp (restamp=False)."""
        return self._capture_timestamp

    @property
    def pose_of_right_view_in_left_view(self) -> np.ndarray:
        """4x4 pose of the right view in the left optical frame, from the right camera_info's P."""
        info = self._latest.get("right_info")
        if info is None:
            raise AttributeError(f"the bag has no {self._prefix}/right/camera_info: there is no right view")
        projection = np.asarray(info.get().p, dtype=np.float64).reshape(3, 4)
        pose = np.eye(4)
        pose[0, 3] = -projection[0, 3] / projection[0, 0]
        return pose

    def intrinsics_matrix(self, view: str = LEFT_RGB) -> np.ndarray:
        """3x3 intrinsics from the view's camera_info K."""
        check_view(view)
        info = self._latest.get("rgb_info" if view == LEFT_RGB else "right_info")
        if info is None:
            raise ValueError(f"the bag has no camera_info for the {view} view")
        return np.asarray(info.get().k, dtype=np.float64).reshape(3, 3).copy()

    # ------------------------------------------------------------------------------ playing
    def grab_images(self) -> None:
        """Moves to the next frame, waiting until its time at the recorded rate (scaled by `rate`).

        Raises:
            EndOfRecordingError: the bag ended and `loop` is off.

        """
        frame = self._next if self._next is not None else next(self._frames, None)
        self._next = None
        restarted = False
        if frame is None:
            if not self._loop:
                raise EndOfRecordingError(f"bag {self._path} ended after {self._pass_frames} frames (loop=False)")
            self._frames.close()
            self._frames = _read_frames(self._highlevel, self._path, self._topics)
            frame = next(self._frames, None)
            if frame is None:
                raise EndOfRecordingError(f"bag {self._path} has no frames left to play")
            restarted = True
            self._pass_frames = 0
        self._wait_for(frame.stamp_ns, restarted)
        self._apply(frame)
        self._frame = frame
        self._frame_id += 1
        self._pass_frames += 1
        self._capture_timestamp = time.time() if self._restamp else frame.stamp_ns / 1e9

    def _wait_for(self, stamp_ns: int, restarted: bool) -> None:
        """Sleeps until the frame's time; re-anchors at the start, after a loop, and when playback fell behind."""
        if self._rate == 0:
            return
        now = time.monotonic()
        if self._anchor is None:
            self._anchor = (now, stamp_ns)
        elif restarted:
            period = 1.0 / self._recorded_fps / self._rate if self._recorded_fps > 0 else 0.0
            self._anchor = (self._last_target + period, stamp_ns)
        target = self._anchor[0] + (stamp_ns - self._anchor[1]) / 1e9 / self._rate
        if target > now:
            time.sleep(target - now)
        elif now - target > 0.1:  # fell behind (slow reader or consumer): continue from now, do not burst
            self._anchor = (now, stamp_ns)
            target = now
        self._last_target = target

    def _apply(self, frame: _Frame) -> None:
        """Makes the frame's messages current; streams it lacks keep their last message (except points)."""
        self._latest.update(frame.messages)
        self._latest["points"] = frame.messages.get("points")

    def _decode(self, source: str, decoder: Any, key: str | None = None) -> Any:
        """`decoder` applied to the current message of stream `source`, once per message (cached under `key`)."""
        message = self._latest.get(source)
        if message is None:
            raise ValueError(f"the bag has no {self._prefix}/{TOPICS[source]} message up to this frame")
        key = key or source
        cached = self._decoded.get(key)
        if cached is not None and cached[0] is message:
            return cached[1]
        value = decoder(message.get())
        self._decoded[key] = (message, value)
        return value

    def retrieve_rgb_image_as_int(self, view: str = LEFT_RGB) -> np.ndarray:
        """HxWx3 uint8 RGB image of a view."""
        check_view(view)
        return self._decode("rgb" if view == LEFT_RGB else RIGHT_RGB, decode_rgb)

    def retrieve_rgb_image(self, view: str = LEFT_RGB) -> np.ndarray:
        """HxWx3 float32 RGB image in [0, 1]."""
        return self.retrieve_rgb_image_as_int(view).astype(np.float32) / 255.0

    def retrieve_depth_map(self) -> np.ndarray:
        """HxW float32 depth in metres (NaN where unknown)."""
        return self._decode("depth", decode_depth)

    def retrieve_depth_image(self) -> np.ndarray:
        """HxWx3 uint8 visualisation of the depth (near is bright)."""
        return self._decode("depth", lambda _: depth_visualisation(self.retrieve_depth_map()), key="depth_image")

    def retrieve_confidence_map(self) -> np.ndarray:
        """HxW float32 confidence as recorded."""
        return self._decode("confidence", decode_depth)

    def retrieve_colored_point_cloud(self) -> PointCloud:
        """The frame's recorded point cloud, or one computed from its depth and intrinsics when it has none."""
        if self._latest.get("points") is not None:
            cloud: PointCloud = self._decode("points", decode_point_cloud)
            return cloud
        return depth_to_point_cloud(
            self.retrieve_depth_map(), self.intrinsics_matrix(), self.retrieve_rgb_image_as_int()
        )

    def close(self) -> None:
        """Closes the bag."""
        self._frames.close()

    def __del__(self) -> None:
        frames = getattr(self, "_frames", None)
        if frames is not None:
            try:
                frames.close()
            except Exception:  # noqa: BLE001 - at interpreter exit rosbags can no longer import what close() needs
                pass
