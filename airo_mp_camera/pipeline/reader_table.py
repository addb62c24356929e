"""The reader table: which receivers are attached to a namespace, what each reads, which slots each borrows.

It lives in a small segment of its own, `/dev/shm/airo_mp_camera.<namespace>.readers`, next to the frame
segment, because receivers write it while they map the frames read-only (a receiver of another user may
read frames, given `segment_mode`, and then may write its own row here, never a frame). The publisher
creates it before it marks the frame segment live and removes it with the frame segment.

Layout: a copy of the frame segment's header (SEGMENT_HEADER: the same magic, owner and generation, so
whatever judges a segment by its owner judges its table alike; the publisher refreshes its heartbeat and
marks it closed), then `CAPACITY` rows of `READER_ROW` (64 bytes each, one cache line).

Protocol (who writes which word, in which order):
- `claim` is `(claim count << 32) | pid`; pid 0 means free. A receiver takes a free row by
  compare-and-swap (sequentially consistent) with a "setting up" bit, so two receivers never share a row;
  the claim count makes a row freed and taken again look different (no ABA). Only the owner writes the
  other words of its row, after its claim, then clears the setting-up bit (release):
  `start_time`/`pid_namespace` (who it is), `schemas` (bit i: the publisher's schema i), `borrowed`
  (bit s: the owner borrows slot s), `heartbeat`.
- The publisher reads `claim`, `schemas` and `borrowed` of every row after a fence (see frame_ring.py for the
  handshake that keeps a borrowed slot from being written). Rows whose pid is 0 do not count.
- The living clean up the dead: the publisher (twice a second) and a borrower refused a slot free every row
  whose process is dead (pid and start time in this pid namespace; across pid namespaces, a heartbeat older
  than `READER_HEARTBEAT_STALE_S`) by compare-and-swap of its claim word to free. A dead reader's
  schemas and borrowed slots then stop counting.

Aligned 64-bit words are read and written with single-copy atomic accesses (libatomic, or numpy's
aligned 8-byte loads) on x86-64 and aarch64; the order comes from the fences named above.
"""

from __future__ import annotations

import mmap
import os
import time
import warnings

import numpy as np

from airo_mp_camera.pipeline import atomics
from airo_mp_camera.pipeline.errors import SharedMemoryCameraError
from airo_mp_camera.pipeline.process_identity import ProcessIdentity
from airo_mp_camera.pipeline.segment_layout import MAGIC, SEGMENT_HEADER, STATE_CLOSED, STATE_LIVE

READERS_SUFFIX = ".readers"
CAPACITY = 64
READER_HEARTBEAT_STALE_S = 10.0
_PID_MASK = 0xFFFFFFFF
_SETTING_UP = 0x80000000  # in the claim word while the new owner writes who it is (pids stay below 2**22)
_OWNER_MASK = _PID_MASK & ~_SETTING_UP

READER_ROW = np.dtype(
    {
        "names": ["claim", "start_time", "pid_namespace", "schemas", "borrowed", "heartbeat"],
        "formats": ["<u8", "<u8", "<u8", "<u8", "<u8", "<f8"],
        "offsets": [0, 8, 16, 24, 32, 40],
        "itemsize": 64,
    }
)
"""One receiver: claim word, process start time, pid namespace, schema bitmask, borrowed-slot bitmask, heartbeat."""

TABLE_BYTES = SEGMENT_HEADER.itemsize + CAPACITY * READER_ROW.itemsize
_FIELD = {name: int(spec[1]) for name, spec in (READER_ROW.fields or {}).items()}


class ReaderTableFullError(SharedMemoryCameraError):
    """Every row of a namespace's reader table is taken by a live receiver."""


def readers_path(segment_path: str) -> str:
    """Path of the reader table that belongs to a frame segment."""
    return segment_path + READERS_SUFFIX


def readers_mode(segment_mode: int) -> int:
    """The table's mode: whoever may read the frames may also write its own row."""
    return segment_mode | ((segment_mode & 0o044) >> 1)


class ReaderTable:
    """A mapped reader table (the publisher creates it; each receiver maps it to keep its own row)."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        try:
            self._mmap = mmap.mmap(fd, TABLE_BYTES, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)
        self._header = np.ndarray((), SEGMENT_HEADER, buffer=self._mmap)
        self.rows = np.ndarray((CAPACITY,), READER_ROW, buffer=self._mmap, offset=SEGMENT_HEADER.itemsize)
        # The same rows as 64-bit words (row, word), for the publisher's and borrowers' per-frame unions.
        self._words = np.ndarray(
            (CAPACITY, READER_ROW.itemsize // 8), "<u8", buffer=self._mmap, offset=SEGMENT_HEADER.itemsize
        )
        self._base = np.frombuffer(self._mmap, dtype=np.uint8, count=1).ctypes.data + SEGMENT_HEADER.itemsize

    @classmethod
    def create(cls, path: str, segment_header: np.ndarray, mode: int) -> ReaderTable:
        """Creates (replacing a stale one) the table of a frame segment whose creator owns the namespace.

        Args:
            path: the table's path (`readers_path` of the segment's).
            segment_header: the segment's header (SEGMENT_HEADER), copied as the table's own.
            mode: the segment's mode (see `readers_mode`).

        """
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, mode)
        try:
            os.fchmod(fd, readers_mode(mode))
            os.ftruncate(fd, TABLE_BYTES)
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        table = cls(path, fd)
        table._header[()] = segment_header
        table._header["state"] = STATE_LIVE
        return table

    @classmethod
    def attach(cls, path: str, generation: int) -> ReaderTable | None:
        """Maps the table of the frame segment of `generation`; None when it is missing or another's.

        Raises:
            PermissionError: this user may not write the table.

        """
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return None
        if os.fstat(fd).st_size < TABLE_BYTES:
            os.close(fd)
            return None
        table = cls(path, fd)
        if bytes(table._header["magic"]) != MAGIC or int(table._header["generation"]) != generation:
            table.close()
            return None
        return table

    # ------------------------------------------------------------------------------ one row
    def _address(self, row: int, field: str) -> int:
        return self._base + row * READER_ROW.itemsize + _FIELD[field]

    def register(self, identity: ProcessIdentity, schemas: int) -> tuple[int, int]:
        """Claims a free row for a receiver of this process reading `schemas` (a bitmask).

        Returns:
            The row index and the claim word, which the owner keeps to recognise its row.

        Raises:
            ReaderTableFullError: CAPACITY live receivers are attached already.

        """
        for attempt in range(2):
            for row in range(CAPACITY):
                address = self._address(row, "claim")
                word = atomics.load(address, atomics.ACQUIRE)
                if word & _PID_MASK:
                    continue
                claim = (((word >> 32) + 1) & _PID_MASK) << 32 | identity.pid
                if atomics.compare_exchange(address, word, claim | _SETTING_UP):
                    self.rows[row]["start_time"] = identity.start_time
                    self.rows[row]["pid_namespace"] = identity.pid_namespace
                    self.rows[row]["heartbeat"] = time.time()
                    atomics.store(self._address(row, "borrowed"), 0, atomics.RELAXED)
                    atomics.store(self._address(row, "schemas"), schemas, atomics.RELAXED)
                    atomics.store(address, claim, atomics.SEQ_CST)
                    return row, claim
            if attempt == 0:
                self.reap_dead()
        raise ReaderTableFullError(f"all {CAPACITY} rows of the reader table {self.path} are taken by live receivers")

    def owns(self, row: int, claim: int) -> bool:
        """Whether the row still carries this claim (it is freed if its owner was judged dead)."""
        return atomics.load(self._address(row, "claim"), atomics.ACQUIRE) == claim

    def set_schemas(self, row: int, schemas: int) -> None:
        """The owner announces the schemas it reads from now on (sequentially consistent store)."""
        atomics.store(self._address(row, "schemas"), schemas, atomics.SEQ_CST)

    def set_borrowed(self, row: int, borrowed: int, order: int) -> None:
        """The owner announces the slots it borrows; RELEASE when releasing a slot, RELAXED when marking one."""
        atomics.store(self._address(row, "borrowed"), borrowed, order)

    def set_held(self, row: int, held: int, order: int) -> None:
        """Deprecated name of `set_borrowed`."""
        warnings.warn("ReaderTable.set_held is deprecated; use ReaderTable.set_borrowed", DeprecationWarning, 2)
        self.set_borrowed(row, held, order)

    def beat(self, row: int) -> None:
        """The owner says it is alive (judged by this across pid namespaces only)."""
        self.rows[row]["heartbeat"] = time.time()

    def unregister(self, row: int, claim: int) -> None:
        """The owner leaves: its borrows and schemas stop counting."""
        atomics.store(self._address(row, "borrowed"), 0, atomics.RELEASE)
        free = claim & ~_PID_MASK
        atomics.compare_exchange(self._address(row, "claim"), claim, free)

    # ------------------------------------------------------------------------------ all rows
    def live_rows(self) -> np.ndarray:
        """A snapshot of the claimed rows (call after the fence your protocol needs)."""
        snapshot = self.rows.copy()
        return snapshot[(snapshot["claim"] & _PID_MASK) != 0]

    def _union(self, field: str) -> int:
        words = self._words
        live = (words[:, _FIELD["claim"] // 8] & np.uint64(_PID_MASK)) != 0
        return int(np.bitwise_or.reduce(words[live, _FIELD[field] // 8], initial=np.uint64(0)))

    def schemas_read(self) -> int:
        """Union of the schema bitmasks of every claimed row."""
        return self._union("schemas")

    def borrowed_slots(self) -> int:
        """Union of the borrowed-slot bitmasks of every claimed row."""
        return self._union("borrowed")

    def held_slots(self) -> int:
        """Deprecated name of `borrowed_slots`."""
        warnings.warn("ReaderTable.held_slots is deprecated; use ReaderTable.borrowed_slots", DeprecationWarning, 2)
        return self.borrowed_slots()

    def reap_dead(self) -> int:
        """Frees the rows of dead receivers; returns how many."""
        freed = 0
        now = time.time()
        for row in range(CAPACITY):
            address = self._address(row, "claim")
            word = atomics.load(address, atomics.ACQUIRE)
            pid = word & _PID_MASK
            if not pid:
                continue
            entry = self.rows[row].copy()
            if pid & _SETTING_UP:  # its owner has not written who it is yet: judge by the pid alone
                identity = ProcessIdentity(pid & _OWNER_MASK, 0, ProcessIdentity.of_this_process().pid_namespace)
            else:
                identity = ProcessIdentity(pid, int(entry["start_time"]), int(entry["pid_namespace"]))
            alive = identity.is_alive()
            if alive is None:
                alive = now - float(entry["heartbeat"]) < READER_HEARTBEAT_STALE_S
            if not alive and atomics.compare_exchange(address, word, word & ~_PID_MASK):
                freed += 1
        return freed

    def owner_beat(self, now: float) -> None:
        """The publisher's heartbeat, repeated in the table's header copy."""
        self._header["heartbeat"] = now

    def close(self, unlink: bool = False) -> None:
        """Unmaps the table; the publisher also marks it closed and removes it."""
        if unlink:
            self._header["state"] = STATE_CLOSED
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        del self._header, self.rows, self._words
        try:
            self._mmap.close()
        except BufferError:
            pass
