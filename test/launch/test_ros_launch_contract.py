"""What the launch files promise about camera_node, checked against the real node (no `launch` needed).

- A Ctrl-C in a terminal signals camera_node's whole process group: the node must stop cleanly, log no
  error, and leave no shared memory.
- The rviz config that `rviz:=true` writes for a camera shows topics camera_node really publishes, with the
  message types its displays expect, in frames the launch's static transforms connect, and images in encodings
  rviz2's Image display shows (it shows float depth black: ros2/rviz#969).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed (make venv installs ROS 2 from PyPI)")

import yaml
from sensor_msgs.msg import Image, PointCloud2

from airo_mp_camera.launch_support import camera_link, optical_frame, rviz_config
from airo_mp_camera.pipeline.frame_ring import segment_path
from support.ros_support import BIN, ROOT, START_TIMEOUT, node_name, subscriber

SMALL = {"width": 320, "height": 240, "fps": 30.0}
IMAGE_DISPLAY_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8")
"""Encodings rviz2's Image display shows as they are (it shows 32FC1 depth black)."""
DISPLAY_TYPES = {
    "rviz_default_plugins/Image": "sensor_msgs/msg/Image",
    "rviz_default_plugins/PointCloud2": "sensor_msgs/msg/PointCloud2",
}


def start_in_own_group(processes, name: str, namespace: str, extra: dict[str, object]) -> subprocess.Popen[bytes]:
    """camera_node as a terminal runs it: leading its own process group (its children join it)."""
    args = [str(BIN / "camera_node"), "--ros-args", "-r", f"__node:={name}"]
    args += ["--params-file", str(ROOT / "config" / "synthetic.yaml")]
    for key, value in {**SMALL, "namespace": namespace, **extra}.items():
        args += ["-p", f"{key}:={str(value).lower() if isinstance(value, bool) else value}"]
    return processes.popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


@pytest.mark.parametrize("attempt", range(3))
def test_ctrl_c_to_the_process_group_stops_camera_node_without_an_error(
    namespace: str, processes, attempt: int
) -> None:
    name = node_name()
    node = start_in_own_group(processes, name, namespace, {})
    with subscriber() as probe:
        topic = f"/{name}/rgb/image_raw"
        probe.subscribe(Image, topic, keep=False)
        probe.wait_for(lambda: probe.count(topic) >= 3, START_TIMEOUT, "images from camera_node")
    time.sleep(0.1 * attempt)  # somewhere else in the bridge's cycle each time
    os.killpg(node.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the node and its camera process
    try:
        output, _ = node.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(node.pid, signal.SIGKILL)
        node.communicate(timeout=10)
        raise AssertionError("camera_node did not stop within 20 s of a Ctrl-C") from None
    text = output.decode()
    assert node.returncode == 0, text
    assert "[ERROR]" not in text and "Traceback" not in text, text
    assert not Path(segment_path(namespace)).exists()


def test_rviz_config_for_a_camera_shows_topics_camera_node_publishes_in_frames_the_launch_connects(
    namespace: str, processes
) -> None:
    name = node_name()
    config = yaml.safe_load(rviz_config((ROOT / "config" / "airo_mp_camera.rviz").read_text(), name))
    manager = config["Visualization Manager"]
    wanted = {
        display["Topic"]["Value"]: DISPLAY_TYPES[display["Class"]]
        for display in manager["Displays"]
        if display["Class"] in DISPLAY_TYPES
    }
    assert len(wanted) == 3, f"rgb, depth and points displays expected: {wanted}"
    node = start_in_own_group(processes, name, namespace, {"points.enable": True})
    with subscriber() as probe:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            published = {topic: kinds for topic, kinds in probe.node.get_topic_names_and_types()}
            if all(topic in published for topic in wanted) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        for topic, kind in wanted.items():
            assert topic in published, f"rviz shows {topic}, camera_node publishes {sorted(published)}"
            assert published[topic] == [kind], f"{topic}: rviz expects {kind}, the node publishes {published[topic]}"
        image_topics = [topic for topic, kind in wanted.items() if kind.endswith("Image")]
        cloud_topic = next(topic for topic, kind in wanted.items() if kind.endswith("PointCloud2"))
        for topic in image_topics:
            probe.subscribe(Image, topic)
        probe.subscribe(PointCloud2, cloud_topic)
        probe.wait_for(
            lambda: all(probe.count(topic) >= 1 for topic in [*image_topics, cloud_topic]),
            START_TIMEOUT,
            "rviz's topics",
        )
        frames = {probe.messages[topic][-1].header.frame_id for topic in [*image_topics, cloud_topic]}
        encodings = {topic: probe.messages[topic][-1].encoding for topic in image_topics}
    node.send_signal(signal.SIGINT)
    node.communicate(timeout=20)
    # The messages are in the camera's left optical frame, which the launch's static transforms hang below the
    # fixed frame rviz opens with (launch/camera.launch.py builds both names with these functions).
    assert frames == {optical_frame(name, "left")}
    assert all(encoding in IMAGE_DISPLAY_ENCODINGS for encoding in encodings.values()), encodings
    assert manager["Global Options"]["Fixed Frame"] == camera_link(name)
