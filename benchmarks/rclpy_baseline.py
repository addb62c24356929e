"""The plain rclpy baseline: a 1080p rgb8 numpy frame published as sensor_msgs/Image to a subscriber process.

The publisher process grabs the same synthetic camera at 30 fps, stamps `header.stamp` with the capture
time and builds the message straight from numpy (one copy into the message's array); the subscriber is
`benchmarks.ros_subscriber`. Both use the Fast DDS profile named by FASTDDS_DEFAULT_PROFILES_FILE
(config/fastdds_large_data.xml, set by tools/isolated), and reliable QoS, keep last 2.

Run alone: `tools/isolated .venv/bin/python -m benchmarks.rclpy_baseline --seconds 10`.
"""

from __future__ import annotations

import argparse
import array
import json
import os
import sys
import time
from typing import Any

from benchmarks.latency import FPS, RESOLUTION_1080P
from benchmarks.processes import ProcessGroup
from benchmarks.stats import self_cpu_seconds

TOPIC = "/bench/rgb/image_raw"


def publish(frames: int, topic: str, connect_timeout: float = 30.0) -> dict[str, Any]:
    """Publishes `frames` camera frames at the camera's rate once a subscriber matched."""
    import rclpy
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from airo_mp_camera import SyntheticCamera

    camera = SyntheticCamera(resolution=RESOLUTION_1080P, fps=FPS)
    width, height = camera.resolution
    rclpy.init()
    node = rclpy.create_node("bench_image_publisher")
    qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=2, reliability=ReliabilityPolicy.RELIABLE)
    publisher = node.create_publisher(Image, topic, qos)
    try:
        deadline = time.monotonic() + connect_timeout
        while publisher.get_subscription_count() == 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no subscriber on {topic} within {connect_timeout} s")
            time.sleep(0.05)
        time.sleep(1.0)  # matched on discovery; let the reliable handshake finish before the first frame
        cpu_before, started = self_cpu_seconds(), time.monotonic()
        for _ in range(frames):
            camera.grab_images()
            stamp = camera.capture_timestamp
            message = Image()
            message.header.stamp.sec = int(stamp)
            message.header.stamp.nanosec = int((stamp - int(stamp)) * 1e9)
            message.header.frame_id = "bench_camera"
            message.height, message.width = height, width
            message.encoding = "rgb8"
            message.step = 3 * width
            data = array.array("B")
            data.frombytes(camera.retrieve_rgb_image_as_int())  # type: ignore[arg-type]
            message.data = data
            publisher.publish(message)
        elapsed = time.monotonic() - started
        time.sleep(1.0)  # let reliable delivery of the last frames finish before the participant goes
        return {
            "published": frames,
            "rate_hz": round(frames / elapsed, 2),
            "cpu_percent": round(100 * (self_cpu_seconds() - cpu_before) / elapsed, 1),
        }
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def _json_line(output: bytes) -> dict[str, Any]:
    for line in reversed(output.decode(errors="replace").splitlines()):
        if line.startswith("{"):
            return dict(json.loads(line))
    raise RuntimeError(f"no JSON report in the output: {output[-2000:]!r}")


def run(seconds: float) -> dict[str, Any]:
    """Publisher and subscriber processes; returns latency, delivery and CPU."""
    frames = int(seconds * FPS)
    python = sys.executable
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with ProcessGroup() as group:
        subscriber = group.popen(
            [python, "-m", "benchmarks.ros_subscriber", "--topic", TOPIC, "--type", "image"]
            + ["--frames", str(frames), "--seconds", str(seconds + 5)],
            cwd=root,
            stdout=-1,
            stderr=-1,
        )
        publisher = group.popen(
            [python, "-m", "benchmarks.rclpy_baseline", "--publish", "--frames", str(frames)],
            cwd=root,
            stdout=-1,
            stderr=-1,
        )
        publisher_out, publisher_err = publisher.communicate(timeout=seconds + 60)
        subscriber_out, subscriber_err = subscriber.communicate(timeout=30)
    if publisher.returncode != 0:
        raise RuntimeError(f"rclpy publisher failed: {publisher_err.decode(errors='replace')[-2000:]}")
    sent = _json_line(publisher_out)
    got = _json_line(subscriber_out)
    if "error" in got:
        raise RuntimeError(
            f"rclpy subscriber failed: {got['error']}: {subscriber_err.decode(errors='replace')[-1000:]}"
        )
    return {
        "latency_ms": got["latency_ms"],
        "published": sent["published"],
        "received": got["received"],
        "delivered_ratio": round(got["received"] / sent["published"], 4),
        "bytes_per_message": got["bytes_per_message"],
        "cpu_percent": {"publisher": sent["cpu_percent"], "subscriber": got["cpu_percent"]},
        "fastdds_profile": os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE", ""),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--publish", action="store_true", help="be the publisher process (used by run())")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    if args.publish:
        print(json.dumps(publish(args.frames, TOPIC)), flush=True)
    else:
        print(json.dumps(run(args.seconds), indent=2))


if __name__ == "__main__":
    main()
