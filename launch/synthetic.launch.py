"""The whole graph with no hardware: a synthetic stereo RGB-D camera named `camera`, bridged to ROS.

    ros2 launch airo_mp_camera synthetic.launch.py
    ros2 launch airo_mp_camera synthetic.launch.py camera_name:=sim enable_pointcloud:=false
    ros2 launch airo_mp_camera synthetic.launch.py web:=true web_bind:=0.0.0.0   # watch it in a browser (README)

Any argument of camera.launch.py can be given; camera_type is synthetic and the config config/synthetic.yaml.
"""

from __future__ import annotations

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration

SHARE = get_package_share_directory("airo_mp_camera")


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        [
            DeclareLaunchArgument("camera_name", default_value="camera", description="Name of the synthetic camera."),
            DeclareLaunchArgument("enable_right", default_value="true", description="Publish the right view."),
            DeclareLaunchArgument("web", default_value="false", description="Serve the Rerun web viewer (README)."),
            IncludeLaunchDescription(
                PythonLaunchDescriptionSource(os.path.join(SHARE, "launch", "camera.launch.py")),
                launch_arguments={
                    "camera_type": "synthetic",
                    "camera_name": LaunchConfiguration("camera_name"),
                    "enable_right": LaunchConfiguration("enable_right"),
                    "web": LaunchConfiguration("web"),
                    "config_file": os.path.join(SHARE, "config", "synthetic.yaml"),
                }.items(),
            ),
        ]
    )
