"""Faults on the ROS side: a subscriber that never reads, and subscribers that come and go, with real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed (make venv installs ROS 2 from PyPI)")

from sensor_msgs.msg import Image

from airo_mp_camera import MultiprocessRGBDReceiver
from airo_mp_camera.cameras import watermark
from airo_mp_camera.pipeline.frame_ring import read_owner, segment_path
from support import delivery, workers
from support.ros_support import START_TIMEOUT, node_name, start_node, stop_node, subscriber

FPS = 30.0
SMALL = {"width": 640, "height": 480, "fps": FPS}

STALLED = """
import sys, time, rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
rclpy.init()
node = rclpy.create_node("stalled")
qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
for topic in sys.argv[1:]:
    node.create_subscription(Image, topic, lambda message: None, qos)
print("ready", flush=True)
time.sleep(600)  # never spins: messages pile up unread
"""

JOIN_LEAVE = """
import sys, time, rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
rclpy.init()
node = rclpy.create_node("join_leave")
qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
received = 0
for _ in range(int(sys.argv[2])):
    got = []
    subscription = node.create_subscription(Image, sys.argv[1], got.append, qos)
    deadline = time.monotonic() + 2.0
    while not got and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    received += bool(got)
    node.destroy_subscription(subscription)
print(received, flush=True)
"""


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def frames_over(receiver: MultiprocessRGBDReceiver, seconds: float) -> tuple[list[int], float, list[dict[str, Any]]]:
    """Frame ids grabbed over `seconds`, the time taken, and each grab's accounting (see `delivery`)."""
    receiver.grab_images()
    ids, start = [receiver.frame_id], time.monotonic()
    grabs: list[dict[str, Any]] = []
    while time.monotonic() - start < seconds:
        workers.accounted_grab(receiver, grabs, timeout=5.0)
        ids.append(receiver.frame_id)
    return ids, time.monotonic() - start, grabs


def assert_no_frame_lost(ids: list[int], grabs: list[dict[str, Any]]) -> None:
    """Ids strictly increase, and no frame was missed while the receiver slept with a newer one complete."""
    assert ids == sorted(set(ids)), f"ids not strictly increasing: {ids}"
    lost = delivery.unexplained_misses(ids[0], grabs)
    assert not lost, f"the native receiver missed frames while it slept with a newer frame complete: {lost[:5]}"


def test_a_stalled_subscriber_slows_neither_the_camera_nor_the_native_receivers(namespace: str, processes) -> None:
    name = node_name()
    node = start_node(processes, "camera_node", name, {**SMALL, "namespace": namespace})
    topics = [f"/{name}/rgb/image_raw", f"/{name}/depth/image_raw"]
    stalled = processes.popen([sys.executable, "-c", STALLED, *topics], stdout=subprocess.PIPE)
    assert stalled.stdout is not None and stalled.stdout.readline().strip() == b"ready"
    with subscriber() as probe:  # a healthy subscriber beside the stalled one keeps getting images
        probe.subscribe(Image, topics[0])
        probe.wait_for(lambda: probe.count(topics[0]) >= 10, START_TIMEOUT, "images beside a stalled subscriber")
        with MultiprocessRGBDReceiver(namespace, timeout=10.0) as receiver:
            receiver.grab_images()
            owner = read_owner(segment_path(namespace))
            assert owner is not None
            starved_before = delivery.run_queue_seconds(owner.identity.pid)
            ids, seconds, grabs = frames_over(receiver, 4.0)
            starved = delivery.run_queue_seconds(owner.identity.pid) - starved_before
        healthy = probe.count(topics[0])
    code, output = stop_node(node)
    assert code == 0, output
    assert_no_frame_lost(ids, grabs)
    rate = (ids[-1] - ids[0]) / seconds
    # The camera keeps its rate for the time it had a CPU: on 2 busy cores it may wait for one (not our doing).
    floor = delivery.camera_rate_floor(FPS, seconds, starved)
    assert rate > floor, (
        f"camera at {rate:.1f} Hz with a stalled subscriber (configured {FPS}, {starved:.2f} s starved)"
    )
    assert healthy >= 10


def test_subscribers_joining_and_leaving_100_times_leak_nothing(namespace: str, processes) -> None:
    name = node_name()
    node = start_node(processes, "camera_node", name, {**SMALL, "namespace": namespace})
    topic = f"/{name}/rgb/image_raw"
    warm = processes.popen([sys.executable, "-c", JOIN_LEAVE, topic, "10"], stdout=subprocess.PIPE)
    out, _ = warm.communicate(timeout=120)
    assert int(out) >= 5, "the warm-up subscriber got no images"
    before = rss_kib(node.pid)
    churn = processes.popen([sys.executable, "-c", JOIN_LEAVE, topic, "100"], stdout=subprocess.PIPE)
    out, _ = churn.communicate(timeout=300)
    after = rss_kib(node.pid)
    with MultiprocessRGBDReceiver(namespace, timeout=10.0) as receiver:
        ids, _, grabs = frames_over(receiver, 1.0)
    code, output = stop_node(node)
    assert code == 0, output
    assert int(out) >= 90, f"only {int(out)} of 100 short-lived subscribers got an image"
    assert_no_frame_lost(ids, grabs)
    # A 640x480 frame is 2.2 MB (rgb + depth): growth of more than a few frames' worth would be a leak.
    assert after - before < 16 * 1024, f"camera_node RSS grew {(after - before) / 1024:.1f} MB over 100 subscribers"


def test_camera_node_restarts_its_camera_process_when_it_dies(namespace: str, processes) -> None:
    name = node_name()
    node = start_node(processes, "camera_node", name, {**SMALL, "namespace": namespace})
    with MultiprocessRGBDReceiver(namespace, timeout=START_TIMEOUT) as receiver:
        receiver.grab_images()
        owner = read_owner(segment_path(namespace))
        assert owner is not None
        camera_pid = owner.identity.pid
        assert camera_pid != node.pid
        os.kill(camera_pid, signal.SIGKILL)
        # A restart, not its speed: a starved machine (nice, 2 busy cores) can take the node's whole 30 s start
        # timeout and a retry to bring a new camera process up.
        deadline = time.monotonic() + 3 * START_TIMEOUT
        while receiver.restarts == 0:  # the node starts a new camera process; the receiver follows it
            if time.monotonic() > deadline:
                code, output = stop_node(node)
                raise AssertionError(f"camera_node did not restart its camera; it exited {code}: {output[-3000:]}")
            try:
                receiver.grab_images(timeout=1.0)
            except Exception:  # gone until the new camera is up
                continue
        receiver.grab_images()
        assert watermark.matches(receiver.retrieve_rgb_image_as_int(), receiver.frame_id)
    new_owner = read_owner(segment_path(namespace))
    assert new_owner is not None and new_owner.identity.pid not in (camera_pid, node.pid)
    code, output = stop_node(node)
    assert code == 0, output
    assert "restarting it (1/3)" in output


def test_ctrl_c_again_while_the_node_exits_does_not_kill_it(namespace: str, processes) -> None:
    """A second SIGINT during the exit (launch sends one when a required node stops first) is not a crash.

    Python gives SIGINT back its default action as it finalizes, and DDS's teardown takes a moment after that;
    a SIGINT then ended the node with -2, which launch reports as "process has died". Here SIGINT keeps coming
    every 20 ms from the first until the node has exited, so it lands in every phase of the exit.
    """
    name = node_name()
    node = start_node(processes, "camera_node", name, {**SMALL, "namespace": namespace})
    with MultiprocessRGBDReceiver(namespace, timeout=START_TIMEOUT) as receiver:
        receiver.grab_images()
    deadline = time.monotonic() + 30.0
    while node.poll() is None and time.monotonic() < deadline:
        try:
            node.send_signal(signal.SIGINT)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    code, output = stop_node(node, timeout=10.0)
    assert code == 0, f"exit {code}: {output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
    assert not os.path.exists(segment_path(namespace)), "the camera's shared memory is left behind"
