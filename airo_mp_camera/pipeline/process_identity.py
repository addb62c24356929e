"""Who owns a segment: pid, process start time and pid namespace, so liveness survives pid reuse."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat_file:
            text = stat_file.read().decode(errors="replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return text[text.rfind(")") + 2 :].split()


def _pid_namespace() -> int:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


@dataclass(frozen=True)
class ProcessIdentity:
    """A process, identified beyond its pid: start time (clock ticks since boot) and pid namespace."""

    pid: int
    start_time: int
    pid_namespace: int

    @classmethod
    def of_this_process(cls) -> ProcessIdentity:
        """The identity of the calling process."""
        fields = _stat_fields(os.getpid())
        start = int(fields[19]) if fields else 0
        return cls(os.getpid(), start, _pid_namespace())

    def is_alive(self) -> bool | None:
        """True or False where it can be told from here; None when the process is in another pid namespace."""
        if self.pid_namespace != _pid_namespace():
            return None
        fields = _stat_fields(self.pid)
        if fields is None:
            if os.path.isdir("/proc/self"):
                return False
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return True
        state, start = fields[0], int(fields[19])
        if state in ("Z", "X", "x"):
            return False  # a killed process its parent has not reaped yet
        return start == self.start_time or self.start_time == 0
