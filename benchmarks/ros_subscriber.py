"""A plain rclpy subscriber process that measures capture-to-subscriber latency from `header.stamp`.

Run: `python -m benchmarks.ros_subscriber --topic /camera/rgb/image_raw --type image --seconds 10`.
It waits for a publisher, then records every message for `--seconds` (or until `--frames` arrived) and
prints one JSON line: latency percentiles (the first `--warmup` messages left out), the stamps received
(to count deliveries against what was published), and its own CPU use. The QoS is reliable, keep last 2,
like the camera node's default.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from benchmarks.stats import percentiles, self_cpu_seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--type", choices=("image", "points"), default="image")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--frames", type=int, default=0, help="stop after this many messages (0: time only)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--connect-timeout", type=float, default=30.0)
    args = parser.parse_args(argv)

    import rclpy
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image, PointCloud2

    rclpy.init()
    node = rclpy.create_node("bench_subscriber")
    stamps: list[float] = []
    latencies: list[float] = []
    sizes: list[int] = []

    def on_message(message: Any) -> None:
        now = time.time()
        stamp = message.header.stamp.sec + message.header.stamp.nanosec * 1e-9
        stamps.append(stamp)
        latencies.append(1000 * (now - stamp))
        sizes.append(len(message.data))

    qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=2, reliability=ReliabilityPolicy.RELIABLE)
    message_type = Image if args.type == "image" else PointCloud2
    node.create_subscription(message_type, args.topic, on_message, qos)
    report: dict[str, Any] = {"topic": args.topic}
    try:
        deadline = time.monotonic() + args.connect_timeout
        while node.count_publishers(args.topic) == 0 or not stamps:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no message on {args.topic} within {args.connect_timeout} s")
            rclpy.spin_once(node, timeout_sec=0.05)
        cpu_before, started = self_cpu_seconds(), time.monotonic()
        end = started + args.seconds
        while time.monotonic() < end and not (args.frames and len(stamps) >= args.frames):
            rclpy.spin_once(node, timeout_sec=0.05)
        elapsed = time.monotonic() - started
        report.update(
            {
                "latency_ms": percentiles(latencies[args.warmup :]),
                "received": len(stamps),
                "stamps": stamps,
                "bytes_per_message": max(sizes) if sizes else 0,
                "cpu_percent": round(100 * (self_cpu_seconds() - cpu_before) / elapsed, 1),
            }
        )
    except (TimeoutError, KeyboardInterrupt) as error:
        report["error"] = f"{type(error).__name__}: {error}"
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    print(json.dumps(report), flush=True)
    sys.exit(0 if "error" not in report else 1)


if __name__ == "__main__":
    main()
