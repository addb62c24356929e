"""Two cameras side by side, each in its own namespace (topics, shared memory and tf prefix).

    ros2 launch airo_mp_camera multi_camera.launch.py first_serial:=12345678 second_serial:=87654321
    ros2 launch airo_mp_camera multi_camera.launch.py camera_type:=synthetic
    ros2 launch airo_mp_camera multi_camera.launch.py camera_type:=synthetic second_phase:=0.004 jitter:=0.002

Controllers read them as MultiprocessRGBDReceiver("zed1") and MultiprocessRGBDReceiver("zed2"); their optical
frames are zed1_left_camera_optical_frame, zed1_right_camera_optical_frame, zed2_left_... (`<camera>_<view>_...`:
name the cameras after where they are, e.g. first_name:=wrist, not after a view). Any other argument of
camera.launch.py applies to both. The two names and serial numbers are checked before either camera starts; when
either camera_node fails, the whole launch stops with exit code 1. With camera_type synthetic, first_phase,
second_phase and jitter put the two cameras on the wall clock's capture grid (see SyntheticCamera) for a
MultiCameraReceiver({"first": "zed1", "second": "zed2"}) to match.
"""

from __future__ import annotations

import os

try:  # what camera_node imports, checked before anything else needs it: one line saying what to install
    import airo_mp_camera.ros.node  # noqa: F401
except ModuleNotFoundError as missing:
    if (missing.name or "airo_mp_camera").split(".")[0] == "airo_mp_camera":
        raise  # the package itself is incomplete: no install command helps
    raise SystemExit(
        f"airo_mp_camera cannot start: the Python module '{missing.name}' is not installed; from your workspace, "
        "install what the package needs: rosdep install --from-paths src -y --ignore-src && "
        "python3 -m pip install -r src/airo_mp_camera/requirements-ros.txt (README: Install)"
    ) from None

from ament_index_python.packages import get_package_share_directory
from launch import LaunchContext, LaunchDescription
from launch.actions import IncludeLaunchDescription, OpaqueFunction
from launch.launch_description_sources import PythonLaunchDescriptionSource

from airo_mp_camera.launch_support import (
    CAMERA_TYPES,
    LaunchArgument,
    LaunchArgumentError,
    argument_values,
    declare_arguments,
)

SHARE = get_package_share_directory("airo_mp_camera")
ARGUMENTS = (
    LaunchArgument("camera_type", "zed", "zed, synthetic or replay (both cameras).", "choice", CAMERA_TYPES),
    LaunchArgument("first_name", "zed1", "Name of the first camera (topics, namespace, frames).", "name"),
    LaunchArgument("second_name", "zed2", "Name of the second camera.", "name"),
    LaunchArgument("first_serial", "0", "Serial number of the first ZED; 0: the first found.", "int", minimum=0),
    LaunchArgument("second_serial", "0", "Serial number of the second ZED.", "int", minimum=0),
    LaunchArgument("first_phase", "0.0", "Synthetic cameras: seconds of the first one's capture grid.", "float"),
    LaunchArgument("second_phase", "0.0", "Synthetic cameras: seconds of the second one's capture grid.", "float"),
    LaunchArgument("jitter", "0.0", "Synthetic cameras: seconds each capture moves.", "float", minimum=0.0),
)


def _cameras(context: LaunchContext) -> list:
    args = argument_values(context, ARGUMENTS)
    if args["first_name"] == args["second_name"]:
        raise LaunchArgumentError(f"first_name and second_name are both {args['first_name']!r}: name them apart")
    return [
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(os.path.join(SHARE, "launch", "camera.launch.py")),
            launch_arguments={
                "camera_name": args[f"{which}_name"],
                "camera_type": args["camera_type"],
                "serial_number": str(args[f"{which}_serial"]),
                "synthetic_phase": str(args[f"{which}_phase"]),
                "synthetic_jitter": str(args["jitter"]),
            }.items(),
        )
        for which in ("first", "second")
    ]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription([*declare_arguments(ARGUMENTS), OpaqueFunction(function=_cameras)])
