"""The seed's promise: a 500 Hz control loop beside a 1080p RGB-D camera keeps its period.

The loop (as in examples/controller_loop.py) steps a simulated robot every 2 ms and, when a new frame
arrived, updates its target from the depth map. Its period deviation |period - 2 ms| is measured:
- `nocamera`: no camera at all, the floor of this machine;
- `receiver`: polling a native receiver with `try_grab_images()` (the loop thread copies each new frame);
- `receiver_prefetch`: the same with `prefetch=True` (a background thread copies, the loop swaps buffers);
- `inprocess`: the camera in the loop's own process, a thread grabbing it at 30 fps and doing exactly the
  publisher's per-frame work (the schemas' fill into buffers), so the two fight over the GIL.
Each variant runs in a fresh spawned process, at normal priority and again at SCHED_FIFO priority ("rt_").
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.latency import FPS, RESOLUTION_1080P, start_publisher
from benchmarks.processes import SPAWN, ProcessGroup
from benchmarks.stats import percentiles, self_cpu_seconds

RATE_HZ = 500.0
REALTIME_PRIORITY = 50


def _loop(seconds: float, poll: Callable[[], np.ndarray | None]) -> dict[str, Any]:
    """Runs the 500 Hz loop; `poll()` returns a new depth map or None. Returns jitter and frames used."""
    period = 1.0 / RATE_HZ
    joints, target = np.zeros(6), np.zeros(6)
    periods, frames = [], 0
    cpu_before = self_cpu_seconds()
    next_tick = last = time.perf_counter()
    end = last + seconds
    while last < end:
        depth = poll()
        if depth is not None:
            frames += 1
            target[:] = float(np.nanmean(depth[::16, ::16]))
        joints += 0.5 * (target - joints) * period
        next_tick += period
        while (now := time.perf_counter()) < next_tick:
            if next_tick - now > 0.0005:
                time.sleep(next_tick - now - 0.0004)
        periods.append(now - last)
        last = now
    deviation_ms = np.abs(np.asarray(periods) - period) * 1000
    return {
        "deviation_ms": deviation_ms.round(5).tolist(),
        "frames_used": frames,
        "cpu_percent": round(100 * (self_cpu_seconds() - cpu_before) / seconds, 1),
    }


def loop_worker(variant: str, namespace: str | None, seconds: float, realtime: bool, results: Any) -> None:
    """One loop variant in its own process; puts ("result", report) or ("error", message).

    With `realtime` the loop's thread runs at SCHED_FIFO priority 50, as real-time controllers do; threads it
    starts (the prefetch copier, the in-process camera thread) inherit that priority.
    """
    try:
        if realtime:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
        results.put(("result", _run_variant(variant, namespace, seconds)))
    except BaseException as error:
        results.put(("error", f"{type(error).__name__}: {error}"))


def _run_variant(variant: str, namespace: str | None, seconds: float) -> dict[str, Any]:
    if variant == "nocamera":
        return _loop(seconds, lambda: None)
    if variant in ("receiver", "receiver_prefetch"):
        from airo_mp_camera import MultiprocessRGBDReceiver

        assert namespace is not None
        receiver = MultiprocessRGBDReceiver(namespace, timeout=30.0, prefetch=variant == "receiver_prefetch")
        try:
            receiver.grab_images()

            def poll_receiver() -> np.ndarray | None:
                return receiver.retrieve_depth_map() if receiver.try_grab_images() else None

            return _loop(seconds, poll_receiver)
        finally:
            receiver.close()
    if variant == "inprocess":
        return _in_process(seconds)
    raise ValueError(f"unknown control-loop variant {variant!r}")


def _in_process(seconds: float) -> dict[str, Any]:
    """The camera in this process: a thread grabs at 30 fps and fills buffers as the publisher would."""
    from airo_mp_camera import SyntheticCamera
    from airo_mp_camera.pipeline.schemas import FrameStamp
    from airo_mp_camera.pipeline.variants import rgbd_schemas

    camera = SyntheticCamera(resolution=RESOLUTION_1080P, fps=FPS)
    schemas = rgbd_schemas()
    buffers = {schema.name: schema.allocate(*RESOLUTION_1080P) for schema in schemas}
    stop, lock = threading.Event(), threading.Lock()
    latest = {"frame": 0, "taken": 0}

    def grab_forever() -> None:
        while not stop.is_set():
            camera.grab_images()
            with lock:
                for schema in schemas:
                    schema.fill(camera, buffers[schema.name], FrameStamp(camera.frame_id, camera.capture_timestamp))
                latest["frame"] = camera.frame_id

    def poll_buffers() -> np.ndarray | None:
        with lock:
            if latest["frame"] == latest["taken"]:
                return None
            latest["taken"] = latest["frame"]
            return buffers["depth"].depth_map  # type: ignore[attr-defined]

    grabber = threading.Thread(target=grab_forever, daemon=True)
    grabber.start()
    try:
        return _loop(seconds, poll_buffers)
    finally:
        stop.set()
        grabber.join(5)


def _run_in_process(
    group: ProcessGroup, variant: str, namespace: str | None, seconds: float, realtime: bool
) -> dict[str, Any]:
    results = SPAWN.Queue()
    worker = group.spawn(loop_worker, variant, namespace, seconds, realtime, results, name=f"loop[{variant}]")
    tag, payload = results.get(timeout=seconds + 60)
    worker.join(10)
    if tag != "result":
        raise RuntimeError(f"control loop '{variant}' failed: {payload}")
    return dict(payload)


def _merge(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    deviations = [value for report in rounds for value in report["deviation_ms"]]
    return {
        "jitter_ms": percentiles(deviations),
        "iterations": len(deviations),
        "frames_used": sum(report["frames_used"] for report in rounds),
        "cpu_percent": round(float(np.mean([report["cpu_percent"] for report in rounds])), 1),
        "rounds_p99_ms": [percentiles(report["deviation_ms"])["p99"] for report in rounds],
    }


def run(seconds: float, quick: bool = False) -> dict[str, Any]:
    """Every variant for `seconds`, at normal priority and at real-time priority ("rt_" keys), interleaved in
    rounds (2, quick: 1) so that the load of this shared machine, which changes over minutes, weighs on all
    variants alike. The receiver variants share a 1080p RGB-D publisher at 30 fps (normal priority), which
    runs only during their turns. Quick leaves out the plain `try_grab_images()` variant."""
    rounds = 1 if quick else 2
    cameraless = ["nocamera", "inprocess"]
    with_publisher = ["receiver_prefetch"] if quick else ["receiver", "receiver_prefetch"]
    modes = {"": False, "rt_": True}
    reports: dict[str, list[dict[str, Any]]] = {}
    with ProcessGroup() as group:
        for _ in range(rounds):
            for prefix, realtime in modes.items():
                for variant in cameraless:
                    report = _run_in_process(group, variant, None, seconds / rounds, realtime)
                    reports.setdefault(prefix + variant, []).append(report)
            publisher = start_publisher(group, pointcloud=False)
            for prefix, realtime in modes.items():
                for variant in with_publisher:
                    report = _run_in_process(group, variant, publisher.namespace, seconds / rounds, realtime)
                    reports.setdefault(prefix + variant, []).append(report)
            publisher.stop()
    return {variant: _merge(variant_reports) for variant, variant_reports in reports.items()}
