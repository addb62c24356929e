"""Functions run in child processes by the tests (spawned, so they live in an importable module)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from airo_mp_camera import (
    LEFT_RGB,
    MultiprocessRGBDReceiver,
    MultiprocessRGBReceiver,
    MultiprocessStereoRGBDReceiver,
    PointCloud,
    SyntheticCamera,
)
from airo_mp_camera.cameras import watermark

RETRIEVES = (
    "retrieve_rgb_image_as_int",
    "retrieve_depth_map",
    "retrieve_depth_image",
    "retrieve_confidence_map",
    "retrieve_colored_point_cloud",
)
RGB, DEPTH, DEPTH_IMAGE, CONFIDENCE, CLOUD = range(len(RETRIEVES))


class CountingCamera(SyntheticCamera):
    """A synthetic camera that counts every retrieve call in a shared array (`counts[RGB]`, ... `counts[CLOUD]`).

    A test double for what costs a real camera work (a ZED's retrieve copies from the GPU): the tests count
    how often the publisher asks for each stream.
    """

    def __init__(self, counts: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._counts = counts

    def retrieve_rgb_image_as_int(self, view: str = LEFT_RGB) -> np.ndarray:
        self._counts[RGB] += 1
        return super().retrieve_rgb_image_as_int(view)

    def retrieve_depth_map(self) -> np.ndarray:
        self._counts[DEPTH] += 1
        return super().retrieve_depth_map()

    def retrieve_depth_image(self) -> np.ndarray:
        self._counts[DEPTH_IMAGE] += 1
        return super().retrieve_depth_image()

    def retrieve_confidence_map(self) -> np.ndarray:
        self._counts[CONFIDENCE] += 1
        return super().retrieve_confidence_map()

    def retrieve_colored_point_cloud(self) -> PointCloud:
        self._counts[CLOUD] += 1
        return super().retrieve_colored_point_cloud()


def frame_is_consistent(receiver: Any, stereo: bool) -> bool:
    """Whether every stream of the receiver's current frame carries the receiver's frame id.

    The depth image is checked when the receiver reads the camera's own (`enable_depth_image=True`); otherwise
    it is computed in the receiver from the (checked) depth map.
    """
    frame_id = receiver.frame_id
    streams = [receiver.retrieve_rgb_image_as_int(), receiver.retrieve_depth_map()]
    if any(schema.name == "depth_image" for schema in receiver.schemas):
        streams.append(receiver.retrieve_depth_image())
    if stereo:
        streams.append(receiver.retrieve_rgb_image_as_int("right"))
    return all(watermark.matches(stream, frame_id) for stream in streams)


def thread_cpu_and_run_queue() -> tuple[float, float]:
    """(s this thread ran on a CPU, s it waited runnable on a run queue) so far.

    CPU time from CLOCK_THREAD_CPUTIME_ID (exact; schedstat's first field lags by up to a scheduler tick for a
    running thread); the run-queue wait from /proc/thread-self/schedstat, complete whenever the thread runs.
    """
    with open("/proc/thread-self/schedstat") as schedstat:
        run_queue_ns = int(schedstat.read().split()[1])
    return time.thread_time(), run_queue_ns * 1e-9


def accounted_grab(receiver: Any, grabs: list[dict[str, Any]], timeout: float | None = None) -> None:
    """`receiver.grab_images(timeout)`, appending to `grabs` what `delivery.unexplained_misses` judges by."""
    on_cpu, run_queue = thread_cpu_and_run_queue()
    called = time.time()
    receiver.grab_images(timeout=timeout)
    returned = time.time()
    on_cpu_after, run_queue_after = thread_cpu_and_run_queue()
    awake = on_cpu_after - on_cpu + run_queue_after - run_queue
    grabs.append(
        {
            "frame_id": receiver.frame_id,
            "capture": receiver.capture_timestamp,
            "called": called,
            "returned": returned,
            "slept": max(0.0, returned - called - awake),
        }
    )


def collect_frames(namespace: str, duration: float, results: Any, start_timeout: float = 20.0) -> None:
    """Grabs every frame for `duration` seconds after the first; reports ids, torn frames, latencies, and per grab
    when it was called, when it returned and how long it slept (see `delivery.unexplained_misses`)."""
    receiver = MultiprocessStereoRGBDReceiver(namespace, timeout=start_timeout, enable_depth_image=True)
    ids, torn, latencies, grabs = [], 0, [], []
    receiver.grab_images()
    end = time.monotonic() + duration
    while True:
        ids.append(receiver.frame_id)
        latencies.append(time.time() - receiver.capture_timestamp)
        if not frame_is_consistent(receiver, stereo=True):
            torn += 1
        if time.monotonic() >= end:
            break
        accounted_grab(receiver, grabs, timeout=5.0)
    receiver.close()
    results.put(
        {
            "ids": ids,
            "torn": torn,
            "latency_p50": float(np.median(latencies)),
            "retries": receiver.torn_reads,
            "grabs": grabs,
        }
    )


def rgb_only(namespace: str, frames: int, results: Any) -> None:
    """An RGB receiver: reports the frame ids it got and whether the RGB watermark matched."""
    with MultiprocessRGBReceiver(namespace, timeout=20.0) as receiver:
        report = []
        for _ in range(frames):
            receiver.grab_images()
            report.append(
                (receiver.frame_id, watermark.matches(receiver.retrieve_rgb_image_as_int(), receiver.frame_id))
            )
        results.put({"frames": report, "resolution": receiver.resolution})


def grab_until_error(namespace: str, timeout: float, results: Any) -> None:
    """Grabs until an error; reports its type, message and how long the failing grab took."""
    receiver = MultiprocessRGBDReceiver(namespace, timeout=timeout)
    frames = 0
    while True:
        started = time.monotonic()
        try:
            receiver.grab_images()
            frames += 1
            if frames == 1:
                results.put({"first_frame": receiver.frame_id})
        except Exception as error:  # noqa: BLE001 - the test inspects it
            results.put(
                {
                    "error": type(error).__name__,
                    "message": str(error),
                    "frames": frames,
                    "seconds": time.monotonic() - started,
                }
            )
            return
