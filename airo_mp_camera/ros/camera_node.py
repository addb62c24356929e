"""`camera_node`: hosts a CameraPublisher process for the configured camera and bridges it to ROS topics.

With `remote.enable` it also serves other machines through a remote bridge (ros/remote_bridge_node.py): the launch
files start that as a sibling node (`remote:=true`); a camera node started alone (`ros2 run`) starts it as its own
child process (`RemoteBridgeProcess`, ros/remote.py) and keeps its own topics on this host (ros/host_isolation.py).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from rclpy.node import Node

from airo_mp_camera.pipeline.errors import PublisherStartError
from airo_mp_camera.pipeline.publisher import CameraPublisher
from airo_mp_camera.pipeline.schemas import CameraSchema, RGBSchema, Schema
from airo_mp_camera.ros.bridge import STREAM_SCHEMAS
from airo_mp_camera.ros.camera_classes import camera_class
from airo_mp_camera.ros.consumer_control import ConsumerControl, check_consumers_available
from airo_mp_camera.ros.discovery import discovery_environment
from airo_mp_camera.ros.fastdds_profiles import profile_variable
from airo_mp_camera.ros.host_isolation import is_isolated, must_restart_isolated, restart_isolated
from airo_mp_camera.ros.hosted_camera import HostedCameraPublisher
from airo_mp_camera.ros.node import WATCH_PERIOD_S, BridgedNode, run
from airo_mp_camera.ros.parameters import (
    BRIDGE_SPECS,
    CAMERA_SPECS,
    CONSUMER_SPECS,
    REMOTE_SPECS,
    BridgeConfig,
    CameraConfig,
    ParameterError,
    bridge_config,
    camera_config,
    check_all,
    remote_bridge_config,
)
from airo_mp_camera.ros.remote import REMOTE_BRIDGE_SIBLING_ENV, RemoteBridgeProcess
from airo_mp_camera.ros.remote_setup import (
    bridge_names,
    remote_bridge_process,
    remote_bridge_setup,
    warn_socket_buffers,
)

MAX_CAMERA_RESTARTS = 3


def publisher_schemas(config: BridgeConfig, remote: BridgeConfig | None = None) -> list[Schema]:
    """What the hosted publisher writes: metadata and RGB always, the rest as the bridges' streams ask."""
    schemas: list[Schema] = [CameraSchema(), RGBSchema()]
    names = [name for name, stream in config.streams.items() if stream.enabled and name != "rgb"]
    if remote is not None:
        names += [name for name, stream in remote.streams.items() if stream.enabled and name not in names]
    schemas += [STREAM_SCHEMAS[name]() for name in names if name != "rgb"]
    return schemas


class CameraNode(BridgedNode):
    """Hosts the camera in its own process, bridges its namespace, and starts the recorder and Rerun consumers.

    Raises:
        ParameterError: a parameter is unknown, of the wrong type, or out of range.
        PublisherStartError: the hosted camera could not start.
    """

    def __init__(self, node_name: str = "camera") -> None:
        super().__init__(node_name, BRIDGE_SPECS + REMOTE_SPECS + CONSUMER_SPECS + CAMERA_SPECS)
        values = self.values
        remote_values = check_all(REMOTE_SPECS, values)
        consumer_values = {spec.name: spec.check(values[spec.name]) for spec in CONSUMER_SPECS}
        config = bridge_config(values, self.get_name())
        self.camera_config: CameraConfig = camera_config(values)
        # The remote bridge's streams are written too: it reads them from this camera's shared memory.
        self._remote_config = remote_bridge_config(values, self.get_name()) if remote_values["remote.enable"] else None
        self._bridge_names = bridge_names(str(remote_values["remote.bridges"])) if self._remote_config else ()
        self.publisher: CameraPublisher | None = None
        self.camera_restarts = 0
        self._camera_error: str | None = None
        self.consumers: ConsumerControl | None = None
        self.remotes: list[RemoteBridgeProcess] = []
        check_consumers_available(consumer_values, config)  # before the camera starts
        self.warn_socket_buffers()
        self.remove_dead_fastdds_segments()  # also those of a remote bridge child that died
        self._camera_cls = camera_class(self.camera_config.camera_type)
        self.bridge_config = self._without_unavailable_streams(config, self.camera_config)
        self._start_camera()
        try:
            self.create_timer(WATCH_PERIOD_S, self._watch_camera)
            self.start_bridge(self.bridge_config, f"{self.get_name()}: shared-memory camera", self._state)
            self.consumers = ConsumerControl(self, self.bridge_config, consumer_values)
            if self._remote_config is not None and not os.environ.get(REMOTE_BRIDGE_SIBLING_ENV):
                self._start_remote(remote_values)
        except BaseException:
            self.close()
            raise
        remote = "".join(f"; {bridge.label} pid {bridge.pid}" for bridge in self.remotes)
        self.get_logger().info(self.summary(f"hosting a {self.camera_config.camera_type} camera, bridging", remote))

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

    # ------------------------------------------------------------------------------ remote bridge child
    def _start_remote(self, remote_values: dict[str, Any]) -> None:
        """Starts each remote bridge (`remote.bridges`) as a child process, named as given, in this namespace."""
        assert self._remote_config is not None
        parameters = {spec.name: spec.check(self.values[spec.name]) for spec in BRIDGE_SPECS + REMOTE_SPECS}
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
        camera = self.get_fully_qualified_name()
        setups = [remote_bridge_setup(remote_values, self._remote_config, camera, name) for name in self._bridge_names]
        warn_socket_buffers(setups, self.get_logger())
        for setup in setups:
            bridge = remote_bridge_process(parameters, camera, setup)
            self.remotes.append(bridge)
            bridge.start()
        self.create_timer(WATCH_PERIOD_S, self._watch_remote)

    def _watch_remote(self) -> None:
        for bridge in self.remotes:
            message = bridge.watch()
            if message is not None:
                self.get_logger().error(message)
                self.remove_dead_fastdds_segments()  # the dead bridge's, unless it lived under 2 s

    # ------------------------------------------------------------------------------ hosted camera
    def _start_camera(self) -> None:
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

    def _state(self) -> tuple[list[tuple[str, str]], str | None]:
        """Diagnostics of the camera process, the consumers and the remote bridge child, and the first error."""
        consumers = self.consumers.state() if self.consumers is not None else []
        alive = self.publisher is not None and self.publisher.is_alive()
        values = [
            ("camera type", self.camera_config.camera_type),
            ("camera process alive", str(alive)),
            ("camera restarts", str(self.camera_restarts)),
            ("frames published", str(self.publisher.frames_published if self.publisher else 0)),
        ]
        remote = []
        remote_error = None
        for bridge in self.remotes:
            remote_alive = bridge.alive()
            remote += [
                (f"{bridge.label} alive", str(remote_alive)),
                (f"{bridge.label} pid", str(bridge.pid)),
                (f"{bridge.label} restarts", str(bridge.restarts)),
            ]
            if not remote_alive:
                remote_error = remote_error or bridge.error or f"{bridge.label} not running"
        error = None if alive else (self._camera_error or "camera process not running")
        return values + consumers + remote, error or remote_error

    # ------------------------------------------------------------------------------ shutdown
    def close(self) -> None:
        """Stops the remote bridge children, finishes recordings, stops the bridge and the camera process."""
        while self.remotes:
            self.remotes.pop().stop()
        if self.consumers is not None:
            self.consumers.close()
            self.consumers = None
        super().close()
        if self.publisher is not None:
            self.publisher.stop()
            self.publisher = None


def _camera_node(node_name: str) -> Node:
    """The camera node, after restarting this process host-only if its remote bridge asks for that."""
    if must_restart_isolated(node_name):
        import rclpy

        rclpy.try_shutdown()
        restart_isolated(node_name)
    return CameraNode(node_name)


def main(args: Sequence[str] | None = None) -> None:
    """`ros2 run airo_mp_camera camera_node`: hosts the camera and bridges it."""
    sys.exit(run("camera", _camera_node, args=sys.argv if args is None else args))


if __name__ == "__main__":
    main()
