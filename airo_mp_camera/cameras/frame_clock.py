"""FrameClock: when a camera without hardware captures its frames, and the capture time it reports.

A free-running camera captures on its own grid: every 1/fps seconds from whenever it started. Several
cameras that must be matched in time (see `MultiCameraReceiver`) need capture times on one clock, and tests
and benchmarks need to choose how far apart the cameras' grids are. With a `phase` the grid is fixed to the
wall clock (`time.time()`, the clock every process of this machine shares): frame k is captured at
`k / fps + phase` seconds since the epoch, moved by up to `jitter` seconds either way (uniformly), and the
capture time reported is that instant, as a camera's hardware stamp is: it does not include how late the
process woke up. Without a phase the grid starts when the camera opens
(monotonic), stamped with `time.time()` when the grab returns.
"""

from __future__ import annotations

import math
import time

import numpy as np


class FrameClock:
    """Paces a camera's grabs at `fps`, optionally on a wall-clock grid with a phase and jitter (see the module)."""

    def __init__(self, fps: float, phase: float | None = None, jitter: float = 0.0, seed: int | None = None) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        if not jitter >= 0:
            raise ValueError(f"jitter must be >= 0 seconds, got {jitter}")
        if phase is None and jitter > 0:
            raise ValueError("jitter needs a phase (the wall-clock grid it moves frames on); pass phase=0.0")
        if jitter * fps >= 0.5:
            raise ValueError(f"jitter {jitter} s must be less than half a frame period (1/{fps} s)")
        self._period = 1.0 / fps
        self._phase = phase
        self._jitter = jitter
        self._random = np.random.default_rng(seed)
        self._next_frame_time = time.monotonic()
        self._last_index: int | None = None

    def wait(self) -> float:
        """Blocks until the next frame's capture time; returns it in seconds since the epoch."""
        if self._phase is None:
            return self._wait_free_running()
        now = time.time()
        index = math.floor((now - self._phase) / self._period) + 1  # the next grid point after now
        if self._last_index is not None:
            index = max(index, self._last_index + 1)
        self._last_index = index
        capture = index * self._period + self._phase
        if self._jitter > 0:
            capture += float(self._random.uniform(-self._jitter, self._jitter))
        delay = capture - time.time()
        if delay > 0:
            time.sleep(delay)
        return capture

    def _wait_free_running(self) -> float:
        now = time.monotonic()
        if self._next_frame_time > now:
            time.sleep(self._next_frame_time - now)
        else:
            self._next_frame_time = now  # fell behind: do not burst to catch up
        self._next_frame_time += self._period
        return time.time()
