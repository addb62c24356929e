"""A ZED camera: camera.launch.py with camera_type zed (the default) and config/zed.yaml; every argument of
camera.launch.py applies (`ros2 launch airo_mp_camera zed.launch.py --show-args`).

    ros2 launch airo_mp_camera zed.launch.py
    ros2 launch airo_mp_camera zed.launch.py serial_number:=12345678 camera_name:=zed_left
"""

from __future__ import annotations

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource

SHARE = get_package_share_directory("airo_mp_camera")


def generate_launch_description() -> LaunchDescription:
    # The arguments given on the command line reach the included launch description as they are; it declares,
    # checks and documents them (--show-args lists them from there).
    return LaunchDescription(
        [IncludeLaunchDescription(PythonLaunchDescriptionSource(os.path.join(SHARE, "launch", "camera.launch.py")))]
    )
