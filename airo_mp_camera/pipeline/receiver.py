"""SharedMemoryReceiver: the camera interface over a publisher's shared memory, in any process."""

from __future__ import annotations

import functools
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from airo_ipc.cyclone_shm.idl_shared_memory.base_idl import BaseIdl

from airo_mp_camera.pipeline.borrowed_frame import BorrowedFrame
from airo_mp_camera.pipeline.errors import (
    FrameTimeoutError,
    PublisherGoneError,
    PublisherNotFoundError,
    SchemaMismatchError,
    SegmentPermissionError,
    SlotsExhaustedError,
)
from airo_mp_camera.pipeline.frame_ring import FREE_SLOTS_KEPT, STATE_CLOSED, FrameRing
from airo_mp_camera.pipeline.namespace import validate_namespace
from airo_mp_camera.pipeline.process_identity import ProcessIdentity
from airo_mp_camera.pipeline.schemas import CameraSchema, Schema, buffer_arrays

logger = logging.getLogger(__name__)

_LIVENESS_CHECK_PERIOD_S = 0.1
_CONNECT_POLL_S = 0.01
_READ_ATTEMPTS = 8
_BEAT_PERIOD_S = 1.0  # how often a busy receiver refreshes its reader row (it also does while it waits)
_NO_ROOM_POLL_S = 0.005  # a borrow waiting for a slot to be released checks this often (releases wake nobody)
# Errors of a connection attempt that the next attempt will meet again (unlike a missing publisher).
_LASTING_ERRORS = (SchemaMismatchError, SegmentPermissionError)
# References to an array we own: the buffer's attribute, the loop variable and getrefcount's argument.
_OWN_REFERENCES = 3

ArrayAllocator = Callable[[tuple[int, ...], np.dtype], np.ndarray]
"""Makes a receiver's own (zeroed or empty) array of a shape and dtype, e.g. one backed by a ROS message's storage."""


def _zeros(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    return np.zeros(shape, dtype)


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

    `borrow()` lends the newest frame instead of copying it: a BorrowedFrame of read-only views of the
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
        self._camera_layout = frozenset(camera_layout)
        chosen = list(schemas)
        if not any(isinstance(schema, CameraSchema) for schema in chosen):
            chosen.insert(0, CameraSchema())
        self._schemas = chosen
        self.timeout = timeout
        self._allocator: ArrayAllocator = allocator or _zeros
        self._copied: frozenset[str] | None = None
        self._ring: FrameRing | None = None
        self._row = -1
        self._claim = 0
        self._mask = 0
        self._identity = ProcessIdentity.of_this_process()
        # Loans: how many BorrowedFrames of this receiver hold each slot of `_ring`, and their union.
        self._loans: dict[int, int] = {}
        self._slot_buffers: dict[int, dict[str, BaseIdl]] = {}  # each slot's arrays, wrapped once per ring
        self._copy_sources: dict[int, dict[str, dict[str, np.ndarray]]] = {}  # what a copy reads, per slot
        self._held = 0
        self._last_borrowed = 0
        self._loan_lock = threading.Lock()
        self._generation: int | None = None
        self._lost_publisher: str | None = None
        self._last_frame = 0
        self._front: dict[str, BaseIdl] = {}
        self._back: dict[str, BaseIdl] = {}
        self._last_liveness_check = 0.0
        self._last_beat = 0.0
        self.restarts = 0
        self.torn_reads = 0
        # Prefetch: the copier fills `_back`, then swaps it with `_ready`; a grab swaps `_ready` and `_front`.
        self._ready: dict[str, BaseIdl] = {}
        self._ready_copy = 0
        self._taken_copy = 0
        self._copies = 0
        self._prefetch_error: Exception | None = None
        self._lock = threading.Condition()
        self._stop_prefetch = threading.Event()
        self._prefetcher: threading.Thread | None = None
        self._try_connect()
        if prefetch:
            self._prefetcher = threading.Thread(
                target=self._prefetch_loop, name=f"prefetch[{self.namespace}]", daemon=True
            )
            self._prefetcher.start()

    # ------------------------------------------------------------------------------ connection
    @property
    def schemas(self) -> list[Schema]:
        """The schemas this receiver reads."""
        return list(self._schemas)

    @property
    def connected(self) -> bool:
        """Whether the receiver is mapped onto a live publisher's segment."""
        return self._ring is not None

    @property
    def publisher_generation(self) -> int | None:
        """Random id of the publisher instance last connected to (changes when the publisher restarts)."""
        return self._generation

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

    def _reading(self) -> list[str]:
        """Names of the schemas this receiver reads now."""
        names = [schema.name for schema in self._schemas]
        return names if self._copied is None else [name for name in names if name in self._copied]

    def _try_connect(self) -> bool:
        ring = FrameRing.attach(self.namespace, with_readers=True)
        if ring is None:
            return False
        if ring.state == STATE_CLOSED or not ring.owner().is_alive():
            ring.close()
            return False
        try:
            ring.require({schema.name: schema for schema in self._schemas})
            readers = ring.readers
            assert readers is not None
            mask = ring.mask_of(self._reading())
            row, claim = readers.register(self._identity, mask)
        except Exception:
            ring.close()
            raise
        if self._generation is not None and ring.generation != self._generation:
            self.restarts += 1
            logger.warning("publisher of namespace '%s' restarted; frame ids start again", self.namespace)
        with self._lock, self._loan_lock:
            self._ring = ring
            self._row, self._claim, self._mask = row, claim, mask
            self._loans = {}
            self._slot_buffers = {}
            self._copy_sources = {}
            self._held = 0
            self._last_borrowed = 0
            self._generation = ring.generation
            self._lost_publisher = None
            self._last_frame = 0
            self._front = self._allocate(ring)
            self._back = self._allocate(ring)
            self._ready = self._allocate(ring)
            self._taken_copy = self._ready_copy  # a frame readied from the old segment was in `_ready`: gone
            self._prefetch_error = None  # the copier's "publisher gone" no longer holds
        return True

    def _allocate(self, ring: FrameRing) -> dict[str, BaseIdl]:
        buffers = {}
        sources = self._sources(ring, 0)
        for schema in self._schemas:
            arrays = {name: self._allocator(view.shape, view.dtype) for name, view in sources[schema.name].items()}
            buffers[schema.name] = schema.wrap(arrays)
        return buffers

    def _sources(self, ring: FrameRing, slot: int) -> dict[str, dict[str, np.ndarray]]:
        """What a copy of `slot` reads, by schema and field: the slot's own fields, or familiar views of them."""
        sources = self._copy_sources.get(slot) if ring is self._ring else None
        if sources is None:
            views = ring.slot_views(slot)
            sources = {}
            for schema in self._schemas:
                buffer = schema.wrap(views[schema.name])
                keep = schema.name in self._camera_layout
                sources[schema.name] = buffer_arrays(buffer) if keep else schema.familiar_views(buffer)
            if ring is self._ring:
                self._copy_sources[slot] = sources
        return sources

    def _disconnect(self, reason: str) -> None:
        self._leave()
        self._lost_publisher = reason
        logger.warning("namespace '%s': %s", self.namespace, reason)

    def _check_publisher(self, ring: FrameRing) -> None:
        now = time.monotonic()
        if now - self._last_liveness_check < _LIVENESS_CHECK_PERIOD_S:
            return
        self._last_liveness_check = now
        if ring.state == STATE_CLOSED:
            self._disconnect("publisher stopped")
        elif not ring.owner().is_alive():
            self._disconnect(f"publisher (pid {ring.owner().identity.pid}) died")
        else:
            self._keep_registered(ring)

    def _maybe_beat(self, ring: FrameRing) -> None:
        """Keeps the reader row fresh in a receiver that always finds a frame ready (and so never waits)."""
        now = time.monotonic()
        if now - self._last_beat >= _BEAT_PERIOD_S:
            self._last_beat = now
            self._keep_registered(ring)

    def _keep_registered(self, ring: FrameRing) -> None:
        """Refreshes this receiver's row (heartbeat), registering again if it was freed as if dead."""
        readers = ring.readers
        assert readers is not None
        with self._loan_lock:
            if readers.owns(self._row, self._claim):
                readers.beat(self._row)
                return
            logger.warning("namespace '%s': this receiver's reader row was freed; registering again", self.namespace)
            self._row, self._claim = readers.register(self._identity, self._mask)
            if self._held:
                readers.set_held(self._row, self._held, 0)

    def _leave(self) -> None:
        """Unregisters from the reader table and unmaps the segment (borrowed frames keep their mapping)."""
        ring, self._ring = self._ring, None
        if ring is None:
            return
        with self._loan_lock:
            if ring.readers is not None and ring.readers.owns(self._row, self._claim):
                ring.readers.unregister(self._row, self._claim)
            self._loans = {}
            self._held = 0
        ring.close()

    # ------------------------------------------------------------------------------ reading
    def copy_only(self, schema_names: Iterable[str] | None) -> None:
        """Reads only these schemas (and CameraSchema) from the next grab on; None reads all again.

        The receiver registers exactly these with the publisher, which then stops retrieving and writing
        a schema no live receiver reads. The data of the other schemas is stale (from an earlier frame):
        read only what was copied. The next grab waits for a frame that carries every schema now read.
        The ROS bridge uses this to read just the streams that have subscribers.
        """
        self._copied = None if schema_names is None else frozenset(schema_names) | {CameraSchema.name}
        ring = self._ring
        if ring is None:
            return
        mask = ring.mask_of(self._reading())
        if mask != self._mask:
            readers = ring.readers
            assert readers is not None
            with self._loan_lock:
                self._mask = mask
                readers.set_schemas(self._row, mask)

    def _writable_back_buffers(self) -> dict[str, dict[str, np.ndarray]]:
        """The back buffers' arrays, replacing any that a caller still holds from an earlier grab."""
        destination: dict[str, dict[str, np.ndarray]] = {}
        reading = self._reading()
        for schema in self._schemas:
            if schema.name not in reading:
                continue
            buffer = self._back[schema.name]
            arrays = buffer_arrays(buffer)
            for name in list(arrays):
                array = getattr(buffer, name)
                if sys.getrefcount(array) > _OWN_REFERENCES + 1:  # + the `arrays` dict
                    fresh = self._allocator(array.shape, array.dtype)
                    setattr(buffer, name, fresh)
                    arrays[name] = fresh
                del array
            destination[schema.name] = arrays
        return destination

    def _take_newest(self, ring: FrameRing) -> bool:
        for _ in range(_READ_ATTEMPTS):
            latest, slot = ring.latest_frame()
            if latest <= self._last_frame:
                return False
            mask = self._mask
            if ring.carried(slot) & mask != mask and ring.open_frame(slot, latest) is not None:
                self._last_frame = latest  # published before the publisher saw what we read: not ours
                return False
            if ring.read_frame(slot, latest, self._writable_back_buffers(), self._sources(ring, slot)):
                self._last_frame = latest
                self._maybe_beat(ring)
                self._copies += 1
                if self._prefetcher is None:
                    self._front, self._back = self._back, self._front
                    self._expose_front()
                else:
                    with self._lock:
                        self._ready, self._back = self._back, self._ready
                        self._ready_copy = self._copies
                        self._lock.notify_all()
                return True
            self.torn_reads += 1
        return False

    def _expose_front(self) -> None:
        for schema in self._schemas:
            schema.read_into_receiver(self._front[schema.name], self)

    def _take_prefetched(self) -> bool:
        """Swaps in the frame the copier finished, if it is newer than the one last returned (under the lock)."""
        if self._ready_copy <= self._taken_copy:
            return False
        self._front, self._ready = self._ready, self._front
        self._taken_copy = self._ready_copy
        self._expose_front()
        return True

    def _prefetch_loop(self) -> None:
        while not self._stop_prefetch.is_set():
            try:
                self._wait_and_copy(min(self.timeout, 0.5))
                self._prefetch_error = None
            except FrameTimeoutError:
                continue
            except Exception as error:  # reported by the next grab; the copier keeps trying to reconnect
                self._prefetch_error = error
                self._stop_prefetch.wait(0.05)

    def try_grab_images(self) -> bool:
        """Takes the newest complete frame if it is newer than the last one returned; never blocks.

        Returns:
            True when a new frame was taken; False when there is none (the previous frame stays).

        Raises:
            PublisherGoneError: the publisher died or stopped and none has replaced it.

        """
        if self._prefetcher is not None:
            with self._lock:
                if self._take_prefetched():
                    return True
            if self._prefetch_error is not None and not isinstance(self._prefetch_error, PublisherNotFoundError):
                raise self._prefetch_error
            return False
        ring = self._ring
        if ring is None:
            if not self._try_connect():
                if self._lost_publisher is not None:
                    raise PublisherGoneError(f"namespace '{self.namespace}': {self._lost_publisher}")
                return False
            ring = self._ring
            assert ring is not None
        if self._take_newest(ring):
            return True
        self._check_publisher(ring)
        if self._ring is None:
            return self.try_grab_images()
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
            self._wait_and_copy(timeout)
            return
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self._take_prefetched():
                error = self._prefetch_error
                if isinstance(error, _LASTING_ERRORS):  # waiting cannot cure these: say so at once
                    raise type(error)(str(error))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    if isinstance(error, PublisherGoneError):
                        raise PublisherGoneError(
                            f"namespace '{self.namespace}': {self._lost_publisher or 'publisher gone'} and no "
                            f"publisher came back within {timeout} s"
                        )
                    if error is not None:
                        raise type(error)(str(error))
                    raise FrameTimeoutError(
                        f"no new frame on shared-memory namespace '{self.namespace}' within {timeout} s"
                    )
                self._lock.wait(min(remaining, _LIVENESS_CHECK_PERIOD_S))

    def _connected_ring(self, deadline: float, timeout: float) -> FrameRing | None:
        """The ring, connecting (again) if needed; None after a short pause while there is no publisher yet.

        Raises:
            PublisherGoneError, PublisherNotFoundError: still no publisher at `deadline`.

        """
        if self._ring is not None or self._try_connect():
            return self._ring
        if time.monotonic() >= deadline:
            if self._lost_publisher is not None:
                raise PublisherGoneError(
                    f"namespace '{self.namespace}': {self._lost_publisher} and no publisher came back "
                    f"within {timeout} s"
                )
            raise PublisherNotFoundError(
                f"no camera publisher on shared-memory namespace '{self.namespace}' within {timeout} s; "
                "is it started, and under this namespace?"
            )
        time.sleep(_CONNECT_POLL_S)
        return None

    def _wait_and_copy(self, timeout: float) -> None:
        """Waits until a newer frame is complete and copies it (connecting and reconnecting as needed)."""
        deadline = time.monotonic() + timeout
        while True:
            ring = self._connected_ring(deadline, timeout)
            if ring is None:
                continue
            seen = ring.futex.value
            if self._take_newest(ring):
                return
            self._check_publisher(ring)
            if self._ring is None:
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FrameTimeoutError(
                    f"no new frame on shared-memory namespace '{self.namespace}' within {timeout} s "
                    f"(the publisher is alive; last frame id {self._last_frame})"
                )
            ring.futex.wait_while(seen, min(remaining, _LIVENESS_CHECK_PERIOD_S))

    # ------------------------------------------------------------------------------ borrowing
    def try_borrow(self) -> BorrowedFrame | None:
        """Borrows the newest frame if it is newer than the last one borrowed; never blocks.

        Returns:
            The frame, or None when there is no newer frame or no slot may be lent now.

        Raises:
            PublisherGoneError: the publisher died or stopped and none has replaced it.

        """
        ring = self._ring
        if ring is None:
            if not self._try_connect():
                if self._lost_publisher is not None:
                    raise PublisherGoneError(f"namespace '{self.namespace}': {self._lost_publisher}")
                return None
            ring = self._ring
            assert ring is not None
        frame = self._lend_newest(ring)
        if isinstance(frame, BorrowedFrame):
            return frame
        self._check_publisher(ring)
        if self._ring is None:
            return self.try_borrow()
        return None

    def borrow(self, timeout: float | None = None) -> BorrowedFrame:
        """Blocks until a frame newer than the last one borrowed is complete, then lends it (no copy).

        The frame's slot is held for this receiver until `release()` (or the end of a `with` block); the
        publisher writes other slots meanwhile and never waits. It keeps FREE_SLOTS_KEPT slots for itself,
        so receivers hold at most `n_slots - 3` distinct frames at once (any number of loans of the same
        frame): when a new frame would exceed that, the borrow waits for a release, up to `timeout`.

        Raises:
            PublisherNotFoundError: no publisher appeared on the namespace within the timeout.
            PublisherGoneError: the publisher died or stopped, and no new one appeared within the timeout.
            SlotsExhaustedError: new frames came, but every slot that may be lent stayed held (by this or
                other receivers) until the timeout.
            FrameTimeoutError: the publisher is alive but sent no new frame within the timeout.

        """
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        no_room = False
        while True:
            ring = self._connected_ring(deadline, timeout)
            if ring is None:
                continue
            seen = ring.futex.value
            frame = self._lend_newest(ring)
            if isinstance(frame, BorrowedFrame):
                return frame
            no_room = frame == "no_room"
            self._check_publisher(ring)
            if self._ring is None:
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if no_room:
                    raise SlotsExhaustedError(
                        f"namespace '{self.namespace}': no frame could be lent within {timeout} s: receivers hold "
                        f"{bin(ring.readers.held_slots() if ring.readers else 0).count('1')} of its {ring.n_slots} "
                        f"slots and the publisher keeps {FREE_SLOTS_KEPT}; release borrowed frames sooner, or start "
                        "the publisher with more n_slots"
                    )
                raise FrameTimeoutError(
                    f"no new frame on shared-memory namespace '{self.namespace}' within {timeout} s "
                    f"(the publisher is alive; last frame id borrowed {self._last_borrowed})"
                )
            if no_room:
                time.sleep(min(remaining, _NO_ROOM_POLL_S))
            else:
                ring.futex.wait_while(seen, min(remaining, _LIVENESS_CHECK_PERIOD_S))

    def _lend_newest(self, ring: FrameRing) -> BorrowedFrame | str:
        """One attempt at lending the newest frame: the frame, or "none" (nothing newer) or "no_room"."""
        readers = ring.readers
        assert readers is not None
        if ring.n_slots <= FREE_SLOTS_KEPT:
            raise SlotsExhaustedError(
                f"namespace '{self.namespace}': its publisher's ring has {ring.n_slots} slots and keeps "
                f"{FREE_SLOTS_KEPT} for itself, so it can lend none; start it with n_slots >= {FREE_SLOTS_KEPT + 1} "
                "(or use grab_images(), which copies)"
            )
        reaped = False
        for _ in range(_READ_ATTEMPTS):
            frame_id, slot = ring.latest_frame()
            if frame_id <= self._last_borrowed:
                return "none"
            sequence = ring.open_frame(slot, frame_id)
            if sequence is None:
                continue
            mask = self._mask
            if ring.carried(slot) & mask != mask:
                self._last_borrowed = frame_id  # published before the publisher saw what we read
                return "none"
            with self._loan_lock:
                if self._loans.get(slot):  # this receiver holds the slot already: it still holds this frame
                    outcome = "held" if ring.open_frame(slot, frame_id) == sequence else "overwritten"
                else:
                    outcome = ring.hold(slot, sequence, self._row, self._held)
                if outcome == "held":
                    self._loans[slot] = self._loans.get(slot, 0) + 1
                    self._held |= 1 << slot
            if outcome == "overwritten":
                continue
            if outcome == "no_room":
                if not reaped and readers.reap_dead():  # loans of dead receivers are freed: try again
                    reaped = True
                    continue
                return "no_room"
            self._last_borrowed = frame_id
            self._maybe_beat(ring)
            buffers = self._slot_buffers.get(slot)
            if buffers is None:
                views = ring.slot_views(slot)
                buffers = self._slot_buffers[slot] = {
                    schema.name: schema.wrap(views[schema.name]) for schema in self._schemas
                }
            reading = self._reading()
            schemas = [schema for schema in self._schemas if schema.name in reading]
            return BorrowedFrame(self.namespace, buffers, schemas, functools.partial(self._give_back, ring, slot))
        return "none"

    def _give_back(self, ring: FrameRing, slot: int) -> None:
        """Ends one loan of `slot` (a BorrowedFrame's release)."""
        with self._loan_lock:
            if ring is not self._ring:  # the receiver left that segment: nothing is held there any more
                return
            count = self._loans.get(slot, 0) - 1
            if count > 0:
                self._loans[slot] = count
                return
            self._loans.pop(slot, None)
            self._held &= ~(1 << slot)
            ring.unhold(self._row, self._held)

    @property
    def borrowed_slots(self) -> int:
        """How many distinct slots this receiver's unreleased BorrowedFrames hold."""
        return len(self._loans)

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
        self._leave()

    def __enter__(self) -> SharedMemoryReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
