"""The remote-facing bridge's parameters (`remote.*`): what other machines receive, and how it fits the link.

A remote stream's entries repeat the local stream's names under `remote.` (`remote.rgb.jpeg_quality`,
`remote.depth.format`), with the remote bridge's defaults.
"""

from __future__ import annotations

from airo_mp_camera.ros.link_share import DEFAULT_PRIORITY as LINK_PRIORITY
from airo_mp_camera.ros.parameters.bridge import COMPRESSED_FORMATS, DEPTH_CODECS, RELIABILITIES
from airo_mp_camera.ros.parameters.spec import LaunchExposure, ParameterSpec

REMOTE_STREAMS = ("rgb", "depth", "right", "points")
"""Streams of the remote-facing bridge (topics under /<camera>/remote/)."""
REMOTE_TRANSPORTS = ("udp", "large_data")
"""`remote.transport`: what the remote bridge's participant speaks (`REMOTE_PROFILES` in ros/remote.py)."""

_REMOTE_ARGUMENT = (
    "Also serve other machines: a remote-facing bridge process with compressed topics under "
    "/<camera_name>/remote/; the camera node's own topics then stay on this host (config/fastdds_host_only.xml)."
)
_TRANSPORT_ARGUMENT = (
    "With remote:=true, how the remote topics travel: udp (any subscriber with stock ROS settings receives "
    "them) or large_data (Fast DDS's TCP mode, for raw streams: the subscriber needs "
    "config/fastdds_multi_host.xml or FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA)."
)


def _remote_stream_specs(stream: str, enabled: bool, max_rate: float, what: str) -> list[ParameterSpec]:
    field = f"streams.{stream}."
    return [
        ParameterSpec(f"remote.{stream}.enable", enabled, f"Remote bridge: publish {what}.", field=field + "enabled"),
        ParameterSpec(
            f"remote.{stream}.max_rate",
            max_rate,
            f"Remote bridge: most messages per second on the remote {stream} topics; 0: every camera frame.",
            minimum=0.0,
            field=field + "max_rate",
        ),
        ParameterSpec(
            f"remote.{stream}.qos_reliability",
            "reliable",
            f"QoS reliability of the remote {stream} topics (reliable is accepted by every subscriber).",
            choices=RELIABILITIES,
            field=field + "reliability",
        ),
        ParameterSpec(
            f"remote.{stream}.qos_depth",
            1 if stream == "points" else 2,
            f"QoS history depth of the remote {stream} topics (2: on a slow or lossy link a frame still being "
            "sent or repaired is not dropped for the next one; points keep 1: a second cloud queued behind the "
            "first would hold a slow link twice as long).",
            minimum=1,
            field=field + "qos_depth",
        ),
    ]


REMOTE_SPECS: tuple[ParameterSpec, ...] = (
    ParameterSpec(
        "remote.enable",
        False,
        "camera_node: also start the remote-facing bridge (its own process and DDS participant) with topics "
        "under /<camera>/remote/. bridge_node: be that remote-facing bridge.",
        launch=LaunchExposure("remote", description=_REMOTE_ARGUMENT),
    ),
    ParameterSpec(
        "remote.bridges",
        "remote",
        "camera_node and the launch files: the remote bridges to start, comma-separated node names, one process "
        "each with topics under /<camera>/<name>/ and its own writers, link estimate and share. One serves every "
        "subscriber at the pace of the slowest reliable one; give subscribers on a slow link (Wi-Fi) a bridge of "
        "their own (remote,remote_wifi) so that they do not slow the others. Each bridge encodes its streams again.",
        launch=LaunchExposure("remote_bridges"),
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
        field="compressed_format",
    ),
    ParameterSpec(
        "remote.rgb.jpeg_quality",
        0,
        "JPEG quality of the remote compressed topics. 0: chosen by the remote bridge (80, lower down to "
        "remote.rgb.min_jpeg_quality when the link cannot carry rgb at its rate); 1 to 100: this one, never adapted.",
        minimum=0,
        maximum=100,
        field="jpeg_quality",
    ),
    ParameterSpec(
        "remote.rgb.min_jpeg_quality",
        40,
        "The lowest JPEG quality the remote bridge chooses for rgb (with remote.rgb.jpeg_quality 0).",
        minimum=1,
        maximum=100,
        field="min_jpeg_quality",
    ),
    ParameterSpec(
        "remote.rgb.png_level",
        1,
        "PNG level of the remote compressed topics.",
        minimum=0,
        maximum=9,
        field="png_level",
    ),
    ParameterSpec(
        "remote.rgb.raw", False, "Also publish remote rgb/image_raw (and right/image_raw): 666 Mbit/s at 720p30."
    ),
    ParameterSpec(
        "remote.depth.format",
        "rvl",
        "Codec of remote depth/image_raw/compressedDepth: rvl (about 5 ms a 720p frame) or png (45 to 70 ms).",
        choices=DEPTH_CODECS,
        field="depth_codec",
    ),
    ParameterSpec(
        "remote.depth.depth_max",
        10.0,
        "Remote compressedDepth of 32FC1 depth: farthest depth kept, in metres.",
        minimum=0.0,
        exclusive_minimum=True,
        field="depth_max",
    ),
    ParameterSpec(
        "remote.depth.depth_quantization",
        100.0,
        "Remote compressedDepth of 32FC1 depth: inverse-depth quantisation (error about d^2 / value metres).",
        minimum=0.0,
        exclusive_minimum=True,
        field="depth_quantization",
    ),
    ParameterSpec("remote.depth.raw", False, "Also publish remote depth/image_raw (uncompressed)."),
    ParameterSpec(
        "remote.points.decimation",
        4,
        "Remote point cloud: keep every n-th row and column (still organized).",
        minimum=1,
        maximum=64,
        field="points_decimation",
    ),
    ParameterSpec(
        "remote.points.xyz_only", False, "Remote point cloud with x, y, z only (no rgb).", field="points_xyz_only"
    ),
    ParameterSpec(
        "remote.max_mbit_s",
        0.0,
        "Remote bridge: the most its streams send together, in Mbit/s. 0: no ceiling; the remote bridge finds what "
        "the link carries by itself (from its subscribers' acknowledgements) and follows it as it changes. Given "
        "out in remote.priority order; a stream beyond it skips frames.",
        minimum=0.0,
        field="link_budget_mbit_s",
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
        field="image_scale",
    ),
    ParameterSpec(
        "remote.rgb.min_scale",
        0.5,
        "The smallest scale the remote bridge chooses for rgb and right (with remote.rgb.scale 0).",
        minimum=0.0,
        maximum=1.0,
        exclusive_minimum=True,
        field="min_image_scale",
    ),
    ParameterSpec(
        "remote.depth.scale",
        0.0,
        "Remote depth images (and camera_info) scaled by this factor, nearest pixel (no mixed depths); 1: full size. "
        "0: chosen by the remote bridge (full size, smaller down to remote.depth.min_scale while one full frame "
        "would hold the link too long); above 0: this one, never adapted.",
        minimum=0.0,
        maximum=1.0,
        field="depth_scale",
    ),
    ParameterSpec(
        "remote.depth.min_scale",
        0.25,
        "The smallest scale the remote bridge chooses for depth (with remote.depth.scale 0).",
        minimum=0.0,
        maximum=1.0,
        exclusive_minimum=True,
        field="min_depth_scale",
    ),
    ParameterSpec(
        "remote.transport",
        "udp",
        "How the remote topics travel. udp: plain RTPS over UDP, which any DDS subscriber with stock settings "
        "receives (config/fastdds_remote_udp.xml). large_data: Fast DDS's TCP large-data mode "
        "(config/fastdds_multi_host.xml), for raw streams; every subscriber then needs that profile or "
        "FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA.",
        choices=REMOTE_TRANSPORTS,
        launch=LaunchExposure("remote_transport", description=_TRANSPORT_ARGUMENT),
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
