"""The ROS bridge: capture-to-subscriber latency through `camera_node` to subscriber processes.

`camera_node` hosts a synthetic 1080p RGB-D publisher at 30 fps (point cloud on) and bridges it; one
`benchmarks.ros_subscriber` process subscribes `/camera/rgb/image_raw`, another `/camera/points`, while
4 native receivers read the same namespace. Latency is the subscriber's `time.time()` minus `header.stamp`
(the capture time). Deliveries are counted exactly: a native receiver records the capture time of every
frame, and each subscriber's stamps are matched against those. The camera loop's independence is measured
here too: the publisher's grab rate (the segment's newest frame id over time) with all of that attached,
divided by its rate with nobody attached.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
import time
import uuid
from typing import Any

from benchmarks.latency import FPS, RESOLUTION_1080P, receivers_phase
from benchmarks.processes import CpuMeter, ProcessGroup, child_pids, stop_popen

RGB_TOPIC = "/camera/rgb/image_raw"
POINTS_TOPIC = "/camera/points"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def unavailable_reason() -> str | None:
    """Why the bridge cannot be benchmarked here, or None when it can."""
    try:
        importlib.import_module("airo_mp_camera.ros.camera_node")
    except Exception as error:  # noqa: BLE001 - any import failure means: skip, and say why
        return f"airo_mp_camera.ros.camera_node is not importable ({type(error).__name__}: {error})"
    return None


def camera_node_command(namespace: str, rgb_only: bool = False) -> list[str]:
    """The camera node's command line (the console script when installed, else the module).

    By default RGB, depth and the point cloud are on; `rgb_only` turns depth and the cloud off, so that the
    hosted publisher writes, and the bridge copies, the RGB image only (what the plain rclpy baseline sends).
    """
    script = os.path.join(os.path.dirname(sys.executable), "camera_node")
    command = [script] if os.path.exists(script) else [sys.executable, "-m", "airo_mp_camera.ros.camera_node"]
    width, height = RESOLUTION_1080P
    return (
        command
        + [
            "--ros-args",
            "-r",
            "__node:=camera",
            "-r",
            "__ns:=/",
            "-p",
            "camera_type:=synthetic",
            "-p",
            f"namespace:={namespace}",
            "-p",
            f"width:={width}",
            "-p",
            f"height:={height}",
            "-p",
            f"fps:={FPS}",
        ]
        + (["-p", "points.enable:=false", "-p", "depth.enable:=false"] if rgb_only else ["-p", "points.enable:=true"])
    )


def _attach(namespace: str, timeout: float) -> Any:
    from airo_mp_camera.pipeline.frame_ring import FrameRing

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ring = FrameRing.attach(namespace)
        if ring is not None and ring.latest > 0:
            return ring
        if ring is not None:
            ring.close()
        time.sleep(0.1)
    raise TimeoutError(f"camera_node published no frame on namespace '{namespace}' within {timeout} s")


def _rate(ring: Any, seconds: float) -> float:
    before, started = ring.latest, time.monotonic()
    time.sleep(seconds)
    return (ring.latest - before) / (time.monotonic() - started)


def _matched(stamps: list[float], reference: list[float]) -> dict[str, Any]:
    """Of the frames the native receiver saw between a subscriber's first and last message, how many it got."""
    got = {round(stamp, 4) for stamp in stamps}
    if not got:
        return {"delivered": 0, "published": 0, "ratio": 0.0}
    first, last = min(got), max(got)
    window = {round(stamp, 4) for stamp in reference if first <= round(stamp, 4) <= last}
    delivered = len(window & got)
    return {"delivered": delivered, "published": len(window), "ratio": round(delivered / max(len(window), 1), 4)}


def _subscriber_report(process: Any, timeout: float) -> dict[str, Any]:
    out, err = process.communicate(timeout=timeout)
    for line in reversed(out.decode(errors="replace").splitlines()):
        if line.startswith("{"):
            report = dict(json.loads(line))
            if "error" in report:
                raise RuntimeError(f"subscriber of {report['topic']} failed: {report['error']}")
            return report
    raise RuntimeError(f"a subscriber printed no report: {err.decode(errors='replace')[-2000:]}")


def _phase(
    group: ProcessGroup,
    namespace: str,
    ring: Any,
    node_pids: dict[str, int],
    topics: dict[str, str],
    n_receivers: int,
    seconds: float,
    depth: bool = True,
) -> dict[str, Any]:
    """Subscriber processes on `topics` ({key: topic}) and `n_receivers` native receivers, side by side."""
    kinds = {RGB_TOPIC: "image", POINTS_TOPIC: "points"}
    subscribers = {
        key: group.popen(
            [sys.executable, "-m", "benchmarks.ros_subscriber", "--topic", topic, "--type", kinds[topic]]
            + ["--seconds", str(seconds)],
            cwd=ROOT,
            stdout=-1,
            stderr=-1,
        )
        for key, topic in topics.items()
    }
    time.sleep(3.0)  # discovery and the first messages, so that the windows overlap
    native = receivers_phase(
        group, namespace, lambda: int(ring.latest), node_pids, n_receivers, seconds - 1.0, False, depth
    )
    stamps = native.pop("stamps")
    phase: dict[str, Any] = {"native": native}
    for key, process in subscribers.items():
        report = _subscriber_report(process, seconds + 60)
        phase[key] = {
            "latency_ms": report["latency_ms"],
            "received": report["received"],
            "bytes_per_message": report["bytes_per_message"],
            "subscriber_cpu_percent": report["cpu_percent"],
            **_matched(report["stamps"], stamps),
        }
    return phase


def _start_consumers(namespace: str, directory: str) -> tuple[list[Any], dict[str, Any]]:
    """A video recorder and a Rerun logger (10 Hz, to an .rrd) on the namespace, where their dependencies exist."""
    from airo_mp_camera.consumers import MissingDependencyError, MultiprocessRGBDRerunLogger, MultiprocessVideoRecorder

    started: list[Any] = []
    report: dict[str, Any] = {}
    makers = {
        "video_recorder": lambda: MultiprocessVideoRecorder(namespace, os.path.join(directory, "loaded.mp4")),
        "rerun_logger": lambda: MultiprocessRGBDRerunLogger(
            namespace, rrd_path=os.path.join(directory, "loaded.rrd"), max_rate=10.0
        ),
    }
    for name, make in makers.items():
        try:
            consumer = make()
            consumer.start()
        except (MissingDependencyError, Exception) as error:  # noqa: BLE001 - reported, the run goes on
            report[name] = {"skipped": f"{type(error).__name__}: {error}"}
            continue
        started.append((name, consumer))
    return started, report


def _stop_consumers(started: list[Any], report: dict[str, Any]) -> None:
    for name, consumer in started:
        consumer.stop()
        counters = {"frames_received": consumer.frames_received}
        for counter in ("frames_written", "frames_dropped", "frames_filled", "frames_logged"):
            if hasattr(consumer, counter):
                counters[counter] = getattr(consumer, counter)
        report[name] = counters


def _hosted(seconds: float, rgb_only: bool, measure: Any) -> dict[str, Any]:
    """Starts camera_node, waits for its first frame, runs `measure(group, namespace, ring, node_pids)`, stops it."""
    namespace = f"bench_ros_{uuid.uuid4().hex[:8]}"
    command = camera_node_command(namespace, rgb_only)
    results: dict[str, Any] = {"camera_node_command": " ".join(command)}
    ring = None
    with ProcessGroup() as group, tempfile.TemporaryFile() as node_log:
        node = group.popen(command, cwd=ROOT, stdout=node_log, stderr=-2)
        try:
            ring = _attach(namespace, 60.0)
            node_pids = {"camera_node": node.pid}
            node_pids.update({f"camera_node_child{i}": pid for i, pid in enumerate(child_pids(node.pid))})
            results.update(measure(group, namespace, ring, node_pids))
        finally:
            if ring is not None:
                ring.close()
            stop_popen(node, 15.0)
            results["camera_node_exit_code"] = node.returncode
            if node.returncode != 0:
                node_log.seek(0)
                results["camera_node_log_tail"] = node_log.read().decode(errors="replace")[-1500:]
    return results


def run(seconds: float) -> dict[str, Any]:
    """camera_node (RGB-D + cloud) with, in turn, an rgb subscriber, a points subscriber, and both plus 4 native
    receivers, a video recorder and a Rerun logger; then an RGB-only camera_node with an rgb subscriber."""
    reason = unavailable_reason()
    if reason is not None:
        return {"skipped": reason}

    def rgbd(group: ProcessGroup, namespace: str, ring: Any, node_pids: dict[str, int]) -> dict[str, Any]:
        results: dict[str, Any] = {}
        meter = CpuMeter(node_pids)
        meter.start()
        idle_rate = _rate(ring, seconds)
        results["idle"] = {"publisher_rate_hz": round(idle_rate, 2), "cpu_percent": meter.stop()}
        rgb = _phase(group, namespace, ring, node_pids, {"rgb": RGB_TOPIC}, 1, seconds)
        results["rgb"], results["rgb_cpu_percent"] = rgb["rgb"], rgb["native"]["cpu_percent"]
        points = _phase(group, namespace, ring, node_pids, {"points": POINTS_TOPIC}, 1, seconds)
        results["points"], results["points_cpu_percent"] = points["points"], points["native"]["cpu_percent"]
        with tempfile.TemporaryDirectory() as directory:
            consumers, consumer_report = _start_consumers(namespace, directory)
            try:
                loaded = _phase(
                    group, namespace, ring, node_pids, {"rgb": RGB_TOPIC, "points": POINTS_TOPIC}, 4, seconds
                )
            finally:
                _stop_consumers(consumers, consumer_report)
        loaded["consumers"] = consumer_report
        results["loaded"] = loaded
        results["publisher_rate_ratio_loaded"] = round(loaded["native"]["publisher_rate_hz"] / idle_rate, 3)
        return results

    results = _hosted(seconds, False, rgbd)
    results["rgb_only_camera"] = run_rgb_only(seconds)
    return results


def run_rgb_only(seconds: float) -> dict[str, Any]:
    """An RGB-only camera_node (depth and cloud off) with one rgb subscriber: what plain rclpy's baseline sends."""

    def rgb_only(group: ProcessGroup, namespace: str, ring: Any, node_pids: dict[str, int]) -> dict[str, Any]:
        phase = _phase(group, namespace, ring, node_pids, {"rgb": RGB_TOPIC}, 1, seconds, depth=False)
        return {"rgb": phase["rgb"], "cpu_percent": phase["native"]["cpu_percent"]}

    return _hosted(seconds, True, rgb_only)


def main() -> None:
    print(json.dumps(run(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0), indent=2))


if __name__ == "__main__":
    main()
