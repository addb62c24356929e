"""The configs the nodes run with (`BridgeConfig`, `CameraConfig`), built from checked parameter values.

The builders take each config attribute from the entry that names it (`ParameterSpec.field`), so a
parameter's name is written once, in its entry; what spans several parameters (the namespace, the checks
between parameters, the camera's keyword arguments) is built here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from airo_mp_camera.pipeline.errors import InvalidNamespaceError
from airo_mp_camera.pipeline.namespace import validate_namespace
from airo_mp_camera.ros.link_share import DEFAULT_PRIORITY as LINK_PRIORITY
from airo_mp_camera.ros.link_share import parse_priority
from airo_mp_camera.ros.parameters.bridge import BRIDGE_SPECS, STREAMS
from airo_mp_camera.ros.parameters.camera import CAMERA_SPECS
from airo_mp_camera.ros.parameters.remote import REMOTE_SPECS, REMOTE_STREAMS
from airo_mp_camera.ros.parameters.spec import ParameterError, Value, check_all, config_fields


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


def bridge_config(values: Mapping[str, Any], node_name: str) -> BridgeConfig:
    """The bridge's config from parameter values (defaults for those absent)."""
    checked = check_all(BRIDGE_SPECS, values)
    namespace = str(checked["namespace"]) or node_name
    try:
        namespace = validate_namespace(namespace)
    except InvalidNamespaceError as error:
        raise ParameterError(f"parameter 'namespace': {error}") from error
    streams = {
        stream: StreamConfig(**config_fields(BRIDGE_SPECS, checked, f"streams.{stream}.")) for stream in STREAMS
    }
    if checked["points.decimation"] != 1 and not checked["points.organized"]:
        raise ParameterError("parameter 'points.decimation' above 1 needs points.organized true (it keeps a grid)")
    depth_view = DepthViewConfig(**config_fields(BRIDGE_SPECS, checked, "depth_view."))
    if depth_view.depth_min >= depth_view.depth_max:
        raise ParameterError(
            f"parameter 'depth.vis.depth_min' ({depth_view.depth_min:g}) must be below 'depth.vis.depth_max' "
            f"({depth_view.depth_max:g}): they are the nearest and farthest depth the colour map of depth/image_vis "
            "spans"
        )
    return BridgeConfig(
        namespace=namespace,
        camera_name=str(checked["camera_name"]) or node_name,
        streams=streams,
        depth_view=depth_view,
        **config_fields(BRIDGE_SPECS, checked),
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
    off = StreamConfig(enabled=False, max_rate=0.0, reliability="reliable", qos_depth=1, raw=False)
    streams = {
        stream: StreamConfig(**config_fields(REMOTE_SPECS, checked, f"streams.{stream}."), raw=raw[stream])
        if stream in REMOTE_STREAMS
        else off
        for stream in STREAMS
    }
    return replace(
        local,
        streams=streams,
        points_organized=True,
        depth_view=replace(local.depth_view, enabled=False),
        remote=True,
        link_priority=_link_priority(str(checked["remote.priority"])),
        **config_fields(REMOTE_SPECS, checked),
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
            **config_fields(CAMERA_SPECS, checked, "zed."),
            "fps": int(round(float(checked["fps"]))),
            "serial_number": int(checked["zed.serial_number"]) or None,
            "svo_file": str(checked["zed.svo_file"]) or None,
        }
    else:
        if not checked["replay.bag_path"]:
            raise ParameterError(
                "parameter 'replay.bag_path' must name a bag (rosbag2 directory or ROS 1 .bag file) when camera_type "
                "is replay"
            )
        kwargs = {**config_fields(CAMERA_SPECS, checked, "replay."), **_replay_topic_kwargs(checked)}
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
