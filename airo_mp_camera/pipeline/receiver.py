"""SharedMemoryReceiver: the camera interface over a publisher's shared memory, in any process.

The receiver composes three parts, one concern each:
- `PublisherConnection` (publisher_connection.py): finding the publisher, the reader row, liveness and
  reconnecting;
- `FrameCopies` (frame_copies.py): the buffers copies go into, double or (with prefetch) triple buffered;
- `Borrowing` (borrowing.py): borrowed frames.
A copy and a borrow are both one *attempt* at the newest frame (taken, or a `Miss`); `_try` makes one without
blocking, `_wait` repeats it until a frame is taken or the timeout, connecting and reconnecting as needed.
What stays here is the camera interface itself (grab, borrow, retrieve, wait) and how the parts take turns,
which is why it is one file of about 400 lines.

Vocabulary (iceoryx2's): the publisher *loans* itself a slot to write a frame into and publishes it; a
receiver *copies* the newest frame (`grab_images()`), or *borrows* it (`borrow()`, a BorrowedFrame of
read-only views of the slot) and *releases* it when done (`BorrowedFrame.release()` or the end of a `with`
block), which gives the slot back to the publisher. A borrowed slot is one the publisher does not write.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Literal, TypeVar

from airo_mp_camera.pipeline.attempt import Miss
from airo_mp_camera.pipeline.borrowed_frame import BorrowedFrame
from airo_mp_camera.pipeline.borrowing import Borrowing
from airo_mp_camera.pipeline.errors import (
    FrameTimeoutError,
    PublisherGoneError,
    PublisherNotFoundError,
    SchemaMismatchError,
    SegmentPermissionError,
    SlotsExhaustedError,
)
from airo_mp_camera.pipeline.frame_copies import ArrayAllocator, FrameCopies, zeros
from airo_mp_camera.pipeline.frame_ring import FREE_SLOTS_KEPT, FrameRing
from airo_mp_camera.pipeline.namespace import validate_namespace
from airo_mp_camera.pipeline.publisher_connection import CONNECT_POLL_S, LIVENESS_CHECK_PERIOD_S, PublisherConnection
from airo_mp_camera.pipeline.schemas import CameraSchema, Schema

__all__ = ["ArrayAllocator", "SharedMemoryReceiver"]

_NO_ROOM_POLL_S = 0.005  # a borrow waiting for a slot to be released checks this often (releases wake nobody)
# Errors of a connection attempt that the next attempt will meet again (unlike a missing publisher).
_LASTING_ERRORS = (SchemaMismatchError, SegmentPermissionError)

_Taken = TypeVar("_Taken")


class SharedMemoryReceiver:
    """Reads the newest frame of a namespace; configured with schemas, exposed through mixins.

    `grab_images()` blocks until a frame newer than the last one returned is complete (or raises after
    `timeout` seconds); `try_grab_images()` never blocks. Either copies each schema's data once, checked
    against the slot's sequence lock, so all streams belong to the same, untorn frame. The receiver
    connects lazily, waits for a publisher that has not started yet, and reconnects by itself when the
    publisher restarts (then `restarts` grows and frame ids start again at 1).

    With `prefetch=True` a background thread copies every new frame as soon as it is published, so
    `try_grab_images()` and `grab_images()` only swap buffers (microseconds): use it in a control loop
    that must not spend the copy time itself. numpy copies release the GIL, so the thread barely
    competes with the loop.

    `borrow()` borrows the newest frame instead of copying it: a BorrowedFrame of read-only views of the
    shared-memory slot, which the publisher does not write until it is released (see borrowed_frame.py).
    Borrowing and copying mix freely, also in one receiver.

    The receiver registers in the namespace's reader table the schemas it reads (all of `schemas`, or
    those given to `copy_only`), and the publisher retrieves from the camera and writes only what some
    live receiver reads. A frame that lacks a schema this receiver reads (published before it asked) is
    skipped: the first grab waits for a frame that carries everything it reads.

    Args:
        shared_memory_namespace: the publisher's namespace.
        schemas: the data to read; a subset of what the publisher writes. CameraSchema is added.
        timeout: default seconds `grab_images()` waits before raising.
        prefetch: copy frames in a background thread (see above).
        allocator: makes the arrays frames are copied into (default: numpy); the ROS bridge passes one
            whose arrays are views of message storage, so the one copy out of shared memory is the message.
        camera_layout: names of schemas a copy keeps in the slot's layout, verbatim (e.g. BGRA as the camera
            wrote it in place; see cameras/in_place.py). Any other schema is copied into its familiar layout
            (RGB images, points and colors apart), converting in the same pass where the slot holds another.
            The mixins read either alike.
    """

    def __init__(
        self,
        shared_memory_namespace: str,
        schemas: Sequence[Schema],
        timeout: float = 5.0,
        prefetch: bool = False,
        allocator: ArrayAllocator | None = None,
        camera_layout: Iterable[str] = (),
    ) -> None:
        self.namespace = validate_namespace(shared_memory_namespace)
        chosen = list(schemas)
        if not any(isinstance(schema, CameraSchema) for schema in chosen):
            chosen.insert(0, CameraSchema())
        self._schemas = chosen
        self.timeout = timeout
        self._copied: frozenset[str] | None = None  # the schemas `copy_only` chose; None: all
        self._connection = PublisherConnection(self.namespace)
        self._copies = FrameCopies(chosen, allocator or zeros, camera_layout, prefetch)
        self._borrowing = Borrowing(self.namespace, chosen)
        self._prefetch_error: Exception | None = None  # the copier's last error, raised by the next grab
        self._stop_prefetch = threading.Event()
        self._prefetcher: threading.Thread | None = None
        self._connect()
        if prefetch:
            self._prefetcher = threading.Thread(
                target=self._prefetch_loop, name=f"prefetch[{self.namespace}]", daemon=True
            )
            self._prefetcher.start()

    # ------------------------------------------------------------------------------ state
    @property
    def schemas(self) -> list[Schema]:
        """The schemas this receiver reads."""
        return list(self._schemas)

    @property
    def connected(self) -> bool:
        """Whether the receiver is mapped onto a live publisher's segment."""
        return self._connection.ring is not None

    @property
    def publisher_generation(self) -> int | None:
        """Random id of the publisher instance last connected to (changes when the publisher restarts)."""
        return self._connection.generation

    @property
    def restarts(self) -> int:
        """How many times the receiver connected to a new publisher instance (frame ids then start again at 1)."""
        return self._connection.restarts

    @property
    def torn_reads(self) -> int:
        """Copies the sequence lock rejected because the publisher rewrote the slot meanwhile (each retried)."""
        return self._copies.torn_reads

    @property
    def frame_id(self) -> int:
        """Id of the frame the last grab returned (from 1 for each publisher instance; 0 before a grab)."""
        camera = getattr(self, CameraSchema.receiver_field, None)  # the frame the mixins expose
        return int(camera.frame_id[0]) if camera is not None else 0

    @property
    def capture_timestamp(self) -> float:
        """Capture time of the frame the last grab returned, in seconds since the epoch (0.0 before a grab)."""
        camera = getattr(self, CameraSchema.receiver_field, None)
        return float(camera.timestamp[0]) if camera is not None else 0.0

    @property
    def borrowed_slots(self) -> int:
        """How many distinct slots this receiver's unreleased BorrowedFrames borrow."""
        return self._connection.row.borrowed_slots

    def _reading(self) -> list[str]:
        """Names of the schemas this receiver reads now."""
        names = [schema.name for schema in self._schemas]
        return names if self._copied is None else [name for name in names if name in self._copied]

    def copy_only(self, schema_names: Iterable[str] | None) -> None:
        """Reads only these schemas (and CameraSchema) from the next grab on; None reads all again.

        The receiver registers exactly these with the publisher, which then stops retrieving and writing
        a schema no live receiver reads. The data of the other schemas is stale (from an earlier frame):
        read only what was copied. The next grab waits for a frame that carries every schema now read.
        The ROS bridge uses this to read just the streams that have subscribers.
        """
        self._copied = None if schema_names is None else frozenset(schema_names) | {CameraSchema.name}
        ring = self._connection.ring
        if ring is not None:
            self._connection.row.set_schemas(ring.mask_of(self._reading()))

    # ------------------------------------------------------------------------------ connecting
    def _connect(self) -> FrameRing | None:
        return self._connection.connect(
            {schema.name: schema for schema in self._schemas}, self._reading(), self._adopt
        )

    def _adopt(self, ring: FrameRing) -> None:
        """Starts copying and borrowing afresh on a newly connected segment."""
        self._copies.adopt(ring)
        self._borrowing.adopt(ring)
        self._prefetch_error = None  # the copier's "publisher gone" no longer holds

    def _try(self, attempt: Callable[[FrameRing], _Taken | Miss]) -> _Taken | Miss:
        """One attempt without blocking, connecting first; again at once when the publisher turns out gone.

        Raises:
            PublisherGoneError: the publisher died or stopped and none has replaced it.

        """
        while True:
            ring = self._connection.ring or self._connect()
            if ring is None:
                gone = self._connection.gone_error()
                if gone is not None:
                    raise gone
                return Miss.NOTHING_NEW
            outcome = attempt(ring)
            if not isinstance(outcome, Miss) or self._connection.check(ring):
                return outcome

    def _wait(
        self,
        attempt: Callable[[FrameRing], _Taken | Miss],
        timeout: float,
        timed_out: Callable[[FrameRing, Miss], Exception],
    ) -> _Taken:
        """Repeats `attempt` until it takes a frame: after each new frame, a release, or a liveness check.

        Raises:
            PublisherNotFoundError, PublisherGoneError: no publisher (any more) within `timeout`.
            Whatever `timed_out` makes: the publisher is alive, but no attempt took a frame within `timeout`.

        """
        deadline = time.monotonic() + timeout
        while True:
            ring = self._connection.ring or self._connect()
            if ring is None:
                if time.monotonic() >= deadline:
                    raise self._connection.absent_error(timeout)
                time.sleep(CONNECT_POLL_S)
                continue
            seen = ring.futex.value
            outcome = attempt(ring)
            if not isinstance(outcome, Miss):
                return outcome
            if not self._connection.check(ring):
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise timed_out(ring, outcome)
            if outcome is Miss.NO_ROOM:
                time.sleep(min(remaining, _NO_ROOM_POLL_S))
            else:
                ring.futex.wait_while(seen, min(remaining, LIVENESS_CHECK_PERIOD_S))

    # ------------------------------------------------------------------------------ copying
    def _copy_newest(self, ring: FrameRing) -> Literal[True] | Miss:
        outcome = self._copies.copy_newest(ring, self._reading(), self._connection.row.schemas)
        if outcome is True:
            self._connection.beat()
            if self._prefetcher is None:
                self._expose_front()
        return outcome

    def _expose_front(self) -> None:
        front = self._copies.front
        for schema in self._schemas:
            schema.read_into_receiver(front[schema.name], self)

    def try_grab_images(self) -> bool:
        """Takes the newest complete frame if it is newer than the last one returned; never blocks.

        Returns:
            True when a new frame was taken; False when there is none (the previous frame stays).

        Raises:
            PublisherGoneError: the publisher died or stopped and none has replaced it.

        """
        if self._prefetcher is None:
            return self._try(self._copy_newest) is True
        with self._copies.lock:
            if self._take_prefetched():
                return True
        error = self._prefetch_error
        if error is not None and not isinstance(error, PublisherNotFoundError):
            raise error
        return False

    def grab_images(self, timeout: float | None = None) -> None:
        """Blocks until a frame newer than the last one returned is complete, then takes it.

        Raises:
            PublisherNotFoundError: no publisher appeared on the namespace within the timeout.
            PublisherGoneError: the publisher died or stopped, and no new one appeared within the timeout.
            FrameTimeoutError: the publisher is alive but sent no new frame within the timeout.

        """
        timeout = self.timeout if timeout is None else timeout
        if self._prefetcher is None:
            self._wait(self._copy_newest, timeout, self._copy_timeout(timeout))
        else:
            self._wait_prefetched(timeout)

    def _copy_timeout(self, timeout: float) -> Callable[[FrameRing, Miss], Exception]:
        def timed_out(ring: FrameRing, miss: Miss) -> Exception:
            return FrameTimeoutError(
                f"no new frame on shared-memory namespace '{self.namespace}' within {timeout} s "
                f"(the publisher is alive; last frame id {self._copies.last_frame})"
            )

        return timed_out

    # ------------------------------------------------------------------------------ prefetching
    def _take_prefetched(self) -> bool:
        """Swaps in the frame the copier finished, if it is newer than the one last returned (under the lock)."""
        if not self._copies.take_ready():
            return False
        self._expose_front()
        return True

    def _wait_prefetched(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._copies.lock:
            while not self._take_prefetched():
                error = self._prefetch_error
                if isinstance(error, _LASTING_ERRORS):  # waiting cannot cure these: say so at once
                    raise type(error)(str(error))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    if isinstance(error, PublisherGoneError):
                        raise PublisherGoneError(
                            f"namespace '{self.namespace}': {self._connection.lost or 'publisher gone'} and no "
                            f"publisher came back within {timeout} s"
                        )
                    if error is not None:
                        raise type(error)(str(error))
                    raise FrameTimeoutError(
                        f"no new frame on shared-memory namespace '{self.namespace}' within {timeout} s"
                    )
                self._copies.lock.wait(min(remaining, LIVENESS_CHECK_PERIOD_S))

    def _prefetch_loop(self) -> None:
        while not self._stop_prefetch.is_set():
            timeout = min(self.timeout, 0.5)
            try:
                self._wait(self._copy_newest, timeout, self._copy_timeout(timeout))
                self._prefetch_error = None
            except FrameTimeoutError:
                continue
            except Exception as error:  # reported by the next grab; the copier keeps trying to reconnect
                self._prefetch_error = error
                self._stop_prefetch.wait(0.05)

    # ------------------------------------------------------------------------------ borrowing
    def _borrow_newest(self, ring: FrameRing) -> BorrowedFrame | Miss:
        frame = self._borrowing.borrow_newest(ring, self._connection.row, self._reading())
        if isinstance(frame, BorrowedFrame):
            self._connection.beat()
        return frame

    def try_borrow(self) -> BorrowedFrame | None:
        """Borrows the newest frame if it is newer than the last one borrowed; never blocks.

        Returns:
            The frame, or None when there is no newer frame or no slot may be borrowed now.

        Raises:
            PublisherGoneError: the publisher died or stopped and none has replaced it.

        """
        frame = self._try(self._borrow_newest)
        return frame if isinstance(frame, BorrowedFrame) else None

    def borrow(self, timeout: float | None = None) -> BorrowedFrame:
        """Blocks until a frame newer than the last one borrowed is complete, then borrows it (no copy).

        The frame's slot is borrowed by this receiver until `release()` (or the end of a `with` block); the
        publisher writes other slots meanwhile and never waits. It keeps FREE_SLOTS_KEPT slots for itself,
        so receivers borrow at most `n_slots - 3` distinct frames at once (the same frame any number of
        times): when a new frame would exceed that, the borrow waits for a release, up to `timeout`.

        Raises:
            PublisherNotFoundError: no publisher appeared on the namespace within the timeout.
            PublisherGoneError: the publisher died or stopped, and no new one appeared within the timeout.
            SlotsExhaustedError: new frames came, but every slot that may be borrowed stayed borrowed (by
                this or other receivers) until the timeout.
            FrameTimeoutError: the publisher is alive but sent no new frame within the timeout.

        """
        timeout = self.timeout if timeout is None else timeout

        def timed_out(ring: FrameRing, miss: Miss) -> Exception:
            if miss is Miss.NO_ROOM:
                borrowed = ring.readers.borrowed_slots() if ring.readers else 0
                return SlotsExhaustedError(
                    f"namespace '{self.namespace}': no frame could be borrowed within {timeout} s: receivers "
                    f"borrow {bin(borrowed).count('1')} of its {ring.n_slots} slots and the publisher keeps "
                    f"{FREE_SLOTS_KEPT}; release borrowed frames sooner, or start the publisher with more n_slots"
                )
            return FrameTimeoutError(
                f"no new frame on shared-memory namespace '{self.namespace}' within {timeout} s "
                f"(the publisher is alive; last frame id borrowed {self._borrowing.last_borrowed})"
            )

        return self._wait(self._borrow_newest, timeout, timed_out)

    def _require_frame(self) -> None:
        """Makes sure a frame has been taken, grabbing one if none was (for resolution, intrinsics...)."""
        if not hasattr(self, "_camera_buffer"):
            self.grab_images()

    # ------------------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Stops the copier thread and unmaps the shared memory (the publisher's segment is left alone)."""
        self._stop_prefetch.set()
        if self._prefetcher is not None and self._prefetcher is not threading.current_thread():
            self._prefetcher.join(2.0)
        self._connection.leave()

    def __enter__(self) -> SharedMemoryReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
