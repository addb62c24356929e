"""Starts one camera: `camera_node` (camera process + shared memory + ROS bridge) and its static transforms.

    ros2 launch airo_mp_camera zed.launch.py                              # a ZED, config/zed.yaml
    ros2 launch airo_mp_camera zed.launch.py serial_number:=12345678 camera_name:=zed_left
    ros2 launch airo_mp_camera zed.launch.py camera_type:=synthetic      # no hardware
    ros2 launch airo_mp_camera zed.launch.py camera_type:=replay bag_path:=/path/to/bag

Topics: /<camera_name>/rgb/image_raw, rgb/camera_info, depth/image_raw, depth/camera_info, points, right/...,
confidence/image_raw and <image>/compressed; with remote:=true also /<camera_name>/remote/... (other machines).
Controllers read the shared-memory namespace <camera_name> with the native receivers
(e.g. MultiprocessRGBDReceiver("<camera_name>")).
The Fast DDS large-data profile (config/fastdds_large_data.xml) is applied to every process started here;
give it to rviz2 and ros2 bag too (see the README).
"""

from __future__ import annotations

import os

from ament_index_python.packages import PackageNotFoundError, get_package_prefix, get_package_share_directory
from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

SHARE = get_package_share_directory("airo_mp_camera")
# camera_link (x forward, y left, z up) to an optical frame (z forward, x right, y down): roll -90, yaw -90 degrees.
OPTICAL_ROTATION = ("-0.5", "0.5", "-0.5", "0.5")

ARGUMENTS = {
    "camera_name": ("zed", "Node name, topic prefix, shared-memory namespace and tf prefix of this camera."),
    "camera_type": ("zed", "zed, synthetic or replay."),
    "config_file": ("", "Parameters file; empty: config/zed.yaml (config/synthetic.yaml for camera_type synthetic)."),
    "serial_number": ("0", "Serial number of the ZED to open; 0: the first found."),
    "svo_file": ("", "Play this SVO/SVO2 file instead of the live ZED."),
    "bag_path": ("", "rosbag2 directory to replay (camera_type replay)."),
    "enable_depth": ("true", "Publish depth/image_raw."),
    "enable_pointcloud": ("true", "Publish points."),
    "enable_right": ("false", "Publish the right view."),
    "enable_confidence": ("false", "Publish confidence/image_raw."),
    "baseline": ("0.12", "Stereo baseline in metres for the static transforms (ZED 2/2i: 0.12, ZED Mini: 0.063)."),
    "publish_tf": ("true", "Publish camera_link -> left/right optical frames with static_transform_publisher."),
    "rerun": ("false", "Also start a Rerun logger process for this camera (needs rerun-sdk)."),
    "rerun_rrd_path": ("", "Log to this .rrd file instead of spawning/connecting to a Rerun viewer."),
    "record": ("false", "Record the rgb stream to a video from the start (needs ffmpeg)."),
    "recording_directory": ("", "Where recordings go; empty: the working directory."),
    "remote": (
        "false",
        "Also serve other machines: a remote-facing bridge process with compressed topics under "
        "/<camera_name>/remote/; the camera node's own topics then stay on this host (config/fastdds_host_only.xml).",
    ),
    "fastdds_profile": (
        os.path.join(SHARE, "config", "fastdds_large_data.xml"),
        "Fast DDS profile for large images, applied to every process started here.",
    ),
}


def _is_true(context: LaunchContext, name: str) -> bool:
    return LaunchConfiguration(name).perform(context).lower() in ("true", "1", "yes")


def _require_tf2_ros() -> None:
    """Raises before any process starts when static_transform_publisher is missing.

    Otherwise launch would start camera_node, then fail on the tf node and exit, leaving camera_node running.
    """
    try:
        get_package_prefix("tf2_ros")
    except PackageNotFoundError:
        raise RuntimeError(
            "publish_tf:=true needs tf2_ros (static_transform_publisher), which is not installed: "
            "install ros-$ROS_DISTRO-tf2-ros or pass publish_tf:=false"
        ) from None


def _camera(context: LaunchContext) -> list:
    if _is_true(context, "publish_tf"):
        _require_tf2_ros()
    name = LaunchConfiguration("camera_name").perform(context)
    camera_type = LaunchConfiguration("camera_type").perform(context)
    config_file = LaunchConfiguration("config_file").perform(context) or os.path.join(
        SHARE, "config", "synthetic.yaml" if camera_type == "synthetic" else "zed.yaml"
    )
    overrides = {
        "camera_type": camera_type,
        "namespace": name,
        "camera_name": name,
        # Left to launch_ros (read as YAML) and checked by the node: a bad value stops this camera with a
        # message naming the parameter, instead of an exception here that would orphan cameras already started.
        "zed.serial_number": LaunchConfiguration("serial_number"),
        "zed.svo_file": LaunchConfiguration("svo_file").perform(context),
        "replay.bag_path": LaunchConfiguration("bag_path").perform(context),
        "depth.enable": _is_true(context, "enable_depth"),
        "points.enable": _is_true(context, "enable_pointcloud"),
        "right.enable": _is_true(context, "enable_right"),
        "confidence.enable": _is_true(context, "enable_confidence"),
        "rerun.enable": _is_true(context, "rerun"),
        "rerun.rrd_path": LaunchConfiguration("rerun_rrd_path").perform(context),
        "recording.start_on_launch": _is_true(context, "record"),
        "recording.directory": LaunchConfiguration("recording_directory").perform(context),
        "remote.enable": _is_true(context, "remote"),
    }
    # With remote:=true, other machines are served by the remote bridge only: the node's own participant
    # stays on this host, so no remote subscriber can slow its writers (see the README, "From another machine").
    host_only = {
        "FASTDDS_DEFAULT_PROFILES_FILE": os.path.join(SHARE, "config", "fastdds_host_only.xml"),
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
    }
    actions: list = [
        Node(
            package="airo_mp_camera",
            executable="camera_node",
            name=name,
            output="screen",
            emulate_tty=True,
            parameters=[config_file, overrides],
            additional_env=host_only if _is_true(context, "remote") else None,
        )
    ]
    if _is_true(context, "publish_tf"):
        half_baseline = float(LaunchConfiguration("baseline").perform(context)) / 2.0
        for view, y in (("left", half_baseline), ("right", -half_baseline)):
            actions.append(
                Node(
                    package="tf2_ros",
                    executable="static_transform_publisher",
                    name=f"{name}_{view}_optical_tf",
                    arguments=[
                        *("--x", "0", "--y", str(y), "--z", "0"),
                        *("--qx", OPTICAL_ROTATION[0], "--qy", OPTICAL_ROTATION[1]),
                        *("--qz", OPTICAL_ROTATION[2], "--qw", OPTICAL_ROTATION[3]),
                        *(
                            "--frame-id",
                            f"{name}_camera_link",
                            "--child-frame-id",
                            f"{name}_{view}_camera_optical_frame",
                        ),
                    ],
                )
            )
    return actions


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        [
            *(
                DeclareLaunchArgument(key, default_value=value, description=text)
                for key, (value, text) in ARGUMENTS.items()
            ),
            SetEnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", LaunchConfiguration("fastdds_profile")),
            OpaqueFunction(function=_camera),
        ]
    )
