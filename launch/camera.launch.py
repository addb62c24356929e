"""Starts one camera of any type: `camera_node` (camera process + shared memory + ROS bridge), its static transforms,
and with remote:=true its remote bridge. zed.launch.py and synthetic.launch.py include it for their camera.

    ros2 launch airo_mp_camera camera.launch.py                              # a ZED, config/zed.yaml
    ros2 launch airo_mp_camera camera.launch.py camera_type:=synthetic rviz:=true   # no hardware; rviz on its topics
    ros2 launch airo_mp_camera camera.launch.py camera_type:=replay bag_path:=/path/to/bag   # also ZED, RealSense bags

Topics: /<camera_name>/rgb/image_raw, rgb/camera_info, depth/image_raw, depth/camera_info, points, right/...,
confidence/image_raw and <image>/compressed; with remote:=true also /<camera_name>/remote/... (other machines),
published by `remote_bridge_node` (node /<camera_name>/remote), a sibling of camera_node that launch restarts if
it dies.
Controllers read the shared-memory namespace <camera_name> with the native receivers
(e.g. MultiprocessRGBDReceiver("<camera_name>")).
The Fast DDS large-data profile (config/fastdds_large_data.xml) is applied to every process started here;
give it to rviz2 and ros2 bag too (docs/ros.md).

The arguments, their types and checks are `airo_mp_camera.launch_support.CAMERA_ARGUMENTS`: a wrong value, or a
parameters file that does not exist, stops the launch before any process starts, naming the argument. When
camera_node fails, the whole launch stops and `ros2 launch` exits with 1.
"""

from __future__ import annotations

import os
import tempfile

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

from ament_index_python.packages import PackageNotFoundError, get_package_prefix, get_package_share_directory
from launch import LaunchContext, LaunchDescription
from launch.actions import OpaqueFunction, SetEnvironmentVariable
from launch.logging import get_logger
from launch_ros.actions import Node

from airo_mp_camera.launch_support import (
    LaunchArgumentError,
    argument_values,
    camera_link,
    declare_arguments,
    node_parameters,
    optical_frame,
    parameters_file,
    rviz_config,
    shutdown_when_camera_exits,
)
from airo_mp_camera.ros.discovery import discovery_environment
from airo_mp_camera.ros.fastdds_profiles import profile_environment
from airo_mp_camera.ros.parameters import REMOTE_SPECS, ParameterError, check_all, remote_bridge_config
from airo_mp_camera.ros.remote import REMOTE_BRIDGE_SIBLING_ENV
from airo_mp_camera.ros.remote_setup import (
    bridge_names,
    remote_bridge_parameters,
    remote_bridge_setup,
    warn_socket_buffers,
)

SHARE = get_package_share_directory("airo_mp_camera")
# camera_link (x forward, y left, z up) to an optical frame (z forward, x right, y down): roll -90, yaw -90 degrees.
OPTICAL_ROTATION = ("-0.5", "0.5", "-0.5", "0.5")
REMOTE_RESPAWN_DELAY_S = 2.0  # launch restarts a remote bridge that died after this long


def _require_package(package: str, argument: str, program: str) -> None:
    """Raises before any process starts when a program an argument asks for is not installed."""
    try:
        get_package_prefix(package)
    except PackageNotFoundError:
        raise LaunchArgumentError(
            f"{argument} needs {package} ({program}), which is not installed: install "
            f"ros-$ROS_DISTRO-{package.replace('_', '-')} or pass {argument.split(':=')[0]}:=false"
        ) from None


def _static_transforms(name: str, baseline: float) -> list[Node]:
    nodes = []
    for view, y in (("left", baseline / 2.0), ("right", -baseline / 2.0)):
        nodes.append(
            Node(
                package="tf2_ros",
                executable="static_transform_publisher",
                name=f"{name}_{view}_optical_tf",
                arguments=[
                    *("--x", "0", "--y", str(y), "--z", "0"),
                    *("--qx", OPTICAL_ROTATION[0], "--qy", OPTICAL_ROTATION[1]),
                    *("--qz", OPTICAL_ROTATION[2], "--qw", OPTICAL_ROTATION[3]),
                    *("--frame-id", camera_link(name), "--child-frame-id", optical_frame(name, view)),
                ],
            )
        )
    return nodes


def _rviz(name: str) -> Node:
    with open(os.path.join(SHARE, "config", "airo_mp_camera.rviz")) as template:
        text = rviz_config(template.read(), name)
    # One file per camera, written anew by each launch: launches leave no pile of copies behind.
    path = os.path.join(tempfile.gettempdir(), f"airo_mp_camera_{name}.rviz")
    with open(path, "w") as config:
        config.write(text)
    return Node(package="rviz2", executable="rviz2", name=f"{name}_rviz", arguments=["-d", path], output="screen")


def _remote_bridges(name: str, config_file: str, overrides: dict) -> list[Node]:
    """The camera's remote bridges (`/<name>/remote/...` for other machines; `remote_bridges` may name more), each
    restarted by launch if it dies.

    Their parameters are the camera node's bridge and remote ones; each one's Fast DDS profile (paced for the
    link), publication mode and discovery range as `RemoteBridgeSetup` (ros/remote_setup.py) gives them.
    """
    parameters = remote_bridge_parameters([config_file], overrides, name)
    try:
        config = remote_bridge_config(parameters, name)
        remote_values = check_all(REMOTE_SPECS, parameters)
        setups = [
            remote_bridge_setup(remote_values, config, f"/{name}", node_name)
            for node_name in bridge_names(str(remote_values["remote.bridges"]))
        ]
        warn_socket_buffers(setups, get_logger(name))
    except ParameterError as error:
        raise LaunchArgumentError(f"remote:=true: {error}") from None
    return [
        Node(
            package="airo_mp_camera",
            executable="remote_bridge_node",
            name=setup.node_name,
            namespace=name,
            output="screen",
            emulate_tty=True,
            parameters=[parameters],
            additional_env=setup.environment(setup.write_paced_profile(name)),
            respawn=True,
            respawn_delay=REMOTE_RESPAWN_DELAY_S,
        )
        for setup in setups
    ]


def _camera(context: LaunchContext) -> list:
    args = argument_values(context)  # every argument checked before anything starts
    if args["publish_tf"]:
        _require_package("tf2_ros", "publish_tf:=true", "static_transform_publisher")
    if args["rviz"]:
        _require_package("rviz2", "rviz:=true", "rviz2")
    name = args["camera_name"]
    config_file = parameters_file(args["config_file"], SHARE, args["camera_type"])
    overrides = node_parameters(args)  # the camera_node parameters the arguments set (their declaration)
    # With remote:=true, other machines are served by the remote bridge only: the node's own participant
    # stays on this host, so no remote subscriber can slow its writers (see the README, "From another machine").
    host_only = {
        **profile_environment(os.path.join(SHARE, "config", "fastdds_host_only.xml")),
        **discovery_environment("LOCALHOST"),  # Humble: ROS_LOCALHOST_ONLY=1
    }
    profile = args["fastdds_profile"] or os.path.join(SHARE, "config", "fastdds_large_data.xml")
    camera = Node(
        package="airo_mp_camera",
        executable="camera_node",
        name=name,
        output="screen",
        emulate_tty=True,
        parameters=[config_file, overrides],
        # remote:=true: the remote bridge is a sibling node started below, not the camera node's child
        additional_env={**host_only, REMOTE_BRIDGE_SIBLING_ENV: "1"} if args["remote"] else None,
    )
    actions: list = [
        *(SetEnvironmentVariable(variable, value) for variable, value in profile_environment(profile).items()),
        camera,
        shutdown_when_camera_exits(camera, name),
    ]
    if args["remote"]:
        actions += _remote_bridges(name, config_file, overrides)
    if args["publish_tf"]:
        actions += _static_transforms(name, args["baseline"])
    if args["rviz"]:
        actions.append(_rviz(name))
    return actions


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription([*declare_arguments(), OpaqueFunction(function=_camera)])
