"""`remote_bridge_node`: the remote-facing bridge, serving a camera's streams to other machines.

Node `remote` in the camera node's namespace (topics `/<camera>/remote/...`), in a process of its own with its own
DDS participant, so that a slow link backs up only its writers. It runs at a lower CPU priority (`remote.nice`),
finds what the link carries and shares it among its streams (ros/link_policy.py), and stops when the camera node
that started it as its child is gone. The launch files start it beside the camera node with `respawn`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from rclpy.node import Node

from airo_mp_camera.ros.link_policy import LinkPolicy
from airo_mp_camera.ros.node import WATCH_PERIOD_S, BridgedNode, run
from airo_mp_camera.ros.parameters import (
    BRIDGE_SPECS,
    CONSUMER_SPECS,
    REMOTE_SPECS,
    check_all,
    remote_bridge_config,
)
from airo_mp_camera.ros.remote import lower_priority, parent_gone
from airo_mp_camera.ros.remote_setup import REMOTE_NODE_NAME


class RemoteBridgeNode(BridgedNode):
    """Bridges a camera's namespace to the compressed `remote.*` streams, paced for the link to other machines.

    Its namespace and camera name default to the camera node's: the last part of its own ROS namespace. It
    accepts the consumer parameters of a camera's parameters file and starts no consumer.

    Raises:
        ParameterError: a parameter is unknown, of the wrong type, or out of range.
    """

    def __init__(self, node_name: str = REMOTE_NODE_NAME) -> None:
        super().__init__(node_name, BRIDGE_SPECS + REMOTE_SPECS + CONSUMER_SPECS)
        remote_values = check_all(REMOTE_SPECS, self.values)
        if parent_gone():
            raise SystemExit(0)
        lower_priority(int(remote_values["remote.nice"]))  # remote streams give way to local consumers
        default_name = self.get_namespace().strip("/").rsplit("/", 1)[-1] or self.get_name()
        config = remote_bridge_config(self.values, default_name)
        self.warn_socket_buffers()
        try:
            link = LinkPolicy(config, time.time, self.get_logger().info)
            self.start_bridge(config, f"{self.get_fully_qualified_name().lstrip('/')}: remote bridge", None, link)
            self.create_timer(WATCH_PERIOD_S, self._watch_parent)
        except BaseException:
            self.close()
            raise
        self.get_logger().info(self.summary("remote-facing bridge of"))

    def _watch_parent(self) -> None:
        if parent_gone():
            self.get_logger().error("camera_node that started this remote bridge is gone; stopping")
            raise SystemExit(1)


def _remote_bridge_node(node_name: str) -> Node:
    return RemoteBridgeNode(node_name)


def main(args: Sequence[str] | None = None) -> None:
    """`ros2 run airo_mp_camera remote_bridge_node`: the remote-facing bridge of a camera's namespace."""
    sys.exit(run(REMOTE_NODE_NAME, _remote_bridge_node, args=sys.argv if args is None else args))


if __name__ == "__main__":
    main()
