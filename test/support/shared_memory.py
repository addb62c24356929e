"""Which shared-memory segments in /dev/shm are this test run's: the run's issued namespaces and its processes.

A segment is this run's when its namespace was issued by this pytest process (`issue_namespaces`) or its owner is
one of this run's processes; others belong to another test run or program on the same machine (a developer's
second terminal, a benchmark) and are not ours to judge or delete.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from airo_mp_camera.pipeline.frame_ring import read_owner

SHM_DIR = "/dev/shm"
_ISSUED: set[str] = set()


def issue_namespaces(names: Iterable[str]) -> None:
    """Registers namespaces handed out to this run's tests."""
    _ISSUED.update(names)


def descends_from_us(pid: int) -> bool:
    """True when `pid` is this process or one of its descendants."""
    while pid > 1:
        if pid == os.getpid():
            return True
        try:
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False


def our_segments() -> set[str]:
    """This run's segments in /dev/shm (a segment's reader table goes with it)."""
    ours = set()
    for name in os.listdir(SHM_DIR):
        if not name.startswith("airo_mp_camera."):
            continue
        try:
            owner = read_owner(os.path.join(SHM_DIR, name))
        except PermissionError:  # another user's segment
            continue
        namespace = name.split(".", 1)[1].removesuffix(".readers")
        if namespace in _ISSUED or (owner is not None and descends_from_us(owner.identity.pid)):
            ours.add(name)
    return ours
