"""Frame-id watermarks at the first and last element of an array, to prove frames are never torn or mixed.

uint8 arrays carry the id's 8 bytes (little-endian) in their first and last 8 bytes; float arrays carry
`id mod 2**24` (exact in float32) in their first and last element. A copy that mixes two frames, or is
overwritten half-way, shows different ids at head and tail, or an id other than the frame's.
"""

from __future__ import annotations

import numpy as np

FLOAT_ID_MODULUS = 2**24


def stamp(array: np.ndarray, frame_id: int) -> None:
    """Writes `frame_id` into the head and tail of a C-contiguous array, in place."""
    flat = array.reshape(-1)
    if flat.dtype == np.uint8:
        encoded = np.frombuffer(int(frame_id).to_bytes(8, "little"), dtype=np.uint8)
        flat[:8] = encoded
        flat[-8:] = encoded
    else:
        flat[0] = flat[-1] = frame_id % FLOAT_ID_MODULUS


def read(array: np.ndarray) -> tuple[int, int]:
    """The ids at the head and the tail of an array stamped by `stamp`."""
    flat = array.reshape(-1)
    if flat.dtype == np.uint8:
        return int.from_bytes(flat[:8].tobytes(), "little"), int.from_bytes(flat[-8:].tobytes(), "little")
    return int(flat[0]), int(flat[-1])


def matches(array: np.ndarray, frame_id: int) -> bool:
    """Whether both watermarks of `array` equal `frame_id` (modulo 2**24 for float arrays)."""
    expected = frame_id if array.dtype == np.uint8 else frame_id % FLOAT_ID_MODULUS
    return read(array) == (expected, expected)
