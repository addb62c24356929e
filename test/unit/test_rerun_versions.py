"""The Rerun logger's flush works with every rerun-sdk it claims (>= 0.23), without rerun installed.

Stand-ins with the two `RecordingStream.flush` signatures: 0.23's `flush(blocking=True)` (read from its wheel)
and `flush(timeout_sec=...)` of later versions (0.41 here, where test_rerun_logger.py runs the real one).
"""

from __future__ import annotations

from airo_mp_camera.consumers.rerun_logger import flush_completely


class Recording023:
    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    def flush(self, blocking: bool = True) -> None:
        self.calls.append({"blocking": blocking})


class RecordingWithTimeout:
    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    def flush(self, *, timeout_sec: float = 1e38) -> None:
        self.calls.append({"timeout_sec": timeout_sec})


def test_flush_waits_with_a_bound_where_the_sdk_has_one_and_blocking_where_it_does_not() -> None:
    old, new = Recording023(), RecordingWithTimeout()
    flush_completely(old, timeout=30.0)
    flush_completely(new, timeout=30.0)
    assert old.calls == [{"blocking": True}]
    assert new.calls == [{"timeout_sec": 30.0}]
