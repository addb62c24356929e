"""Atomic loads, stores, compare-and-swap and fences on shared memory, from gcc's libatomic through ctypes.

The transport's protocols (the sequence lock of a frame slot, borrow marks, the reader table) need the
hardware to keep some stores and loads in order. x86-64 keeps almost every order by itself (only a store
followed by a load of another word may be reordered); aarch64 (Jetson) keeps none, so the order must be
asked for with fences or ordered atomic operations. Python has neither, but libatomic (the runtime gcc
ships for `__atomic_*`, on every Linux with gcc, Jetson included) exports them as ordinary functions:
`atomic_thread_fence`, `__atomic_load_8`, `__atomic_store_8`, `__atomic_compare_exchange_8`. A ctypes
call costs about a microsecond; the hot path makes a handful per frame.

The memory-order arguments are gcc's `__ATOMIC_*` values. Functions are looked up through this module
at every call (`atomics.fence(...)`), so a test can wrap them and check the protocol's order of calls.
"""

from __future__ import annotations

import ctypes
import ctypes.util

RELAXED = 0
ACQUIRE = 2
RELEASE = 3
SEQ_CST = 5


class AtomicsUnavailableError(RuntimeError):
    """libatomic (gcc's runtime) is not installed, so shared-memory ordering cannot be enforced."""


def _load_libatomic() -> ctypes.CDLL | None:
    for name in ("libatomic.so.1", ctypes.util.find_library("atomic")):
        if not name:
            continue
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


_LIB = _load_libatomic()
if _LIB is not None:
    _fence = _LIB.atomic_thread_fence
    _fence.argtypes = [ctypes.c_int]
    _fence.restype = None
    _load = _LIB.__atomic_load_8
    _load.argtypes = [ctypes.c_void_p, ctypes.c_int]
    _load.restype = ctypes.c_uint64
    _store = _LIB.__atomic_store_8
    _store.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int]
    _store.restype = None
    _cas = _LIB.__atomic_compare_exchange_8
    _cas.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int, ctypes.c_int]
    _cas.restype = ctypes.c_bool


def require() -> None:
    """Raises AtomicsUnavailableError, saying what to install, when libatomic cannot be loaded."""
    if _LIB is None:
        raise AtomicsUnavailableError(
            "libatomic.so.1 (gcc's atomic runtime) was not found; the shared-memory transport needs it to order "
            "memory on weakly ordered CPUs: install it (Debian/Ubuntu: apt install libatomic1)"
        )


def fence(order: int) -> None:
    """A thread fence of the given order (ACQUIRE, RELEASE or SEQ_CST); orders this CPU's memory accesses."""
    _fence(order)


def load(address: int, order: int = ACQUIRE) -> int:
    """Atomically loads the aligned uint64 at `address`."""
    return int(_load(address, order))


def store(address: int, value: int, order: int = RELEASE) -> None:
    """Atomically stores `value` into the aligned uint64 at `address`."""
    _store(address, value & 0xFFFFFFFFFFFFFFFF, order)


def compare_exchange(address: int, expected: int, desired: int) -> bool:
    """Replaces the uint64 at `address` by `desired` if it equals `expected` (sequentially consistent).

    Returns:
        Whether the exchange happened.

    """
    current = ctypes.c_uint64(expected)
    return bool(_cas(address, ctypes.addressof(current), desired & 0xFFFFFFFFFFFFFFFF, SEQ_CST, SEQ_CST))
