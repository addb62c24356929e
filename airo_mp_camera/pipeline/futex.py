"""Cross-process wake-up on a 32-bit word in shared memory (Linux futex), with a polling fallback.

The publisher bumps the word and wakes every waiter; receivers sleep in the kernel until the word
changes, so a new frame is noticed in tens of microseconds without a polling floor. ctypes releases
the GIL during the system call, so other threads of a receiver keep running.
"""

from __future__ import annotations

import ctypes
import platform
import time

import numpy as np

_FUTEX_WAIT = 0
_FUTEX_WAKE = 1
_SYSCALL_NUMBERS = {"x86_64": 202, "aarch64": 98}
_POLL_PERIOD_S = 0.0005


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _load_syscall() -> tuple[object, int] | None:
    number = _SYSCALL_NUMBERS.get(platform.machine())
    if platform.system() != "Linux" or number is None:
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    syscall = libc.syscall
    syscall.restype = ctypes.c_long
    return syscall, number


_SYSCALL = _load_syscall()


class FutexWord:
    """A uint32 in shared memory that processes can wait on and wake each other with."""

    def __init__(self, word: np.ndarray) -> None:
        if word.dtype != np.uint32 or word.shape != (1,) or word.ctypes.data % 4:
            raise ValueError("a futex word must be one aligned uint32")
        self._word = word
        self._address = ctypes.c_void_p(word.ctypes.data)

    @property
    def value(self) -> int:
        """The current value of the word."""
        return int(self._word[0])

    def set_and_wake(self, value: int) -> None:
        """Stores `value` and wakes every process waiting on the word."""
        self._word[0] = value & 0xFFFFFFFF
        if _SYSCALL is not None:
            syscall, number = _SYSCALL
            syscall(
                ctypes.c_long(number),
                self._address,
                ctypes.c_int(_FUTEX_WAKE),
                ctypes.c_int(2**31 - 1),
                None,
                None,
                ctypes.c_int(0),
            )  # type: ignore[operator]  # noqa: E501

    def wait_while(self, value: int, timeout_s: float) -> None:
        """Sleeps until the word differs from `value`, or `timeout_s` passes (it may also return early)."""
        if timeout_s <= 0 or self.value != value & 0xFFFFFFFF:
            return
        if _SYSCALL is None:
            time.sleep(min(_POLL_PERIOD_S, timeout_s))
            return
        syscall, number = _SYSCALL
        seconds = int(timeout_s)
        timeout = _Timespec(seconds, int((timeout_s - seconds) * 1e9))
        syscall(  # type: ignore[operator]
            ctypes.c_long(number),
            self._address,
            ctypes.c_int(_FUTEX_WAIT),
            ctypes.c_uint32(value & 0xFFFFFFFF),
            ctypes.byref(timeout),
            None,
            ctypes.c_int(0),
        )

    def release(self) -> None:
        """Drops the reference to the shared memory so the mapping can be closed."""
        self._word = np.zeros(1, dtype=np.uint32)
        self._address = ctypes.c_void_p(self._word.ctypes.data)
