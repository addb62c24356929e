"""The segment files of this package in /dev/shm: where a namespace's segment is, who owns one, which are stale.

What these functions read of a segment is its header (SEGMENT_HEADER, segment_layout.py); mapping and the
frame protocol are frame_ring.py's. A reader table carries a copy of its segment's header, so whatever
judges a segment by its owner judges the table alike.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from dataclasses import dataclass

import numpy as np

from airo_mp_camera.pipeline.errors import PublisherStartError
from airo_mp_camera.pipeline.namespace import segment_name
from airo_mp_camera.pipeline.process_identity import ProcessIdentity
from airo_mp_camera.pipeline.segment_layout import MAGIC, SEGMENT_HEADER, STATE_CLOSED

SHM_DIR = "/dev/shm"
HEARTBEAT_STALE_S = 3.0
_HEADER_BYTES = SEGMENT_HEADER.itemsize


def segment_path(namespace: str) -> str:
    """Path of the namespace's segment in /dev/shm."""
    return os.path.join(SHM_DIR, segment_name(namespace))


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


def owner_from(header: np.ndarray) -> SegmentOwner:
    """The owner a segment header (SEGMENT_HEADER) records."""
    identity = ProcessIdentity(int(header["pid"]), int(header["pid_start"]), int(header["pid_namespace"]))
    return SegmentOwner(identity, int(header["generation"]), int(header["state"]), float(header["heartbeat"]))


def describe_file(path: str) -> str:
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
            header = segment.read(_HEADER_BYTES)
    except FileNotFoundError:
        return None
    if len(header) < _HEADER_BYTES or header[:8] != MAGIC:
        return None
    return owner_from(np.frombuffer(header, dtype=SEGMENT_HEADER, count=1)[0])


def reclaim_stale_segments() -> list[str]:
    """Removes every segment (and reader table) of this package whose publisher is dead; returns the paths removed."""
    removed = []
    for entry in os.scandir(SHM_DIR):
        if not entry.name.startswith("airo_mp_camera."):
            continue
        try:
            owner = read_owner(entry.path)  # a reader table carries its segment's owner too
        except PermissionError:
            continue  # another user's segment: neither ours to judge nor to remove
        if owner is None and _recent(entry):
            continue  # a publisher may be creating it right now
        if owner is None or not owner.is_alive():
            try:
                os.unlink(entry.path)
                removed.append(entry.path)
            except (FileNotFoundError, PermissionError):
                pass
    return removed


def _recent(entry: os.DirEntry[str]) -> bool:
    try:
        return time.time() - entry.stat().st_mtime < HEARTBEAT_STALE_S
    except FileNotFoundError:
        return True


def reserve_memory(fd: int, size: int, namespace: str) -> None:
    """Allocates the segment's memory now, so a full /dev/shm fails the start instead of a SIGBUS mid-run.

    Raises:
        PublisherStartError: /dev/shm has no room for the segment, saying how large it is and what is free.

    """
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as error:
        if error.errno in (errno.EOPNOTSUPP, errno.EINVAL):
            return  # a file system without fallocate: its pages are allocated on first write
        if error.errno not in (errno.ENOSPC, errno.ENOMEM):
            raise
        info = os.statvfs(SHM_DIR)
        raise PublisherStartError(
            f"{SHM_DIR} has no room for the {size / 2**20:.1f} MiB segment of namespace '{namespace}' "
            f"({info.f_bavail * info.f_frsize / 2**20:.1f} MiB free of {info.f_blocks * info.f_frsize / 2**20:.1f}"
            " MiB): free some, lower the resolution or the streams, or enlarge it (docker: --shm-size)"
        ) from None
