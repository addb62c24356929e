"""The peer: airo-camera-toolkit's multiprocess RGB-D publisher and receiver, on the same synthetic camera.

Runs inside `.venv-peers` (made by `make bench-peers`: Python 3.11 with airo-camera-toolkit from PyPI), as
`.venv-peers/bin/python -m benchmarks.peer --seconds 10 [--pointcloud] [--camera zed-model]`, from the repository
root so that `airo_mp_camera` (for the synthetic cameras and the watermarks) imports from the checkout.
`benchmarks.run` starts it as a subprocess and reads the JSON line it prints.

The camera it hosts (`--camera`):
- `synthetic` (default): `SyntheticCamera`, whose `retrieve_*` return its arrays at no cost: the toolkit's
  publisher then makes the only copy of the frame;
- `zed-model`: the camera of the in-place section (benchmarks/inplace.py), `InPlaceSyntheticCamera` with
  `in_place=False` and realistic depth: like a ZED, each `retrieve_*` first copies the stream from "device"
  memory into the camera's own host buffer (BGRA images, float32 depth) and returns a view of it (RGB as the
  view `bgra[..., 2::-1]`). The toolkit's own ZED class then converts each BGRA image to a new RGB array
  with `cv2.cvtColor`, and so does this peer; its publisher copies RGB, depth and the depth image into its
  shared memory. This is the toolkit as a ZED user runs it, on the same camera as ours in place.

Measured exactly as for our receivers: after the toolkit receiver's `grab_images()` returns, `time.time()`
minus the frame's timestamp (the toolkit publisher stamps `time.time()` right after the camera's grab, the
moment our synthetic camera stamps its capture time). The toolkit receiver hands out views into shared memory
without copying, so the time after copying the frame out (what a consumer must do to keep it) is reported
too, and the copy is checked for torn or mixed frames with the watermarks.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
import uuid
from typing import Any

import cv2  # the toolkit's own dependency (opencv-contrib-python in .venv-peers)
import numpy as np
from airo_camera_toolkit.cameras.multiprocess.multiprocess_rgbd_camera import (
    MultiprocessRGBDPublisher,
    MultiprocessRGBDReceiver,
)
from airo_camera_toolkit.interfaces import RGBDCamera
from airo_typing import PointCloud as ToolkitPointCloud

from airo_mp_camera import SyntheticCamera
from airo_mp_camera.cameras import watermark
from airo_mp_camera.cameras.synthetic_in_place import InPlaceSyntheticCamera
from benchmarks.processes import CpuMeter
from benchmarks.stats import delivery, percentiles, self_cpu_seconds

RESOLUTION_1080P = (1920, 1080)
FPS = 30.0
SHM_DIR = "/dev/shm"


CAMERAS = ("synthetic", "zed-model")


class ToolkitSyntheticCamera(RGBDCamera):
    """One of our synthetic cameras behind the toolkit's camera base class (its publisher accepts only those).

    With `camera="zed-model"` it retrieves as the toolkit's own ZED class does (airo_camera_toolkit
    cameras/zed/zed.py): each image is retrieved into the camera's BGRA buffer (the device copy) and converted
    to a new RGB array with `cv2.cvtColor(..., COLOR_BGRA2RGB)`; the depth map is the camera's buffer itself.
    """

    def __init__(self, resolution: tuple[int, int], fps: float, camera: str = "synthetic") -> None:
        if camera == "zed-model":
            self._camera: SyntheticCamera = InPlaceSyntheticCamera(
                resolution=resolution, fps=fps, depth_model="realistic", in_place=False
            )
        elif camera == "synthetic":
            self._camera = SyntheticCamera(resolution=resolution, fps=fps)
        else:
            raise ValueError(f"camera must be one of {CAMERAS}, got {camera!r}")

    @property
    def resolution(self) -> tuple[int, int]:
        return self._camera.resolution

    @property
    def fps(self) -> float:
        return self._camera.fps

    def intrinsics_matrix(self) -> np.ndarray:
        return self._camera.intrinsics_matrix()

    def grab_images(self) -> None:
        self._camera.grab_images()

    def _rgb_of(self, stream: str) -> np.ndarray | None:
        """As the toolkit's ZED: the stream's BGRA buffer converted to a new RGB array (None: not the ZED model)."""
        if not isinstance(self._camera, InPlaceSyntheticCamera):
            return None
        return np.asarray(cv2.cvtColor(self._camera.retrieve_bgra(stream), cv2.COLOR_BGRA2RGB))

    def retrieve_rgb_image(self) -> np.ndarray:
        return self._camera.retrieve_rgb_image()

    def retrieve_rgb_image_as_int(self) -> np.ndarray:
        rgb = self._rgb_of("rgb")
        return self._camera.retrieve_rgb_image_as_int() if rgb is None else rgb

    def retrieve_depth_map(self) -> np.ndarray:
        return self._camera.retrieve_depth_map()

    def retrieve_depth_image(self) -> np.ndarray:
        image = self._rgb_of("depth_image")
        return self._camera.retrieve_depth_image() if image is None else image

    def retrieve_colored_point_cloud(self) -> ToolkitPointCloud:
        cloud = self._camera.retrieve_colored_point_cloud()
        return ToolkitPointCloud(cloud.points, cloud.colors)


def receiver_worker(namespace: str, seconds: float, pointcloud: bool, start: Any, results: Any) -> None:
    """A toolkit receiver in its own process: latency at grab return and after copying; torn frames."""
    try:
        receiver = MultiprocessRGBDReceiver(namespace, enable_pointcloud=pointcloud)
        results.put(("ready", os.getpid()))
        if not start.wait(60):
            raise TimeoutError("the benchmark never started the measurement")
        receiver.grab_images()
        copies: dict[str, np.ndarray] = {}
        ids, at_grab, after_copy, torn = [], [], [], 0
        cpu_before, started = self_cpu_seconds(), time.monotonic()
        end = started + seconds
        while time.monotonic() < end:
            receiver.grab_images()
            now = time.time()
            stamp = receiver.get_current_timestamp()
            frame_id = receiver.get_current_frame_id()
            streams = {
                "rgb": receiver.retrieve_rgb_image_as_int(),
                "depth_map": receiver.retrieve_depth_map(),
                "depth_image": receiver.retrieve_depth_image(),
            }
            if pointcloud:
                cloud = receiver.retrieve_colored_point_cloud()
                streams["points"], streams["colors"] = cloud.points, cloud.colors
            for name, view in streams.items():
                if name not in copies:
                    copies[name] = np.empty_like(view)
                np.copyto(copies[name], view)
            copied = time.time()
            at_grab.append(1000 * (now - stamp))
            after_copy.append(1000 * (copied - stamp))
            ids.append(frame_id)
            # The toolkit counts frames from 0; the synthetic camera watermarks them from 1.
            if not all(watermark.matches(array, frame_id + 1) for array in copies.values()):
                torn += 1
        cpu = 100 * (self_cpu_seconds() - cpu_before) / (time.monotonic() - started)
        results.put(
            (
                "result",
                {
                    "latency_ms": percentiles(at_grab),
                    "latency_after_copy_ms": percentiles(after_copy),
                    **delivery(ids),
                    "torn": torn,
                    "cpu_percent": round(cpu, 1),
                },
            )
        )
    except BaseException as error:  # report, so the benchmark does not wait for nothing
        results.put(("error", f"{type(error).__name__}: {error}"))


def _segments(namespace: str) -> list[str]:
    return [name for name in os.listdir(SHM_DIR) if name.startswith(namespace)]


def _get(results: Any, kind: str, timeout: float) -> Any:
    tag, payload = results.get(timeout=timeout)
    if tag == "error":
        raise RuntimeError(f"a toolkit receiver failed: {payload}")
    if tag != kind:
        raise RuntimeError(f"expected '{kind}' from a toolkit receiver, got '{tag}'")
    return payload


def run(seconds: float, pointcloud: bool, n_receivers: int = 1, camera: str = "synthetic") -> dict[str, Any]:
    """One toolkit publisher process and `n_receivers` receiver processes, all spawned; cleaned up on every path.

    `camera`: which camera the publisher hosts (see the module).
    """
    multiprocessing.set_start_method("spawn", force=True)  # the toolkit publisher uses the default context
    spawn = multiprocessing.get_context("spawn")
    namespace = f"peer_{uuid.uuid4().hex[:8]}"
    publisher = MultiprocessRGBDPublisher(
        ToolkitSyntheticCamera,
        {"resolution": RESOLUTION_1080P, "fps": FPS, "camera": camera},
        namespace,
        enable_pointcloud=pointcloud,
    )
    start, results = spawn.Event(), spawn.Queue()
    workers: list[Any] = []
    try:
        publisher.daemon = True
        publisher.start()
        for _ in range(n_receivers):
            worker = spawn.Process(
                target=receiver_worker, args=(namespace, seconds, pointcloud, start, results), daemon=True
            )
            worker.start()
            workers.append(worker)
        for _ in workers:
            _get(results, "ready", 90.0)
        shm_bytes = sum(os.stat(os.path.join(SHM_DIR, name)).st_size for name in _segments(namespace))
        meter = CpuMeter({"publisher": publisher.pid})
        meter.start()
        start.set()
        reports = [_get(results, "result", seconds + 30.0) for _ in workers]
        publisher_cpu = meter.stop().get("publisher")
        return {
            "camera": camera,
            "latency_ms": reports[0]["latency_ms"],
            "latency_after_copy_ms": reports[0]["latency_after_copy_ms"],
            "delivered_ratio": min(report["ratio"] for report in reports),
            "torn": sum(report["torn"] for report in reports),
            "shm_bytes": shm_bytes,
            "shm_segments": len(_segments(namespace)),
            "cpu_percent": {
                "publisher": publisher_cpu,
                **{f"receiver{i}": r["cpu_percent"] for i, r in enumerate(reports)},
            },
            "per_receiver": reports,
        }
    finally:
        for worker in workers:
            worker.join(5)
            if worker.is_alive():
                worker.kill()
                worker.join(5)
        publisher.stop()
        publisher.join(10)
        if publisher.is_alive():
            publisher.kill()
            publisher.join(5)
        for name in _segments(namespace):  # what a killed toolkit publisher leaves behind
            try:
                os.unlink(os.path.join(SHM_DIR, name))
            except FileNotFoundError:
                pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pointcloud", action="store_true")
    parser.add_argument("--receivers", type=int, default=1)
    parser.add_argument("--camera", choices=CAMERAS, default="synthetic", help="the camera hosted (see above)")
    args = parser.parse_args()
    import importlib.metadata

    report: dict[str, Any] = {"toolkit_version": importlib.metadata.version("airo-camera-toolkit")}
    try:
        report.update(run(args.seconds, args.pointcloud, args.receivers, args.camera))
    except BaseException as error:
        report["error"] = f"{type(error).__name__}: {error}"
    print(json.dumps(report), flush=True)
    sys.exit(0 if "error" not in report else 1)


if __name__ == "__main__":
    main()
