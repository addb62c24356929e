"""The camera process that `camera_node` hosts, kept out of the terminal's Ctrl-C so that the node stops it last.

No rclpy here: the spawned camera process imports this module to rebuild its `Process` object.
"""

from __future__ import annotations

import os

from airo_mp_camera.pipeline.publisher import CameraPublisher


class HostedCameraPublisher(CameraPublisher):
    """A `CameraPublisher` whose process leads a process group of its own.

    A Ctrl-C in a terminal signals the whole foreground process group. The camera process would then stop at
    once and remove its shared memory while the node's bridge still reads it, and the bridge would report
    that as an error ("publisher stopped and no publisher came back"). In its own group the camera hears only
    the node, which stops the bridge first and the camera last. The camera still stops when the node dies
    (the publisher watches its parent) and on a SIGINT or SIGTERM sent to it alone.
    """

    def run(self) -> None:
        """Leaves the parent's process group, then runs the publisher loop."""
        os.setpgid(0, 0)
        super().run()
