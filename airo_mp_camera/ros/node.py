"""The ROS node behind `camera_node` and `bridge_node`: parameters, the bridge, diagnostics, the hosted camera."""

from __future__ import annotations

import dataclasses
import importlib
import sys
import time
from collections.abc import Sequence
from typing import Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from airo_mp_camera.pipeline.errors import PublisherStartError, SharedMemoryCameraError
from airo_mp_camera.pipeline.publisher import CameraPublisher
from airo_mp_camera.pipeline.schemas import (
    CameraSchema,
    RGBSchema,
    Schema,
)
from airo_mp_camera.pipeline.stopping import stop_on_signals
from airo_mp_camera.ros.bridge import STREAM_SCHEMAS, Bridge
from airo_mp_camera.ros.consumers import ConsumerControl, check_consumers_available
from airo_mp_camera.ros.diagnostics import DiagnosticsReporter
from airo_mp_camera.ros.discovery import discovery_environment
from airo_mp_camera.ros.fastdds_profiles import (
    fastdds_version,
    has_builtin_large_data,
    profile_from_environment,
    profile_variable,
)
from airo_mp_camera.ros.fastdds_segments import remove_dead_segments
from airo_mp_camera.ros.host_isolation import is_isolated, must_restart_isolated, restart_isolated
from airo_mp_camera.ros.hosted_camera import HostedCameraPublisher
from airo_mp_camera.ros.link_pacing import AUTOMATIC_MBIT_S, paced_profile, remote_topics
from airo_mp_camera.ros.parameters import (
    BRIDGE_SPECS,
    CAMERA_SPECS,
    CONSUMER_SPECS,
    REMOTE_SPECS,
    REMOTE_STREAMS,
    BridgeConfig,
    CameraConfig,
    ParameterError,
    ParameterSpec,
    bridge_config,
    camera_config,
    check_all,
    check_unknown,
    remote_bridge_config,
)
from airo_mp_camera.ros.remote import (
    RemoteBridgeProcess,
    die_with_parent,
    lower_priority,
    parent_gone,
    remote_profile,
    socket_buffer_warnings,
)

CAMERA_CLASSES = {
    "synthetic": ("airo_mp_camera.cameras.synthetic", "SyntheticCamera"),
    "synthetic_in_place": ("airo_mp_camera.cameras.synthetic_in_place", "InPlaceSyntheticCamera"),
    "zed": ("airo_mp_camera.cameras.zed", "ZedCamera"),
    "replay": ("airo_mp_camera.cameras.replay", "ReplayCamera"),
}
MAX_CAMERA_RESTARTS = 3
_WATCH_PERIOD_S = 0.5


def camera_class(camera_type: str) -> type:
    """The camera class of a camera type, imported only when asked for (pyzed, rosbags are optional)."""
    module_name, class_name = CAMERA_CLASSES[camera_type]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ParameterError(f"camera_type '{camera_type}' is not available: {error}") from error
    camera_cls: type = getattr(module, class_name)
    return camera_cls


def publisher_schemas(config: BridgeConfig, remote: BridgeConfig | None = None) -> list[Schema]:
    """What the hosted publisher writes: metadata and RGB always, the rest as the bridges' streams ask."""
    schemas: list[Schema] = [CameraSchema(), RGBSchema()]
    names = [name for name, stream in config.streams.items() if stream.enabled and name != "rgb"]
    if remote is not None:
        names += [name for name, stream in remote.streams.items() if stream.enabled and name not in names]
    schemas += [STREAM_SCHEMAS[name]() for name in names if name != "rgb"]
    return schemas


class CameraBridgeNode(Node):
    """Declares and validates its parameters, bridges a namespace, and hosts its camera when asked.

    Raises:
        ParameterError: a parameter is unknown, of the wrong type, or out of range.
        PublisherStartError: the hosted camera could not start.
    """

    def __init__(self, node_name: str, host_camera: bool) -> None:
        super().__init__(node_name)
        specs = BRIDGE_SPECS + REMOTE_SPECS + CONSUMER_SPECS + (CAMERA_SPECS if host_camera else ())
        check_unknown(getattr(self, "_parameter_overrides", {}).keys(), specs)
        values = self._declare(specs)
        remote_values = check_all(REMOTE_SPECS, values)
        # bridge_node with remote.enable is the remote-facing bridge itself (node `remote` in the camera's
        # namespace, its names defaulting to the camera's); camera_node with remote.enable starts one.
        self.remote_mode = bool(remote_values["remote.enable"]) and not host_camera
        self.consumer_values = {spec.name: spec.check(values[spec.name]) for spec in CONSUMER_SPECS}
        if self.remote_mode:
            if parent_gone():
                raise SystemExit(0)
            lower_priority(int(remote_values["remote.nice"]))  # remote streams give way to local consumers
            default_name = self.get_namespace().strip("/").rsplit("/", 1)[-1] or self.get_name()
            self.bridge_config = remote_bridge_config(values, default_name)
            self.consumer_values = {spec.name: spec.default for spec in CONSUMER_SPECS}
        else:
            self.bridge_config = bridge_config(values, self.get_name())
        self.camera_config: CameraConfig | None = camera_config(values) if host_camera else None
        self.publisher: CameraPublisher | None = None
        self.camera_restarts = 0
        self._camera_error: str | None = None
        self.bridge: Bridge | None = None
        self.consumers: ConsumerControl | None = None
        self.remote: RemoteBridgeProcess | None = None
        self._remote_config = (
            remote_bridge_config(values, self.get_name()) if host_camera and remote_values["remote.enable"] else None
        )
        if not self.remote_mode:
            check_consumers_available(self.consumer_values, self.bridge_config)  # before the camera starts
        self._warn_socket_buffers()
        if not self.remote_mode:  # (camera_node cleans up after its remote bridge)
            self._remove_dead_fastdds_segments()
        if self.camera_config is not None:
            self._camera_cls = camera_class(self.camera_config.camera_type)
            self.bridge_config = self._without_unavailable_streams(self.bridge_config, self.camera_config)
            self._start_camera()
        try:
            if self.camera_config is not None:
                self.create_timer(_WATCH_PERIOD_S, self._watch_camera)
            self.bridge = Bridge(self, self.bridge_config)
            status_name = (
                f"{self.get_fully_qualified_name().lstrip('/')}: remote bridge"
                if self.remote_mode
                else f"{self.get_name()}: shared-memory camera"
            )
            self.diagnostics = DiagnosticsReporter(self.bridge, status_name, self._camera_state)
            self._diagnostics_publisher = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
            self.create_timer(self.bridge_config.diagnostics_period, self._publish_diagnostics)
            self.bridge.start()
            if not self.remote_mode:
                self.consumers = ConsumerControl(self, self.bridge_config, self.consumer_values)
            if host_camera and remote_values["remote.enable"]:
                self._start_remote(values, remote_values)
            if self.remote_mode:
                self.create_timer(_WATCH_PERIOD_S, self._watch_parent)
        except BaseException:
            self.close()
            raise
        self.get_logger().info(self._summary())

    def _without_unavailable_streams(self, config: BridgeConfig, camera: CameraConfig) -> BridgeConfig:
        """The bridge config with the enabled streams the camera cannot give disabled, each with a warning.

        A camera class may say beforehand what it cannot give (`unavailable_streams(**camera_kwargs)`,
        e.g. a replayed bag without depth); the publisher then writes, and the bridge publishes, only the rest.
        """
        probe = getattr(self._camera_cls, "unavailable_streams", None)
        if probe is None:
            return config
        try:
            unavailable: dict[str, str] = probe(**camera.camera_kwargs)
        except (ImportError, OSError, ValueError) as error:  # bag unreadable, or which camera to replay unclear
            raise ParameterError(f"camera_type '{camera.camera_type}': {error}") from error
        streams = dict(config.streams)
        for name, reason in unavailable.items():
            stream = streams.get(name)
            if stream is not None and stream.enabled:
                streams[name] = dataclasses.replace(stream, enabled=False)
                self.get_logger().warning(f"'{name}.enable' is true but {reason}: its topics are not published")
        return dataclasses.replace(config, streams=streams)

    def _declare(self, specs: Sequence[ParameterSpec]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for spec in specs:
            descriptor = ParameterDescriptor(
                description=spec.description,
                additional_constraints=f"Allowed: {spec.allowed}.",
                dynamic_typing=True,
                read_only=True,  # read once at start; `ros2 param set` says so instead of doing nothing
            )
            values[spec.name] = self.declare_parameter(spec.name, spec.default, descriptor).value
        return values

    def _summary(self) -> str:
        streams = [name for name, stream in self.bridge_config.streams.items() if stream.enabled]
        hosted = f"hosting a {self.camera_config.camera_type} camera, " if self.camera_config else ""
        remote = f"; remote bridge pid {self.remote.pid}" if self.remote is not None else ""
        kind = "remote-facing bridge of" if self.remote_mode else "bridging"
        return (
            f"{hosted}{kind} shared-memory namespace '{self.bridge_config.namespace}' "
            f"to {self.get_namespace().rstrip('/')}/{self.get_name()}: streams {', '.join(streams)}{remote}"
        )

    # ------------------------------------------------------------------------------ remote bridge
    def _warn_socket_buffers(self) -> None:
        profile = profile_from_environment()
        for warning in socket_buffer_warnings(profile) if profile else []:
            self.get_logger().warning(warning)

    def _start_remote(self, values: dict[str, Any], remote_values: dict[str, Any]) -> None:
        """Starts the remote-facing bridge process: node `remote` in this node's namespace, this namespace."""
        parameters = {spec.name: spec.check(values[spec.name]) for spec in BRIDGE_SPECS + REMOTE_SPECS}
        parameters["namespace"] = self.bridge_config.namespace
        parameters["camera_name"] = self.bridge_config.camera_name
        if not is_isolated():  # camera_node restarts itself isolated (host_isolation.py); this is the fallback
            local = " and ".join(f"{name}={value}" for name, value in discovery_environment("LOCALHOST").items())
            self.get_logger().warning(
                "remote.enable is true but this node's own topics are visible to other machines "
                f"(not {local}): a remote subscriber of them shares their writers with the local subscribers and "
                f"can slow them. Run this node with {local} and {profile_variable()}=config/fastdds_host_only.xml "
                "(the launch files' remote:=true does)."
            )
        if remote_values["remote.transport"] == "large_data" and not has_builtin_large_data():
            major, minor = fastdds_version()
            raise ParameterError(
                f"remote.transport: large_data needs Fast DDS's builtin LARGE_DATA transport (Fast DDS 2.13 or "
                f"later); this ROS 2 has Fast DDS {major}.{minor} (Humble: 2.6), which has none. Use "
                "remote.transport:=udp, which any subscriber receives."
            )
        profile = remote_profile(str(remote_values["remote.transport"]), str(remote_values["remote.fastdds_profile"]))
        for warning in socket_buffer_warnings(profile):
            self.get_logger().warning(warning)
        paced = None
        if remote_values["remote.transport"] == "udp" and not remote_values["remote.fastdds_profile"]:
            assert self._remote_config is not None
            topics = remote_topics(f"{self.get_fully_qualified_name().rstrip('/')}/remote", REMOTE_STREAMS)
            paced = paced_profile(
                profile,
                max(self._remote_config.link_budget_mbit_s, AUTOMATIC_MBIT_S),
                self._remote_config.link_priority,
                topics,
            )
        self.remote = RemoteBridgeProcess(
            parameters,
            self.get_fully_qualified_name(),
            profile,
            str(remote_values["remote.discovery_range"]),
            paced_profile=paced,
        )
        self.remote.start()
        self.create_timer(_WATCH_PERIOD_S, self._watch_remote)

    def _watch_remote(self) -> None:
        if self.remote is not None:
            message = self.remote.watch()
            if message is not None:
                self.get_logger().error(message)
                self._remove_dead_fastdds_segments()  # the dead bridge's, unless it lived under 2 s

    def _remove_dead_fastdds_segments(self) -> None:
        removed = remove_dead_segments()
        if removed.segments:
            self.get_logger().info(f"removed {removed} from /dev/shm")

    def _watch_parent(self) -> None:
        if parent_gone():
            self.get_logger().error("camera_node that started this remote bridge is gone; stopping")
            raise SystemExit(1)

    # ------------------------------------------------------------------------------ hosted camera
    def _start_camera(self) -> None:
        assert self.camera_config is not None
        publisher = HostedCameraPublisher(
            self._camera_cls,
            self.camera_config.camera_kwargs,
            publisher_schemas(self.bridge_config, self._remote_config),
            self.bridge_config.namespace,
        )
        publisher.start()
        self.publisher = publisher

    def _watch_camera(self) -> None:
        """Restarts the camera process if it died, a bounded number of times."""
        publisher = self.publisher
        if publisher is None or publisher.is_alive():
            return
        if publisher.exitcode == 0:  # a recording without loop reached its end
            self.get_logger().info("the camera finished (end of its recording); shutting down")
            self.publisher = None
            raise SystemExit(0)
        self._camera_error = f"camera process exited with code {publisher.exitcode}"
        if self.camera_restarts >= MAX_CAMERA_RESTARTS:
            self.get_logger().fatal(f"{self._camera_error}; gave up after {MAX_CAMERA_RESTARTS} restarts")
            self.publisher = None
            raise SystemExit(1)
        self.camera_restarts += 1
        self.get_logger().error(f"{self._camera_error}; restarting it ({self.camera_restarts}/{MAX_CAMERA_RESTARTS})")
        publisher.stop()
        try:
            self._start_camera()
            self._camera_error = None
        except PublisherStartError as error:
            self._camera_error = str(error)
            self.get_logger().error(f"camera restart failed: {error}")
            time.sleep(1.0)

    def _camera_state(self) -> tuple[list[tuple[str, str]], str | None]:
        consumers = self.consumers.state() if self.consumers is not None else []
        if self.camera_config is None:
            return consumers, None
        alive = self.publisher is not None and self.publisher.is_alive()
        values = [
            ("camera type", self.camera_config.camera_type),
            ("camera process alive", str(alive)),
            ("camera restarts", str(self.camera_restarts)),
            ("frames published", str(self.publisher.frames_published if self.publisher else 0)),
        ]
        remote = []
        remote_error = None
        if self.remote is not None:
            remote_alive = self.remote.alive()
            remote = [
                ("remote bridge alive", str(remote_alive)),
                ("remote bridge pid", str(self.remote.pid)),
                ("remote bridge restarts", str(self.remote.restarts)),
            ]
            remote_error = None if remote_alive else (self.remote.error or "remote bridge not running")
        error = None if alive else (self._camera_error or "camera process not running")
        return values + consumers + remote, error or remote_error

    def _publish_diagnostics(self) -> None:
        self._diagnostics_publisher.publish(self.diagnostics.report())

    # ------------------------------------------------------------------------------ shutdown
    def close(self) -> None:
        """Stops the remote bridge, finishes recordings, stops the bridge and the camera process."""
        if self.remote is not None:
            self.remote.stop()
            self.remote = None
        if self.consumers is not None:
            self.consumers.close()
            self.consumers = None
        if self.bridge is not None:
            self.bridge.stop()
        if self.publisher is not None:
            self.publisher.stop()
            self.publisher = None


def run(node_name: str, host_camera: bool, args: Sequence[str] | None = None) -> int:
    """Runs a node until SIGINT/SIGTERM; returns the process exit code (2 for bad parameters).

    SIGINT and SIGTERM are handled here, not by rclpy, so that shutdown is ordered: the bridge stops
    publishing, the camera process stops and removes its shared memory, then ROS shuts down.
    """
    stop = stop_on_signals()
    die_with_parent()  # a no-op unless started by camera_node as its remote bridge
    node_name = _remapped_name(node_name, args or [])
    try:
        rclpy.init(args=list(args) if args is not None else None, signal_handler_options=SignalHandlerOptions.NO)
    except Exception as error:  # e.g. a --params-file that does not exist or does not parse
        print(f"[{node_name}] cannot start: {error}".strip(), file=sys.stderr)
        return 2
    if host_camera and must_restart_isolated(node_name):
        rclpy.try_shutdown()
        restart_isolated(node_name)
    node: CameraBridgeNode | None = None
    code = 0
    try:
        node = CameraBridgeNode(node_name, host_camera)
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        while not stop.is_set():
            executor.spin_once(timeout_sec=0.1)
    except ParameterError as error:
        print(f"[{node_name}] invalid parameters: {error}", file=sys.stderr)
        code = 2
    except (PublisherStartError, SharedMemoryCameraError) as error:
        print(f"[{node_name}] camera failed to start: {error}", file=sys.stderr)
        code = 1
    except SystemExit as exit_request:
        code = int(exit_request.code or 0)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.close()
            node.destroy_node()
        rclpy.try_shutdown()
    return code


def _remapped_name(default: str, args: Sequence[str]) -> str:
    """The node's name after a `-r __node:=name` remapping, for messages printed before the node exists."""
    for arg in args:
        if arg.startswith("__node:=") or arg.startswith("__name:="):
            return arg.split(":=", 1)[1]
    return default


def main_camera_node(args: Sequence[str] | None = None) -> None:
    """`ros2 run airo_mp_camera camera_node`: hosts the camera and bridges it."""
    sys.exit(run("camera", host_camera=True, args=sys.argv if args is None else args))


def main_bridge_node(args: Sequence[str] | None = None) -> None:
    """`ros2 run airo_mp_camera bridge_node`: bridges a namespace whose publisher runs elsewhere."""
    sys.exit(run("camera_bridge", host_camera=False, args=sys.argv if args is None else args))
