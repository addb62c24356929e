"""Fast DDS shared-memory segments that processes which died left in /dev/shm.

Every Fast DDS participant with the shared-memory transport (all of this package's profiles) creates
`/dev/shm/fastdds_<16 hex digits>`, its transport segment (about 134 MB with our 128 MB profiles), and
`fastdds_<id>_el`, a file its process holds an flock on for as long as it lives (Fast DDS 2.x, Humble's and
Jazzy's 2.14, names them `fastrtps_<id>` and `fastrtps_<id>_el`: the same layout, measured with 2.14.5).
A process killed by SIGKILL or the OOM killer cannot remove them, and Fast DDS leaves other processes' dead
segments alone: every such death keeps its memory until someone runs
`fastdds shm clean`, and a few dozen fill /dev/shm.

`remove_dead_segments` removes the segments whose lock nobody holds, as that tool does. camera_node and
bridge_node call it at start, and camera_node again after its remote bridge died, which the tests and users
kill with SIGKILL. A segment whose owner lives is never touched: its lock is held. Lock files younger than
`min_age_s` are left alone too, so that a participant starting at this moment (its lock file created, not yet
locked) is not mistaken for a dead one. Another user's segments cannot be removed (/dev/shm is sticky) and are
skipped.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from dataclasses import dataclass

SHM_DIR = "/dev/shm"
SEGMENT_PREFIXES = ("fastdds_", "fastrtps_")  # Fast DDS 3.x (kilted), 2.x (Humble, Jazzy)
_LOCK_FILE = re.compile(rf"^({'|'.join(SEGMENT_PREFIXES)})[0-9a-f]{{16}}_el$")


@dataclass(frozen=True)
class Removed:
    """What `remove_dead_segments` removed: segments and the bytes they held."""

    segments: int = 0
    bytes: int = 0

    def __str__(self) -> str:
        return f"{self.segments} Fast DDS shared-memory segment(s) of dead processes ({self.bytes / 1e6:.0f} MB)"


def remove_dead_segments(directory: str = SHM_DIR, min_age_s: float = 2.0) -> Removed:
    """Removes the Fast DDS segments (and their lock files) in `directory` whose owner process is gone."""
    segments = size = 0
    newest = time.time() - min_age_s
    try:
        names = os.listdir(directory)
    except OSError:
        return Removed()
    for name in names:
        if not _LOCK_FILE.match(name):
            continue
        lock_path = os.path.join(directory, name)
        segment_path = lock_path[: -len("_el")]
        try:
            fd = os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        if os.fstat(fd).st_mtime > newest:
            os.close(fd)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while the owner lives
        except OSError:
            os.close(fd)
            continue
        try:
            try:
                segment_size = os.stat(segment_path).st_size
                os.unlink(segment_path)
                segments += 1
                size += segment_size
            except FileNotFoundError:
                pass
            os.unlink(lock_path)
        except OSError:  # another user's files: not ours to remove
            pass
        finally:
            os.close(fd)
    return Removed(segments, size)
