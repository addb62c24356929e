"""The shared-memory transport: one segment per namespace holding a ring of frame slots.

Layout of a segment (little-endian), each part declared once below as a numpy structured dtype:

    SEGMENT_HEADER  (128 bytes)  who owns the segment, its state, the futex word, the newest frame
    layout          (JSON)       where each schema's fields sit in a slot
    slot 0          SLOT_HEADER (64 bytes), then every schema's buffer fields, 64-byte aligned
    slot 1 ...      (slots start 4096-aligned)

Next to it, a reader table (reader_table.py) lists the live receivers: the schemas each reads and the
slots each borrows. A frame is one slot: every schema of one grab lives in the same slot, so a receiver
can never mix streams of two frames. The publisher loans itself a slot that is neither the newest nor
borrowed, writes into it only the schemas some live receiver reads (`carried` records which) and publishes
it; a receiver copies the newest frame, or borrows its slot and releases it when done.

The module is one file because the protocol below is one handshake between the publisher's and the
receivers' steps on the same words; the segment files (paths, owners, stale ones) are segment_files.py's.

Protocol. "store-release" / "load-acquire" are libatomic's ordered 64-bit accesses (atomics.py);
"fence" is `atomic_thread_fence`. x86-64 would keep most of these orders by itself, aarch64 does not.

Publisher, per frame (the only writer of the header and of every slot):
  1. grab; read the reader table: `wanted` = CameraSchema | union of the live rows' `schemas`.
  2. loan slot S (`loan_slot`): not the newest, not in the union of the rows' `borrowed`; the oldest frame
     first.
  3. store S.seq odd (relaxed); fence SEQ_CST; read the rows' `borrowed` again. If S is borrowed now, a
     receiver marked it meanwhile: store S.seq even again and pick another slot. Then fence ACQUIRE (the
     loads of `borrowed` happen before any data store). No slot free: the frame is dropped (`frames_dropped`).
  4. write the data of `wanted` into S; store S.frame_id, S.carried.
  5. store-release S.seq even (orders every data store before it).
  6. store-release header.latest = frame_id << 8 | S; futex word, wake (a system call: a full barrier).

Copying receiver (sequence lock):
  1. load-acquire header.latest -> frame F in slot S; load-acquire S.seq -> q; q odd, or S.frame_id
     not F: the slot is being rewritten, try the newest again. S.carried lacking a schema it reads:
     not its frame, wait for the next.
  2. copy the data; fence ACQUIRE (the copy's loads happen before the next load); load S.seq: equal
     to q, the copy is whole; otherwise retry.

Borrowing receiver (`borrow_slot`, then `release_slot`):
  1. as the copying receiver's step 1.
  2. store its row's `borrowed` with bit S set (relaxed); fence SEQ_CST; load S.seq: not q, the publisher
     took the slot first: clear the bit, retry. Publisher step 3 and this step are a store-fence-load
     handshake on two words: whichever comes second sees the other's store, so a slot is never both
     written and borrowed.
  3. count the slots borrowed by every row: fewer than FREE_SLOTS_KEPT left: clear the bit, and wait (the
     publisher keeps its free slots; the borrow waits for a release or its timeout).
  4. read-only views of S's arrays. Release: fence RELEASE (reads of the frame happen before), then
     store its row's `borrowed` without bit S.

This is hand-written rather than airo-ipc's SMWriter/SMReader because it is the hot path: airo-ipc
copies each frame twice on the writer side, signals through DDS (polling, network traffic) and has no
sequence lock; its BaseIdl buffers still describe the data.
"""

from __future__ import annotations

import enum
import json
import mmap
import os
import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from airo_mp_camera.pipeline import atomics
from airo_mp_camera.pipeline.errors import NamespaceInUseError, SchemaMismatchError, SegmentPermissionError
from airo_mp_camera.pipeline.futex import FutexWord
from airo_mp_camera.pipeline.namespace import validate_namespace
from airo_mp_camera.pipeline.pixel_copy import copy_array
from airo_mp_camera.pipeline.process_identity import ProcessIdentity
from airo_mp_camera.pipeline.reader_table import ReaderTable, readers_path
from airo_mp_camera.pipeline.segment_files import (
    HEARTBEAT_STALE_S,
    SHM_DIR,
    SegmentOwner,
    describe_file,
    owner_from,
    read_owner,
    reclaim_stale_segments,
    reserve_memory,
    segment_path,
)
from airo_mp_camera.pipeline.segment_layout import (
    FORMAT_VERSION,
    MAGIC,
    SEGMENT_HEADER,
    SLOT_HEADER,
    STATE_CLOSED,
    STATE_LIVE,
    STATE_STARTING,
    field_offsets,
)

__all__ = [  # the segment files' names are imported from here too
    "FREE_SLOTS_KEPT",
    "HEARTBEAT_PERIOD_S",
    "HEARTBEAT_STALE_S",
    "SHM_DIR",
    "BorrowOutcome",
    "FrameRing",
    "SegmentOwner",
    "build_layout",
    "read_owner",
    "reclaim_stale_segments",
    "segment_path",
]

ALIGN = 64
HEARTBEAT_PERIOD_S = 0.5  # how often a live publisher refreshes the heartbeat, frames or not
MAX_SLOTS = 64  # a row's `borrowed` is a 64-bit mask
FREE_SLOTS_KEPT = 3  # slots never borrowed: the one being written, the newest, and the one before it


_LAYOUT = SEGMENT_HEADER.itemsize
SLOT_HEADER_BYTES = SLOT_HEADER.itemsize
_HEADER_FIELD = field_offsets(SEGMENT_HEADER)
_SEQ = field_offsets(SLOT_HEADER)["seq"]
_SLOT_LATEST_BITS = 8

FieldViews = dict[str, np.ndarray]


class BorrowOutcome(enum.Enum):
    """What `FrameRing.borrow_slot` did."""

    BORROWED = "borrowed"  # the slot is the receiver's until it releases it
    OVERWRITTEN = "overwritten"  # the publisher took the slot first: the frame is gone
    NO_ROOM = "no room"  # borrowing it would leave the publisher fewer than FREE_SLOTS_KEPT slots


Layout = dict[str, dict[str, dict[str, Any]]]


def _align(value: int, to: int = ALIGN) -> int:
    return (value + to - 1) // to * to


def build_layout(fields: Mapping[str, Mapping[str, np.ndarray]]) -> tuple[Layout, int]:
    """Places every schema's fields in a slot; returns the layout and the slot size in bytes."""
    layout: Layout = {}
    offset = SLOT_HEADER_BYTES
    for schema_name, arrays in fields.items():
        layout[schema_name] = {}
        for field_name, array in arrays.items():
            layout[schema_name][field_name] = {
                "offset": offset,
                "shape": list(array.shape),
                "dtype": array.dtype.str,
            }
            offset = _align(offset + array.nbytes)
    return layout, _align(offset, 4096)


class FrameRing:
    """A mapped segment: the writer side (`create`) or a reader side (`attach`), with its reader table."""

    def __init__(self, namespace: str, path: str, fd: int, writable: bool) -> None:
        atomics.require()
        self.namespace = validate_namespace(namespace)
        self.path = path
        self._writable = writable
        try:
            size = os.fstat(fd).st_size
            self._mmap = mmap.mmap(fd, size, prot=mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0))
        finally:
            os.close(fd)
        self.size = size
        self._header = np.ndarray((), SEGMENT_HEADER, buffer=self._mmap)
        self._header_address = np.frombuffer(self._mmap, dtype=np.uint8, count=1).ctypes.data
        self.futex = FutexWord(np.ndarray((1,), "<u4", buffer=self._mmap, offset=_HEADER_FIELD["futex"]))
        self.readers: ReaderTable | None = None
        self.layout: Layout = {}
        self.schema_bits: dict[str, int] = {}
        self.n_slots = 0
        self.slot_size = 0
        self._slot_offset = 0
        self._slots: list[dict[str, FieldViews]] = []
        self._slot_headers: list[np.ndarray] = []
        self._seq_addresses: list[int] = []

    # ----------------------------------------------------------------------------------- creation
    @classmethod
    def create(
        cls,
        namespace: str,
        fields: Mapping[str, Mapping[str, np.ndarray]],
        n_slots: int = 3,
        mode: int = 0o600,
    ) -> FrameRing:
        """Creates the namespace's segment and reader table, reclaiming those left by a dead publisher.

        Raises:
            NamespaceInUseError: a live publisher owns the namespace.

        """
        if not 2 <= n_slots <= MAX_SLOTS:
            raise ValueError(f"a frame ring needs 2 to {MAX_SLOTS} slots, not {n_slots}")
        atomics.require()
        path = segment_path(namespace)
        layout, slot_size = build_layout(fields)
        layout_bytes = json.dumps(layout).encode()
        slot_offset = _align(_LAYOUT + len(layout_bytes), 4096)
        size = slot_offset + n_slots * slot_size
        fd = cls._create_exclusive(namespace, path, mode)
        try:
            os.fchmod(fd, mode)  # the umask must not narrow (or widen) what the user asked for
            os.ftruncate(fd, size)
            reserve_memory(fd, size, namespace)
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        ring = cls(namespace, path, fd, writable=True)
        me = ProcessIdentity.of_this_process()
        header = ring._header
        header["magic"] = MAGIC
        header["version"] = FORMAT_VERSION
        header["state"] = STATE_STARTING
        header["n_slots"] = n_slots
        header["pid"] = me.pid
        header["pid_start"] = me.start_time
        header["pid_namespace"] = me.pid_namespace
        header["generation"] = int.from_bytes(os.urandom(8), "little") >> 1
        header["heartbeat"] = time.time()
        header["slot_offset"] = slot_offset
        header["slot_size"] = slot_size
        header["layout_len"] = len(layout_bytes)
        ring._mmap[_LAYOUT : _LAYOUT + len(layout_bytes)] = layout_bytes
        try:
            ring.readers = ReaderTable.create(readers_path(path), ring._header, mode)
        except BaseException:
            ring.close(unlink=True)
            raise
        ring._map_slots()
        atomics.fence(atomics.RELEASE)  # everything above is visible before a receiver sees LIVE
        header["state"] = STATE_LIVE
        return ring

    @classmethod
    def _create_exclusive(cls, namespace: str, path: str, mode: int) -> int:
        for _ in range(3):
            try:
                return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, mode)
            except FileExistsError:
                try:
                    owner = read_owner(path)
                except PermissionError:
                    raise NamespaceInUseError(
                        f"shared-memory namespace '{validate_namespace(namespace)}' is held by "
                        f"{describe_file(path)}, which this user cannot read; stop that publisher or choose "
                        "another namespace"
                    ) from None
                if owner is not None and owner.is_alive():
                    raise NamespaceInUseError(
                        f"shared-memory namespace '{validate_namespace(namespace)}' is in use by a live publisher "
                        f"(pid {owner.identity.pid}); stop it or choose another namespace"
                    ) from None
                try:
                    os.unlink(path)  # stale: left by a publisher that was killed
                except FileNotFoundError:
                    pass
        raise NamespaceInUseError(f"could not create the segment of namespace '{namespace}': it keeps reappearing")

    # ----------------------------------------------------------------------------------- attaching
    @classmethod
    def attach(cls, namespace: str, with_readers: bool = False) -> FrameRing | None:
        """Maps the namespace's segment read-only; None while it does not exist or is still starting.

        Args:
            namespace: the publisher's namespace.
            with_readers: also map the reader table (writable), as a receiver that registers does.

        Raises:
            SegmentPermissionError: this user may not read the segment, or not write its reader table.
            SchemaMismatchError: the segment has another format version.

        """
        path = segment_path(namespace)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except PermissionError:
            raise SegmentPermissionError(
                f"shared-memory namespace '{validate_namespace(namespace)}' is {describe_file(path)}, which this "
                "user may not read; start its publisher with segment_mode=0o640 (a group both users are in) or "
                "0o644 (every local user)"
            ) from None
        if os.fstat(fd).st_size < _LAYOUT:
            os.close(fd)
            return None
        ring = cls(namespace, path, fd, writable=False)
        if bytes(ring._header["magic"]) != MAGIC or ring.state == STATE_STARTING:
            ring.close()
            return None
        atomics.fence(atomics.ACQUIRE)  # pairs with the release before LIVE
        if int(ring._header["version"]) != FORMAT_VERSION:
            version = int(ring._header["version"])
            ring.close()
            raise SchemaMismatchError(
                f"namespace '{namespace}' uses segment format {version}; this receiver reads format {FORMAT_VERSION}"
            )
        if with_readers:
            try:
                ring.readers = ReaderTable.attach(readers_path(path), ring.generation)
            except PermissionError:
                ring.close()
                raise SegmentPermissionError(
                    f"shared-memory namespace '{validate_namespace(namespace)}': this user may read the frames but "
                    f"not write its row of the reader table {describe_file(readers_path(path))}"
                ) from None
            if ring.readers is None:
                ring.close()
                return None
        ring._map_slots()
        return ring

    def _map_slots(self) -> None:
        self.n_slots = int(self._header["n_slots"])
        self.slot_size = int(self._header["slot_size"])
        self._slot_offset = int(self._header["slot_offset"])
        layout_len = int(self._header["layout_len"])
        self.layout = json.loads(bytes(self._mmap[_LAYOUT : _LAYOUT + layout_len]))
        self.schema_bits = {name: 1 << index for index, name in enumerate(self.layout)}
        for slot in range(self.n_slots):
            base = self._slot_offset + slot * self.slot_size
            self._slot_headers.append(np.ndarray((), SLOT_HEADER, buffer=self._mmap, offset=base))
            self._seq_addresses.append(self._header_address + base + _SEQ)
            views: dict[str, FieldViews] = {}
            for schema_name, schema_fields in self.layout.items():
                views[schema_name] = {
                    name: np.ndarray(
                        tuple(spec["shape"]),
                        dtype=np.dtype(spec["dtype"]),
                        buffer=self._mmap,
                        offset=base + spec["offset"],
                    )
                    for name, spec in schema_fields.items()
                }
            self._slots.append(views)

    # ----------------------------------------------------------------------------------- header
    @property
    def state(self) -> int:
        """STATE_STARTING, STATE_LIVE or STATE_CLOSED."""
        return int(self._header["state"])

    @property
    def generation(self) -> int:
        """A random id of the publisher instance that created the segment."""
        return int(self._header["generation"])

    def latest_frame(self) -> tuple[int, int]:
        """Id and slot of the newest complete frame (load-acquire); id 0 before the first."""
        word = atomics.load(self._header_address + _HEADER_FIELD["latest"], atomics.ACQUIRE)
        return word >> _SLOT_LATEST_BITS, word & ((1 << _SLOT_LATEST_BITS) - 1)

    @property
    def latest(self) -> int:
        """Id of the newest complete frame; 0 before the first."""
        return self.latest_frame()[0]

    @property
    def heartbeat(self) -> float:
        """Wall-clock time at which the publisher last published."""
        return float(self._header["heartbeat"])

    @property
    def frames_dropped(self) -> int:
        """Frames the publisher grabbed but could not write because every slot it may use was borrowed."""
        return int(self._header["frames_dropped"])

    def owner(self) -> SegmentOwner:
        """The publisher that owns this segment."""
        return owner_from(self._header)

    def mask_of(self, schema_names: Any) -> int:
        """The bitmask of some of the publisher's schemas (names it does not write are ignored)."""
        mask = 0
        for name in schema_names:
            mask |= self.schema_bits.get(name, 0)
        return mask

    def carried(self, slot: int) -> int:
        """Bitmask of the schemas in the frame of a slot (read it between `open_frame` and `frame_unchanged`)."""
        return int(self._slot_headers[slot]["carried"])

    # ----------------------------------------------------------------------------------- writing
    def slot_views(self, slot: int) -> dict[str, FieldViews]:
        """The shared-memory arrays of a slot, by schema and field."""
        return self._slots[slot]

    def loan_slot(self) -> int | None:
        """Publisher steps 2 and 3: a slot that is neither the newest nor borrowed, marked as being written.

        Returns:
            The slot, or None when every slot the publisher may use is borrowed (the frame is then dropped).

        """
        readers = self.readers
        assert readers is not None
        latest, newest = self.latest_frame()
        refused = 1 << newest if latest else 0
        while True:
            busy = refused | readers.borrowed_slots()
            candidates = [slot for slot in range(self.n_slots) if not busy >> slot & 1]
            if not candidates:
                self._header["frames_dropped"] += 1
                return None
            slot = min(candidates, key=lambda s: int(self._slot_headers[s]["frame_id"]))
            address = self._seq_addresses[slot]
            sequence = atomics.load(address, atomics.RELAXED)
            atomics.store(address, sequence + 1, atomics.RELAXED)  # odd: being written
            atomics.fence(atomics.SEQ_CST)
            if readers.borrowed_slots() >> slot & 1:  # a receiver borrowed it meanwhile: leave it to it
                atomics.store(address, sequence + 2, atomics.RELEASE)
                refused |= 1 << slot
                continue
            atomics.fence(atomics.ACQUIRE)
            return slot

    def publish(self, slot: int, frame_id: int, carried: int) -> None:
        """Publisher steps 4 to 6: completes the frame in `slot`, makes it the newest and wakes the readers."""
        header = self._slot_headers[slot]
        header["frame_id"] = frame_id
        header["carried"] = carried
        address = self._seq_addresses[slot]
        atomics.store(address, atomics.load(address, atomics.RELAXED) + 1, atomics.RELEASE)
        atomics.store(
            self._header_address + _HEADER_FIELD["latest"], frame_id << _SLOT_LATEST_BITS | slot, atomics.RELEASE
        )
        self._header["heartbeat"] = time.time()
        self.futex.set_and_wake(frame_id)

    def heartbeat_now(self) -> None:
        """Tells readers the publisher is alive while no frame comes (e.g. a slow camera)."""
        now = time.time()
        self._header["heartbeat"] = now
        if self.readers is not None:
            self.readers.owner_beat(now)

    # ----------------------------------------------------------------------------------- reading
    def require(self, wanted: Mapping[str, Any]) -> None:
        """Checks that the segment holds every schema in `wanted`.

        Raises:
            SchemaMismatchError: naming the missing schemas and those the publisher writes.

        """
        missing = [name for name in wanted if name not in self.layout]
        if missing:
            raise SchemaMismatchError(
                f"namespace '{self.namespace}' publishes {sorted(self.layout)}; this receiver also needs {missing}"
            )

    def open_frame(self, slot: int, frame_id: int) -> int | None:
        """Reader step 1: the slot's sequence if it holds frame `frame_id` complete, else None."""
        sequence = atomics.load(self._seq_addresses[slot], atomics.ACQUIRE)
        if sequence % 2 or int(self._slot_headers[slot]["frame_id"]) != frame_id:
            return None
        return sequence

    def frame_unchanged(self, slot: int, sequence: int) -> bool:
        """Reader step 2: whether the slot was not rewritten since `open_frame` returned `sequence`."""
        atomics.fence(atomics.ACQUIRE)
        return atomics.load(self._seq_addresses[slot], atomics.RELAXED) == sequence

    def read_frame(
        self,
        slot: int,
        frame_id: int,
        destination: Mapping[str, Mapping[str, np.ndarray]],
        sources: Mapping[str, Mapping[str, np.ndarray]] | None = None,
    ) -> bool:
        """Copies the schemas in `destination` from `slot`, which should hold frame `frame_id`.

        Args:
            slot: the slot to read.
            frame_id: the frame it should hold.
            destination: the arrays to copy into, by schema and field.
            sources: views of the slot's arrays to copy from, by schema and field (default: the slot's own
                fields); views in another layout convert while they copy (e.g. RGB from a BGRA slot).

        Returns:
            True when the copy is complete and untorn; False when the slot was (being) overwritten.

        """
        sequence = self.open_frame(slot, frame_id)
        if sequence is None:
            return False
        views = self._slots[slot] if sources is None else sources
        for schema_name, arrays in destination.items():
            source = views[schema_name]
            for field_name, array in arrays.items():
                copy_array(array, source[field_name])
        return self.frame_unchanged(slot, sequence)

    def borrow_slot(self, slot: int, sequence: int, row: int, borrowed: int) -> BorrowOutcome:
        """Borrower steps 2 and 3: marks `slot` in the row's `borrowed` mask (whose other bits are `borrowed`).

        Returns:
            The outcome; unless BORROWED, the row's mask is `borrowed` again.

        """
        readers = self.readers
        assert readers is not None
        readers.set_borrowed(row, borrowed | 1 << slot, atomics.RELAXED)
        atomics.fence(atomics.SEQ_CST)
        if atomics.load(self._seq_addresses[slot], atomics.RELAXED) != sequence:
            readers.set_borrowed(row, borrowed, atomics.RELEASE)
            return BorrowOutcome.OVERWRITTEN
        if self.n_slots - bin(readers.borrowed_slots()).count("1") < FREE_SLOTS_KEPT:
            readers.set_borrowed(row, borrowed, atomics.RELEASE)
            return BorrowOutcome.NO_ROOM
        atomics.fence(atomics.ACQUIRE)
        return BorrowOutcome.BORROWED

    def release_slot(self, row: int, borrowed: int) -> None:
        """Borrower's release: the row's mask becomes `borrowed` once every read of the released slot is done."""
        readers = self.readers
        assert readers is not None
        atomics.fence(atomics.RELEASE)
        readers.set_borrowed(row, borrowed, atomics.RELEASE)

    # Names of the borrowing steps before the one loan vocabulary (see receiver.py); they warn and delegate.
    def claim_slot(self) -> int | None:
        """Deprecated name of `loan_slot`."""
        _renamed("FrameRing.claim_slot", "FrameRing.loan_slot")
        return self.loan_slot()

    def hold(self, slot: int, sequence: int, row: int, held: int) -> str:
        """Deprecated name of `borrow_slot`; returns "held", "overwritten" or "no_room"."""
        _renamed("FrameRing.hold", "FrameRing.borrow_slot")
        return _HOLD_WORDS[self.borrow_slot(slot, sequence, row, held)]

    def unhold(self, row: int, held: int) -> None:
        """Deprecated name of `release_slot`."""
        _renamed("FrameRing.unhold", "FrameRing.release_slot")
        self.release_slot(row, held)

    def field_specs(self, schema_name: str) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """Shape and dtype of every field the publisher writes for a schema."""
        return {
            name: (tuple(spec["shape"]), np.dtype(spec["dtype"])) for name, spec in self.layout[schema_name].items()
        }

    # ----------------------------------------------------------------------------------- closing
    def close(self, unlink: bool = False) -> None:
        """Unmaps the segment; the writer also marks it closed and, with `unlink`, removes it and its table."""
        if self._writable and unlink:
            self._header["state"] = STATE_CLOSED
            self.futex.set_and_wake(self.futex.value + 1)
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        if self.readers is not None:
            self.readers.close(unlink=self._writable and unlink)
            self.readers = None
        self.futex.release()
        self._slots = []
        self._slot_headers = []
        del self._header
        try:
            self._mmap.close()
        except BufferError:
            pass  # a view is still referenced somewhere (e.g. a borrowed frame); the mapping goes when it does


_HOLD_WORDS = {
    BorrowOutcome.BORROWED: "held",
    BorrowOutcome.OVERWRITTEN: "overwritten",
    BorrowOutcome.NO_ROOM: "no_room",
}


def _renamed(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated; use {new}", DeprecationWarning, stacklevel=3)
