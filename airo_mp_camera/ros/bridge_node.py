"""`bridge_node`: bridges a shared-memory namespace whose publisher runs elsewhere (e.g. a controller script)."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence

from rclpy.node import Node

from airo_mp_camera.ros.consumer_control import ConsumerControl, check_consumers_available
from airo_mp_camera.ros.host_isolation import remote_enabled
from airo_mp_camera.ros.node import BridgedNode, run
from airo_mp_camera.ros.parameters import BRIDGE_SPECS, CONSUMER_SPECS, REMOTE_SPECS, bridge_config


class BridgeNode(BridgedNode):
    """Bridges an existing shared-memory namespace to topics under its name, with the recorder and Rerun consumers.

    It accepts the `remote.*` parameters (a camera's parameters file names them) and ignores them: other machines
    are served by `remote_bridge_node`.

    Raises:
        ParameterError: a parameter is unknown, of the wrong type, or out of range.
    """

    def __init__(self, node_name: str = "camera_bridge") -> None:
        super().__init__(node_name, BRIDGE_SPECS + REMOTE_SPECS + CONSUMER_SPECS)
        consumer_values = {spec.name: spec.check(self.values[spec.name]) for spec in CONSUMER_SPECS}
        config = bridge_config(self.values, self.get_name())
        check_consumers_available(consumer_values, config)
        self.consumers: ConsumerControl | None = None
        self.warn_socket_buffers()
        self.remove_dead_fastdds_segments()
        try:
            self.start_bridge(config, f"{self.get_name()}: shared-memory camera", self._state)
            self.consumers = ConsumerControl(self, config, consumer_values)
        except BaseException:
            self.close()
            raise
        self.get_logger().info(self.summary("bridging"))

    def _state(self) -> tuple[list[tuple[str, str]], str | None]:
        return (self.consumers.state() if self.consumers is not None else []), None

    def close(self) -> None:
        """Finishes recordings, stops the Rerun logger and the bridge."""
        if self.consumers is not None:
            self.consumers.close()
            self.consumers = None
        super().close()


def _bridge_node(node_name: str) -> Node:
    """The bridge node; with `remote.enable`, the remote bridge (deprecated: run `remote_bridge_node`)."""
    if not remote_enabled(node_name):
        return BridgeNode(node_name)
    from airo_mp_camera.ros.remote_bridge_node import RemoteBridgeNode

    message = (
        "bridge_node -p remote.enable:=true is deprecated: run the remote bridge as "
        "`ros2 run airo_mp_camera remote_bridge_node` (python -m airo_mp_camera.ros.remote_bridge_node)"
    )
    warnings.warn(message, DeprecationWarning, stacklevel=2)
    node = RemoteBridgeNode(node_name)
    node.get_logger().warning(message)
    return node


def main(args: Sequence[str] | None = None) -> None:
    """`ros2 run airo_mp_camera bridge_node`: bridges a namespace whose publisher runs elsewhere."""
    sys.exit(run("camera_bridge", _bridge_node, args=sys.argv if args is None else args))


if __name__ == "__main__":
    main()
