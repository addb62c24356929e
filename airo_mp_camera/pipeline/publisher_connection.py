"""A receiver's link to its namespace's publisher: finding it, its reader row, noticing when it goes.

`PublisherConnection` maps the segment of a live publisher and registers a row in its reader table;
`check()` looks (ten times a second at most) whether that publisher stopped or died, and then leaves, so
the next attempt connects to whichever publisher comes next (`restarts` counts those). `ReaderRow` is the
row itself: the schemas this receiver reads and the slots its frames borrow, kept fresh by a heartbeat and
registered again if a publisher freed it as if its receiver were dead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping

from airo_mp_camera.pipeline.errors import PublisherGoneError, PublisherNotFoundError
from airo_mp_camera.pipeline.frame_ring import STATE_CLOSED, BorrowOutcome, FrameRing
from airo_mp_camera.pipeline.process_identity import ProcessIdentity
from airo_mp_camera.pipeline.reader_table import ReaderTable

logger = logging.getLogger(__name__)

LIVENESS_CHECK_PERIOD_S = 0.1  # how often a waiting receiver looks whether its publisher still runs
CONNECT_POLL_S = 0.01  # how often a receiver without a publisher looks for one
_BEAT_PERIOD_S = 1.0  # how often a busy receiver refreshes its reader row (it also does while it waits)


class ReaderRow:
    """A receiver's row of the reader table: the schemas it reads, the slots its frames borrow.

    `lock` guards the row's words and the borrow counts: frames are released from any thread (a `with`
    block, garbage collection) while the receiver reads or its prefetch thread beats.
    """

    def __init__(self, identity: ProcessIdentity) -> None:
        self.lock = threading.Lock()
        self._identity = identity
        self._readers: ReaderTable | None = None
        self._ring: FrameRing | None = None
        self._index = -1
        self._claim = 0
        self.schemas = 0  # bitmask of the publisher's schemas this receiver reads
        self.borrowed = 0  # bitmask of the slots this receiver's frames borrow
        self._borrows: dict[int, int] = {}  # frames borrowed per slot (one frame may be borrowed many times)

    @property
    def borrowed_slots(self) -> int:
        """How many distinct slots this receiver's unreleased frames borrow."""
        return len(self._borrows)

    def register(self, ring: FrameRing, schemas: int) -> tuple[int, int]:
        """Claims a row of `ring`'s reader table (not yet this row's: see `adopt`)."""
        assert ring.readers is not None
        return ring.readers.register(self._identity, schemas)

    def adopt(self, ring: FrameRing, index: int, claim: int, schemas: int) -> None:
        """Makes a registered row this receiver's, with nothing borrowed (under `lock`)."""
        self._ring, self._readers = ring, ring.readers
        self._index, self._claim, self.schemas = index, claim, schemas
        self.borrowed = 0
        self._borrows = {}

    def set_schemas(self, schemas: int) -> None:
        """Announces the schemas this receiver reads from now on."""
        with self.lock:
            if self._readers is None or schemas == self.schemas:
                return
            self.schemas = schemas
            self._readers.set_schemas(self._index, schemas)

    def keep_registered(self, namespace: str) -> None:
        """Refreshes the row's heartbeat, registering again (with its borrows) if it was freed as if dead."""
        with self.lock:
            readers = self._readers
            if readers is None:
                return
            if readers.owns(self._index, self._claim):
                readers.beat(self._index)
                return
            logger.warning("namespace '%s': this receiver's reader row was freed; registering again", namespace)
            self._index, self._claim = readers.register(self._identity, self.schemas)
            if self.borrowed:
                readers.set_borrowed(self._index, self.borrowed, 0)

    def borrow(self, ring: FrameRing, slot: int, frame_id: int, sequence: int) -> BorrowOutcome:
        """Borrows the slot that holds frame `frame_id` at `sequence` (once more, if a frame of it is borrowed)."""
        with self.lock:
            if self._borrows.get(slot):  # this row marks the slot already: it still holds this frame
                unchanged = ring.open_frame(slot, frame_id) == sequence
                outcome = BorrowOutcome.BORROWED if unchanged else BorrowOutcome.OVERWRITTEN
            else:
                outcome = ring.borrow_slot(slot, sequence, self._index, self.borrowed)
            if outcome is BorrowOutcome.BORROWED:
                self._borrows[slot] = self._borrows.get(slot, 0) + 1
                self.borrowed |= 1 << slot
        return outcome

    def release(self, ring: FrameRing, slot: int) -> None:
        """Releases one borrowed frame of `slot`; the slot itself once its last frame is released."""
        with self.lock:
            if ring is not self._ring:  # the receiver left that segment: nothing is borrowed there any more
                return
            count = self._borrows.get(slot, 0) - 1
            if count > 0:
                self._borrows[slot] = count
                return
            self._borrows.pop(slot, None)
            self.borrowed &= ~(1 << slot)
            ring.release_slot(self._index, self.borrowed)

    def leave(self) -> None:
        """Unregisters: the row's schemas and borrows stop counting."""
        with self.lock:
            readers = self._readers
            if readers is not None and readers.owns(self._index, self._claim):
                readers.unregister(self._index, self._claim)
            self._readers = self._ring = None
            self.borrowed = 0
            self._borrows = {}


class PublisherConnection:
    """Finds the namespace's publisher, registers this receiver's row, and notices when the publisher goes."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.ring: FrameRing | None = None
        self.row = ReaderRow(ProcessIdentity.of_this_process())
        self.generation: int | None = None  # random id of the publisher last connected to
        self.restarts = 0  # publishers connected to after the first
        self.lost: str | None = None  # why the last publisher went, until another is found
        self._last_check = 0.0
        self._last_beat = 0.0

    def connect(
        self, schemas: Mapping[str, object], reading: Iterable[str], adopt: Callable[[FrameRing], None]
    ) -> FrameRing | None:
        """Maps a live publisher's segment and registers; None while there is none.

        Args:
            schemas: every schema the receiver may read, by name (the segment must hold them all).
            reading: names of the schemas it reads now (registered in its row).
            adopt: prepares the receiver's own state for the new segment; runs under the row's lock.

        Raises:
            SchemaMismatchError, SegmentPermissionError: the publisher found cannot serve this receiver.

        """
        ring = FrameRing.attach(self.namespace, with_readers=True)
        if ring is None:
            return None
        if ring.state == STATE_CLOSED or not ring.owner().is_alive():
            ring.close()
            return None
        try:
            ring.require(schemas)
            mask = ring.mask_of(reading)
            index, claim = self.row.register(ring, mask)
        except Exception:
            ring.close()
            raise
        if self.generation is not None and ring.generation != self.generation:
            self.restarts += 1
            logger.warning("publisher of namespace '%s' restarted; frame ids start again", self.namespace)
        with self.row.lock:
            self.ring = ring
            self.row.adopt(ring, index, claim, mask)
            self.generation = ring.generation
            self.lost = None
            adopt(ring)
        return ring

    def check(self, ring: FrameRing) -> bool:
        """Whether the receiver is still connected to `ring`'s publisher, looked at every LIVENESS_CHECK_PERIOD_S.

        A publisher found stopped or dead is left (`lost` says why); a live one gets the row's heartbeat.
        """
        now = time.monotonic()
        if now - self._last_check >= LIVENESS_CHECK_PERIOD_S:
            self._last_check = now
            if ring.state == STATE_CLOSED:
                self._lose("publisher stopped")
            elif not ring.owner().is_alive():
                self._lose(f"publisher (pid {ring.owner().identity.pid}) died")
            else:
                self.row.keep_registered(self.namespace)
        return self.ring is not None

    def beat(self) -> None:
        """Keeps the reader row fresh in a receiver that always finds a frame ready (and so never waits)."""
        now = time.monotonic()
        if now - self._last_beat >= _BEAT_PERIOD_S:
            self._last_beat = now
            self.row.keep_registered(self.namespace)

    def gone_error(self) -> PublisherGoneError | None:
        """The error of a receiver whose publisher went and none replaced it; None if that is not the case."""
        if self.lost is None:
            return None
        return PublisherGoneError(f"namespace '{self.namespace}': {self.lost}")

    def absent_error(self, timeout: float) -> PublisherGoneError | PublisherNotFoundError:
        """The error of a receiver that found no publisher within `timeout` seconds."""
        if self.lost is not None:
            return PublisherGoneError(
                f"namespace '{self.namespace}': {self.lost} and no publisher came back within {timeout} s"
            )
        return PublisherNotFoundError(
            f"no camera publisher on shared-memory namespace '{self.namespace}' within {timeout} s; "
            "is it started, and under this namespace?"
        )

    def _lose(self, reason: str) -> None:
        self.leave()
        self.lost = reason
        logger.warning("namespace '%s': %s", self.namespace, reason)

    def leave(self) -> None:
        """Unregisters from the reader table and unmaps the segment (borrowed frames keep their mapping)."""
        ring, self.ring = self.ring, None
        if ring is None:
            return
        self.row.leave()
        ring.close()
