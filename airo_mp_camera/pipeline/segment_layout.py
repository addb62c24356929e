"""The binary layout of a namespace's segment: its header and each slot's header, declared once.

The protocol that reads and writes these words (who, in which order, which fence) is in frame_ring.py's
docstring. The reader table (reader_table.py) starts with a copy of the segment header, so anything that
judges a segment by its owner (`read_owner`, `reclaim_stale_segments`, older versions of this package)
judges the table alike.
"""

from __future__ import annotations

import numpy as np

MAGIC = b"AIROMPC1"
FORMAT_VERSION = 2

STATE_STARTING = 0
STATE_LIVE = 1
STATE_CLOSED = 2


def field_offsets(dtype: np.dtype) -> dict[str, int]:
    """Byte offset of every field of a structured dtype."""
    assert dtype.fields is not None
    return {name: int(spec[1]) for name, spec in dtype.fields.items()}


def _structure(fields: list[tuple[str, str, int]], itemsize: int) -> np.dtype:
    """A numpy structured dtype from (name, format, offset) triples."""
    return np.dtype(
        {
            "names": [name for name, _, _ in fields],
            "formats": [fmt for _, fmt, _ in fields],
            "offsets": [offset for _, _, offset in fields],
            "itemsize": itemsize,
        }
    )


SEGMENT_HEADER = _structure(
    [
        ("magic", "S8", 0),  # MAGIC                                  written once, at creation
        ("version", "<u4", 8),  # FORMAT_VERSION                      once
        ("state", "<u4", 12),  # STARTING, LIVE (after a release fence), CLOSED at the end
        ("futex", "<u4", 16),  # low 32 bits of the newest frame id; readers sleep on it
        ("n_slots", "<u4", 20),  # once
        ("pid", "<u8", 24),  # owner: pid, start time, pid namespace  once
        ("generation", "<u8", 32),  # random id of this publisher instance  once
        ("heartbeat", "<f8", 40),  # time.time(), per frame and twice a second
        ("latest", "<u8", 48),  # frame id << 8 | slot of the newest complete frame, store-release
        ("slot_offset", "<u8", 56),  # once
        ("slot_size", "<u8", 64),  # once
        ("layout_len", "<u4", 72),  # bytes of the JSON layout after the header  once
        ("pid_start", "<u8", 80),
        ("pid_namespace", "<u8", 88),
        ("frames_dropped", "<u8", 96),  # grabs not written: every slot the publisher may use was borrowed
    ],
    128,
)
"""The segment header; only the publisher writes it (see frame_ring.py)."""

SLOT_HEADER = _structure(
    [
        ("seq", "<u8", 0),  # sequence lock: odd while the publisher writes the slot
        ("frame_id", "<u8", 8),  # the frame in the slot
        ("carried", "<u8", 16),  # bit i: the publisher's schema i (layout order) is in this frame
    ],
    64,
)
"""A slot's header; only the publisher writes it."""
