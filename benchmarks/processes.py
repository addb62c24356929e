"""Processes a benchmark starts: tracked by pid, stopped on every path, and measured from /proc."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

SPAWN = multiprocessing.get_context("spawn")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (all its threads) from /proc/<pid>/stat; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime and stime are fields 14 and 15


def child_pids(pid: int) -> list[int]:
    """Direct children of a process (from /proc/<pid>/task/*/children)."""
    children: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return children
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                children.extend(int(child) for child in listing.read().split())
        except FileNotFoundError:
            continue
    return children


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants."""
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(child_pids(current))
    return tree


class CpuMeter:
    """CPU share of a set of processes over a window: `start()`, then `stop()` returns {label: percent of one core}."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = dict(pids)
        self._start: dict[str, float | None] = {}
        self._started_at = 0.0

    def start(self) -> None:
        """Takes the first reading."""
        self._started_at = time.monotonic()
        self._start = {label: cpu_seconds(pid) for label, pid in self._pids.items()}

    def stop(self) -> dict[str, float]:
        """Takes the second reading; processes that ended meanwhile are left out."""
        elapsed = time.monotonic() - self._started_at
        usage = {}
        for label, pid in self._pids.items():
            before, after = self._start.get(label), cpu_seconds(pid)
            if before is not None and after is not None and elapsed > 0:
                usage[label] = round(100.0 * (after - before) / elapsed, 1)
        return usage


class ProcessGroup:
    """Spawned processes and subprocesses of one benchmark; `stop_all()` ends every survivor by pid.

    Subprocesses are asked to stop with SIGINT first, then SIGKILLed; spawned processes get SIGTERM, then
    SIGKILL. Use it as a context manager so this also happens on exceptions and Ctrl-C.
    """

    def __init__(self) -> None:
        self._spawned: list[Any] = []
        self._popens: list[subprocess.Popen[bytes]] = []

    def spawn(self, target: Any, *args: Any, name: str | None = None) -> Any:
        """Starts `target(*args)` in a spawned process."""
        process = SPAWN.Process(target=target, args=args, name=name, daemon=True)
        process.start()
        self._spawned.append(process)
        return process

    def adopt(self, process: Any) -> Any:
        """Tracks a process started elsewhere (e.g. a CameraPublisher, which stops itself first)."""
        self._spawned.append(process)
        return process

    def popen(self, command: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """Starts a subprocess in its own session, so that its whole process tree can be signalled."""
        process: subprocess.Popen[bytes] = subprocess.Popen(list(command), start_new_session=True, **kwargs)
        self._popens.append(process)
        return process

    def stop_all(self, timeout: float = 10.0) -> None:
        """Stops every tracked process that still runs, by pid."""
        for process in self._spawned:
            stop = getattr(process, "stop", None)
            if callable(stop) and process.pid is not None:
                try:
                    stop()
                except Exception:  # noqa: BLE001 - fall through to the signals below
                    pass
            if process.pid is None:
                continue
            if process.is_alive():
                process.terminate()
                process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join(timeout)
        for popen in self._popens:
            stop_popen(popen, timeout)
        self._spawned.clear()
        self._popens.clear()

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()


def stop_popen(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGINT to a subprocess and its descendants, then SIGKILL to whatever of that tree is left, by pid."""
    tree = process_tree(process.pid) if process.poll() is None else []
    for pid in tree:
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    for pid in tree[1:]:  # descendants (e.g. a camera publisher) may still be cleaning up their shared memory
        while _exists(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    for pid in tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if process.poll() is None:
        process.wait(timeout)


def _exists(pid: int) -> bool:
    """Whether a process runs (zombies count as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Turns SIGTERM into KeyboardInterrupt, so that `finally` blocks stop everything on both."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
