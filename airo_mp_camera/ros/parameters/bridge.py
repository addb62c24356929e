"""The local bridge's parameters: per-stream publishing and QoS, encodings, compressed topics, timeouts.

Each stream's parameters are `<stream>.<what>`; a stream's compressed topic takes `<stream>.format` and its
codec settings (`rgb.jpeg_quality`, `depth.format`), the names the remote bridge's entries repeat under
`remote.` (ros/parameters/remote.py).
"""

from __future__ import annotations

from airo_mp_camera.ros.depth_view import COLORMAPS
from airo_mp_camera.ros.parameters.spec import LaunchExposure, ParameterSpec

STREAMS = ("rgb", "depth", "right", "confidence", "points")
"""Bridged streams; each has `<stream>.enable`, `.max_rate`, `.qos_reliability` and `.qos_depth`."""
RELIABILITIES = ("reliable", "best_effort")
DEPTH_ENCODINGS = ("32FC1", "16UC1")
IMAGE_ENCODINGS = ("rgb8", "camera")
COMPRESSED_FORMATS = ("jpeg", "png")
DEPTH_CODECS = ("png", "rvl")

# One launch argument names the node and sets both its namespace and its frames' prefix.
_CAMERA_NAME = LaunchExposure(
    "camera_name",
    default="zed",
    kind="name",
    description="Node name, topic prefix, shared-memory namespace and tf prefix.",
)
# The launch argument that switches each stream on or off (rgb is always published).
_STREAM_LAUNCH = {
    "depth": LaunchExposure("enable_depth", description="Publish depth/image_raw."),
    "right": LaunchExposure("enable_right", description="Publish the right view."),
    "confidence": LaunchExposure("enable_confidence", description="Publish confidence/image_raw."),
    "points": LaunchExposure("enable_pointcloud", default=True, description="Publish points."),
}


def _stream_specs(stream: str, enabled: bool, what: str) -> list[ParameterSpec]:
    field = f"streams.{stream}."
    return [
        ParameterSpec(
            f"{stream}.enable", enabled, f"Publish {what}.", launch=_STREAM_LAUNCH.get(stream), field=field + "enabled"
        ),
        ParameterSpec(
            f"{stream}.max_rate",
            0.0,
            f"Most messages per second on the {stream} topics; 0 publishes every camera frame.",
            minimum=0.0,
            field=field + "max_rate",
        ),
        ParameterSpec(
            f"{stream}.qos_reliability",
            "reliable",
            f"QoS reliability of the {stream} topics. 'reliable' (REP-2003) is accepted by every subscriber, "
            "rviz2 and ros2 bag included; a slow subscriber never slows the camera either way.",
            choices=RELIABILITIES,
            field=field + "reliability",
        ),
        ParameterSpec(
            f"{stream}.qos_depth",
            2,
            f"QoS history depth (keep last) of the {stream} topics.",
            minimum=1,
            field=field + "qos_depth",
        ),
    ]


BRIDGE_SPECS: tuple[ParameterSpec, ...] = (
    ParameterSpec(
        "namespace",
        "",
        "Shared-memory namespace of the camera publisher (ROS-style, e.g. 'camera' or 'robot/zed'); "
        "empty: the node's name.",
        launch=_CAMERA_NAME,
    ),
    ParameterSpec(
        "camera_name",
        "",
        "Prefix of the optical frame ids (<camera_name>_left_camera_optical_frame); empty: the node's name.",
        launch=_CAMERA_NAME,
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
        field="image_encoding",
    ),
    ParameterSpec(
        "depth.encoding",
        "32FC1",
        "Depth image encoding: 32FC1 in metres (REP-118) or 16UC1 in millimetres.",
        choices=DEPTH_ENCODINGS,
        field="depth_encoding",
    ),
    ParameterSpec(
        "points.organized",
        True,
        "Organised cloud (height x width, NaN for invalid points) or dense (height 1, valid points only).",
        field="points_organized",
    ),
    ParameterSpec(
        "points.decimation",
        1,
        "Keep every n-th row and column of the point cloud (still organized); 1 keeps every point.",
        minimum=1,
        maximum=64,
        field="points_decimation",
    ),
    ParameterSpec(
        "points.xyz_only",
        False,
        "Point cloud with x, y, z only (12 bytes a point instead of 16).",
        field="points_xyz_only",
    ),
    ParameterSpec(
        "depth.format",
        "png",
        "Codec of depth/image_raw/compressedDepth (image_transport's compressedDepth: png, or rvl).",
        choices=DEPTH_CODECS,
        aliases=("depth.compressed_codec",),
        field="depth_codec",
    ),
    ParameterSpec(
        "depth.depth_max",
        10.0,
        "compressedDepth of 32FC1 depth: farthest depth kept, in metres (image_transport's depth_max).",
        minimum=0.0,
        exclusive_minimum=True,
        field="depth_max",
    ),
    ParameterSpec(
        "depth.depth_quantization",
        100.0,
        "compressedDepth of 32FC1 depth: inverse-depth quantisation (image_transport's depth_quantization); "
        "the error at depth d is about d^2 / depth_quantization metres.",
        minimum=0.0,
        exclusive_minimum=True,
        field="depth_quantization",
    ),
    ParameterSpec(
        "depth.vis.enable",
        True,
        "Publish depth/image_vis: the depth as an rgb8 colour image, which rviz2's Image display shows (it shows "
        "32FC1 depth black), with the depth topics' QoS and header; its camera_info is depth/camera_info. Made "
        "only while subscribed.",
        field="depth_view.enabled",
    ),
    ParameterSpec(
        "depth.vis.max_rate",
        0.0,
        "Most messages per second on depth/image_vis; 0 publishes every camera frame.",
        minimum=0.0,
        field="depth_view.max_rate",
    ),
    ParameterSpec(
        "depth.vis.depth_min",
        0.3,
        "depth/image_vis: depth in metres shown in the top colour of the colour map (nearer depths too).",
        minimum=0.0,
        field="depth_view.depth_min",
    ),
    ParameterSpec(
        "depth.vis.depth_max",
        10.0,
        "depth/image_vis: depth in metres shown in the bottom colour of the colour map (farther depths too); "
        "above depth.vis.depth_min. Unknown depth is black.",
        minimum=0.0,
        exclusive_minimum=True,
        field="depth_view.depth_max",
    ),
    ParameterSpec(
        "depth.vis.colormap",
        "turbo",
        "depth/image_vis: OpenCV colour map (gray: near is white), from depth.vis.depth_max to depth.vis.depth_min.",
        choices=COLORMAPS,
        field="depth_view.colormap",
    ),
    ParameterSpec(
        "rgb.format",
        "jpeg",
        "Encoding of the rgb and right <image>/compressed topics (image_transport naming).",
        choices=COMPRESSED_FORMATS,
        aliases=("compressed.format",),
        field="compressed_format",
    ),
    ParameterSpec(
        "rgb.jpeg_quality",
        80,
        "JPEG quality of the rgb and right compressed topics.",
        minimum=1,
        maximum=100,
        aliases=("compressed.jpeg_quality",),
        field="jpeg_quality",
    ),
    ParameterSpec(
        "rgb.png_level",
        3,
        "PNG compression level of the rgb and right compressed topics.",
        minimum=0,
        maximum=9,
        aliases=("compressed.png_level",),
        field="png_level",
    ),
    ParameterSpec(
        "grab_timeout",
        1.0,
        "Seconds the bridge waits for a frame before it reports the camera as stalled.",
        minimum=0.0,
        exclusive_minimum=True,
        field="grab_timeout",
    ),
    ParameterSpec(
        "diagnostics_period",
        1.0,
        "Seconds between /diagnostics messages.",
        minimum=0.0,
        exclusive_minimum=True,
        field="diagnostics_period",
    ),
)
