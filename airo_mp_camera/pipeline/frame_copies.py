"""Where a receiver's copies of frames go: the buffers a copy fills and a grab exposes.

Three sets of arrays, each one frame of every schema the receiver reads:
- `back`: the next copy is written here (checked against the slot's sequence lock, retried when torn);
- `ready`: with a prefetch thread, its finished copy waits here for the next grab;
- `front`: the frame the last grab returned, which the receiver's mixins read.
Without prefetch a finished copy swaps `back` and `front` at once (double buffering); with it the thread
swaps `back` and `ready`, and a grab swaps `ready` and `front` (a triple buffer: the grab costs a swap).
An array a caller still references is never written again: the copy gets a fresh one instead.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Literal

import numpy as np
from airo_ipc.cyclone_shm.idl_shared_memory.base_idl import BaseIdl

from airo_mp_camera.pipeline.attempt import Miss
from airo_mp_camera.pipeline.frame_ring import FrameRing
from airo_mp_camera.pipeline.schemas import Schema, buffer_arrays

READ_ATTEMPTS = 8  # a copy or borrow retries this often when the publisher overwrites the slot meanwhile
# References to an array we own: the buffer's attribute, the loop variable and getrefcount's argument.
_OWN_REFERENCES = 3

ArrayAllocator = Callable[[tuple[int, ...], np.dtype], np.ndarray]
"""Makes a receiver's own (zeroed or empty) array of a shape and dtype, e.g. one backed by a ROS message's storage."""

Arrays = dict[str, dict[str, np.ndarray]]  # by schema and field


def zeros(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """The default allocator: a zeroed numpy array."""
    return np.zeros(shape, dtype)


class FrameCopies:
    """The copy buffers of one receiver (see the module docstring).

    Args:
        schemas: every schema the receiver may read.
        allocator: makes the arrays copies go into.
        camera_layout: names of schemas copied in the slot's own layout, verbatim; the others are copied into
            their familiar layout (converting in the same pass where the slot holds another).
        prefetch: whether a prefetch thread copies (finished copies then wait in `ready`).
    """

    def __init__(
        self, schemas: Sequence[Schema], allocator: ArrayAllocator, camera_layout: Iterable[str], prefetch: bool
    ) -> None:
        self._schemas = list(schemas)
        self._allocator = allocator
        self._camera_layout = frozenset(camera_layout)
        self._prefetch = prefetch
        self._ring: FrameRing | None = None
        self._sources: dict[int, Arrays] = {}  # what a copy of each slot reads, built once per segment
        self.front: dict[str, BaseIdl] = {}
        self._back: dict[str, BaseIdl] = {}
        self._ready: dict[str, BaseIdl] = {}
        self.last_frame = 0  # id of the newest frame copied
        self.torn_reads = 0  # copies the sequence lock rejected (the slot was rewritten during the copy)
        self._copies = 0  # copies finished
        self._ready_copy = 0  # which of them waits in `ready`
        self._taken_copy = 0  # which of them a grab took last
        self.lock = threading.Condition()  # guards `ready` and `front` between the prefetch thread and a grab

    def adopt(self, ring: FrameRing) -> None:
        """Prepares buffers shaped for a newly connected segment; nothing is copied from it yet."""
        with self.lock:
            self._ring = ring
            self._sources = {}
            self.last_frame = 0
            self.front = self._allocate(ring)
            self._back = self._allocate(ring)
            self._ready = self._allocate(ring)
            self._taken_copy = self._ready_copy  # a frame readied from the old segment was in `ready`: gone

    def _allocate(self, ring: FrameRing) -> dict[str, BaseIdl]:
        buffers = {}
        sources = self._sources_of(ring, 0)
        for schema in self._schemas:
            arrays = {name: self._allocator(view.shape, view.dtype) for name, view in sources[schema.name].items()}
            buffers[schema.name] = schema.wrap(arrays)
        return buffers

    def _sources_of(self, ring: FrameRing, slot: int) -> Arrays:
        """What a copy of `slot` reads, by schema and field: the slot's own fields, or familiar views of them."""
        sources = self._sources.get(slot) if ring is self._ring else None
        if sources is None:
            views = ring.slot_views(slot)
            sources = {}
            for schema in self._schemas:
                buffer = schema.wrap(views[schema.name])
                keep = schema.name in self._camera_layout
                sources[schema.name] = buffer_arrays(buffer) if keep else schema.familiar_views(buffer)
            if ring is self._ring:
                self._sources[slot] = sources
        return sources

    def _writable_back(self, reading: Iterable[str]) -> Arrays:
        """The back buffers' arrays, replacing any that a caller still holds from an earlier grab."""
        destination: Arrays = {}
        reading = set(reading)
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

    def copy_newest(self, ring: FrameRing, reading: Iterable[str], mask: int) -> Literal[True] | Miss:
        """One attempt at copying the newest frame, if newer than the last one copied, into `back`.

        Then `back` becomes `front` (without prefetch; expose it) or `ready` (with prefetch; waking a waiting grab).

        Args:
            ring: the connected segment.
            reading: names of the schemas to copy.
            mask: their bitmask in the segment; a frame that lacks one of them is not this receiver's.

        """
        for _ in range(READ_ATTEMPTS):
            latest, slot = ring.latest_frame()
            if latest <= self.last_frame:
                return Miss.NOTHING_NEW
            if ring.carried(slot) & mask != mask and ring.open_frame(slot, latest) is not None:
                self.last_frame = latest  # published before the publisher saw what we read: not ours
                return Miss.NOTHING_NEW
            if ring.read_frame(slot, latest, self._writable_back(reading), self._sources_of(ring, slot)):
                self.last_frame = latest
                self._copies += 1
                if not self._prefetch:
                    self.front, self._back = self._back, self.front
                else:
                    with self.lock:
                        self._ready, self._back = self._back, self._ready
                        self._ready_copy = self._copies
                        self.lock.notify_all()
                return True
            self.torn_reads += 1
        return Miss.NOTHING_NEW

    def take_ready(self) -> bool:
        """Makes the prefetched copy `front` if it is newer than the one taken last (call under `lock`)."""
        if self._ready_copy <= self._taken_copy:
            return False
        self.front, self._ready = self._ready, self.front
        self._taken_copy = self._ready_copy
        return True
