"""The shared-memory transport: one segment per namespace holding a ring of frame slots.

Layout of a segment (all little-endian):

    header   magic, state, owner, futex word, latest frame id, slot geometry, layout (JSON)
    slot 0   seq (u64), frame id (u64), then every schema's buffer fields, 64-byte aligned
    slot 1   ...

A frame is one slot: every schema of one grab lives in the same slot, so a receiver can never mix
streams of two frames. Each slot is guarded by a sequence lock: the writer makes `seq` odd before it
writes and even after; a reader copies, then re-reads `seq`, and retries when it changed, so a torn
(half-overwritten) copy is never returned. The futex word wakes readers when a frame is published.

This is hand-written rather than airo-ipc's SMWriter/SMReader because it is the hot path: airo-ipc
copies each frame twice on the writer side, signals through DDS (polling, network traffic) and has no
sequence lock; its BaseIdl buffers still describe the data.
"""

from __future__ import annotations

import errno
import json
import mmap
import os
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from airo_mp_camera.pipeline.errors import (
    NamespaceInUseError,
    PublisherStartError,
    SchemaMismatchError,
    SegmentPermissionError,
)
from airo_mp_camera.pipeline.futex import FutexWord
from airo_mp_camera.pipeline.namespace import segment_name, validate_namespace
from airo_mp_camera.pipeline.process_identity import ProcessIdentity

SHM_DIR = "/dev/shm"
MAGIC = b"AIROMPC1"
FORMAT_VERSION = 1
ALIGN = 64
SLOT_HEADER_BYTES = 64
HEARTBEAT_STALE_S = 3.0
HEARTBEAT_PERIOD_S = 0.5  # how often a live publisher refreshes the heartbeat, frames or not

STATE_STARTING = 0
STATE_LIVE = 1
STATE_CLOSED = 2

# Header field offsets.
_MAGIC = 0
_VERSION = 8  # u32
_STATE = 12  # u32
_FUTEX = 16  # u32
_N_SLOTS = 20  # u32
_PID = 24  # i64
_GENERATION = 32  # u64
_HEARTBEAT = 40  # f64, time.time() of the last published frame
_LATEST = 48  # u64, id of the newest complete frame (0: none yet)
_SLOT_OFFSET = 56  # u64
_SLOT_SIZE = 64  # u64
_LAYOUT_LEN = 72  # u32
_PID_START = 80  # u64
_PID_NAMESPACE = 88  # u64
_LAYOUT = 128

FieldViews = dict[str, np.ndarray]
Layout = dict[str, dict[str, dict[str, Any]]]


def _align(value: int, to: int = ALIGN) -> int:
    return (value + to - 1) // to * to


def segment_path(namespace: str) -> str:
    """Path of the namespace's segment in /dev/shm."""
    return os.path.join(SHM_DIR, segment_name(namespace))


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


@dataclass(frozen=True)
class SegmentOwner:
    """What a segment header says about its publisher."""

    identity: ProcessIdentity
    generation: int
    state: int
    heartbeat: float

    def is_alive(self) -> bool:
        """Whether the publisher that owns the segment still runs (by pid, or by heartbeat across pid namespaces)."""
        if self.state == STATE_CLOSED:
            return False
        alive = self.identity.is_alive()
        if alive is None:
            return time.time() - self.heartbeat < HEARTBEAT_STALE_S
        return alive


class FrameRing:
    """A mapped segment: the writer side (`create`) or a reader side (`attach`)."""

    def __init__(self, namespace: str, path: str, fd: int, writable: bool) -> None:
        self.namespace = validate_namespace(namespace)
        self.path = path
        self._writable = writable
        try:
            size = os.fstat(fd).st_size
            self._mmap = mmap.mmap(fd, size, prot=mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0))
        finally:
            os.close(fd)
        self.size = size
        self._u32 = np.frombuffer(self._mmap, dtype="<u4", count=_LAYOUT // 4)
        self._u64 = np.frombuffer(self._mmap, dtype="<u8", count=_LAYOUT // 8)
        self._f64 = np.frombuffer(self._mmap, dtype="<f8", count=_LAYOUT // 8)
        self.futex = FutexWord(self._u32[_FUTEX // 4 : _FUTEX // 4 + 1])
        self.layout: Layout = {}
        self.n_slots = 0
        self.slot_size = 0
        self._slot_offset = 0
        self._slots: list[dict[str, FieldViews]] = []
        self._slot_words: list[np.ndarray] = []

    # ----------------------------------------------------------------------------------- creation
    @classmethod
    def create(
        cls,
        namespace: str,
        fields: Mapping[str, Mapping[str, np.ndarray]],
        n_slots: int = 3,
        mode: int = 0o600,
    ) -> FrameRing:
        """Creates the namespace's segment, reclaiming one left by a dead publisher.

        Raises:
            NamespaceInUseError: a live publisher owns the namespace.

        """
        if n_slots < 2:
            raise ValueError("a frame ring needs at least 2 slots")
        path = segment_path(namespace)
        layout, slot_size = build_layout(fields)
        layout_bytes = json.dumps(layout).encode()
        slot_offset = _align(_LAYOUT + len(layout_bytes), 4096)
        size = slot_offset + n_slots * slot_size
        fd = cls._create_exclusive(namespace, path, mode)
        try:
            os.fchmod(fd, mode)  # the umask must not narrow (or widen) what the user asked for
            os.ftruncate(fd, size)
            _reserve(fd, size, namespace)
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        ring = cls(namespace, path, fd, writable=True)
        me = ProcessIdentity.of_this_process()
        ring._mmap[_MAGIC : _MAGIC + 8] = MAGIC
        ring._u32[_VERSION // 4] = FORMAT_VERSION
        ring._u32[_STATE // 4] = STATE_STARTING
        ring._u32[_N_SLOTS // 4] = n_slots
        ring._u64[_PID // 8] = me.pid
        ring._u64[_PID_START // 8] = me.start_time
        ring._u64[_PID_NAMESPACE // 8] = me.pid_namespace
        ring._u64[_GENERATION // 8] = int.from_bytes(os.urandom(8), "little") >> 1
        ring._f64[_HEARTBEAT // 8] = time.time()
        ring._u64[_SLOT_OFFSET // 8] = slot_offset
        ring._u64[_SLOT_SIZE // 8] = slot_size
        ring._u32[_LAYOUT_LEN // 4] = len(layout_bytes)
        ring._mmap[_LAYOUT : _LAYOUT + len(layout_bytes)] = layout_bytes
        ring._map_slots()
        ring._u32[_STATE // 4] = STATE_LIVE
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
                        f"{_describe_file(path)}, which this user cannot read; stop that publisher or choose "
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
    def attach(cls, namespace: str) -> FrameRing | None:
        """Maps the namespace's segment read-only; None while it does not exist or is still starting."""
        path = segment_path(namespace)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except PermissionError:
            raise SegmentPermissionError(
                f"shared-memory namespace '{validate_namespace(namespace)}' is {_describe_file(path)}, which this "
                "user may not read; start its publisher with segment_mode=0o640 (a group both users are in) or "
                "0o644 (every local user)"
            ) from None
        if os.fstat(fd).st_size < _LAYOUT:
            os.close(fd)
            return None
        ring = cls(namespace, path, fd, writable=False)
        if bytes(ring._mmap[_MAGIC : _MAGIC + 8]) != MAGIC or ring.state == STATE_STARTING:
            ring.close()
            return None
        if ring._u32[_VERSION // 4] != FORMAT_VERSION:
            version = int(ring._u32[_VERSION // 4])
            ring.close()
            raise SchemaMismatchError(
                f"namespace '{namespace}' uses segment format {version}; this receiver reads format {FORMAT_VERSION}"
            )
        ring._map_slots()
        return ring

    def _map_slots(self) -> None:
        self.n_slots = int(self._u32[_N_SLOTS // 4])
        self.slot_size = int(self._u64[_SLOT_SIZE // 8])
        self._slot_offset = int(self._u64[_SLOT_OFFSET // 8])
        layout_len = int(self._u32[_LAYOUT_LEN // 4])
        self.layout = json.loads(bytes(self._mmap[_LAYOUT : _LAYOUT + layout_len]))
        for slot in range(self.n_slots):
            base = self._slot_offset + slot * self.slot_size
            self._slot_words.append(np.frombuffer(self._mmap, dtype="<u8", count=2, offset=base))
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
        return int(self._u32[_STATE // 4])

    @property
    def generation(self) -> int:
        """A random id of the publisher instance that created the segment."""
        return int(self._u64[_GENERATION // 8])

    @property
    def latest(self) -> int:
        """Id of the newest complete frame; 0 before the first."""
        return int(self._u64[_LATEST // 8])

    @property
    def heartbeat(self) -> float:
        """Wall-clock time at which the publisher last published."""
        return float(self._f64[_HEARTBEAT // 8])

    def owner(self) -> SegmentOwner:
        """The publisher that owns this segment."""
        return _owner_from(self._u64, self._u32, self._f64)

    # ----------------------------------------------------------------------------------- writing
    def slot_views(self, frame_id: int) -> dict[str, FieldViews]:
        """The shared-memory arrays of the slot that frame `frame_id` is written into."""
        return self._slots[frame_id % self.n_slots]

    def begin_write(self, frame_id: int) -> dict[str, FieldViews]:
        """Marks the frame's slot as being written (odd sequence) and returns its arrays."""
        words = self._slot_words[frame_id % self.n_slots]
        words[0] += 1
        return self._slots[frame_id % self.n_slots]

    def end_write(self, frame_id: int) -> None:
        """Completes the frame (even sequence), publishes it as the latest and wakes the readers."""
        words = self._slot_words[frame_id % self.n_slots]
        words[1] = frame_id
        words[0] += 1
        self._u64[_LATEST // 8] = frame_id
        self._f64[_HEARTBEAT // 8] = time.time()
        self.futex.set_and_wake(frame_id)

    def heartbeat_now(self) -> None:
        """Tells readers the publisher is alive while no frame comes (e.g. a slow camera)."""
        self._f64[_HEARTBEAT // 8] = time.time()

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

    def read_frame(self, frame_id: int, destination: Mapping[str, Mapping[str, np.ndarray]]) -> bool:
        """Copies the schemas in `destination` from the slot of `frame_id`.

        Returns:
            True when the copy is complete and untorn; False when the slot was (being) overwritten.

        """
        words = self._slot_words[frame_id % self.n_slots]
        sequence = int(words[0])
        if sequence % 2 or int(words[1]) != frame_id:
            return False
        slot = self._slots[frame_id % self.n_slots]
        for schema_name, arrays in destination.items():
            source = slot[schema_name]
            for field_name, array in arrays.items():
                np.copyto(array, source[field_name])
        return int(words[0]) == sequence and int(words[1]) == frame_id

    def field_specs(self, schema_name: str) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """Shape and dtype of every field the publisher writes for a schema."""
        return {
            name: (tuple(spec["shape"]), np.dtype(spec["dtype"])) for name, spec in self.layout[schema_name].items()
        }

    # ----------------------------------------------------------------------------------- closing
    def close(self, unlink: bool = False) -> None:
        """Unmaps the segment; the writer also marks it closed and, with `unlink`, removes it."""
        if self._writable and unlink:
            self._u32[_STATE // 4] = STATE_CLOSED
            self.futex.set_and_wake(self.futex.value + 1)
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        self.futex.release()
        self._slots = []
        self._slot_words = []
        del self._u32, self._u64, self._f64
        try:
            self._mmap.close()
        except BufferError:
            pass  # a view is still referenced somewhere; the mapping goes when it does


def _owner_from(u64: np.ndarray, u32: np.ndarray, f64: np.ndarray) -> SegmentOwner:
    identity = ProcessIdentity(int(u64[_PID // 8]), int(u64[_PID_START // 8]), int(u64[_PID_NAMESPACE // 8]))
    return SegmentOwner(identity, int(u64[_GENERATION // 8]), int(u32[_STATE // 4]), float(f64[_HEARTBEAT // 8]))


def _reserve(fd: int, size: int, namespace: str) -> None:
    """Allocates the segment's memory now, so a full /dev/shm fails the start instead of a SIGBUS mid-run.

    Raises:
        PublisherStartError: /dev/shm has no room for the segment, saying how large it is and what is free.

    """
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as error:
        if error.errno in (errno.EOPNOTSUPP, errno.EINVAL):
            return  # a file system without fallocate: the pages are allocated on first write, as before
        if error.errno not in (errno.ENOSPC, errno.ENOMEM):
            raise
        info = os.statvfs(SHM_DIR)
        raise PublisherStartError(
            f"{SHM_DIR} has no room for the {size / 2**20:.1f} MiB segment of namespace '{namespace}' "
            f"({info.f_bavail * info.f_frsize / 2**20:.1f} MiB free of {info.f_blocks * info.f_frsize / 2**20:.1f}"
            " MiB): free some, lower the resolution or the streams, or enlarge it (docker: --shm-size)"
        ) from None


def _describe_file(path: str) -> str:
    """Who owns a file and its mode, for error messages."""
    try:
        info = os.stat(path)
    except OSError:
        return path
    return f"{path} (uid {info.st_uid}, gid {info.st_gid}, mode {stat.S_IMODE(info.st_mode):04o})"


def read_owner(path: str) -> SegmentOwner | None:
    """The owner recorded in a segment file, or None when the file is missing or not a valid segment.

    Raises:
        PermissionError: the file belongs to another user who did not share it.

    """
    try:
        with open(path, "rb") as segment:
            header = segment.read(_LAYOUT)
    except FileNotFoundError:
        return None
    if len(header) < _LAYOUT or header[:8] != MAGIC:
        return None
    u32 = np.frombuffer(header, dtype="<u4")
    u64 = np.frombuffer(header, dtype="<u8")
    f64 = np.frombuffer(header, dtype="<f8")
    return _owner_from(u64, u32, f64)


def reclaim_stale_segments() -> list[str]:
    """Removes every segment of this package whose publisher is dead; returns the paths removed."""
    removed = []
    for entry in os.scandir(SHM_DIR):
        if not entry.name.startswith("airo_mp_camera."):
            continue
        try:
            owner = read_owner(entry.path)
        except PermissionError:
            continue  # another user's segment: neither ours to judge nor to remove
        if owner is None:
            try:
                if time.time() - entry.stat().st_mtime < HEARTBEAT_STALE_S:
                    continue  # a publisher may be creating it right now
            except FileNotFoundError:
                continue
        if owner is None or not owner.is_alive():
            try:
                os.unlink(entry.path)
                removed.append(entry.path)
            except (FileNotFoundError, PermissionError):
                pass
    return removed
