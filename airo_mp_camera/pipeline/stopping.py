"""Stopping processes: a stop flag raised by SIGINT/SIGTERM, and wait-then-SIGTERM-then-SIGKILL for children."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from multiprocessing.process import BaseProcess
from types import FrameType

logger = logging.getLogger(__name__)


def join_or_escalate(process: BaseProcess, timeout: float, what: str, on_kill: str = "") -> None:
    """Waits `timeout` s for `process` (already asked to stop) to exit, then terminates it, then kills it.

    Args:
        process: a started process.
        timeout: seconds allowed for each step.
        what: how log lines name the process.
        on_kill: what a kill leaves undone, for the warning (e.g. "its video may be unfinished").
    """
    if process.pid is None:
        return
    process.join(timeout)
    if process.is_alive():
        logger.warning("%s did not stop in %.1f s; terminating", what, timeout)
        process.terminate()
        process.join(timeout)
    if process.is_alive():
        logger.warning("%s ignored SIGTERM; killing it%s", what, f" ({on_kill})" if on_kill else "")
        process.kill()
        process.join(timeout)


class StopRequest:
    """A parent's "please stop" to its spawned child: one shared byte, read and written without a lock.

    A `multiprocessing.Event` would do, but its checks take a lock in shared memory: a child SIGKILLed while
    checking leaves it held, and the parent's `set()` then blocks forever. A byte cannot be left locked.
    """

    def __init__(self) -> None:
        self._flag = multiprocessing.get_context("spawn").RawValue("b", 0)

    def request(self) -> None:
        """Asks the child to stop (never blocks)."""
        self._flag.value = 1

    def is_set(self) -> bool:
        """Whether a stop was requested."""
        return bool(self._flag.value)


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM (handlers installed now), so a loop can finish cleanly."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    return stop
