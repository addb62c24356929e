"""The remote probe's figures: how long a new subscriber waited for a stream's full rate."""

from __future__ import annotations

from benchmarks.remote_probe import full_rate_after


def arrivals(times: list[float]) -> list[tuple[float, float, int]]:
    return [(t, t, 100) for t in times]


def test_a_stream_that_ramps_up_reaches_its_full_rate_when_a_second_first_holds_it() -> None:
    slow = [i / 5 for i in range(10)]  # 5 Hz for 2 s
    full = [2.0 + i / 30 for i in range(150)]  # then 30 Hz
    assert full_rate_after(arrivals(slow + full), 30.0) == 2.0


def test_a_stream_at_full_rate_from_its_first_message_waited_nothing() -> None:
    assert full_rate_after(arrivals([i / 30 for i in range(90)]), 30.0) == 0.0


def test_a_stream_that_never_reached_the_rate_or_sent_nothing_has_no_figure() -> None:
    assert full_rate_after(arrivals([i / 10 for i in range(50)]), 30.0) is None
    assert full_rate_after([], 30.0) is None
    assert full_rate_after(arrivals([0.0, 1.0]), 0.0) is None
