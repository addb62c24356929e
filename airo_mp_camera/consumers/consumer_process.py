"""ConsumerProcess: a spawned process that reads every new frame of a namespace and hands it to a sink.

The Rerun logger and the video recorder share this loop: the receiver, the start handshake, the
escalating stop, clean exit on SIGINT/SIGTERM and on the parent's death. Only `_open`, `_consume`
and `_close` differ; they run in the child, so the sink's work never touches the parent's process.
"""

from __future__ import annotations

import importlib.util
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from typing import Any

from airo_mp_camera.pipeline.errors import (
    FrameTimeoutError,
    PublisherGoneError,
    PublisherNotFoundError,
    SharedMemoryCameraError,
)
from airo_mp_camera.pipeline.namespace import validate_namespace
from airo_mp_camera.pipeline.receiver import SharedMemoryReceiver
from airo_mp_camera.pipeline.stopping import StopRequest, join_or_escalate, stop_on_signals

logger = logging.getLogger(__name__)
SPAWN = multiprocessing.get_context("spawn")

_GRAB_TIMEOUT_S = 0.5  # how often the loop looks at the stop flags while no frame arrives


class ConsumerStartError(SharedMemoryCameraError):
    """A consumer process could not start: no publisher, a missing tool, a sink that failed to open."""


class MissingDependencyError(ImportError):
    """An optional dependency of a consumer is not installed; the message says how to install it."""


def require_module(module: str, install_hint: str, purpose: str) -> None:
    """Raises `MissingDependencyError` when `module` cannot be imported (without importing it)."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise MissingDependencyError(f"{purpose} needs the Python package '{module}': {install_hint}")


class ConsumerProcess(SPAWN.Process):  # type: ignore[name-defined]
    """Base of the processes that consume a namespace's frames; needs only the namespace.

    `start()` returns once the child has taken its first frame and opened its sink, or raises
    `ConsumerStartError` with the child's reason. `stop()` asks the child to finish (it closes its sink
    properly), then escalates to SIGTERM and SIGKILL. SIGINT and SIGTERM sent to the child also close
    the sink properly; the child exits by itself when its parent dies.

    Subclasses implement `_make_receiver`, `_open`, `_consume` and `_close`, all called in the child.

    Args:
        shared_memory_namespace: the publisher's namespace.
        start_timeout: seconds `start()` waits for the first frame and the sink.
        niceness: added to the child's nice value, so the consumer yields the CPU to controllers.
        process_name: name of the process (for logs).

    """

    def __init__(
        self,
        shared_memory_namespace: str,
        *,
        start_timeout: float = 30.0,
        niceness: int = 10,
        process_name: str = "ConsumerProcess",
    ) -> None:
        self.namespace = validate_namespace(shared_memory_namespace)
        super().__init__(name=f"{process_name}[{self.namespace}]", daemon=True)
        self._start_timeout = start_timeout
        self._niceness = niceness
        self._stop_event = StopRequest()
        self._status_reader, self._status_writer = SPAWN.Pipe(duplex=False)
        self._frames_received = SPAWN.Value("Q", 0, lock=False)
        self._failure: str | None = None

    # ------------------------------------------------------------------------------ parent side
    @property
    def frames_received(self) -> int:
        """Frames the child took from shared memory so far (each new frame it saw once)."""
        return int(self._frames_received.value)

    @property
    def failure(self) -> str | None:
        """Why the child stopped on its own after starting (None while it runs or after a clean stop)."""
        self._collect_status()
        return self._failure

    def start(self) -> None:
        """Spawns the process and waits until it consumes frames.

        Raises:
            ConsumerStartError: the child failed or timed out; the message says why.

        """
        super().start()
        deadline = time.monotonic() + self._start_timeout + 5.0  # the child times out first, with its reason
        while time.monotonic() < deadline:
            if self._status_reader.poll(0.05):
                status, message = self._status_reader.recv()
                if status == "ready":
                    return
                self.join(5.0)
                raise ConsumerStartError(f"{self.name} failed to start: {message}")
            if not self.is_alive():
                raise ConsumerStartError(f"{self.name} exited with code {self.exitcode} before it started")
        self.stop()
        raise ConsumerStartError(f"{self.name} did not start within {self._start_timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        """Asks the child to close its sink and exit; escalates to SIGTERM, then SIGKILL, after `timeout` each."""
        self._stop_event.request()
        if self.pid is None:
            return
        join_or_escalate(self, timeout, self.name, "its sink may be left unfinished")
        self._collect_status()

    def _collect_status(self) -> None:
        try:
            while self._status_reader.poll(0):
                status, message = self._status_reader.recv()
                if status == "failed":
                    self._failure = message
        except (EOFError, OSError):
            pass

    def __enter__(self) -> ConsumerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------ child side
    def _make_receiver(self, timeout: float) -> SharedMemoryReceiver:
        """The receiver the child reads from (called in the child)."""
        raise NotImplementedError

    def _open(self, receiver: SharedMemoryReceiver) -> None:
        """Opens the sink; the receiver holds the first frame (called in the child)."""
        raise NotImplementedError

    def _consume(self, receiver: SharedMemoryReceiver) -> None:
        """Hands the receiver's current frame to the sink (called in the child)."""
        raise NotImplementedError

    def _close(self) -> None:
        """Finishes the sink so that what it wrote is complete (called in the child, on every exit path)."""
        raise NotImplementedError

    def run(self) -> None:
        """The child: take the first frame, open the sink, then consume every new frame until stopped."""
        stop = stop_on_signals()
        parent = os.getppid()
        if self._niceness:
            try:
                os.nice(self._niceness)
            except OSError:
                pass
        receiver: SharedMemoryReceiver | None = None
        opened = False
        try:
            receiver = self._make_receiver(self._start_timeout)
            receiver.grab_images(timeout=self._start_timeout)
            self._frames_received.value += 1
            self._open(receiver)
            opened = True
            self._consume(receiver)
        except BaseException as error:  # report every failure to the parent, then exit
            self._status_writer.send(("error", _describe(error)))
            if opened:
                self._safe_close()
            if receiver is not None:
                receiver.close()
            return
        self._status_writer.send(("ready", ""))
        try:
            self._loop(receiver, stop, parent)
        except BaseException as error:
            logger.error("%s stopped: %s", self.name, _describe(error))
            self._status_writer.send(("failed", _describe(error)))
            raise SystemExit(1) from None
        finally:
            self._safe_close()
            receiver.close()

    def _loop(self, receiver: SharedMemoryReceiver, stop: threading.Event, parent: int) -> None:
        while not (stop.is_set() or self._stop_event.is_set()):
            if os.getppid() != parent:
                logger.warning("%s: parent process died; finishing", self.name)
                return
            try:
                receiver.grab_images(timeout=_GRAB_TIMEOUT_S)
            except (FrameTimeoutError, PublisherGoneError, PublisherNotFoundError):
                continue  # the publisher may pause or restart; keep waiting until stopped
            self._frames_received.value += 1
            self._consume(receiver)

    def _safe_close(self) -> None:
        # A second signal during the close must not cut it short: the sink would be left unfinished.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            self._close()
        except Exception as error:
            logger.error("%s: closing failed: %s", self.name, _describe(error))
            self._status_writer.send(("failed", f"closing failed: {_describe(error)}"))
        finally:
            signal.signal(signal.SIGINT, previous[0])
            signal.signal(signal.SIGTERM, previous[1])


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def shared_counter(initial: int = 0) -> Any:
    """A process-shared unsigned counter (spawn context), readable from the parent at any time."""
    return SPAWN.Value("Q", initial, lock=False)
