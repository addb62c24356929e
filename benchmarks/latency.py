"""Native shared-memory path: the memcpy limit, capture-to-receiver latency, delivery, torn frames, publisher rate.

Latency is the receiver's `time.time()` right after `grab_images()` returns minus the frame's capture time
(`receiver.capture_timestamp`, which the synthetic camera stamps with `time.time()` at capture). It therefore
includes the publisher's copy into shared memory, the wake-up and the receiver's copy out of it. "published"
is the part until the frame was complete in shared memory (the segment's heartbeat, stamped by the publisher
right before it wakes the readers): the moment a zero-copy reader could look at it.

Borrowing receivers (`receiver.borrow()`) take the same latency once they hold the frame's read-only views;
they copy nothing, so their floor is the publisher's one copy of what some receiver reads into shared memory.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.processes import SPAWN, CpuMeter, ProcessGroup
from benchmarks.stats import delivery, mean_cdf, percentiles, self_cpu_seconds

RESOLUTION_1080P = (1920, 1080)
FPS = 30.0


def frame_arrays(resolution: tuple[int, int], pointcloud: bool) -> dict[str, np.ndarray]:
    """The arrays one RGB-D grab shares, taken from the synthetic camera itself (the same frames as the benchmark)."""
    from airo_mp_camera import SyntheticCamera

    camera = SyntheticCamera(resolution=resolution, fps=FPS)
    camera.grab_images()
    arrays = {
        "rgb": camera.retrieve_rgb_image_as_int(),
        "depth_map": camera.retrieve_depth_map(),
        "depth_image": camera.retrieve_depth_image(),
    }
    if pointcloud:
        cloud = camera.retrieve_colored_point_cloud()
        arrays["points"] = cloud.points
        assert cloud.colors is not None
        arrays["colors"] = cloud.colors
    return arrays


# What a default MultiprocessRGBDReceiver reads (the depth visualisation is computed on demand, not sent).
RGBD_READ = ("rgb", "depth_map")


def memcpy_ms(
    resolution: tuple[int, int], pointcloud: bool, repeats: int = 40, only: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """Median time of one numpy copy of every array of an RGB-D frame into preallocated (touched) memory.

    "cold" rotates over 4 source/destination frames (4 x 21 MB, more than the 32 MB L3 cache), so both sides come
    from memory, as a new camera frame does; "hot" copies the same frame again and again (partly from cache).
    """
    frame = frame_arrays(resolution, pointcloud)
    if only is not None:
        frame = {name: array for name, array in frame.items() if name in only}
    n_frames = 4
    sources = [{name: array.copy() for name, array in frame.items()} for _ in range(n_frames)]
    destinations = [{name: np.ones_like(array) for name, array in frame.items()} for _ in range(n_frames)]
    timings: dict[str, list[float]] = {"cold": [], "hot": []}
    for kind, times in timings.items():
        for repeat in range(repeats):
            index = repeat % n_frames if kind == "cold" else 0
            started = time.perf_counter()
            for name, source in sources[index].items():
                np.copyto(destinations[index][name], source)
            times.append(1000 * (time.perf_counter() - started))
    return {
        "ms": round(float(np.median(timings["cold"])), 3),
        "hot_ms": round(float(np.median(timings["hot"])), 3),
        "bytes": int(sum(array.nbytes for array in frame.values())),
        "arrays": {name: [*array.shape, str(array.dtype)] for name, array in frame.items()},
    }


def _consistent(receiver: Any, pointcloud: bool, depth: bool = True) -> bool:
    """Whether every stream of the receiver's frame carries the receiver's frame id (see cameras/watermark.py)."""
    from airo_mp_camera.cameras import watermark

    frame_id = receiver.frame_id
    streams = [receiver.retrieve_rgb_image_as_int()]
    if depth:  # the depth image, unless the receiver reads the camera's own, is computed from the depth map
        streams += [receiver.retrieve_depth_map()]
    if pointcloud:
        cloud = receiver.retrieve_colored_point_cloud()
        streams += [cloud.points, cloud.colors]
    return all(watermark.matches(stream, frame_id) for stream in streams)


def receiver_worker(
    namespace: str, seconds: float, pointcloud: bool, start: Any, results: Any, depth: bool = True
) -> None:
    """One native receiver in its own process: grabs every frame for `seconds` once `start` is set.

    With `depth=False` it reads RGB only (for publishers that write nothing else).
    """
    from airo_mp_camera import MultiprocessRGBDReceiver, MultiprocessRGBReceiver
    from airo_mp_camera.pipeline.frame_ring import FrameRing

    try:
        if depth:
            receiver: Any = MultiprocessRGBDReceiver(namespace, enable_pointcloud=pointcloud, timeout=30.0)
        else:
            receiver = MultiprocessRGBReceiver(namespace, timeout=30.0)
        receiver.grab_images()
        header = FrameRing.attach(namespace)  # read-only view of the segment header, for `heartbeat`
        results.put(("ready", os.getpid()))
        if not start.wait(60):
            raise TimeoutError("the benchmark never started the measurement")
        receiver.grab_images(timeout=5.0)
        ids, latencies, stamps, published, torn = [], [], [], [], 0
        cpu_before, started = self_cpu_seconds(), time.monotonic()
        end = started + seconds
        while time.monotonic() < end:
            receiver.grab_images(timeout=5.0)
            latencies.append(1000 * (time.time() - receiver.capture_timestamp))
            ids.append(receiver.frame_id)
            stamps.append(receiver.capture_timestamp)
            if header is not None:  # when the publisher finished writing the newest frame and woke the readers
                written = header.heartbeat - receiver.capture_timestamp
                if 0 <= written < 1 / FPS:  # still this frame's (the next one would overwrite the heartbeat)
                    published.append(1000 * written)
            if not _consistent(receiver, pointcloud, depth):
                torn += 1
        cpu = 100 * (self_cpu_seconds() - cpu_before) / (time.monotonic() - started)
        report = {
            "latency_ms": percentiles(latencies),
            "published_ms": percentiles(published),
            **delivery(ids),
            "torn": torn,
            "torn_read_retries": receiver.torn_reads,
            "cpu_percent": round(cpu, 1),
            "stamps": stamps,
        }
        receiver.close()
        if header is not None:
            header.close()
        results.put(("result", report))
    except BaseException as error:  # report, so the benchmark does not wait for nothing
        results.put(("error", f"{type(error).__name__}: {error}"))


def borrow_worker(namespace: str, seconds: float, hold_periods: float, start: Any, results: Any) -> None:
    """One borrowing RGB-D receiver in its own process: borrows every frame for `seconds` once `start` is set.

    Each frame is checked (watermarks) when borrowed and, after being held `hold_periods` frame times, again:
    a frame that changed while held counts as torn. Latency is taken once the frame's arrays are in hand.
    """
    from airo_mp_camera import MultiprocessRGBDReceiver
    from airo_mp_camera.cameras import watermark

    try:
        receiver = MultiprocessRGBDReceiver(namespace, timeout=30.0)
        receiver.borrow().release()
        results.put(("ready", os.getpid()))
        if not start.wait(60):
            raise TimeoutError("the benchmark never started the measurement")
        receiver.borrow(timeout=5.0).release()
        ids, latencies, torn = [], [], 0
        cpu_before, started = self_cpu_seconds(), time.monotonic()
        end = started + seconds
        while time.monotonic() < end:
            with receiver.borrow(timeout=5.0) as frame:
                rgb, depth = frame.retrieve_rgb_image_as_int(), frame.retrieve_depth_map()
                latencies.append(1000 * (time.time() - frame.capture_timestamp))
                frame_id = frame.frame_id
                ids.append(frame_id)
                whole = watermark.matches(rgb, frame_id) and watermark.matches(depth, frame_id)
                if hold_periods:
                    head = (rgb[:4].copy(), depth[-4:].copy())
                    time.sleep(hold_periods / FPS)
                    whole = whole and np.array_equal(head[0], rgb[:4]) and np.array_equal(head[1], depth[-4:])
                    whole = whole and watermark.matches(rgb, frame_id) and watermark.matches(depth, frame_id)
                torn += not whole
        cpu = 100 * (self_cpu_seconds() - cpu_before) / (time.monotonic() - started)
        report = {
            "latency_ms": percentiles(latencies),
            **delivery(ids),
            "torn": torn,
            "cpu_percent": round(cpu, 2),
        }
        receiver.close()
        results.put(("result", report))
    except BaseException as error:  # report, so the benchmark does not wait for nothing
        results.put(("error", f"{type(error).__name__}: {error}"))


def borrow_phase(
    group: ProcessGroup, publisher: Any, n_receivers: int, seconds: float, hold_periods: float = 0.0
) -> dict[str, Any]:
    """Runs `n_receivers` borrowing receiver processes on a running publisher; aggregates their reports."""
    start, results = SPAWN.Event(), SPAWN.Queue()
    workers = [
        group.spawn(borrow_worker, publisher.namespace, seconds, hold_periods, start, results, name=f"borrower{i}")
        for i in range(n_receivers)
    ]
    for _ in workers:
        _get(results, "ready", 60.0)
    meter = CpuMeter({"publisher": publisher.pid})
    meter.start()
    frames_before, started = publisher.frames_published, time.monotonic()
    start.set()
    reports = [_get(results, "result", seconds + 30.0) for _ in workers]
    rate = (publisher.frames_published - frames_before) / (time.monotonic() - started)
    publisher_cpu = meter.stop()
    for worker in workers:
        worker.join(10)
    return {
        "receivers": n_receivers,
        "hold_frame_periods": hold_periods,
        "latency_p50_ms": round(float(np.median([report["latency_ms"]["p50"] for report in reports])), 3),
        "latency_p99_ms": round(float(max(report["latency_ms"]["p99"] for report in reports)), 3),
        "latency_cdf_ms": mean_cdf([report["latency_ms"].get("cdf_ms") for report in reports]),
        "delivered_ratio": min(report["ratio"] for report in reports),
        "torn_or_changed_while_held": sum(report["torn"] for report in reports),
        "publisher_rate_hz": round(rate, 2),
        "cpu_percent": {**publisher_cpu, **{f"borrower{i}": r["cpu_percent"] for i, r in enumerate(reports)}},
        "per_receiver": reports,
    }


def _get(results: Any, kind: str, timeout: float) -> Any:
    tag, payload = results.get(timeout=timeout)
    if tag == "error":
        raise RuntimeError(f"a receiver failed: {payload}")
    if tag != kind:
        raise RuntimeError(f"expected '{kind}' from a receiver, got '{tag}'")
    return payload


def receivers_phase(
    group: ProcessGroup,
    namespace: str,
    frames_published: Callable[[], int],
    cpu_pids: dict[str, int],
    n_receivers: int,
    seconds: float,
    pointcloud: bool,
    depth: bool = True,
) -> dict[str, Any]:
    """Runs `n_receivers` receiver processes on a running publisher; aggregates their reports.

    `frames_published()` counts the publisher's frames (for its rate); `cpu_pids` are measured with the receivers.
    The capture times that receiver 0 saw are returned under "stamps" (to count other consumers' deliveries).
    """
    start, results = SPAWN.Event(), SPAWN.Queue()
    workers = [
        group.spawn(receiver_worker, namespace, seconds, pointcloud, start, results, depth, name=f"receiver{i}")
        for i in range(n_receivers)
    ]
    for _ in workers:
        _get(results, "ready", 60.0)
    meter = CpuMeter(cpu_pids)
    meter.start()
    frames_before, started = frames_published(), time.monotonic()
    start.set()
    reports = [_get(results, "result", seconds + 30.0) for _ in workers]
    rate = (frames_published() - frames_before) / (time.monotonic() - started)
    publisher_cpu = meter.stop()
    for worker in workers:
        worker.join(10)
    stamps = reports[0]["stamps"]
    for report in reports:
        del report["stamps"]
    return {
        "receivers": n_receivers,
        "latency_p50_ms": round(float(np.median([report["latency_ms"]["p50"] for report in reports])), 3),
        "published_p50_ms": reports[0]["published_ms"]["p50"],
        "latency_p99_ms": round(float(max(report["latency_ms"]["p99"] for report in reports)), 3),
        "latency_cdf_ms": mean_cdf([report["latency_ms"].get("cdf_ms") for report in reports]),
        "delivered_ratio": min(report["ratio"] for report in reports),
        "torn": sum(report["torn"] for report in reports),
        "torn_read_retries": sum(report["torn_read_retries"] for report in reports),
        "publisher_rate_hz": round(rate, 2),
        "cpu_percent": {**publisher_cpu, **{f"receiver{i}": r["cpu_percent"] for i, r in enumerate(reports)}},
        "per_receiver": reports,
        "stamps": stamps,
    }


def publisher_phase(
    group: ProcessGroup, publisher: Any, n_receivers: int, seconds: float, pointcloud: bool
) -> dict[str, Any]:
    """`receivers_phase` on one of our CameraPublishers."""
    report = receivers_phase(
        group,
        publisher.namespace,
        lambda: int(publisher.frames_published),
        {"publisher": publisher.pid},
        n_receivers,
        seconds,
        pointcloud,
    )
    del report["stamps"]
    return report


def publisher_rate(publisher: Any, seconds: float) -> dict[str, Any]:
    """The publisher's grab rate and CPU with nobody reading."""
    meter = CpuMeter({"publisher": publisher.pid})
    meter.start()
    frames_before, started = publisher.frames_published, time.monotonic()
    time.sleep(seconds)
    rate = (publisher.frames_published - frames_before) / (time.monotonic() - started)
    return {"publisher_rate_hz": round(rate, 2), "cpu_percent": meter.stop()}


def start_publisher(group: ProcessGroup, pointcloud: bool, resolution: tuple[int, int] = RESOLUTION_1080P) -> Any:
    """A 30 fps synthetic RGB-D publisher (optionally with the point cloud) on a fresh namespace."""
    from airo_mp_camera import MultiprocessRGBDPublisher, SyntheticCamera

    namespace = f"bench_{uuid.uuid4().hex[:8]}"
    publisher = MultiprocessRGBDPublisher(
        SyntheticCamera, {"resolution": resolution, "fps": FPS}, namespace, enable_pointcloud=pointcloud
    )
    group.adopt(publisher)
    publisher.start()
    return publisher


def segment_bytes(namespace: str) -> int:
    """Size of a namespace's shared-memory segment (all ring slots and the header)."""
    from airo_mp_camera.pipeline.frame_ring import segment_path

    return os.stat(segment_path(namespace)).st_size


def rgbd_read_bytes(resolution: tuple[int, int] = RESOLUTION_1080P) -> int:
    """Bytes of one frame that a default MultiprocessRGBDReceiver reads (its schemas' buffers, metadata included)."""
    from airo_mp_camera.pipeline.schemas import buffer_arrays
    from airo_mp_camera.pipeline.variants import rgbd_schemas

    schemas = rgbd_schemas(enable_depth_image=False)
    return sum(array.nbytes for s in schemas for array in buffer_arrays(s.allocate(*resolution)).values())


def run(seconds: float, quick: bool = False) -> dict[str, Any]:
    """The native-receiver measurements: RGB-D with nobody, 1 and 4 receivers (quick: not 4 copying ones),
    borrowing receivers (1, 4, and 4 holding each frame 3 frame periods), and with the cloud unread and read."""
    results: dict[str, Any] = {"frame_bytes_rgbd_read_1080p": rgbd_read_bytes()}
    with ProcessGroup() as group:
        publisher = start_publisher(group, pointcloud=False)
        results["shm_bytes_rgbd_1080p"] = segment_bytes(publisher.namespace)
        results["idle"] = publisher_rate(publisher, seconds)
        results["rgbd_1_receiver"] = publisher_phase(group, publisher, 1, seconds, pointcloud=False)
        if not quick:
            results["rgbd_4_receivers"] = publisher_phase(group, publisher, 4, seconds, pointcloud=False)
        results["borrow_rgbd_1_receiver"] = borrow_phase(group, publisher, 1, seconds)
        results["borrow_rgbd_4_receivers"] = borrow_phase(group, publisher, 4, seconds)
        results["borrow_rgbd_4_receivers_holding"] = borrow_phase(group, publisher, 4, seconds, hold_periods=3.0)
        publisher.stop()
        publisher = start_publisher(group, pointcloud=True)
        results["shm_bytes_rgbd_pc_1080p"] = segment_bytes(publisher.namespace)
        results["rgbd_pc_unread_1_receiver"] = publisher_phase(group, publisher, 1, seconds, pointcloud=False)
        results["rgbd_pc_1_receiver"] = publisher_phase(group, publisher, 1, seconds, pointcloud=True)
        publisher.stop()
    return results
