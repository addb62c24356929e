"""What the three nodes share: declaring their parameters, the bridge's lifetime, diagnostics, and running one.

The roles themselves are small classes of their own: `CameraNode` (ros/camera_node.py) hosts the camera and
bridges it, `BridgeNode` (ros/bridge_node.py) bridges a namespace whose publisher runs elsewhere, and
`RemoteBridgeNode` (ros/remote_bridge_node.py) is the remote-facing bridge for other machines.
"""

from __future__ import annotations

import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from airo_mp_camera.pipeline.errors import PublisherStartError, SharedMemoryCameraError
from airo_mp_camera.pipeline.stopping import stop_on_signals
from airo_mp_camera.ros.bridge import Bridge
from airo_mp_camera.ros.camera_classes import CAMERA_CLASSES, camera_class
from airo_mp_camera.ros.diagnostics import DiagnosticsReporter
from airo_mp_camera.ros.fastdds_profiles import profile_from_environment
from airo_mp_camera.ros.fastdds_segments import remove_dead_segments
from airo_mp_camera.ros.link_policy import LinkPolicy
from airo_mp_camera.ros.parameters import (
    BridgeConfig,
    ParameterError,
    ParameterSpec,
    check_unknown,
    declare_parameters,
)
from airo_mp_camera.ros.remote import die_with_parent, socket_buffer_warnings

__all__ = ["CAMERA_CLASSES", "BridgedNode", "camera_class", "run"]

WATCH_PERIOD_S = 0.5
"""How often a node checks on the processes it watches (its camera, its remote bridge, its parent)."""

StateSource = Callable[[], tuple[list[tuple[str, str]], str | None]]
"""More diagnostics values and an optional error, e.g. the hosted camera's state."""


class BridgedNode(Node):
    """A node that declares its parameters, bridges one shared-memory namespace to topics under its name, and reports.

    Args:
        node_name: the node's default name (a `-r __node:=` remapping wins).
        specs: every parameter the node accepts; another one stops it with a `ParameterError` naming it.

    Raises:
        ParameterError: a parameter is unknown, of the wrong type, or out of range.
    """

    def __init__(self, node_name: str, specs: Sequence[ParameterSpec]) -> None:
        super().__init__(node_name)
        check_unknown(getattr(self, "_parameter_overrides", {}).keys(), specs)
        self.values = self._declare(specs)
        self.bridge: Bridge | None = None
        self.diagnostics: DiagnosticsReporter | None = None

    def _declare(self, specs: Sequence[ParameterSpec]) -> dict[str, Any]:
        """Declares `specs` with their descriptors (ranges, read-only) and returns their checked values."""
        return declare_parameters(self, specs)

    def start_bridge(
        self, config: BridgeConfig, status_name: str, state: StateSource | None, link: LinkPolicy | None = None
    ) -> Bridge:
        """Creates and starts the bridge of `config` (with the remote bridge's `link`), reporting on /diagnostics."""
        bridge = self.bridge = Bridge(self, config, link=link)
        self.diagnostics = DiagnosticsReporter(bridge, status_name, state)
        self._diagnostics_publisher = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_timer(config.diagnostics_period, self._publish_diagnostics)
        bridge.start()
        return bridge

    def _publish_diagnostics(self) -> None:
        if self.diagnostics is not None:
            self._diagnostics_publisher.publish(self.diagnostics.report())

    def warn_socket_buffers(self) -> None:
        """Warns when the kernel caps the socket buffers this process's Fast DDS profile asks for."""
        profile = profile_from_environment()
        for warning in socket_buffer_warnings(profile) if profile else []:
            self.get_logger().warning(warning)

    def remove_dead_fastdds_segments(self) -> None:
        """Removes the Fast DDS shared-memory files that dead processes left in /dev/shm."""
        removed = remove_dead_segments()
        if removed.segments:
            self.get_logger().info(f"removed {removed} from /dev/shm")

    def summary(self, kind: str, extra: str = "") -> str:
        """One line for the log once started: what the node bridges, from where to where."""
        bridge = self.bridge
        assert bridge is not None
        streams = [name for name, stream in bridge.config.streams.items() if stream.enabled]
        return (
            f"{kind} shared-memory namespace '{bridge.config.namespace}' "
            f"to {self.get_namespace().rstrip('/')}/{self.get_name()}: streams {', '.join(streams)}{extra}"
        )

    def close(self) -> None:
        """Stops the bridge (subclasses stop what else they started, then call this)."""
        if self.bridge is not None:
            self.bridge.stop()


def run(node_name: str, make_node: Callable[[str], Node], args: Sequence[str] | None = None) -> int:
    """Runs the node `make_node(name)` until SIGINT/SIGTERM; returns the process exit code (2: bad parameters).

    SIGINT and SIGTERM are handled here, not by rclpy, so that shutdown is ordered: the bridge stops
    publishing, the camera process stops and removes its shared memory, then ROS shuts down. `make_node` may
    raise `SystemExit` before the node exists (the camera node restarting itself host-only does not return).
    """
    stop = stop_on_signals()
    die_with_parent()  # a no-op unless started by camera_node as its remote bridge
    node_name = remapped_name(node_name, args or [])
    try:
        rclpy.init(args=list(args) if args is not None else None, signal_handler_options=SignalHandlerOptions.NO)
    except Exception as error:  # e.g. a --params-file that does not exist or does not parse
        print(f"[{node_name}] cannot start: {error}".strip(), file=sys.stderr)
        return 2
    node: Node | None = None
    code = 0
    try:
        node = make_node(node_name)
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
            if isinstance(node, BridgedNode):
                node.close()
            node.destroy_node()
        rclpy.try_shutdown()
        # The node has stopped; what is left is the exit. Python gives SIGINT back its default action when it
        # finalizes, and the DDS teardown after that takes a moment: a second Ctrl-C there (launch sends its own
        # SIGINT when a required node exits first) would kill the process (-2, "process has died"). Ignored, it
        # cannot; SIGTERM still ends an exit that hangs.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return code


def remapped_name(default: str, args: Sequence[str]) -> str:
    """The node's name after a `-r __node:=name` remapping, for messages printed before the node exists."""
    for arg in args:
        if arg.startswith("__node:=") or arg.startswith("__name:="):
            return arg.split(":=", 1)[1]
    return default


def main_camera_node(args: Sequence[str] | None = None) -> None:
    """Deprecated: use `airo_mp_camera.ros.camera_node.main`."""
    warnings.warn(
        "airo_mp_camera.ros.node.main_camera_node is deprecated; use airo_mp_camera.ros.camera_node.main",
        DeprecationWarning,
        stacklevel=2,
    )
    from airo_mp_camera.ros.camera_node import main

    main(args)


def main_bridge_node(args: Sequence[str] | None = None) -> None:
    """Deprecated: use `airo_mp_camera.ros.bridge_node.main`."""
    warnings.warn(
        "airo_mp_camera.ros.node.main_bridge_node is deprecated; use airo_mp_camera.ros.bridge_node.main",
        DeprecationWarning,
        stacklevel=2,
    )
    from airo_mp_camera.ros.bridge_node import main

    main(args)


def __getattr__(name: str) -> Any:
    """`CameraBridgeNode`, deprecated: one of CameraNode, BridgeNode, RemoteBridgeNode, as it was asked to be."""
    if name != "CameraBridgeNode":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        "airo_mp_camera.ros.node.CameraBridgeNode is deprecated; use CameraNode (ros/camera_node.py), BridgeNode "
        "(ros/bridge_node.py) or RemoteBridgeNode (ros/remote_bridge_node.py)",
        DeprecationWarning,
        stacklevel=2,
    )
    return _camera_bridge_node


def _camera_bridge_node(node_name: str, host_camera: bool) -> Node:
    """The node of a role, chosen as `CameraBridgeNode(node_name, host_camera)` chose it."""
    from airo_mp_camera.ros.bridge_node import BridgeNode
    from airo_mp_camera.ros.camera_node import CameraNode
    from airo_mp_camera.ros.host_isolation import remote_enabled
    from airo_mp_camera.ros.remote_bridge_node import RemoteBridgeNode

    if host_camera:
        return CameraNode(node_name)
    return RemoteBridgeNode(node_name) if remote_enabled(node_name) else BridgeNode(node_name)
