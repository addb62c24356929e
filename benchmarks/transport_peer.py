"""The transports users would pick instead of ours (Zenoh SHM, iceoryx2): their common harness and their figures.

Each transport peer (`benchmarks/zenoh_peer.py`, `benchmarks/iceoryx2_peer.py`) runs inside `.venv-peers` (made
by `make bench-peers`) as `.venv-peers/bin/python -m benchmarks.<peer> --seconds 10`, from the repository root so
that `airo_mp_camera` imports from the checkout. It supplies a publisher and a subscriber function; this module
runs them in two spawned processes, on the same synthetic 1080p RGB-D frames at 30 fps as our rows, and prints
one JSON line that `benchmarks.run` reads.

A frame is one payload: a 16-byte header (frame id, capture time) and then what our default RGB-D receiver reads,
the RGB image and the depth map (14.5 MB): the same bytes our publisher writes for it, since a publisher writes
only the streams some receiver reads (`CameraPublisher`: the depth image and the rest of the 20.7 MB slot stay
unwritten). The publisher copies the camera's arrays into a buffer it loaned from
the transport; the subscriber takes the newest frame and, in phase "view", holds numpy views of what the
transport hands it, or, in phase "copied", copies the frame out into arrays of its own. Latency is `time.time()`
once the arrays are in hand minus the capture time (as for our receivers); each frame is checked with the
watermarks (`airo_mp_camera/cameras/watermark.py`) when in hand and again before it is released: a mismatch, or
an id other than the header's, counts as torn or changed. CPU per frame: each process's CPU time over the phase
divided by the frames it published or received. Shared memory used: the /dev/shm files either process maps.

The run.py side (no transport imported there): `figures`, `targets` and `rows`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

RESOLUTION_1080P = (1920, 1080)
FPS = 30.0
SHM_DIR = "/dev/shm"
HEADER = np.dtype([("frame_id", "<u8"), ("capture_timestamp", "<f8")])
PHASES = ("view", "copied")


@dataclass(frozen=True)
class FrameLayout:
    """Where the header, the RGB image and the depth map lie in one frame payload."""

    width: int
    height: int

    @property
    def rgb_bytes(self) -> int:
        """Size of the HxWx3 uint8 RGB image."""
        return self.width * self.height * 3

    @property
    def nbytes(self) -> int:
        """Size of the whole payload."""
        return HEADER.itemsize + self.rgb_bytes + self.width * self.height * 4

    def write(self, buffer: np.ndarray, camera: Any) -> None:
        """Copies the camera's current frame into a writable uint8 buffer of `nbytes`."""
        rgb, depth, header = self._split(buffer)
        np.copyto(rgb, camera.retrieve_rgb_image_as_int())
        np.copyto(depth, camera.retrieve_depth_map())
        header["frame_id"], header["capture_timestamp"] = camera.frame_id, camera.capture_timestamp

    def read(self, buffer: np.ndarray) -> tuple[int, float, np.ndarray, np.ndarray]:
        """(frame id, capture time, RGB view, depth view) of a payload, without copying the images."""
        rgb, depth, header = self._split(buffer)
        return int(header["frame_id"]), float(header["capture_timestamp"]), rgb, depth

    def _split(self, buffer: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        start = HEADER.itemsize
        header = buffer[:start].view(HEADER)[0]
        rgb = buffer[start : start + self.rgb_bytes].reshape(self.height, self.width, 3)
        depth = buffer[start + self.rgb_bytes : self.nbytes].view(np.float32).reshape(self.height, self.width)
        return rgb, depth, header


LAYOUT = FrameLayout(*RESOLUTION_1080P)


def synthetic_camera() -> Any:
    """The same synthetic camera as our rows (30 fps, frame-id watermarks on)."""
    from airo_mp_camera import SyntheticCamera

    return SyntheticCamera(resolution=RESOLUTION_1080P, fps=FPS)


# A frame in hand: the payload as a uint8 array, and the call that gives it back to the transport.
Received = tuple[np.ndarray, Callable[[], None]]


def _whole(frame_id: int, rgb: np.ndarray, depth: np.ndarray) -> bool:
    from airo_mp_camera.cameras import watermark

    return watermark.matches(rgb, frame_id) and watermark.matches(depth, frame_id)


def measure(receive: Callable[[], Received], phase: str, seconds: float) -> dict[str, Any]:
    """The subscriber's loop: takes frames from `receive()` for `seconds`; latency, delivery, torn, CPU."""
    from benchmarks.stats import delivery, percentiles, self_cpu_seconds

    own_rgb = np.empty((LAYOUT.height, LAYOUT.width, 3), np.uint8)
    own_depth = np.empty((LAYOUT.height, LAYOUT.width), np.float32)
    ids, latencies, torn = [], [], 0
    cpu_before, started = self_cpu_seconds(), time.monotonic()
    while time.monotonic() < started + seconds:
        buffer, release = receive()
        frame_id, stamp, rgb, depth = LAYOUT.read(buffer)
        if phase == "copied":
            np.copyto(own_rgb, rgb)
            np.copyto(own_depth, depth)
            rgb, depth = own_rgb, own_depth
        latencies.append(1000 * (time.time() - stamp))
        ids.append(frame_id)
        whole = _whole(frame_id, rgb, depth)
        whole = whole and LAYOUT.read(buffer)[0] == frame_id and _whole(frame_id, rgb, depth)  # changed while held?
        release()
        torn += not whole
    cpu = self_cpu_seconds() - cpu_before
    return {
        "latency_ms": percentiles(latencies),
        **delivery(ids),
        "torn_or_changed": torn,
        "cpu_percent": round(100 * cpu / (time.monotonic() - started), 1),
        "cpu_ms_per_frame": round(1000 * cpu / max(len(ids), 1), 3),
    }


def exit_after(seconds: float) -> None:
    """Ends this process after `seconds` whatever it waits for (a transport's blocking receive has no timeout)."""
    timer = threading.Timer(seconds, lambda: os._exit(3))
    timer.daemon = True
    timer.start()


# ---------------------------------------------------------------------------------------------- the harness
def mapped_shm_files(pids: list[int]) -> dict[str, int]:
    """The /dev/shm files the given processes map, with their sizes."""
    files: dict[str, int] = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/maps") as maps:
                paths = {line.split(maxsplit=5)[5].strip() for line in maps if f" {SHM_DIR}/" in line}
        except FileNotFoundError:
            continue
        for path in paths:
            if path.endswith(" (deleted)") or path.startswith(f"{SHM_DIR}/sem."):  # gone, or a semaphore
                continue
            try:
                files[path] = os.stat(path).st_size
            except FileNotFoundError:
                pass
    return files


def _get(results: Any, kind: str, timeout: float) -> Any:
    tag, payload = results.get(timeout=timeout)
    if tag == "error":
        raise RuntimeError(payload)
    if tag != kind:
        raise RuntimeError(f"expected '{kind}', got '{tag}'")
    return payload


def run(
    publisher: Callable[..., None],
    subscriber: Callable[..., None],
    options: dict[str, Any],
    seconds: float,
    cleanup: Callable[[], list[str]],
) -> dict[str, Any]:
    """One publisher process for both phases, one subscriber process per phase; everything stopped on every path.

    `publisher(options, counter, ready, stop)` publishes until `stop` is set, counting frames in `counter`;
    `subscriber(options, phase, seconds, results)` puts ("ready", None) once it holds a first frame, then
    ("result", measure(...)). `cleanup()` removes what the transport left behind and returns what it removed.
    """
    from benchmarks.processes import SPAWN, ProcessGroup, cpu_seconds

    report: dict[str, Any] = {"frame_bytes": LAYOUT.nbytes}
    shm_files: dict[str, int] = {}
    try:
        with ProcessGroup() as group:
            counter, ready, stop = SPAWN.Value("q", 0), SPAWN.Event(), SPAWN.Event()
            pub = group.spawn(publisher, options, counter, ready, stop, name="publisher")
            if not ready.wait(60):
                raise TimeoutError("the publisher was not ready within 60 s")
            shm_files.update(mapped_shm_files([pub.pid]))  # known now, in case a subscriber never comes
            for phase in PHASES:
                results = SPAWN.Queue()
                sub = group.spawn(subscriber, options, phase, seconds, results, name=f"subscriber_{phase}")
                _get(results, "ready", 60.0)
                shm_files.update(mapped_shm_files([pub.pid, sub.pid]))
                cpu, frames, started = cpu_seconds(pub.pid), counter.value, time.monotonic()
                measured = _get(results, "result", seconds + 60.0)
                cpu_after, published = cpu_seconds(pub.pid), counter.value - frames
                elapsed = time.monotonic() - started
                if cpu is not None and cpu_after is not None and published:
                    measured["publisher_cpu_percent"] = round(100 * (cpu_after - cpu) / elapsed, 1)
                    measured["publisher_cpu_ms_per_frame"] = round(1000 * (cpu_after - cpu) / published, 3)
                measured["publisher_rate_hz"] = round(published / elapsed, 2)
                report[phase] = measured
                sub.join(30)
            stop.set()
            pub.join(30)
    finally:
        removed = cleanup()
        for path in shm_files:  # the transport's own files (from the maps), should a killed process have left them
            if os.path.exists(path):
                os.unlink(path)
                removed.append(path)
        report["removed_after_run"] = removed
        if removed:  # also said when an error or Ctrl-C loses the report
            print(f"removed what the transport left behind: {removed}", file=sys.stderr)
    report["shm_bytes"] = sum(shm_files.values())
    report["shm_files"] = sorted(shm_files)
    return report


def main(name: str, package: str, run_peer: Callable[[float], dict[str, Any]]) -> None:
    """A peer's command line: prints one JSON report line (skipped when `package` is not installed)."""
    parser = argparse.ArgumentParser(description=f"{name} side by side with ours (see benchmarks/transport_peer.py)")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    import importlib.metadata

    try:
        report: dict[str, Any] = {"version": importlib.metadata.version(package)}
    except importlib.metadata.PackageNotFoundError:
        report = {"skipped": f"no {package} in {sys.prefix}: run `make bench-peers` (it installs {package} there)"}
    else:
        try:
            report.update(run_peer(args.seconds))
        except BaseException as error:
            report["error"] = f"{type(error).__name__}: {error}"
    print(json.dumps(report), flush=True)
    sys.exit(1 if "error" in report else 0)


# ---------------------------------------------------------------------------------------------- run.py side
# Section (and figure prefix) -> (label, module run in .venv-peers).
PEERS = {"zenoh_shm": ("Zenoh SHM", "benchmarks.zenoh_peer"), "iceoryx2": ("iceoryx2", "benchmarks.iceoryx2_peer")}


def figures(sections: dict[str, Any], get: Callable[..., Any]) -> dict[str, Any]:
    """Flat figures of both transport peers (None where a peer was skipped); `get(data, *path)` digs them out."""
    values: dict[str, Any] = {}
    for peer in PEERS:
        section = sections.get(peer, {})
        for phase, infix in (("view", ""), ("copied", "_copied")):
            key = f"{peer}{infix}_rgbd_1080p"
            values[f"{key}_p50_ms"] = get(section, phase, "latency_ms", "p50")
            values[f"{key}_p99_ms"] = get(section, phase, "latency_ms", "p99")
            values[f"{key}_delivered_ratio"] = get(section, phase, "ratio")
            values[f"{key}_torn_or_changed"] = get(section, phase, "torn_or_changed")
            values[f"{key}_subscriber_cpu_ms_per_frame"] = get(section, phase, "cpu_ms_per_frame")
            values[f"{key}_publisher_cpu_ms_per_frame"] = get(section, phase, "publisher_cpu_ms_per_frame")
        values[f"{peer}_shm_bytes_rgbd_1080p"] = get(section, "shm_bytes")
    return values


def targets(f: dict[str, Any], at_most: Callable[..., Any], ratio: Callable[..., Any]) -> list[Any]:
    """Ours against each transport peer: borrowed <= its views, copying receiver <= its copied-out frames."""
    lines = []
    for peer, (label, _) in PEERS.items():
        lines.append(
            at_most(
                f"borrow p50 / {label} view p50",
                ratio(f["shm_borrow_rgbd_1080p_p50_ms"], f[f"{peer}_rgbd_1080p_p50_ms"]),
                1.0,
                f"shm_borrow_rgbd_1080p_p50_ms / {peer}_rgbd_1080p_p50_ms",
            )
        )
        lines.append(
            at_most(
                f"shm p50 / {label} copied p50",
                ratio(f["shm_rgbd_1080p_p50_ms"], f[f"{peer}_copied_rgbd_1080p_p50_ms"]),
                1.0,
                f"shm_rgbd_1080p_p50_ms / {peer}_copied_rgbd_1080p_p50_ms",
            )
        )
    return lines


def rows(f: dict[str, Any]) -> list[tuple[str, Any, Any, Any, Any]]:
    """The report's table rows: label, p50, p99, delivered, torn."""
    table = []
    for peer, (label, _) in PEERS.items():
        for infix, what in (("", "views"), ("_copied", "copied out")):
            key = f"{peer}{infix}_rgbd_1080p"
            table.append(
                (
                    f"{label}: RGB-D ({what})",
                    f[f"{key}_p50_ms"],
                    f[f"{key}_p99_ms"],
                    f[f"{key}_delivered_ratio"],
                    f[f"{key}_torn_or_changed"],
                )
            )
    return table


def cpu_lines(f: dict[str, Any]) -> list[str]:
    """CPU per frame and shared memory of each transport peer, one line each."""
    lines = []
    for peer, (label, _) in PEERS.items():
        parts = [
            f"{what} publisher {f[f'{peer}{infix}_rgbd_1080p_publisher_cpu_ms_per_frame']} ms,"
            f" subscriber {f[f'{peer}{infix}_rgbd_1080p_subscriber_cpu_ms_per_frame']} ms"
            for infix, what in (("", "views:"), ("_copied", "copied:"))
        ]
        lines.append(f"{label} CPU per frame: {'; '.join(parts)}; shared memory {f[f'{peer}_shm_bytes_rgbd_1080p']} B")
    return lines
