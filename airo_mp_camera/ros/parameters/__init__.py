"""ROS parameters of the camera and bridge nodes: declared once, typed, validated, described.

Every parameter is one `ParameterSpec` entry in a typed Python table: `bridge.py` (the local bridge and its
streams), `remote.py` (the remote-facing bridge), `camera.py` (the hosted camera) and `consumers.py` (Rerun,
the web viewer, recording). Everything else is derived from those entries:

- the node declares each parameter with a `ParameterDescriptor` carrying its type, description, read-only flag
  and ROS's `IntegerRange` / `FloatingPointRange` (`declare_parameters`), so `ros2 param describe` shows them;
- a bad value stops the node at start with a `ParameterError` naming the parameter and what is allowed
  (`ParameterSpec.check`, `check_unknown`); a deprecated name is accepted with a warning naming the new one;
- the launch arguments of `launch/camera.launch.py` are the entries marked with a `LaunchExposure`
  (`airo_mp_camera.launch_support`), and the config builders fill each attribute from the entry that names it
  (`configs.py`);
- the parameter reference of the documentation is generated (`airo_mp_camera.ros.parameter_reference`).

Why a Python table rather than a YAML file compiled by generate_parameter_library: the entries are plain
importable Python, so the node, the launch files, the tests and the documentation read the same objects with
no code-generation step. generate_parameter_library generates its module at build time (a CMake/colcon step),
which a pip or wheel install of this package never runs; and the checks here (names of streams, ZED modes,
colour maps) come from the modules that use them, which a YAML file could only copy.

Parameters come from `config/*.yaml` (`--ros-args --params-file`), the launch file, or `-p name:=value`.
Local and remote names follow one scheme: a stream's settings are `<stream>.<what>` on the local bridge
(`rgb.jpeg_quality`, `depth.format`) and `remote.<stream>.<what>` on the remote one.
"""

from airo_mp_camera.ros.parameters.bridge import (
    BRIDGE_SPECS,
    COMPRESSED_FORMATS,
    DEPTH_CODECS,
    DEPTH_ENCODINGS,
    IMAGE_ENCODINGS,
    RELIABILITIES,
    STREAMS,
)
from airo_mp_camera.ros.parameters.camera import (
    CAMERA_SPECS,
    CAMERA_TYPES,
    REPLAY_TOPICS_NOTE,
    ZED_DEPTH_MODES,
    ZED_RESOLUTIONS,
)
from airo_mp_camera.ros.parameters.configs import (
    BridgeConfig,
    CameraConfig,
    DepthViewConfig,
    StreamConfig,
    bridge_config,
    camera_config,
    remote_bridge_config,
)
from airo_mp_camera.ros.parameters.consumers import CONSUMER_SPECS
from airo_mp_camera.ros.parameters.remote import REMOTE_SPECS, REMOTE_STREAMS, REMOTE_TRANSPORTS
from airo_mp_camera.ros.parameters.spec import (
    LaunchExposure,
    ParameterError,
    ParameterSpec,
    Value,
    check_all,
    check_unknown,
    config_fields,
    declare_parameters,
    parameter_descriptor,
    resolve_aliases,
)

ALL_SPECS: tuple[ParameterSpec, ...] = (*CAMERA_SPECS, *BRIDGE_SPECS, *REMOTE_SPECS, *CONSUMER_SPECS)
"""Every parameter a node of this package may declare, each once."""

__all__ = [
    "ALL_SPECS",
    "BRIDGE_SPECS",
    "CAMERA_SPECS",
    "CAMERA_TYPES",
    "COMPRESSED_FORMATS",
    "CONSUMER_SPECS",
    "DEPTH_CODECS",
    "DEPTH_ENCODINGS",
    "IMAGE_ENCODINGS",
    "RELIABILITIES",
    "REMOTE_SPECS",
    "REMOTE_STREAMS",
    "REMOTE_TRANSPORTS",
    "REPLAY_TOPICS_NOTE",
    "STREAMS",
    "ZED_DEPTH_MODES",
    "ZED_RESOLUTIONS",
    "BridgeConfig",
    "CameraConfig",
    "DepthViewConfig",
    "LaunchExposure",
    "ParameterError",
    "ParameterSpec",
    "StreamConfig",
    "Value",
    "bridge_config",
    "camera_config",
    "check_all",
    "check_unknown",
    "config_fields",
    "declare_parameters",
    "parameter_descriptor",
    "remote_bridge_config",
    "resolve_aliases",
]
