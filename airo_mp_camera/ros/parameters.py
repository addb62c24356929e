"""ROS parameters of the camera and bridge nodes: declared once, typed, validated, described.

Every parameter is listed here with its default, its description and what is allowed. A node declares
the specs it needs, reads them back, and turns them into a frozen config; a bad value stops the node at
start with a `ParameterError` that names the parameter and what is allowed. Parameters come from
`config/*.yaml` (`--ros-args --params-file`), the launch file, or `-p name:=value`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from airo_mp_camera.cameras.bag_layouts import STREAMS as REPLAY_STREAMS
from airo_mp_camera.pipeline.errors import InvalidNamespaceError
from airo_mp_camera.pipeline.namespace import validate_namespace
from airo_mp_camera.ros.depth_view import COLORMAPS
from airo_mp_camera.ros.link_share import DEFAULT_PRIORITY as LINK_PRIORITY
from airo_mp_camera.ros.link_share import parse_priority

Value = bool | int | float | str

STREAMS = ("rgb", "depth", "right", "confidence", "points")
"""Bridged streams; each has `<stream>.enable`, `.max_rate`, `.qos_reliability` and `.qos_depth`."""
CAMERA_TYPES = ("synthetic", "zed", "replay")
RELIABILITIES = ("reliable", "best_effort")
DEPTH_ENCODINGS = ("32FC1", "16UC1")
IMAGE_ENCODINGS = ("rgb8", "camera")
COMPRESSED_FORMATS = ("jpeg", "png")
DEPTH_CODECS = ("png", "rvl")
REMOTE_STREAMS = ("rgb", "depth", "right", "points")
"""Streams of the remote-facing bridge (topics under /<camera>/remote/)."""
REMOTE_TRANSPORTS = ("udp", "large_data")
"""`remote.transport`: what the remote bridge's participant speaks (`REMOTE_PROFILES` in ros/remote.py)."""
ZED_RESOLUTIONS = ("HD2K", "HD1080", "HD1200", "HD720", "SVGA", "VGA", "HD1536", "XVGA", "TXGA", "HD4K", "QHDPLUS")
ZED_DEPTH_MODES = ("NEURAL", "NEURAL_LIGHT", "NEURAL_PLUS", "NONE")
# Parameters every rclpy node accepts; never reported as unknown.
_RCLPY_PARAMETERS = frozenset({"use_sim_time", "start_type_description_service"})


class ParameterError(ValueError):
    """A parameter has a wrong type or value, or is unknown; the message names it and what is allowed."""


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter: its name, default (which fixes its type), description and allowed values."""

    name: str
    default: Value
    description: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False

    @property
    def allowed(self) -> str:
        """What is allowed, in words."""
        kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}[type(self.default)]
        if self.choices:
            return f"one of {', '.join(self.choices)}"
        if self.minimum is not None and self.maximum is not None:
            if self.exclusive_minimum:
                return f"{kind} > {self.minimum:g} and <= {self.maximum:g}"
            return f"{kind} from {self.minimum:g} to {self.maximum:g}"
        if self.minimum is not None:
            return f"{kind} {'>' if self.exclusive_minimum else '>='} {self.minimum:g}"
        return kind

    def check(self, value: Any) -> Value:
        """The value converted to the spec's type, or a ParameterError naming the parameter."""
        expected = type(self.default)
        if expected is float and type(value) is int:
            value = float(value)  # `fps: 30` in YAML is an integer; accept it for a number
        if type(value) is not expected:
            raise ParameterError(
                f"parameter '{self.name}' must be {self.allowed}, got {type(value).__name__} {value!r}"
            )
        if self.choices and value not in self.choices:
            raise ParameterError(f"parameter '{self.name}' must be {self.allowed}, got {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            too_small = self.minimum is not None and (
                value <= self.minimum if self.exclusive_minimum else value < self.minimum
            )
            too_large = self.maximum is not None and value > self.maximum
            if too_small or too_large or (isinstance(value, float) and not math.isfinite(value)):
                raise ParameterError(f"parameter '{self.name}' must be {self.allowed}, got {value!r}")
        return value


def _stream_specs(stream: str, enabled: bool, what: str) -> list[ParameterSpec]:
    return [
        ParameterSpec(f"{stream}.enable", enabled, f"Publish {what}."),
        ParameterSpec(
            f"{stream}.max_rate",
            0.0,
            f"Most messages per second on the {stream} topics; 0 publishes every camera frame.",
            minimum=0.0,
        ),
        ParameterSpec(
            f"{stream}.qos_reliability",
            "reliable",
            f"QoS reliability of the {stream} topics. 'reliable' (REP-2003) is accepted by every subscriber, "
            "rviz2 and ros2 bag included; a slow subscriber never slows the camera either way.",
            choices=RELIABILITIES,
        ),
        ParameterSpec(f"{stream}.qos_depth", 2, f"QoS history depth (keep last) of the {stream} topics.", minimum=1),
    ]


BRIDGE_SPECS: tuple[ParameterSpec, ...] = (
    ParameterSpec(
        "namespace",
        "",
        "Shared-memory namespace of the camera publisher (ROS-style, e.g. 'camera' or 'robot/zed'); "
        "empty: the node's name.",
    ),
    ParameterSpec(
        "camera_name",
        "",
        "Prefix of the optical frame ids (<camera_name>_left_camera_optical_frame); empty: the node's name.",
    ),
    *_stream_specs("rgb", True, "the left RGB image and its camera_info (and rgb/image_raw/compressed)"),
    *_stream_specs("depth", True, "the depth image, aligned with the left view, and its camera_info"),
    *_stream_specs("right", False, "the right RGB image and its camera_info (stereo cameras)"),
    *_stream_specs("confidence", False, "the depth confidence map (32FC1, ZED convention: 1 best, 100 worst)"),
    *_stream_specs("points", False, "the colored point cloud (PointCloud2 with float32 x, y, z, rgb)"),
    ParameterSpec(
        "rgb.encoding",
        "rgb8",
        "rgb and right images: rgb8 (converted from the camera's layout while copied where it differs), or camera: "
        "as the camera wrote them in place, bgra8 for a ZED (as zed-ros2-wrapper publishes), with no conversion.",
        choices=IMAGE_ENCODINGS,
    ),
    ParameterSpec(
        "depth.encoding",
        "32FC1",
        "Depth image encoding: 32FC1 in metres (REP-118) or 16UC1 in millimetres.",
        choices=DEPTH_ENCODINGS,
    ),
    ParameterSpec(
        "points.organized",
        True,
        "Organised cloud (height x width, NaN for invalid points) or dense (height 1, valid points only).",
    ),
    ParameterSpec(
        "points.decimation",
        1,
        "Keep every n-th row and column of the point cloud (still organized); 1 keeps every point.",
        minimum=1,
        maximum=64,
    ),
    ParameterSpec("points.xyz_only", False, "Point cloud with x, y, z only (12 bytes a point instead of 16)."),
    ParameterSpec(
        "depth.compressed_codec",
        "png",
        "Codec of depth/image_raw/compressedDepth (image_transport's compressedDepth: png, or rvl).",
        choices=DEPTH_CODECS,
    ),
    ParameterSpec(
        "depth.depth_max",
        10.0,
        "compressedDepth of 32FC1 depth: farthest depth kept, in metres (image_transport's depth_max).",
        minimum=0.0,
        exclusive_minimum=True,
    ),
    ParameterSpec(
        "depth.depth_quantization",
        100.0,
        "compressedDepth of 32FC1 depth: inverse-depth quantisation (image_transport's depth_quantization); "
        "the error at depth d is about d^2 / depth_quantization metres.",
        minimum=0.0,
        exclusive_minimum=True,
    ),
    ParameterSpec(
        "depth.vis.enable",
        True,
        "Publish depth/image_vis: the depth as an rgb8 colour image, which rviz2's Image display shows (it shows "
        "32FC1 depth black), with the depth topics' QoS and header; its camera_info is depth/camera_info. Made "
        "only while subscribed.",
    ),
    ParameterSpec(
        "depth.vis.max_rate",
        0.0,
        "Most messages per second on depth/image_vis; 0 publishes every camera frame.",
        minimum=0.0,
    ),
    ParameterSpec(
        "depth.vis.depth_min",
        0.3,
        "depth/image_vis: depth in metres shown in the top colour of the colour map (nearer depths too).",
        minimum=0.0,
    ),
    ParameterSpec(
        "depth.vis.depth_max",
        10.0,
        "depth/image_vis: depth in metres shown in the bottom colour of the colour map (farther depths too); "
        "above depth.vis.depth_min. Unknown depth is black.",
        minimum=0.0,
        exclusive_minimum=True,
    ),
    ParameterSpec(
        "depth.vis.colormap",
        "turbo",
        "depth/image_vis: OpenCV colour map (gray: near is white), from depth.vis.depth_max to depth.vis.depth_min.",
        choices=COLORMAPS,
    ),
    ParameterSpec(
        "compressed.format",
        "jpeg",
        "Encoding of the <image>/compressed topics (image_transport naming).",
        choices=COMPRESSED_FORMATS,
    ),
    ParameterSpec("compressed.jpeg_quality", 80, "JPEG quality of the compressed topics.", minimum=1, maximum=100),
    ParameterSpec("compressed.png_level", 3, "PNG compression level of the compressed topics.", minimum=0, maximum=9),
    ParameterSpec(
        "grab_timeout",
        1.0,
        "Seconds the bridge waits for a frame before it reports the camera as stalled.",
        minimum=0.0,
        exclusive_minimum=True,
    ),
    ParameterSpec(
        "diagnostics_period",
        1.0,
        "Seconds between /diagnostics messages.",
        minimum=0.0,
        exclusive_minimum=True,
    ),
)

# What each replayed stream's topic carries (the streams of airo_mp_camera.cameras.bag_layouts.STREAMS).
_REPLAY_STREAMS = {
    "rgb": "sensor_msgs/Image or CompressedImage, required in a mapping",
    "rgb_info": "its sensor_msgs/CameraInfo, required in a mapping",
    "depth": "Image 32FC1 metres or 16UC1 millimetres, or compressedDepth, aligned with rgb",
    "depth_info": "CameraInfo",
    "points": "PointCloud2",
    "right": "right view Image or CompressedImage",
    "right_info": "CameraInfo of the right view, P[0, 3] = -fx * baseline",
    "confidence": "Image 32FC1",
}
REPLAY_TOPICS_NOTE = (
    "empty: not mapped. Setting replay.topics.rgb maps the bag's topics explicitly: only the streams mapped "
    "are replayed. All empty: the layout is recognised (this package, zed-ros2-wrapper, realsense-ros)."
)


def _remote_stream_specs(stream: str, enabled: bool, max_rate: float, what: str) -> list[ParameterSpec]:
    return [
        ParameterSpec(f"remote.{stream}.enable", enabled, f"Remote bridge: publish {what}."),
        ParameterSpec(
            f"remote.{stream}.max_rate",
            max_rate,
            f"Remote bridge: most messages per second on the remote {stream} topics; 0: every camera frame.",
            minimum=0.0,
        ),
        ParameterSpec(
            f"remote.{stream}.qos_reliability",
            "reliable",
            f"QoS reliability of the remote {stream} topics (reliable is accepted by every subscriber).",
            choices=RELIABILITIES,
        ),
        ParameterSpec(
            f"remote.{stream}.qos_depth",
            2 if stream == "depth" else 1,
            f"QoS history depth of the remote {stream} topics (1: only the newest message is ever resent; depth "
            "keeps 2, so that on a slow link a frame still being sent is not dropped for the next one).",
            minimum=1,
        ),
    ]


REMOTE_SPECS: tuple[ParameterSpec, ...] = (
    ParameterSpec(
        "remote.enable",
        False,
        "camera_node: also start the remote-facing bridge (its own process and DDS participant) with topics "
        "under /<camera>/remote/. bridge_node: be that remote-facing bridge.",
    ),
    *_remote_stream_specs("rgb", True, 0.0, "rgb/image_raw/compressed and rgb/camera_info"),
    *_remote_stream_specs("depth", True, 0.0, "depth/image_raw/compressedDepth and depth/camera_info"),
    *_remote_stream_specs("right", False, 0.0, "right/image_raw/compressed and right/camera_info (stereo)"),
    *_remote_stream_specs("points", True, 10.0, "the decimated point cloud on points"),
    ParameterSpec(
        "remote.rgb.format",
        "jpeg",
        "Encoding of the remote rgb and right compressed topics.",
        choices=COMPRESSED_FORMATS,
    ),
    ParameterSpec(
        "remote.rgb.jpeg_quality",
        0,
        "JPEG quality of the remote compressed topics. 0: chosen by the remote bridge (80, lower down to "
        "remote.rgb.min_jpeg_quality when the link cannot carry rgb at its rate); 1 to 100: this one, never adapted.",
        minimum=0,
        maximum=100,
    ),
    ParameterSpec(
        "remote.rgb.min_jpeg_quality",
        40,
        "The lowest JPEG quality the remote bridge chooses for rgb (with remote.rgb.jpeg_quality 0).",
        minimum=1,
        maximum=100,
    ),
    ParameterSpec("remote.rgb.png_level", 1, "PNG level of the remote compressed topics.", minimum=0, maximum=9),
    ParameterSpec(
        "remote.rgb.raw", False, "Also publish remote rgb/image_raw (and right/image_raw): 666 Mbit/s at 720p30."
    ),
    ParameterSpec(
        "remote.depth.format",
        "rvl",
        "Codec of remote depth/image_raw/compressedDepth: rvl (about 5 ms a 720p frame) or png (45 to 70 ms).",
        choices=DEPTH_CODECS,
    ),
    ParameterSpec(
        "remote.depth.depth_max",
        10.0,
        "Remote compressedDepth of 32FC1 depth: farthest depth kept, in metres.",
        minimum=0.0,
        exclusive_minimum=True,
    ),
    ParameterSpec(
        "remote.depth.depth_quantization",
        100.0,
        "Remote compressedDepth of 32FC1 depth: inverse-depth quantisation (error about d^2 / value metres).",
        minimum=0.0,
        exclusive_minimum=True,
    ),
    ParameterSpec("remote.depth.raw", False, "Also publish remote depth/image_raw (uncompressed)."),
    ParameterSpec(
        "remote.points.decimation",
        4,
        "Remote point cloud: keep every n-th row and column (still organized).",
        minimum=1,
        maximum=64,
    ),
    ParameterSpec("remote.points.xyz_only", False, "Remote point cloud with x, y, z only (no rgb)."),
    ParameterSpec(
        "remote.max_mbit_s",
        0.0,
        "Remote bridge: the most its streams send together, in Mbit/s. 0: no ceiling; the remote bridge finds what "
        "the link carries by itself (from its subscribers' acknowledgements) and follows it as it changes. Given "
        "out in remote.priority order; a stream beyond it skips frames.",
        minimum=0.0,
    ),
    ParameterSpec(
        "remote.priority",
        ",".join(LINK_PRIORITY),
        "Remote bridge: which streams get the link first, comma-separated (raw: every raw topic); streams left "
        "out follow in the default order.",
    ),
    ParameterSpec(
        "remote.rgb.scale",
        0.0,
        "Remote rgb and right images (and camera_info, as image_proc's resize) scaled by this factor; 1: full size. "
        "0: chosen by the remote bridge (full size, smaller down to remote.rgb.min_scale when even the lowest JPEG "
        "quality does not fit the link); above 0: this one, never adapted.",
        minimum=0.0,
        maximum=1.0,
    ),
    ParameterSpec(
        "remote.rgb.min_scale",
        0.5,
        "The smallest scale the remote bridge chooses for rgb and right (with remote.rgb.scale 0).",
        minimum=0.0,
        maximum=1.0,
        exclusive_minimum=True,
    ),
    ParameterSpec(
        "remote.depth.scale",
        0.0,
        "Remote depth images (and camera_info) scaled by this factor, nearest pixel (no mixed depths); 1: full size. "
        "0: chosen by the remote bridge (full size, smaller down to remote.depth.min_scale while one full frame "
        "would hold the link too long); above 0: this one, never adapted.",
        minimum=0.0,
        maximum=1.0,
    ),
    ParameterSpec(
        "remote.depth.min_scale",
        0.25,
        "The smallest scale the remote bridge chooses for depth (with remote.depth.scale 0).",
        minimum=0.0,
        maximum=1.0,
        exclusive_minimum=True,
    ),
    ParameterSpec(
        "remote.transport",
        "udp",
        "How the remote topics travel. udp: plain RTPS over UDP, which any DDS subscriber with stock settings "
        "receives (config/fastdds_remote_udp.xml). large_data: Fast DDS's TCP large-data mode "
        "(config/fastdds_multi_host.xml), for raw streams; every subscriber then needs that profile or "
        "FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA.",
        choices=REMOTE_TRANSPORTS,
    ),
    ParameterSpec(
        "remote.fastdds_profile",
        "",
        "Fast DDS profile of the remote bridge process; empty: the package's profile of remote.transport.",
    ),
    ParameterSpec(
        "remote.nice",
        10,
        "CPU niceness of the remote bridge process (0-19): on a busy host the camera, the native receivers and "
        "the local bridge get the CPU first; the remote streams give way.",
        minimum=0,
        maximum=19,
    ),
    ParameterSpec(
        "remote.discovery_range",
        "SUBNET",
        "ROS_AUTOMATIC_DISCOVERY_RANGE of the remote bridge process (SUBNET: other machines find it).",
        choices=("SUBNET", "LOCALHOST", "SYSTEM_DEFAULT"),
    ),
)


CAMERA_SPECS: tuple[ParameterSpec, ...] = (
    ParameterSpec("camera_type", "synthetic", "Camera hosted by the node's publisher process.", choices=CAMERA_TYPES),
    ParameterSpec("width", 1280, "Image width of the synthetic camera, in pixels.", minimum=16, maximum=8192),
    ParameterSpec("height", 720, "Image height of the synthetic camera, in pixels.", minimum=16, maximum=8192),
    ParameterSpec(
        "fps",
        30.0,
        "Frame rate of the synthetic and ZED cameras.",
        minimum=0.0,
        maximum=1000.0,
        exclusive_minimum=True,
    ),
    ParameterSpec(
        "synthetic.depth_model",
        "plane",
        "Depth of the synthetic camera: plane (exact, compresses very well) or realistic (objects, noise "
        "growing with depth, holes: as hard to compress as a stereo camera's).",
        choices=("plane", "realistic"),
    ),
    ParameterSpec(
        "synthetic.phase",
        -1.0,
        "Seconds: >= 0 captures the synthetic camera's frames on the wall clock's grid k / fps + phase, stamped "
        "with those instants (several cameras with known relative timing); negative: the grid starts at open.",
        minimum=-1.0,
    ),
    ParameterSpec(
        "synthetic.jitter",
        0.0,
        "Seconds each capture of the synthetic camera moves either way (uniformly); needs synthetic.phase >= 0.",
        minimum=0.0,
    ),
    ParameterSpec(
        "synthetic.in_place",
        False,
        "Deliver the synthetic camera as a ZED on SDK >= 5.3.1 does: BGRA images and XYZRGBA clouds written "
        "straight into the publisher's shared-memory slots, so the publisher copies nothing "
        "(cameras/synthetic_in_place.py).",
    ),
    ParameterSpec("zed.resolution", "HD720", "ZED resolution.", choices=ZED_RESOLUTIONS),
    ParameterSpec("zed.depth_mode", "NEURAL", "ZED depth mode.", choices=ZED_DEPTH_MODES),
    ParameterSpec("zed.serial_number", 0, "Serial number of the ZED to open; 0: the first found.", minimum=0),
    ParameterSpec("zed.svo_file", "", "Play this SVO/SVO2 file instead of a live camera; empty: live."),
    ParameterSpec("zed.svo_loop", False, "Loop the SVO file; otherwise the camera stops at its end."),
    ParameterSpec(
        "zed.svo_real_time", False, "Play the SVO in the SDK's real-time mode (drops frames); otherwise every frame."
    ),
    ParameterSpec(
        "replay.bag_path", "", "Bag to replay (camera_type replay): a rosbag2 directory or a ROS 1 .bag file."
    ),
    ParameterSpec(
        "replay.rate",
        1.0,
        "Replay speed: 1.0 the recorded rate, 2.0 twice as fast, 0 as fast as possible.",
        minimum=0.0,
    ),
    ParameterSpec("replay.loop", True, "Start the bag again at its end; otherwise the camera stops."),
    ParameterSpec(
        "replay.restamp",
        True,
        "Stamp replayed frames with the time they are played (tf and rviz work as live); false: the bag's stamps.",
    ),
    ParameterSpec(
        "replay.topic_prefix",
        "",
        "Topic prefix of the camera to replay when the bag holds several (e.g. /zed/zed_node, /camera/camera); "
        "empty: the bag's one camera of a known layout.",
    ),
    *(
        ParameterSpec(
            f"replay.topics.{stream}",
            "",
            f"Bag topic of the {stream} stream ({_REPLAY_STREAMS[stream]}); {REPLAY_TOPICS_NOTE}",
        )
        for stream in REPLAY_STREAMS
    ),
)

CONSUMER_SPECS: tuple[ParameterSpec, ...] = (
    ParameterSpec("rerun.enable", False, "Start a Rerun logger process on the namespace (needs rerun-sdk)."),
    ParameterSpec("rerun.rrd_path", "", "Log to this .rrd file; empty: spawn (or connect to) a Rerun viewer."),
    *(
        ParameterSpec(f"rerun.web.{name}", default, description, minimum=minimum, maximum=maximum)
        for name, default, description, minimum, maximum in (
            (
                "enable",
                False,
                "Serve the Rerun web viewer of this camera (rgb, depth, cloud) to browsers.",
                None,
                None,
            ),
            ("bind", "127.0.0.1", "Address the web viewer listens on; 0.0.0.0: every interface (README).", None, None),
            ("port", 9090, "HTTP port of the web viewer page.", 1, 65535),
            ("grpc_port", 9876, "Port of the web viewer's data (gRPC); browsers must reach it too.", 1, 65535),
            ("max_rate", 5.0, "Frames per second sent to the browser.", 0.1, None),
            ("width", 1280, "Width of the rgb sent to the browser (JPEG); 0: as captured.", 0, None),
            ("depth_width", 640, "Width of the depth sent to the browser (16-bit mm); 0: as captured.", 0, None),
            (
                "jpeg_quality",
                80,
                "JPEG quality of the rgb sent to the browser; 0: raw (1080p is too big for Wi-Fi).",
                0,
                100,
            ),
            ("max_points", 20000, "Most points of the cloud sent to the browser; 0: no cloud.", 0, None),
            ("memory_limit", "64MiB", "Most history the web viewer server keeps for late viewers.", None, None),
        )
    ),
    ParameterSpec("recording.start_on_launch", False, "Start recording the rgb stream to a video at start-up."),
    ParameterSpec("recording.directory", "", "Directory of the videos recorded; empty: the working directory."),
    ParameterSpec(
        "recording.filename",
        "",
        "File name of the next recording (.mp4); empty: <camera_name>_<date>_<time>.mp4.",
    ),
)


@dataclass(frozen=True)
class StreamConfig:
    """How one stream is bridged."""

    enabled: bool
    max_rate: float
    reliability: str
    qos_depth: int
    raw: bool = True
    """Publish the uncompressed topic (image_raw, or points); the remote bridge only when asked."""


@dataclass(frozen=True)
class DepthViewConfig:
    """The depth view, depth/image_vis (ros/depth_view.py): a colour image of the depth for rviz2."""

    enabled: bool = True
    max_rate: float = 0.0
    depth_min: float = 0.3
    depth_max: float = 10.0
    colormap: str = "turbo"


@dataclass(frozen=True)
class BridgeConfig:
    """Everything the bridge needs, validated."""

    namespace: str
    camera_name: str
    streams: Mapping[str, StreamConfig]
    depth_encoding: str = "32FC1"
    image_encoding: str = "rgb8"
    """rgb8, or "camera": the rgb and right images in the layout the camera wrote (bgra8 from a ZED in place)."""
    points_organized: bool = True
    points_decimation: int = 1
    points_xyz_only: bool = False
    depth_codec: str = "png"
    depth_max: float = 10.0
    depth_quantization: float = 100.0
    depth_view: DepthViewConfig = DepthViewConfig()
    remote: bool = False
    """The remote-facing stream set: topics under ~/ of a node named `remote` in the camera's namespace."""
    compressed_format: str = "jpeg"
    jpeg_quality: int = 80
    png_level: int = 3
    grab_timeout: float = 1.0
    diagnostics_period: float = 1.0
    link_budget_mbit_s: float = 0.0
    """The remote bridge's ceiling (remote.max_mbit_s); 0: none, the link estimate alone (ros/link_estimate.py)."""
    link_priority: tuple[str, ...] = LINK_PRIORITY
    image_scale: float = 1.0
    """rgb and right images (and their camera_info) scaled by this factor (the remote bridge's smaller forms);
    0: chosen by the remote bridge, from 1 down to `min_image_scale`."""
    min_image_scale: float = 1.0
    min_jpeg_quality: int = 80
    """With `jpeg_quality` 0 (the remote bridge's choice): the lowest it chooses."""
    depth_scale: float = 1.0
    """Depth images (and camera_info) scaled by this factor; 0: the remote bridge chooses, down to min_depth_scale."""
    min_depth_scale: float = 1.0

    @property
    def left_frame(self) -> str:
        """REP-103 optical frame of the left view (x right, y down, z forward)."""
        return f"{self.camera_name}_left_camera_optical_frame"

    @property
    def right_frame(self) -> str:
        """REP-103 optical frame of the right view."""
        return f"{self.camera_name}_right_camera_optical_frame"


@dataclass(frozen=True)
class CameraConfig:
    """The hosted camera: its type and the keyword arguments of its class."""

    camera_type: str
    camera_kwargs: dict[str, Any] = field(default_factory=dict)


def check_all(specs: Iterable[ParameterSpec], values: Mapping[str, Any]) -> dict[str, Value]:
    """Every spec's value, checked (defaults for those absent)."""
    return {spec.name: spec.check(values.get(spec.name, spec.default)) for spec in specs}


def check_unknown(given: Iterable[str], specs: Iterable[ParameterSpec]) -> None:
    """Raises ParameterError for a given parameter that no spec declares (a typo in a YAML file, say)."""
    known = {spec.name for spec in specs} | _RCLPY_PARAMETERS
    unknown = sorted(set(given) - known)
    if unknown:
        raise ParameterError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(repr(n) for n in unknown)}; "
            f"known: {', '.join(sorted(known - _RCLPY_PARAMETERS))}"
        )


def bridge_config(values: Mapping[str, Any], node_name: str) -> BridgeConfig:
    """The bridge's config from parameter values (defaults for those absent)."""
    checked = check_all(BRIDGE_SPECS, values)
    namespace = str(checked["namespace"]) or node_name
    try:
        namespace = validate_namespace(namespace)
    except InvalidNamespaceError as error:
        raise ParameterError(f"parameter 'namespace': {error}") from error
    streams = {
        stream: StreamConfig(
            enabled=bool(checked[f"{stream}.enable"]),
            max_rate=float(checked[f"{stream}.max_rate"]),
            reliability=str(checked[f"{stream}.qos_reliability"]),
            qos_depth=int(checked[f"{stream}.qos_depth"]),
        )
        for stream in STREAMS
    }
    if checked["points.decimation"] != 1 and not checked["points.organized"]:
        raise ParameterError("parameter 'points.decimation' above 1 needs points.organized true (it keeps a grid)")
    depth_min, depth_max = float(checked["depth.vis.depth_min"]), float(checked["depth.vis.depth_max"])
    if depth_min >= depth_max:
        raise ParameterError(
            f"parameter 'depth.vis.depth_min' ({depth_min:g}) must be below 'depth.vis.depth_max' ({depth_max:g}): "
            "they are the nearest and farthest depth the colour map of depth/image_vis spans"
        )
    return BridgeConfig(
        namespace=namespace,
        camera_name=str(checked["camera_name"]) or node_name,
        streams=streams,
        depth_encoding=str(checked["depth.encoding"]),
        image_encoding=str(checked["rgb.encoding"]),
        points_organized=bool(checked["points.organized"]),
        points_decimation=int(checked["points.decimation"]),
        points_xyz_only=bool(checked["points.xyz_only"]),
        depth_codec=str(checked["depth.compressed_codec"]),
        depth_max=float(checked["depth.depth_max"]),
        depth_quantization=float(checked["depth.depth_quantization"]),
        depth_view=DepthViewConfig(
            enabled=bool(checked["depth.vis.enable"]),
            max_rate=float(checked["depth.vis.max_rate"]),
            depth_min=depth_min,
            depth_max=depth_max,
            colormap=str(checked["depth.vis.colormap"]),
        ),
        compressed_format=str(checked["compressed.format"]),
        jpeg_quality=int(checked["compressed.jpeg_quality"]),
        png_level=int(checked["compressed.png_level"]),
        grab_timeout=float(checked["grab_timeout"]),
        diagnostics_period=float(checked["diagnostics_period"]),
    )


def remote_bridge_config(values: Mapping[str, Any], node_name: str) -> BridgeConfig:
    """The remote-facing bridge's config: the `remote.*` parameters over the local bridge's namespace and names.

    Its streams are rgb (compressed; raw when `remote.rgb.raw`), depth (compressedDepth; raw when
    `remote.depth.raw`), right (as rgb) and points (decimated); confidence and the depth view (depth/image_vis)
    are never sent off-host.
    """
    local = bridge_config(values, node_name)
    checked = check_all(REMOTE_SPECS, values)
    raw = {"rgb": bool(checked["remote.rgb.raw"]), "depth": bool(checked["remote.depth.raw"]), "points": True}
    raw["right"] = raw["rgb"]
    streams = {
        stream: StreamConfig(
            enabled=stream in REMOTE_STREAMS and bool(checked[f"remote.{stream}.enable"]),
            max_rate=float(checked[f"remote.{stream}.max_rate"]) if stream in REMOTE_STREAMS else 0.0,
            reliability=str(checked[f"remote.{stream}.qos_reliability"]) if stream in REMOTE_STREAMS else "reliable",
            qos_depth=int(checked[f"remote.{stream}.qos_depth"]) if stream in REMOTE_STREAMS else 1,
            raw=raw.get(stream, False),
        )
        for stream in STREAMS
    }
    return replace(
        local,
        streams=streams,
        points_organized=True,
        points_decimation=int(checked["remote.points.decimation"]),
        points_xyz_only=bool(checked["remote.points.xyz_only"]),
        depth_codec=str(checked["remote.depth.format"]),
        depth_max=float(checked["remote.depth.depth_max"]),
        depth_quantization=float(checked["remote.depth.depth_quantization"]),
        depth_view=replace(local.depth_view, enabled=False),
        compressed_format=str(checked["remote.rgb.format"]),
        jpeg_quality=int(checked["remote.rgb.jpeg_quality"]),
        png_level=int(checked["remote.rgb.png_level"]),
        remote=True,
        link_budget_mbit_s=float(checked["remote.max_mbit_s"]),
        link_priority=_link_priority(str(checked["remote.priority"])),
        image_scale=float(checked["remote.rgb.scale"]),
        min_image_scale=float(checked["remote.rgb.min_scale"]),
        min_jpeg_quality=int(checked["remote.rgb.min_jpeg_quality"]),
        depth_scale=float(checked["remote.depth.scale"]),
        min_depth_scale=float(checked["remote.depth.min_scale"]),
    )


def _link_priority(text: str) -> tuple[str, ...]:
    try:
        return parse_priority(text)
    except ValueError as error:
        raise ParameterError(f"parameter 'remote.priority': {error}, got {text!r}") from error


def camera_config(values: Mapping[str, Any]) -> CameraConfig:
    """The hosted camera's type and kwargs from parameter values."""
    checked = check_all(CAMERA_SPECS, values)
    camera_type = str(checked["camera_type"])
    if camera_type == "synthetic":
        kwargs: dict[str, Any] = {"resolution": (checked["width"], checked["height"]), "fps": checked["fps"]}
        if checked["synthetic.depth_model"] != "plane":  # the keyword only when asked: older cameras lack it
            kwargs["depth_model"] = checked["synthetic.depth_model"]
        if float(checked["synthetic.phase"]) >= 0:  # likewise: the keywords only when asked
            kwargs["phase"], kwargs["jitter"] = float(checked["synthetic.phase"]), float(checked["synthetic.jitter"])
        if checked["synthetic.in_place"]:
            camera_type = "synthetic_in_place"
    elif camera_type == "zed":
        kwargs = {
            "resolution": checked["zed.resolution"],
            "fps": int(round(float(checked["fps"]))),
            "depth_mode": checked["zed.depth_mode"],
            "serial_number": int(checked["zed.serial_number"]) or None,
            "svo_file": str(checked["zed.svo_file"]) or None,
            "svo_loop": checked["zed.svo_loop"],
            "svo_real_time": checked["zed.svo_real_time"],
        }
    else:
        if not checked["replay.bag_path"]:
            raise ParameterError(
                "parameter 'replay.bag_path' must name a bag (rosbag2 directory or ROS 1 .bag file) when camera_type "
                "is replay"
            )
        kwargs = {
            "bag_path": checked["replay.bag_path"],
            "rate": checked["replay.rate"],
            "loop": checked["replay.loop"],
            "restamp": checked["replay.restamp"],
            **_replay_topic_kwargs(checked),
        }
    return CameraConfig(camera_type, kwargs)


def _replay_topic_kwargs(checked: Mapping[str, Value]) -> dict[str, Any]:
    """ReplayCamera's `topic_prefix` and `topics` from the replay.topic_prefix and replay.topics.* parameters."""
    kwargs: dict[str, Any] = {}
    if checked["replay.topic_prefix"]:
        kwargs["topic_prefix"] = str(checked["replay.topic_prefix"])
    prefix = "replay.topics."
    topics = {name[len(prefix) :]: str(value) for name, value in checked.items() if name.startswith(prefix) and value}
    if not topics:
        return kwargs
    for stream, topic in topics.items():
        if not topic.startswith("/"):
            raise ParameterError(f"parameter 'replay.topics.{stream}' must be an absolute topic name, got {topic!r}")
    for required in ("rgb", "rgb_info"):
        if required not in topics:
            raise ParameterError(
                f"parameter 'replay.topics.{required}' must be set when other replay.topics.* are "
                f"(set: {', '.join(sorted(topics))}); the colour image and its camera_info are required"
            )
    kwargs["topics"] = topics
    return kwargs
