"""Replays a recorded bag of one camera's topics as a camera, at the recorded rate.

Bags: rosbag2 directories (MCAP or sqlite3) and ROS 1 `.bag` files, read with `rosbags` (imported only
when a `ReplayCamera` is constructed). Which topics make up the camera is recognised from the layouts of
this package's bridge, zed-ros2-wrapper 4.x and 5.x and realsense-ros 4.x (see `bag_layouts`), or given
explicitly with `topics={"rgb": ..., "rgb_info": ..., ...}`. Raw images are preferred; a bag that holds
only image_transport's `compressed` / `compressedDepth` topics is decoded from those (see `image_decoding`).

Messages with the same header stamp form one frame; a frame exists for every RGB image. A stream recorded
at a lower rate than RGB keeps its last value until its next message, and a message at a stamp without an
RGB image (a camera_info recorded once, depth stamped apart) is current from the next image on; a frame
without its own point cloud gets one computed from its depth and intrinsics. Playback starts at the first
RGB image by which every replayed stream (but the point cloud) has had a message. Decoding is vectorised
numpy (OpenCV for compressed images).

A bag of several cameras is replayed as several cameras: one ReplayCamera per camera (`topic_prefix`, see
`camera_prefixes`), each in its own publisher, all given the same `start_time`. Each then plays on the wall
clock from that instant, frame by frame at `start_time + (stamp - bag start) / rate`, and stamps each frame
with that instant: the cameras keep the bag's relative timing, on the clock a MultiCameraReceiver compares.

Reading the bag (its index, its frames in stamp order) is bag_reading.py's; this module is the one class that
plays those frames as a camera.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any

import numpy as np

from airo_mp_camera.cameras.bag_layouts import STREAMS, BagLayoutError, find_camera
from airo_mp_camera.cameras.bag_reading import (
    ROSBAGS_MISSING,
    BagContents,
    BagFrame,
    Message,
    bag_location,
    camera_prefixes,
    import_rosbags,
    inspect_bag,
    pass_seconds,
    read_contents,
    read_frames,
)
from airo_mp_camera.cameras.depth_image import depth_visualisation
from airo_mp_camera.cameras.errors import EndOfRecordingError
from airo_mp_camera.cameras.image_decoding import (
    decode_confidence,
    decode_depth,
    decode_image,
    decode_rgb,
)
from airo_mp_camera.cameras.interface import LEFT_RGB, RIGHT_RGB, PointCloud, check_view
from airo_mp_camera.cameras.point_cloud_decoding import (
    decode_point_cloud,
    depth_to_point_cloud,
    is_optical_frame,
    optical_from_body,
)

__all__ = [
    "ROSBAGS_MISSING",
    "STREAMS",
    "BagContents",
    "BagLayoutError",
    "ReplayCamera",
    "bag_location",
    "camera_prefixes",
    "decode_depth",
    "decode_image",
    "decode_point_cloud",
    "decode_rgb",
    "depth_to_point_cloud",
    "depth_visualisation",
    "import_rosbags",
    "inspect_bag",
    "read_contents",
]

logger = logging.getLogger(__name__)

# Streams of the camera interface (bridge stream names) and the bag streams each needs.
_OFFERED = {"depth": ("depth",), "right": ("right", "right_info"), "confidence": ("confidence",)}


def _info_field(info: Any, name: str) -> np.ndarray:
    """A CameraInfo matrix by its ROS 2 name ("k", "p", "d"), also from ROS 1 messages ("K", "P", "D")."""
    value = getattr(info, name, None)
    if value is None:
        value = getattr(info, name.upper())
    return np.asarray(value, dtype=np.float64)


class ReplayCamera:
    """A camera that plays back one camera's topics of a recorded bag (see the module docstring).

    Args:
        bag_path: a rosbag2 directory (or its .mcap/.db3 file), or a ROS 1 .bag file.
        rate: playback speed relative to the recording (1.0: as recorded, 2.0: twice as fast); 0 plays
            as fast as frames can be read.
        loop: start again at the end; otherwise the grab after the last frame raises `EndOfRecordingError`.
        topic_prefix: the camera's topic prefix in the bag, e.g. "/camera" or "/zed/zed_node"; needed only
            when the bag holds several cameras. None: the bag's one camera of a known layout.
        restamp: `capture_timestamp` is the playback wall time (True) or the recorded header stamp (False).
        topics: explicit stream -> topic mapping (streams: rgb, rgb_info, depth, depth_info, points, right,
            right_info, confidence; rgb and rgb_info required), for bags of other layouts. Only the streams
            mapped are replayed. Empty or None: recognise the layout.
        start_time: wall-clock time (`time.time()`) at which the bag's first message plays; cameras of one
            bag given the same start_time play with the bag's relative timing (see the module docstring), and
            (with restamp) are stamped with their scheduled instants. Each pass of a loop lasts the bag's
            duration plus the shortest frame period of its cameras. None: playback starts at the first grab.

    Raises:
        FileNotFoundError, ValueError: the bag cannot be read, or its images cannot be replayed.
        BagLayoutError: no camera, several cameras, or a mapping that does not fit the bag; the message
            lists the cameras found and how to choose.
    """

    def __init__(
        self,
        bag_path: str,
        rate: float = 1.0,
        loop: bool = True,
        topic_prefix: str | None = None,
        restamp: bool = True,
        topics: Mapping[str, str] | None = None,
        start_time: float | None = None,
    ) -> None:
        if not rate >= 0:
            raise ValueError(f"rate must be >= 0 (0: as fast as possible), got {rate}")
        path = bag_location(bag_path)
        self._highlevel = highlevel = import_rosbags()
        self._path = path
        self._rate = float(rate)
        self._loop = loop
        self._restamp = restamp
        contents = read_contents(highlevel, path)
        self._camera = find_camera(contents.msgtypes, topic_prefix, topics, bag_name=f"bag {bag_path}")
        if start_time is not None and rate == 0:
            raise ValueError("start_time needs a playback rate > 0 (rate=0 plays as fast as frames can be read)")
        self._start_time = start_time
        self._bag_start_ns = contents.start_ns
        self._pass_s = pass_seconds(contents) / rate if rate > 0 else 0.0
        self._passes = 0
        for note in self._camera.notes:
            logger.warning("replay of %s: %s", bag_path, note)
        self._topics = dict(self._camera.topics)
        rgb_count = contents.counts.get(self._topics["rgb"], 0)
        if rgb_count == 0:
            raise ValueError(f"bag {bag_path} has no messages on {self._topics['rgb']}")
        duration_ns = contents.duration_ns
        self._recorded_fps = (rgb_count - 1) / (duration_ns / 1e9) if rgb_count > 1 and duration_ns > 0 else 0.0
        self._latest: dict[str, Message | None] = {}
        self._decoded: dict[str, tuple[Any, Any]] = {}
        self._frames: Generator[BagFrame, None, None] = read_frames(highlevel, path, self._topics)
        self._next: BagFrame | None = self._first_frame(bag_path)
        rgb = self._decode("rgb", decode_rgb)
        self._resolution = (int(rgb.shape[1]), int(rgb.shape[0]))
        self._check_depth_lines_up(bag_path)
        self._frame: BagFrame | None = None
        self._frame_id = 0
        self._pass_frames = 0
        self._capture_timestamp = 0.0
        self._anchor: tuple[float, int] | None = None  # (monotonic time, recorded stamp) that pacing follows
        self._last_target = 0.0
        self._cloud_frame_checked = False

    def _first_frame(self, bag_path: str) -> BagFrame:
        """The first frame by which every replayed stream but the point cloud has had a message (all applied)."""
        required = set(self._topics) - {"points"}
        for frame in self._frames:
            self._apply(frame)
            if required <= {name for name, message in self._latest.items() if message is not None}:
                return frame
        missing = sorted(required - set(self._latest))
        what = f"no message on {[self._topics[name] for name in missing]}" if missing else "no frame"
        raise ValueError(f"bag {bag_path} has {what} with a header stamp at or before an RGB image's")

    def _check_depth_lines_up(self, bag_path: str) -> None:
        """Depth must have the RGB image's size; a depth camera_info with other intrinsics is warned about."""
        if "depth" not in self._topics:
            return
        depth = self._decode("depth", decode_depth)
        if depth.shape != (self._resolution[1], self._resolution[0]):
            raise ValueError(
                f"bag {bag_path}: depth {self._topics['depth']} is {depth.shape[1]}x{depth.shape[0]} but "
                f"{self._topics['rgb']} is {self._resolution[0]}x{self._resolution[1]}: only depth aligned with "
                "the colour image can be replayed (e.g. realsense-ros' aligned_depth_to_color/image_raw)"
            )
        depth_info = self._latest.get("depth_info")
        if depth_info is not None:
            depth_k = _info_field(depth_info.get(), "k").reshape(3, 3)
            if not np.allclose(depth_k, self.intrinsics_matrix(), rtol=1e-6, atol=1e-6):
                logger.warning(
                    "replay of %s: %s has other intrinsics than %s; the depth does not line up with the colour "
                    "image. Intrinsics replayed: the colour camera's.",
                    bag_path,
                    self._topics["depth_info"],
                    self._topics["rgb_info"],
                )

    @classmethod
    def unavailable_streams(
        cls,
        bag_path: str,
        topic_prefix: str | None = None,
        topics: Mapping[str, str] | None = None,
        **_ignored: Any,
    ) -> dict[str, str]:
        """Streams of the camera interface (depth, points, right, confidence) that this bag cannot give, and why.

        Called by camera_node before it starts the camera process, to publish only what the bag holds.
        Takes the constructor's keyword arguments (those that do not choose topics are ignored).
        """
        camera = inspect_bag(bag_path, topic_prefix, topics)
        where = f"camera '{camera.prefix or '/'}' ({camera.layout}) of bag {bag_path}"
        notes = "; ".join(camera.notes)
        unavailable = {}
        for stream, needed in _OFFERED.items():
            if not set(needed) <= set(camera.topics):
                reason = f"{where} has no {stream} topic"
                unavailable[stream] = f"{reason} ({notes})" if notes and stream == "depth" else reason
        if "points" not in camera.topics and "depth" not in camera.topics:
            unavailable["points"] = f"{where} has neither a point cloud nor depth to compute one from"
        return unavailable

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
        """The camera's topic prefix in the bag, e.g. "/camera" ("" for an explicit mapping)."""
        return self._camera.prefix

    @property
    def layout(self) -> str:
        """The bag layout replayed, e.g. "zed-ros2-wrapper 4.x" or "explicit mapping"."""
        return self._camera.layout

    @property
    def topics(self) -> dict[str, str]:
        """The topic replayed for each stream."""
        return dict(self._topics)

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
            raise AttributeError(f"{self._what()} has no right view (no right image with its camera_info)")
        projection = _info_field(info.get(), "p").reshape(3, 4)
        pose = np.eye(4)
        pose[0, 3] = -projection[0, 3] / projection[0, 0]
        return pose

    def intrinsics_matrix(self, view: str = LEFT_RGB) -> np.ndarray:
        """3x3 intrinsics from the view's camera_info K."""
        check_view(view)
        info = self._latest.get("rgb_info" if view == LEFT_RGB else "right_info")
        if info is None:
            raise ValueError(f"{self._what()} has no camera_info for the {view} view")
        return _info_field(info.get(), "k").reshape(3, 3).copy()

    def _what(self) -> str:
        return f"camera '{self._camera.prefix or '/'}' ({self._camera.layout}) of bag {self._path}"

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
            self._frames = read_frames(self._highlevel, self._path, self._topics)
            frame = next(self._frames, None)
            if frame is None:
                raise EndOfRecordingError(f"bag {self._path} has no frames left to play")
            restarted = True
            self._pass_frames = 0
        if self._start_time is None:
            self._wait_for(frame.stamp_ns, restarted)
            playback_time = time.time()
        else:
            self._passes += restarted
            playback_time = self._wait_for_scheduled(frame.stamp_ns)
        self._apply(frame)
        self._frame = frame
        self._frame_id += 1
        self._pass_frames += 1
        self._capture_timestamp = playback_time if self._restamp else frame.stamp_ns / 1e9

    def _wait_for_scheduled(self, stamp_ns: int) -> float:
        """Sleeps until the frame's instant on the shared schedule (a late frame plays at once); returns it."""
        assert self._start_time is not None
        scheduled = self._start_time + self._passes * self._pass_s + (stamp_ns - self._bag_start_ns) / 1e9 / self._rate
        delay = scheduled - time.time()
        if delay > 0:
            time.sleep(delay)
        return scheduled

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

    def _apply(self, frame: BagFrame) -> None:
        """Makes the frame's messages current; streams it lacks keep their last message (except points)."""
        self._latest.update(frame.messages)
        self._latest["points"] = frame.messages.get("points")

    def _decode(self, source: str, decoder: Callable[[Any], Any], key: str | None = None) -> Any:
        """`decoder` applied to the current message of stream `source`, once per message (cached under `key`)."""
        message = self._latest.get(source)
        if message is None:
            if source not in self._topics:
                hint = "use an RGB publisher (e.g. MultiprocessRGBPublisher), or " if source == "depth" else ""
                raise ValueError(
                    f"{self._what()} has no {source} topic (replayed: {self._topics}): {hint}"
                    f"map a {source} topic with topics={{..., '{source}': ...}}"
                )
            raise ValueError(f"{self._what()} has no {self._topics[source]} message up to this frame")
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
        return self._decode("confidence", decode_confidence)

    def retrieve_colored_point_cloud(self) -> PointCloud:
        """The frame's recorded point cloud in the left optical frame, or one computed from depth when it has none."""
        if self._latest.get("points") is not None:
            cloud: PointCloud = self._decode("points", self._decode_cloud)
            return cloud
        return depth_to_point_cloud(
            self.retrieve_depth_map(), self.intrinsics_matrix(), self.retrieve_rgb_image_as_int()
        )

    def _decode_cloud(self, message: Any) -> PointCloud:
        """A recorded cloud, turned into the optical frame when recorded in a body frame (zed-ros2-wrapper's)."""
        cloud = decode_point_cloud(message)
        frame = str(message.header.frame_id)
        if not is_optical_frame(frame):
            cloud = PointCloud(optical_from_body(cloud.points), cloud.colors)
        elif not self._cloud_frame_checked:
            rgb_info = self._latest.get("rgb_info")
            rgb_frame = str(rgb_info.get().header.frame_id) if rgb_info is not None else frame
            if rgb_frame != frame:
                logger.warning(
                    "replay of %s: the point cloud %s is in frame %s, not in the colour camera's %s; its points "
                    "are replayed as recorded (realsense-ros: the depth sensor's optical frame, a few cm away)",
                    self._path,
                    self._topics["points"],
                    frame,
                    rgb_frame,
                )
        self._cloud_frame_checked = True
        return cloud

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
