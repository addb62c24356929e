"""A probe process for the remote benchmark: an rclpy subscriber of several topics, or a native receiver.

    python -m benchmarks.remote_probe ros --seconds 10 /camera/remote/rgb/image_raw/compressed ...
    python -m benchmarks.remote_probe native --seconds 10 --namespace camera
    python -m benchmarks.remote_probe cyclone --seconds 10 /camera/remote/rgb/image_raw/compressed ...

Prints one JSON line. Per topic: messages received, rate, capture-to-arrival latency percentiles (header
stamps; both "hosts" share this machine's clock), the p50 of the first and last third of the run (latency
growth), bytes a message, and whether the messages decode (compressed rgb, compressedDepth, points).
Native: frames grabbed and frame ids skipped (and the camera's rate from the ids). The message type comes from
the topic name.
Cyclone: a plain Cyclone DDS participant (benchmarks/cyclone_reader.py) reads compressed topics as
rmw_cyclonedds_cpp would.
QoS: reliable (or best effort, `--best-effort`), keep last 1 (or `--depth`).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from typing import Any

import numpy as np

from benchmarks.stats import percentiles


def _type_of(topic: str) -> Any:
    from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

    if topic == "/diagnostics":
        from diagnostic_msgs.msg import DiagnosticArray

        return DiagnosticArray
    if topic.endswith("/compressed") or topic.endswith("/compressedDepth"):
        return CompressedImage
    if topic.endswith("camera_info"):
        return CameraInfo
    if topic.endswith("points"):
        return PointCloud2
    return Image


def ros_probe(
    topics: list[str],
    seconds: float,
    connect_timeout: float,
    warmup: float,
    timeline: bool = False,
    best_effort: bool = False,
    depth: int = 1,
) -> dict[str, Any]:
    """Subscribes to `topics` for `seconds` after the first message (or after `connect_timeout`).

    `timeline`: the report also holds every arrival (time, latency ms, bytes) per topic and every remote-bridge
    status from /diagnostics with its arrival time, under "timeline".
    """
    import rclpy
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

    rclpy.init()
    node = rclpy.create_node(f"remote_probe_{int(time.time() * 1000) % 100000}")
    arrivals: dict[str, list[tuple[float, float, int]]] = {topic: [] for topic in topics}
    decoded: dict[str, list[bool]] = {topic: [] for topic in topics}
    reliability = ReliabilityPolicy.BEST_EFFORT if best_effort else ReliabilityPolicy.RELIABLE
    qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=reliability)
    remote_status: dict[str, str] = {}
    statuses: list[tuple[float, dict[str, str]]] = []

    def subscriber(topic: str) -> Any:
        def on_message(message: Any) -> None:
            if topic == "/diagnostics":  # keep the remote bridge's last status (its link share, its skips)
                for status in message.status:
                    if status.name.endswith("remote bridge"):
                        remote_status.clear()
                        remote_status.update({value.key: value.value for value in status.values})
                        remote_status["status name"] = status.name  # several remote bridges: which one
                        if timeline:
                            statuses.append((time.time(), dict(remote_status)))
                return
            now = time.time()
            stamp = message.header.stamp.sec + message.header.stamp.nanosec * 1e-9
            size = len(message.data) if hasattr(message, "data") else 0
            arrivals[topic].append((now, stamp, size))
            if decoded_topic(topic) and len(decoded[topic]) < 3:
                decoded[topic].append(decodes(topic, message))

        return on_message

    for topic in topics:
        node.create_subscription(_type_of(topic), topic, subscriber(topic), qos)
    started = time.monotonic()
    deadline = started + connect_timeout
    while time.monotonic() < deadline and not any(arrivals.values()):
        rclpy.spin_once(node, timeout_sec=0.05)
    warm_end = time.monotonic() + warmup
    while time.monotonic() < warm_end:
        rclpy.spin_once(node, timeout_sec=0.05)
    begin = time.time()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.05)
    finish = time.time()
    report = report_of(arrivals, decoded, begin, finish)
    if "/diagnostics" in topics:
        report["/diagnostics"] = {"remote bridge": dict(remote_status)}
    if timeline:
        report["timeline"] = {
            "arrivals": {
                topic: [(round(now, 4), round(1000 * (now - stamp), 2), size) for now, stamp, size in samples]
                for topic, samples in arrivals.items()
                if topic != "/diagnostics"
            },
            "statuses": [(round(when, 4), status) for when, status in statuses],
        }
    return report


def report_of(
    arrivals: dict[str, list[tuple[float, float, int]]], decoded: dict[str, list[bool]], begin: float, finish: float
) -> dict[str, Any]:
    """Per topic: the arrivals (time, header stamp, bytes) between `begin` and `finish`, and whether they decode."""
    report: dict[str, Any] = {}
    edge = min(10.0, (finish - begin) / 3)  # the first and last 10 s (a third of a shorter run)
    for topic, samples in arrivals.items():
        if topic == "/diagnostics":  # (ros_probe reports the remote bridge's status)
            continue
        window = [s for s in samples if begin <= s[0] <= finish]
        latencies = [1000 * (now - stamp) for now, stamp, _ in window]
        third = max(len(latencies) // 3, 1)
        first = [1000 * (now - stamp) for now, stamp, _ in window if now <= begin + edge]
        last = [1000 * (now - stamp) for now, stamp, _ in window if now >= finish - edge]
        report[topic] = {
            "received": len(window),
            "rate_hz": round(len(window) / max(finish - begin, 1e-6), 2),
            "latency_ms": percentiles(latencies) if latencies else {},
            "p50_first_third_ms": round(float(np.median(latencies[:third])), 2) if latencies else None,
            "p50_last_third_ms": round(float(np.median(latencies[-third:])), 2) if latencies else None,
            "p50_first_10s_ms": round(float(np.median(first)), 2) if first else None,
            "p50_last_10s_ms": round(float(np.median(last)), 2) if last else None,
            "bytes_per_message": int(np.median([size for *_, size in window])) if window else 0,
            "mbit_per_s": round(sum(size for *_, size in window) * 8e-6 / max(finish - begin, 1e-6), 1),
        }
        report[topic]["full_rate_after_s"] = full_rate_after(samples, report[topic]["rate_hz"])
        if decoded[topic]:
            report[topic]["decodes"] = all(decoded[topic])
    return report


def full_rate_after(samples: list[tuple[float, float, int]], rate_hz: float) -> float | None:
    """Seconds from a topic's first message to the first second that brought 95 % of `rate_hz` (its measured rate).

    How long a new subscriber waits for the stream's full rate: the remote bridge's link estimate starts low and
    grows while the streams use it (ros/link_estimate.py). None if nothing arrived.
    """
    times = [now for now, _, _ in samples]
    if not times or rate_hz <= 0:
        return None
    end = 0
    for start, first in enumerate(times):
        while end < len(times) and times[end] < first + 1.0:
            end += 1
        if end - start >= 0.95 * rate_hz:
            return round(first - times[0], 2)
    return None


def decodes(topic: str, message: Any) -> bool:
    """Whether a message decodes as its topic says: compressed rgb (OpenCV), compressedDepth, a cloud's points."""
    from airo_mp_camera.cameras.image_decoding import decode_depth, decode_rgb
    from airo_mp_camera.cameras.point_cloud_decoding import decode_point_cloud

    try:
        if topic.endswith("compressedDepth"):
            return decode_depth(message).size > 0
        if topic.endswith("/compressed"):
            return decode_rgb(message).size > 0
        return bool(np.isfinite(decode_point_cloud(message).points).any())
    except Exception:
        return False


def decoded_topic(topic: str) -> bool:
    """Whether the probes check that the messages of `topic` decode (its first three)."""
    return topic.endswith(("compressedDepth", "/compressed", "points"))


def native_probe(namespace: str, seconds: float, connect_timeout: float) -> dict[str, Any]:
    """Grabs every frame of `namespace` for `seconds`; frame ids skipped are frames it missed."""
    from airo_mp_camera import MultiprocessRGBReceiver

    deadline = time.monotonic() + connect_timeout
    while True:
        try:
            receiver = MultiprocessRGBReceiver(namespace)  # every camera of the benchmark writes rgb
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    ids = []
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            receiver.grab_images()
            receiver.retrieve_rgb_image_as_int()
            ids.append(receiver.frame_id)
    finally:
        receiver.close()
    expected = ids[-1] - ids[0] + 1 if ids else 0
    camera_rate = round(expected / seconds, 2)
    return {
        "native": {
            "grabbed": len(ids),
            "expected": expected,
            "missed": expected - len(set(ids)),
            "camera_hz": camera_rate,
        }
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=("ros", "native", "cyclone"))
    parser.add_argument("topics", nargs="*")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--namespace", default="camera")
    parser.add_argument("--connect-timeout", type=float, default=20.0)
    parser.add_argument("--timeline", action="store_true", help="every arrival and status, with its time (ros)")
    parser.add_argument("--best-effort", action="store_true", help="subscribe best effort (ros; default reliable)")
    parser.add_argument("--depth", type=int, default=1, help="the subscriptions' history depth (ros)")
    args = parser.parse_args(argv)
    if args.mode == "ros":
        report = ros_probe(
            args.topics, args.seconds, args.connect_timeout, args.warmup, args.timeline, args.best_effort, args.depth
        )
    elif args.mode == "cyclone":
        from benchmarks.cyclone_reader import cyclone_probe

        report = cyclone_probe(args.topics, args.seconds, args.connect_timeout, args.warmup)
    else:
        time.sleep(args.warmup)
        report = native_probe(args.namespace, args.seconds, args.connect_timeout)
    print(json.dumps(report), flush=True)
    # Leave DDS cleanly (so writers forget this reader at once), but give up after 5 s: the teardown of a
    # TCP (large-data) participant once hung for over a minute here.
    if args.mode == "ros":
        import rclpy

        teardown = threading.Thread(target=rclpy.try_shutdown, daemon=True)
        teardown.start()
        teardown.join(5.0)
    os._exit(0)


if __name__ == "__main__":
    main()
