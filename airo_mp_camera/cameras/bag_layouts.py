"""Which topics of a bag make up a camera: the drivers' layouts, recognised by topic name and type.

A camera in a bag is a topic prefix plus, for each stream a `ReplayCamera` replays, the topic that carries
it. The streams:

    rgb, rgb_info           left/colour image (required) and its sensor_msgs/CameraInfo (required: intrinsics)
    depth, depth_info       depth aligned with rgb, and its CameraInfo
    points                  sensor_msgs/PointCloud2
    right, right_info       right view of a stereo camera, and its CameraInfo (P[0, 3] = -fx * baseline)
    confidence              32FC1 confidence map

Each driver layout lists, per stream, the topic suffixes under the camera's prefix, preferred first; for
images a raw topic is preferred to its image_transport `compressed` (colour) or `compressedDepth` (depth)
twin, which are used when the bag holds only those. The names were read in the drivers' sources (never
copied):

- this package's bridge (`/<camera>/rgb/image_raw`, ...) and its remote bridge (`/<camera>/remote/...`,
  compressed; when the bag holds both, the local topics are replayed unless topic_prefix chooses the remote);
- stereolabs/zed-ros2-wrapper 4.x, tag humble-v4.2.5 (commit b5844a8), whose names 5.0.0 kept: node
  `/zed/zed_node`, `rgb/image_rect_color` (bgra8), `depth/depth_registered` (32FC1, or mono16 millimetres
  in OpenNI mode), `point_cloud/cloud_registered`, `confidence/confidence_map`, `right/image_rect_color`;
  camera_info beside each image (`rgb/camera_info`, ...). zed-ros-wrapper (ROS 1, master, commit 6e5ab7d)
  uses the same names;
- stereolabs/zed-ros2-wrapper 5.x, tags humble-v5.1.0 to v5.4.1 and master (commit 33dfefa):
  `rgb/color/rect/image`, `right/color/rect/image` with camera_info beside them (`rgb/color/rect/camera_info`)
  and under them (`rgb/color/rect/image/camera_info`); depth, point cloud and confidence kept their names;
- IntelRealSense/realsense-ros 4.x, branch ros2-development (commit ee94dc9; for ROS 1 its branch
  ros1-legacy, commit b14ce43, uses the same names): node `/camera/camera`, `color/image_raw` (rgb8),
  `aligned_depth_to_color/image_raw` (16UC1 millimetres) with `aligned_depth_to_color/camera_info`,
  `depth/color/points`. Its unaligned `depth/image_rect_raw` has the depth sensor's intrinsics, not the
  colour camera's: it is not replayed unless mapped explicitly.

Anything else is mapped explicitly: `topics={"rgb": "/my/image", "rgb_info": "/my/camera_info", ...}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

STREAMS = ("rgb", "rgb_info", "depth", "depth_info", "points", "right", "right_info", "confidence")
"""Streams a ReplayCamera replays; the keys of an explicit topic mapping."""

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
POINT_CLOUD = "sensor_msgs/msg/PointCloud2"

MESSAGE_TYPES: dict[str, tuple[str, ...]] = {
    "rgb": (IMAGE, COMPRESSED_IMAGE),
    "rgb_info": (CAMERA_INFO,),
    "depth": (IMAGE, COMPRESSED_IMAGE),
    "depth_info": (CAMERA_INFO,),
    "points": (POINT_CLOUD,),
    "right": (IMAGE, COMPRESSED_IMAGE),
    "right_info": (CAMERA_INFO,),
    "confidence": (IMAGE,),
}
"""Message types each stream accepts."""


def _colour(*suffixes: str) -> tuple[str, ...]:
    """Raw colour topics first, then their `compressed` twins."""
    return suffixes + tuple(f"{suffix}/compressed" for suffix in suffixes)


def _depth(*suffixes: str) -> tuple[str, ...]:
    """Raw depth topics first, then their `compressedDepth` twins, then 16-bit PNG `compressed` ones."""
    return (
        suffixes
        + tuple(f"{suffix}/compressedDepth" for suffix in suffixes)
        + tuple(f"{suffix}/compressed" for suffix in suffixes)
    )


@dataclass(frozen=True)
class DriverLayout:
    """Topic suffixes of one driver's camera, per stream, preferred first."""

    name: str
    example_prefix: str
    suffixes: Mapping[str, tuple[str, ...]]
    unaligned_depth: tuple[str, ...] = ()
    unaligned_depth_info: str = ""


OWN = DriverLayout(
    "airo_mp_camera",
    "/camera",
    {
        "rgb": _colour("rgb/image_raw"),
        "rgb_info": ("rgb/camera_info",),
        "depth": _depth("depth/image_raw"),
        "depth_info": ("depth/camera_info",),
        "points": ("points",),
        "right": _colour("right/image_raw"),
        "right_info": ("right/camera_info",),
        "confidence": ("confidence/image_raw",),
    },
)
ZED_4 = DriverLayout(
    "zed-ros2-wrapper 4.x",
    "/zed/zed_node",
    {
        "rgb": _colour("rgb/image_rect_color", "left/image_rect_color"),
        "rgb_info": ("rgb/camera_info", "left/camera_info"),
        "depth": _depth("depth/depth_registered"),
        "depth_info": ("depth/camera_info",),
        "points": ("point_cloud/cloud_registered",),
        "right": _colour("right/image_rect_color"),
        "right_info": ("right/camera_info",),
        "confidence": ("confidence/confidence_map",),
    },
)
ZED_5 = DriverLayout(
    "zed-ros2-wrapper 5.x",
    "/zed/zed_node",
    {
        "rgb": _colour("rgb/color/rect/image", "left/color/rect/image"),
        "rgb_info": (
            "rgb/color/rect/camera_info",
            "rgb/color/rect/image/camera_info",
            "left/color/rect/camera_info",
            "left/color/rect/image/camera_info",
        ),
        "depth": _depth("depth/depth_registered"),
        "depth_info": ("depth/camera_info", "depth/depth_registered/camera_info"),
        "points": ("point_cloud/cloud_registered",),
        "right": _colour("right/color/rect/image"),
        "right_info": ("right/color/rect/camera_info", "right/color/rect/image/camera_info"),
        "confidence": ("confidence/confidence_map",),
    },
)
REALSENSE = DriverLayout(
    "realsense-ros 4.x",
    "/camera/camera",
    {
        "rgb": _colour("color/image_raw"),
        "rgb_info": ("color/camera_info",),
        "depth": _depth("aligned_depth_to_color/image_raw"),
        "depth_info": ("aligned_depth_to_color/camera_info",),
        "points": ("depth/color/points",),
    },
    unaligned_depth=_depth("depth/image_rect_raw"),
    unaligned_depth_info="depth/camera_info",
)
LAYOUTS = (OWN, ZED_4, ZED_5, REALSENSE)
"""The layouts recognised without a mapping."""


@dataclass(frozen=True)
class BagCamera:
    """One camera found in a bag: its layout, topic prefix, topic per stream, and what a user should know."""

    layout: str
    prefix: str
    topics: Mapping[str, str]
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        """e.g. "'/zed/zed_node' (zed-ros2-wrapper 4.x: rgb, depth, points)"."""
        streams = [stream for stream in STREAMS if stream in self.topics and not stream.endswith("_info")]
        return f"'{self.prefix or '/'}' ({self.layout}: {', '.join(streams)})"


class BagLayoutError(ValueError):
    """The bag holds no camera, several, or not the one asked for; the message says how to choose."""


def _prefix_of(topic: str, suffix: str) -> str | None:
    """The prefix under which `topic` is `suffix` ("" for a topic at the root), or None."""
    if topic == f"/{suffix}" or topic == suffix:
        return ""
    if topic.endswith(f"/{suffix}"):
        return topic[: -len(suffix) - 1]
    return None


def _join(prefix: str, suffix: str) -> str:
    return f"{prefix}/{suffix}"


def _pick(bag_topics: Mapping[str, str], prefix: str, stream: str, suffixes: tuple[str, ...]) -> str | None:
    for suffix in suffixes:
        topic = _join(prefix, suffix)
        if bag_topics.get(topic) in MESSAGE_TYPES[stream]:
            return topic
    return None


def _assemble(layout: DriverLayout, prefix: str, bag_topics: Mapping[str, str]) -> BagCamera:
    topics: dict[str, str] = {}
    for stream, suffixes in layout.suffixes.items():
        topic = _pick(bag_topics, prefix, stream, suffixes)
        if topic is not None:
            topics[stream] = topic
    notes = []
    if "right" in topics and "right_info" not in topics:
        notes.append(f"{topics.pop('right')} is not replayed: the bag has no right camera_info (no baseline)")
    if "depth" not in topics and layout.unaligned_depth:
        unaligned = _pick(bag_topics, prefix, "depth", layout.unaligned_depth)
        if unaligned is not None:
            info = _join(prefix, layout.unaligned_depth_info)
            notes.append(
                f"{unaligned} is not replayed: it is the depth sensor's own view, whose intrinsics ({info}) and "
                f"pose differ from the colour camera's, so it does not line up with {topics['rgb']}. Record "
                "with align_depth.enable:=true (aligned_depth_to_color/image_raw), or map it explicitly "
                f"(topics={{..., 'depth': '{unaligned}', 'depth_info': '{info}'}}) to replay it unaligned"
            )
    return BagCamera(layout.name, prefix, topics, tuple(notes))


def find_cameras(bag_topics: Mapping[str, str]) -> list[BagCamera]:
    """Every camera of a known layout in a bag, by the topics (topic -> message type) it holds."""
    found: dict[tuple[str, str], BagCamera] = {}
    for layout in LAYOUTS:
        for suffix in layout.suffixes["rgb"]:
            for topic, msgtype in bag_topics.items():
                prefix = _prefix_of(topic, suffix)
                if prefix is None or msgtype not in MESSAGE_TYPES["rgb"] or (layout.name, prefix) in found:
                    continue
                found[(layout.name, prefix)] = _assemble(layout, prefix, bag_topics)
    return sorted(found.values(), key=lambda camera: (camera.prefix, camera.layout))


def _normalised_prefix(topic_prefix: str) -> str:
    stripped = topic_prefix.strip("/")
    return f"/{stripped}" if stripped else ""


def _how_to_choose() -> str:
    return (
        "Choose one with topic_prefix (node parameter replay.topic_prefix), or map its topics explicitly with "
        "topics={'rgb': ..., 'rgb_info': ..., 'depth': ..., ...} (node parameters replay.topics.rgb, ...)."
    )


def explicit_camera(bag_topics: Mapping[str, str], topics: Mapping[str, str]) -> BagCamera:
    """The camera of an explicit stream -> topic mapping, checked against the bag's topics and types."""
    unknown = sorted(set(topics) - set(STREAMS))
    if unknown:
        raise BagLayoutError(f"unknown stream(s) {unknown} in topics; the streams are {', '.join(STREAMS)}")
    chosen = {stream: topic for stream, topic in topics.items() if topic}
    for required in ("rgb", "rgb_info"):
        if required not in chosen:
            raise BagLayoutError(
                f"topics must map '{required}' (the colour image and its camera_info give the resolution and "
                f"intrinsics); got {dict(chosen)}"
            )
    for stream, topic in chosen.items():
        if topic not in bag_topics:
            raise BagLayoutError(f"topics['{stream}'] = {topic!r} is not in the bag; its topics: {sorted(bag_topics)}")
        if bag_topics[topic] not in MESSAGE_TYPES[stream]:
            raise BagLayoutError(
                f"topics['{stream}'] = {topic!r} carries {bag_topics[topic]}; "
                f"'{stream}' must be one of {', '.join(MESSAGE_TYPES[stream])}"
            )
    notes = []
    if "right" in chosen and "right_info" not in chosen:
        raise BagLayoutError(
            "topics maps 'right' but not 'right_info' (the right view's camera_info gives the baseline)"
        )
    depth = chosen.get("depth", "")
    if any(_prefix_of(depth, suffix) is not None for suffix in REALSENSE.unaligned_depth):
        notes.append(
            f"{depth} is realsense-ros' unaligned depth: its pixels do not line up with {chosen['rgb']} "
            "(the depth sensor's intrinsics and pose differ from the colour camera's); replayed as mapped"
        )
    return BagCamera("explicit mapping", "", chosen, tuple(notes))


def find_camera(
    bag_topics: Mapping[str, str],
    topic_prefix: str | None = None,
    topics: Mapping[str, str] | None = None,
    bag_name: str = "the bag",
) -> BagCamera:
    """The one camera to replay: from `topics` if given, else the one of a known layout (under `topic_prefix`).

    Raises:
        BagLayoutError: no camera, several, none under the prefix, or a mapping that does not fit the bag.
    """
    if topics:
        return explicit_camera(bag_topics, topics)
    cameras = find_cameras(bag_topics)
    if topic_prefix is not None:
        prefix = _normalised_prefix(topic_prefix)
        under = [camera for camera in cameras if camera.prefix == prefix]
        if not under:
            found = ", ".join(camera.describe() for camera in cameras) or "none"
            raise BagLayoutError(
                f"{bag_name} has no camera under topic prefix '{prefix or '/'}'; cameras found: {found}. "
                f"Its topics: {sorted(bag_topics)}"
            )
        cameras = under
    else:
        cameras = _without_remote_twins(cameras)
    if not cameras:
        known = "; ".join(f"{layout.name}: {layout.example_prefix}/{layout.suffixes['rgb'][0]}" for layout in LAYOUTS)
        raise BagLayoutError(
            f"{bag_name} has no camera of a known layout ({known}). Its topics: {sorted(bag_topics)}. "
            "Map them explicitly with topics={'rgb': ..., 'rgb_info': ...} (node parameters replay.topics.*)."
        )
    if len(cameras) > 1:
        listed = ", ".join(camera.describe() for camera in cameras)
        raise BagLayoutError(
            f"{bag_name} holds {len(cameras)} cameras: {listed}. {_how_to_choose()} To replay them all, run one "
            "ReplayCamera per topic_prefix, all with the same start_time (they keep the bag's relative timing)."
        )
    camera = cameras[0]
    if "rgb_info" not in camera.topics:
        raise BagLayoutError(
            f"{bag_name}: camera {camera.describe()} has no camera_info for {camera.topics['rgb']} "
            f"(looked for {', '.join(_join(camera.prefix, s) for s in _layout(camera).suffixes['rgb_info'])}): "
            "the intrinsics are unknown. Map one explicitly with topics={..., 'rgb_info': ...}."
        )
    return camera


def _without_remote_twins(cameras: list[BagCamera]) -> list[BagCamera]:
    """Drops `<prefix>/remote` (this package's remote bridge) when `<prefix>` itself is in the bag, with a note."""
    own = {camera.prefix for camera in cameras if camera.layout == OWN.name}
    kept = []
    for camera in cameras:
        local = camera.prefix[: -len("/remote")] if camera.prefix.endswith("/remote") else None
        if camera.layout == OWN.name and local in own:
            continue
        if camera.layout == OWN.name and f"{camera.prefix}/remote" in own:
            note = (
                f"'{camera.prefix}/remote' (the remote bridge's topics of the same camera) is not replayed; "
                f"choose it with topic_prefix='{camera.prefix}/remote'"
            )
            camera = BagCamera(camera.layout, camera.prefix, camera.topics, (*camera.notes, note))
        kept.append(camera)
    return kept


def _layout(camera: BagCamera) -> DriverLayout:
    return next(layout for layout in LAYOUTS if layout.name == camera.layout)
