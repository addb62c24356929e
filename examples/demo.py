"""`make demo`: a synthetic camera publisher and two receivers in other processes, with rate and latency.

Run with the project's venv: `make demo` (or `.venv/bin/python examples/demo.py --seconds 5`).
"""

from __future__ import annotations

import argparse
import multiprocessing
import time

import numpy as np

from airo_mp_camera import MultiprocessRGBDPublisher, MultiprocessRGBDReceiver, SyntheticCamera

SPAWN = multiprocessing.get_context("spawn")


def receive(namespace: str, seconds: float, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """A co-located consumer (e.g. a controller): grabs every frame and measures capture-to-receiver latency."""
    with MultiprocessRGBDReceiver(namespace, timeout=10.0) as receiver:
        receiver.grab_images()
        first, latencies = receiver.frame_id, []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            receiver.grab_images()
            latencies.append(1000 * (time.time() - receiver.capture_timestamp))
        frames = receiver.frame_id - first
        results.put((frames / seconds, len(latencies), frames, np.percentile(latencies, [50, 99]).tolist()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args()
    namespace = "demo_camera"
    camera_kwargs = {"resolution": (args.width, args.height), "fps": args.fps}
    print(f"synthetic RGB-D camera {args.width}x{args.height} @ {args.fps:g} fps -> shared memory '{namespace}'")
    results: multiprocessing.Queue = SPAWN.Queue()  # type: ignore[type-arg]
    with MultiprocessRGBDPublisher(SyntheticCamera, camera_kwargs, namespace) as publisher:
        receivers = [SPAWN.Process(target=receive, args=(namespace, args.seconds, results)) for _ in range(2)]
        for receiver in receivers:
            receiver.start()
        try:
            reports = [results.get(timeout=args.seconds + 60) for _ in receivers]
        finally:
            for receiver in receivers:
                receiver.join(10)
                if receiver.is_alive():
                    receiver.kill()
        published = publisher.frames_published
    print(f"publisher: {published} frames published")
    print(f"{'path':<34}{'rate (Hz)':>10}{'delivered':>12}{'latency p50 (ms)':>18}{'p99 (ms)':>10}")
    for index, (rate, got, offered, (p50, p99)) in enumerate(reports, start=1):
        print(
            f"{f'shared memory -> receiver {index}':<34}{rate:>10.1f}{f'{got}/{offered}':>12}{p50:>18.2f}{p99:>10.2f}"
        )


if __name__ == "__main__":
    main()
