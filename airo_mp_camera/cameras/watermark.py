"""Frame-id watermarks at the first and last element of an array, to prove frames are never torn or mixed.

uint8 arrays carry the id's 8 bytes (little-endian) in their first and last 8 bytes; float arrays carry
`id mod 2**24` (exact in float32) in their first and last element. A copy that mixes two frames, or is
overwritten half-way, shows different ids at head and tail, or an id other than the frame's. Strided views
(the RGB view of a BGRA image) are stamped and read in their own C order, without a copy.
"""

from __future__ import annotations

import numpy as np

FLOAT_ID_MODULUS = 2**24


def _flat(array: np.ndarray) -> np.ndarray | np.flatiter[np.ndarray]:
    """The array's elements in C order, writable, without a copy.

    A reshaped view, or for a strided view (the RGB view of a BGRA image) its flat iterator.
    """
    return array.reshape(-1) if array.flags.c_contiguous else array.flat


def stamp(array: np.ndarray, frame_id: int) -> None:
    """Writes `frame_id` into the head and tail (in C order) of an array or a strided view, in place."""
    flat = _flat(array)
    size = array.size
    if array.dtype == np.uint8:
        encoded = np.frombuffer(int(frame_id).to_bytes(8, "little"), dtype=np.uint8)
        flat[:8] = encoded
        flat[size - 8 : size] = encoded
    else:
        flat[0] = flat[size - 1] = frame_id % FLOAT_ID_MODULUS


def read(array: np.ndarray) -> tuple[int, int]:
    """The ids at the head and the tail of an array stamped by `stamp`."""
    flat = _flat(array)
    size = array.size
    if array.dtype == np.uint8:
        head, tail = np.asarray(flat[:8]), np.asarray(flat[size - 8 : size])
        return int.from_bytes(head.tobytes(), "little"), int.from_bytes(tail.tobytes(), "little")
    return int(flat[0]), int(flat[size - 1])


def matches(array: np.ndarray, frame_id: int) -> bool:
    """Whether both watermarks of `array` equal `frame_id` (modulo 2**24 for float arrays)."""
    expected = frame_id if array.dtype == np.uint8 else frame_id % FLOAT_ID_MODULUS
    return read(array) == (expected, expected)
