"""`make demo`: the whole graph on the synthetic camera, with each path's rate and latency.

    synthetic camera -> camera_node's publisher process -> shared memory -> two native receivers (processes)
                                                                        -> the ROS bridge -> a ROS subscriber

Run with the project's venv through tools/isolated (DDS on loopback): `make demo`, or
`tools/isolated .venv/bin/python examples/demo.py --seconds 5 --width 1920 --height 1080`.
It also draws `demo.png` (`--picture`): one frame as a receiver got it (rgb, depth, confidence, the point cloud
from above) beside the latency CDF of every path (benchmarks/figures.py; matplotlib from the venv).
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from airo_mp_camera import MultiprocessRGBDReceiver

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's benchmarks package draws the picture
from benchmarks.figures import frame_picture  # noqa: E402

SPAWN = multiprocessing.get_context("spawn")
NODE = "camera"
START_TIMEOUT = 60.0
PICTURE_POINTS = 40000  # points of the cloud drawn in the picture (a random subset)


def receive(namespace: str, seconds: float, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """A co-located consumer (e.g. a controller): grabs every frame and measures capture-to-receiver latency."""
    with MultiprocessRGBDReceiver(namespace, timeout=START_TIMEOUT) as receiver:
        receiver.grab_images()
        first, latencies = receiver.frame_id, []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            receiver.grab_images(timeout=5.0)
            latencies.append(1000 * (time.time() - receiver.capture_timestamp))
        frames = receiver.frame_id - first
        results.put(("shared memory -> receiver", len(latencies) / seconds, len(latencies), frames, latencies))


def snapshot(namespace: str, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """One more receiver, after the measurement: one whole frame (with confidence and cloud) for the picture."""
    with MultiprocessRGBDReceiver(
        namespace, enable_pointcloud=True, enable_confidence=True, timeout=START_TIMEOUT
    ) as receiver:
        receiver.grab_images(timeout=10.0)
        cloud = receiver.retrieve_colored_point_cloud()
        keep = np.random.default_rng(0).permutation(len(cloud.points))[:PICTURE_POINTS]
        frame = {
            "rgb": receiver.retrieve_rgb_image_as_int().copy(),
            "depth": receiver.retrieve_depth_map().copy(),
            "confidence": receiver.retrieve_confidence_map().copy(),
            "points": np.asarray(cloud.points)[keep].copy(),
            "colors": np.asarray(cloud.colors)[keep].copy(),
            "frame_id": receiver.frame_id,
            "capture_time": receiver.capture_timestamp,
        }
    results.put(("frame", frame))


def subscribe(topics: list[str], seconds: float, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """A ROS node in another process: subscribes to the bridge's topics and measures capture-to-callback latency."""
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image, PointCloud2

    rclpy.init()
    node = rclpy.create_node("demo_subscriber")
    stamps: dict[str, list[float]] = {topic: [] for topic in topics}
    latencies: dict[str, list[float]] = {topic: [] for topic in topics}

    def callback(topic: str):  # type: ignore[no-untyped-def]
        def received(message) -> None:  # type: ignore[no-untyped-def]
            captured = message.header.stamp.sec + message.header.stamp.nanosec * 1e-9
            stamps[topic].append(captured)
            latencies[topic].append(1000 * (time.time() - captured))

        return received

    qos = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)
    for topic in topics:
        node.create_subscription(PointCloud2 if topic.endswith("points") else Image, topic, callback(topic), qos)
    deadline = time.monotonic() + START_TIMEOUT
    while not all(stamps.values()) and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    for topic in topics:
        stamps[topic].clear()
        latencies[topic].clear()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.05)
    for topic in topics:
        got = len(stamps[topic])
        results.put((f"ROS bridge -> {topic}", got / seconds, got, None, latencies[topic]))
    node.destroy_node()
    rclpy.shutdown()


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--picture", default="demo.png", help="where to write the picture of one frame (PNG)")
    args = parser.parse_args()
    namespace = "demo_camera"
    print(
        f"synthetic RGB-D camera {args.width}x{args.height} @ {args.fps:g} fps -> shared memory '{namespace}' "
        f"-> 2 native receivers + ROS bridge /{NODE}/... -> a ROS subscriber ({args.seconds:g} s)"
    )
    camera_node = Path(sys.executable).with_name("camera_node")
    params = {
        "namespace": namespace,
        "width": args.width,
        "height": args.height,
        "fps": args.fps,
        "points.enable": "true",
        "points.max_rate": 10.0,
        "confidence.enable": "true",
        "synthetic.depth_model": "realistic",
    }
    command = [str(camera_node), "--ros-args", "-r", f"__node:={NODE}", "--log-level", "warn"]
    for key, value in params.items():
        command += ["-p", f"{key}:={value}"]
    node = subprocess.Popen(command)
    results: multiprocessing.Queue = SPAWN.Queue()  # type: ignore[type-arg]
    topics = [f"/{NODE}/rgb/image_raw", f"/{NODE}/depth/image_raw", f"/{NODE}/points"]
    workers = [SPAWN.Process(target=receive, args=(namespace, args.seconds, results)) for _ in range(2)]
    workers.append(SPAWN.Process(target=subscribe, args=(topics, args.seconds, results)))
    reports = []
    try:
        for worker in workers:
            worker.start()
        for _ in range(2 + len(topics)):
            reports.append(results.get(timeout=START_TIMEOUT + args.seconds + 30))
        for worker in workers:
            worker.join(10)
        workers.append(SPAWN.Process(target=snapshot, args=(namespace, results)))
        workers[-1].start()
        _, frame = results.get(timeout=START_TIMEOUT)
    finally:
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.kill()
        stop(node)
    print(f"{'path':<42}{'rate (Hz)':>10}{'delivered':>12}{'latency p50 (ms)':>18}{'p99 (ms)':>10}")
    receiver_index = 0
    for path, rate, got, offered, latencies in sorted(reports, key=lambda report: report[0]):
        if path.startswith("shared"):
            receiver_index += 1
            path = f"{path} {receiver_index}"
        p50, p99 = np.percentile(latencies, [50, 99]) if latencies else (float("nan"), float("nan"))
        delivered = f"{got}/{offered}" if offered is not None else f"{got}"
        print(f"{path:<42}{rate:>10.1f}{delivered:>12}{p50:>18.2f}{p99:>10.2f}")
    print("points are limited to 10 Hz by the points.max_rate parameter; every other path runs at the camera rate.")
    named: dict[str, list[float]] = {}
    for path, _, _, _, latencies in sorted(reports, key=lambda report: report[0]):
        shared = sum(name.startswith("shared") for name in named)
        named[f"{path} {shared + 1}" if path.startswith("shared") else path] = latencies
    title = f"make demo: synthetic RGB-D {args.width}x{args.height} @ {args.fps:g} fps, as a native receiver got it"
    print(f"picture of frame {frame['frame_id']}: {frame_picture(Path(args.picture), frame, named, title).resolve()}")
    if node.returncode != 0:
        raise SystemExit(f"camera_node exited with code {node.returncode}")


if __name__ == "__main__":
    main()
