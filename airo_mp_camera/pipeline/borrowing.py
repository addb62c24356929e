"""How a receiver borrows the newest frame: a BorrowedFrame of read-only views of its slot, no copy.

The receiver's reader row marks the slot borrowed (frame_ring.py, "Borrowing receiver"), so the publisher
writes other slots until the frame is released; one slot may be borrowed by several frames of this receiver
(the same frame borrowed twice), and is released with the last of them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from airo_ipc.cyclone_shm.idl_shared_memory.base_idl import BaseIdl

from airo_mp_camera.pipeline.attempt import Miss
from airo_mp_camera.pipeline.borrowed_frame import BorrowedFrame
from airo_mp_camera.pipeline.errors import SlotsExhaustedError
from airo_mp_camera.pipeline.frame_copies import READ_ATTEMPTS
from airo_mp_camera.pipeline.frame_ring import FREE_SLOTS_KEPT, BorrowOutcome, FrameRing
from airo_mp_camera.pipeline.publisher_connection import ReaderRow
from airo_mp_camera.pipeline.schemas import Schema


class Borrowing:
    """The borrowing side of one receiver: which frame it borrowed last, and each slot's wrapped views."""

    def __init__(self, namespace: str, schemas: Sequence[Schema]) -> None:
        self._namespace = namespace
        self._schemas = list(schemas)
        self._slot_buffers: dict[int, dict[str, BaseIdl]] = {}  # each slot's arrays, wrapped once per segment
        self.last_borrowed = 0  # id of the newest frame borrowed

    def adopt(self, ring: FrameRing) -> None:
        """Starts over on a newly connected segment."""
        self._slot_buffers = {}
        self.last_borrowed = 0

    def borrow_newest(self, ring: FrameRing, row: ReaderRow, reading: Sequence[str]) -> BorrowedFrame | Miss:
        """One attempt at borrowing the newest frame, if newer than the last one borrowed.

        Args:
            ring: the connected segment.
            row: this receiver's reader row, which marks the slot.
            reading: names of the schemas the receiver reads (the frame offers those).

        Raises:
            SlotsExhaustedError: the ring is too small for any slot to be borrowed.

        """
        readers = ring.readers
        assert readers is not None
        if ring.n_slots <= FREE_SLOTS_KEPT:
            raise SlotsExhaustedError(
                f"namespace '{self._namespace}': its publisher's ring has {ring.n_slots} slots and keeps "
                f"{FREE_SLOTS_KEPT} for itself, so none can be borrowed; start it with n_slots >= "
                f"{FREE_SLOTS_KEPT + 1} (or use grab_images(), which copies)"
            )
        reaped = False
        for _ in range(READ_ATTEMPTS):
            frame_id, slot = ring.latest_frame()
            if frame_id <= self.last_borrowed:
                return Miss.NOTHING_NEW
            sequence = ring.open_frame(slot, frame_id)
            if sequence is None:
                continue
            mask = row.schemas
            if ring.carried(slot) & mask != mask:
                self.last_borrowed = frame_id  # published before the publisher saw what we read
                return Miss.NOTHING_NEW
            outcome = row.borrow(ring, slot, frame_id, sequence)
            if outcome is BorrowOutcome.OVERWRITTEN:
                continue
            if outcome is BorrowOutcome.NO_ROOM:
                if not reaped and readers.reap_dead():  # slots borrowed by dead receivers are free: try again
                    reaped = True
                    continue
                return Miss.NO_ROOM
            self.last_borrowed = frame_id
            buffers = self._slot_buffers.get(slot)
            if buffers is None:
                views = ring.slot_views(slot)
                buffers = self._slot_buffers[slot] = {
                    schema.name: schema.wrap(views[schema.name]) for schema in self._schemas
                }
            schemas = [schema for schema in self._schemas if schema.name in reading]
            return BorrowedFrame(self._namespace, buffers, schemas, functools.partial(row.release, ring, slot))
        return Miss.NOTHING_NEW
