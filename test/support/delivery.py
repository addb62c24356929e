"""Judging "every frame delivered" on a machine that may be too busy to keep up.

A receiver may miss a frame only when it was not there to take it: busy with the previous frame, or runnable
but not given a CPU. It must never miss one by sleeping while a newer frame than its last was complete, which
is what a lost or late wake-up would do. The kernel tells the two apart: per grab, a receiver measures from
/proc/thread-self/schedstat the time it spent on a CPU or waiting on a run queue; the rest of the grab it slept
(`workers.collect_frames`).

The synthetic camera captures frame n + 1 only after frame n is complete, so a skipped frame n = f - 1 was
complete by `capture(f)`. A grab that returned f after skipping frames and slept past `capture(f)` slept while a
frame it should have taken was waiting: that is a delivery bug, however busy the machine. Sleep before the grab's
first instruction cannot be told apart from being busy, so the judge errs toward excusing, never toward failing
a receiver that was merely descheduled.
"""

from __future__ import annotations

from typing import Any

# Clock reads, /proc reads and the futex wake-up itself: well under this.
TOLERANCE_S = 0.002


def unexplained_misses(first_id: int, grabs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Grabs that skipped frames although the receiver slept while a skipped frame was complete."""
    unexplained = []
    previous = first_id
    for grab in grabs:
        skipped = grab["frame_id"] - previous - 1
        previous = grab["frame_id"]
        if skipped <= 0 or grab["slept"] <= TOLERANCE_S:
            continue
        woke = grab["called"] + grab["slept"]  # the earliest the sleep can have ended
        if woke > grab["capture"] + TOLERANCE_S:
            unexplained.append({**grab, "skipped": skipped, "slept_past_complete_frame_s": woke - grab["capture"]})
    return unexplained


def excused_misses(first_id: int, grabs: list[dict[str, Any]]) -> int:
    """Frames skipped while the receiver was busy or waiting for a CPU (the machine did not keep up)."""
    skipped = 0
    previous = first_id
    for grab in grabs:
        skipped += max(0, grab["frame_id"] - previous - 1)
        previous = grab["frame_id"]
    return skipped - sum(item["skipped"] for item in unexplained_misses(first_id, grabs))


def run_queue_seconds(pid: int) -> float:
    """Seconds the main thread of process `pid` has waited, runnable, for a CPU (/proc/<pid>/task/<pid>/schedstat)."""
    with open(f"/proc/{pid}/task/{pid}/schedstat") as schedstat:
        return int(schedstat.read().split()[1]) * 1e-9


def camera_rate_floor(fps: float, seconds: float, starved: float, fraction: float = 0.8) -> float:
    """The least frame rate a camera must keep over `seconds`, given that it waited `starved` s for a CPU.

    The synthetic camera does not burst to catch up, so time it spent waiting for a CPU is frames it could not
    make: only the time it had a CPU available counts towards the `fraction` of `fps` it must reach.
    """
    return fraction * fps * max(0.0, seconds - starved) / seconds
