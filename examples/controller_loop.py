"""A 500 Hz control loop that commands a simulated robot and uses the newest camera frame when there is one.

The loop never waits for the camera: `try_grab_images()` takes a new frame if one arrived since the
last iteration and returns at once otherwise. At the end it prints the loop period jitter.
Run: `.venv/bin/python examples/controller_loop.py --seconds 5`.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from airo_mp_camera import MultiprocessRGBDPublisher, MultiprocessRGBDReceiver, SyntheticCamera


class SimulatedRobot:
    """A 6-joint robot whose joints follow commanded velocities."""

    def __init__(self) -> None:
        self.joints = np.zeros(6)

    def command_velocity(self, velocity: np.ndarray, dt: float) -> None:
        self.joints += velocity * dt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=500.0)
    args = parser.parse_args()
    period = 1.0 / args.rate
    camera_kwargs = {"resolution": (1920, 1080), "fps": 30.0}
    with MultiprocessRGBDPublisher(SyntheticCamera, camera_kwargs, "controller_demo"):
        receiver = MultiprocessRGBDReceiver("controller_demo", prefetch=True)
        receiver.grab_images()
        robot, target = SimulatedRobot(), np.zeros(6)
        periods, frames_used = [], 0
        next_tick = last = time.perf_counter()
        end = last + args.seconds
        while last < end:
            if receiver.try_grab_images():  # a new frame: update the target from the image (here: its mean depth)
                frames_used += 1
                target[:] = float(np.nanmean(receiver.retrieve_depth_map()[::16, ::16]))
            robot.command_velocity(0.5 * (target - robot.joints), period)
            next_tick += period
            while (now := time.perf_counter()) < next_tick:
                if next_tick - now > 0.0005:
                    time.sleep(next_tick - now - 0.0004)
            periods.append(now - last)
            last = now
        receiver.close()
    deviation = np.abs(np.array(periods) - period) * 1000
    print(f"{len(periods)} iterations at {args.rate:g} Hz, {frames_used} camera frames used")
    print(
        f"loop period deviation: p50 {np.percentile(deviation, 50):.3f} ms, "
        f"p99 {np.percentile(deviation, 99):.3f} ms, "
        f"max {deviation.max():.3f} ms"
    )


if __name__ == "__main__":
    main()
