"""Two cameras side by side, each in its own namespace (topics, shared memory and tf prefix).

    ros2 launch airo_mp_camera multi_camera.launch.py left_serial:=12345678 right_serial:=87654321
    ros2 launch airo_mp_camera multi_camera.launch.py camera_type:=synthetic

Controllers read them as MultiprocessRGBDReceiver("zed_left") and MultiprocessRGBDReceiver("zed_right").
"""

from __future__ import annotations

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration

SHARE = get_package_share_directory("airo_mp_camera")


def _camera(name: str, serial: str) -> IncludeLaunchDescription:
    return IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(SHARE, "launch", "zed.launch.py")),
        launch_arguments={
            "camera_name": LaunchConfiguration(name),
            "camera_type": LaunchConfiguration("camera_type"),
            "serial_number": LaunchConfiguration(serial),
        }.items(),
    )


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        [
            DeclareLaunchArgument("camera_type", default_value="zed", description="zed or synthetic."),
            DeclareLaunchArgument("left_name", default_value="zed_left", description="Name of the first camera."),
            DeclareLaunchArgument("right_name", default_value="zed_right", description="Name of the second camera."),
            DeclareLaunchArgument("left_serial", default_value="0", description="Serial number of the first ZED."),
            DeclareLaunchArgument("right_serial", default_value="0", description="Serial number of the second ZED."),
            _camera("left_name", "left_serial"),
            _camera("right_name", "right_serial"),
        ]
    )
