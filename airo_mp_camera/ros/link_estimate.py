"""What the path to the remote subscribers carries, found from what the remote bridge already sees.

Nobody on a lab network knows their link's rate, and a Wi-Fi link's changes by the minute, so the remote bridge
does not ask for it: it measures. Its writers are reliable, so each message is acknowledged by every subscriber
once it arrived whole (lost fragments asked for again and repaired). The bridge tells `LinkEstimate` what it
handed to each writer (`sent`) and when a writer had everything acknowledged (`acknowledged`, from polling
`wait_for_all_acked` with no wait). From these:

- the **delivery rate**: bytes acknowledged per second over the last DELIVERY_WINDOW_S;
- the **backlog age**: how long the oldest message still unacknowledged has waited. On a link that carries
  what it is given, a message is acknowledged within its own transmission time plus a round trip and, when a
  packet was lost, a repair (a heartbeat period and a round trip: tens of milliseconds). On a link given more
  than it carries, the backlog grows and ages without bound.

The estimate (the budget `LinkShare` gives out) follows the ideas of BBR and of WebRTC's delay-based control:

- **over-use**: when the backlog is older than the allowance (BACKLOG_ALLOWANCE_S plus FRAME_TIMES the transmission
  time of the largest recent frame at the current estimate), the estimate falls to DECREASE times the delivery rate:
  what the link just proved it carries, a little under it so that the queue drains (a backlog that never drains
  acknowledges nothing, so the rate it shows is taken as no less than MOST_DECREASE of the estimate, and a link that
  fell far falls again after HOLD_S). Then it holds for HOLD_S. Loss does not look like over-use: a repaired fragment
  delays one message by a round trip or two, well inside the allowance, and lowers no delivery rate.
- **probing up**: while the backlog is young and the streams use most of the estimate (they want more than
  they are given, so the estimate, not the camera, limits them; their use over DELIVERY_WINDOW_S is compared with
  the estimate's mean over the same window, or a growing estimate would be held back by its own past), it grows:
  quickly (FAST_INCREASE a second) until the link is first found full; after an over-use, back quickly to just
  under the delivery rate of that over-use, then gently (SLOW_INCREASE a second) past it, where the link was full
  a moment ago; after QUIET_S without over-use the link may have grown, and it grows faster (QUIET_INCREASE a
  second): quick enough to find within seconds a link that grew back, gentle enough to pass the link it is on by
  little (every over-use queues a few frames of every stream, rgb's too). It stops at the ceiling
  (`remote.max_mbit_s`, if set; else MAX_BIT_S). When the streams use less than it (they all get their full rate),
  it does not grow: nothing to learn, and no burst later.
- it never goes below FLOOR_BIT_S, and starts at START_BIT_S (or the ceiling, if lower).

What it cannot see: a subscriber that asks for best-effort delivery acknowledges nothing (it gets what the
estimate, found from the reliable ones, lets out); with several reliable subscribers, a message counts as
acknowledged when the slowest has it.

The class has no ROS in it and takes the time as an argument: its decisions are tested with a fake clock.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

START_BIT_S = 50e6
FLOOR_BIT_S = 1e6
DELIVERY_WINDOW_S = 1.0
BACKLOG_ALLOWANCE_S = 0.15
MOST_ALLOWANCE_S = 0.4
CLEARED_MARGIN = 1.5
CLEARED_WINDOW_S = 10.0
FRAME_TIMES = 2.0  # a large frame may wait for the one before it
MAX_BIT_S = 1e9
DECREASE = 0.85
MOST_DECREASE = 0.7
FAST_INCREASE = 1.0  # per second: x2 a second
SLOW_INCREASE = 0.04  # per second: +4 % a second
QUIET_S = 5.0
QUIET_INCREASE = 0.3  # per second: +30 % a second, after QUIET_S without over-use
HOLD_S = 0.5
MAX_DRAIN_S = 0.5  # the most a decrease waits for its backlog to drain: a link that fell far is found in steps
BUSY_USE = 0.7  # the streams use at least this much of the estimate: it limits them, so probe above it


@dataclass
class _Window:
    """Values added over the last DELIVERY_WINDOW_S and their sum, kept up as they come and go (polled every 5 ms)."""

    samples: deque[tuple[float, float]] = field(default_factory=deque)
    total: float = 0.0

    def add(self, when: float, value: float) -> None:
        self.samples.append((when, value))
        self.total += value

    def sum(self, now: float) -> float:
        """The sum of the values added since `now - DELIVERY_WINDOW_S`."""
        samples = self.samples
        while samples and samples[0][0] < now - DELIVERY_WINDOW_S:
            self.total -= samples.popleft()[1]
        if not samples:
            self.total = 0.0  # (no rounding left behind)
        return self.total


@dataclass
class _Writer:
    """What one writer was given and what of it was acknowledged."""

    sent_bytes: int = 0
    acknowledged_bytes: int = 0
    oldest_unacknowledged: float | None = None
    largest_bytes: int = 0


@dataclass
class LinkEstimate:
    """The link's capacity estimate in bit/s, from what was sent and when it was acknowledged (see the module).

    Args:
        ceiling_bit_s: the most it may estimate (`remote.max_mbit_s`); 0: no ceiling.

    Thread-safe: the bridge thread reports what it sent, the depth encoder's thread too, a poller what was
    acknowledged.
    """

    ceiling_bit_s: float = 0.0
    estimate_bit_s: float = 0.0
    writers: dict[str, _Writer] = field(default_factory=dict)
    over_uses: int = 0
    reason: str = "starting"
    _delivered: _Window = field(default_factory=_Window)  # bytes acknowledged
    _offered: _Window = field(default_factory=_Window)  # bytes sent
    _held: _Window = field(default_factory=_Window)  # the estimate times the time it was held
    _first_update: float | None = None
    _cleared: deque[tuple[float, float]] = field(default_factory=deque)  # (when, how long) backlogs took to clear
    _updated: float | None = None
    _hold_until: float = 0.0
    _full_at_bit_s: float = 0.0  # the delivery rate of the last over-use: where the link was full
    _drained_at: float = float("-inf")  # when the backlog of the last decrease should have left
    _over_used_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.ceiling_bit_s < 0:
            raise ValueError(f"a link ceiling must be >= 0 (0: none), got {self.ceiling_bit_s}")
        self.estimate_bit_s = self.estimate_bit_s or max(min(START_BIT_S, self.ceiling), FLOOR_BIT_S)

    @property
    def ceiling(self) -> float:
        """The most the estimate may be: the user's ceiling, else MAX_BIT_S."""
        return self.ceiling_bit_s or MAX_BIT_S

    def sent(self, writer: str, nbytes: int, now: float) -> None:
        """`nbytes` were handed to `writer` at `now`."""
        with self._lock:
            state = self.writers.setdefault(writer, _Writer())
            state.sent_bytes += nbytes
            state.largest_bytes = max(int(0.9 * state.largest_bytes), nbytes)
            if state.oldest_unacknowledged is None:
                state.oldest_unacknowledged = now
            self._offered.add(now, nbytes)

    def acknowledged(self, writer: str, sent_bytes: int, now: float) -> None:
        """`writer`'s messages are acknowledged at `now`, up to its first `sent_bytes` (read as the poll began)."""
        with self._lock:
            state = self.writers.get(writer)
            if state is None or sent_bytes <= state.acknowledged_bytes:
                return
            self._delivered.add(now, sent_bytes - state.acknowledged_bytes)
            state.acknowledged_bytes = sent_bytes
            if state.acknowledged_bytes >= state.sent_bytes:
                if state.oldest_unacknowledged is not None and now >= self._hold_until:
                    self._cleared.append((now, now - state.oldest_unacknowledged))
                state.oldest_unacknowledged = None
            else:  # more was sent while the poll ran: it waits from about now
                state.oldest_unacknowledged = now

    def unacknowledged(self, writer: str) -> int:
        """What `writer` was given so far if some is not known to be acknowledged, else 0.

        Read before polling the writer, and handed to `acknowledged` if the poll says all is.
        """
        with self._lock:
            state = self.writers.get(writer)
            return state.sent_bytes if state is not None and state.sent_bytes > state.acknowledged_bytes else 0

    def backlog_age(self, now: float) -> float:
        """Seconds the oldest unacknowledged message has waited (0: all acknowledged)."""
        with self._lock:
            return self._backlog_age(now)

    def _backlog_age(self, now: float) -> float:
        oldest = [w.oldest_unacknowledged for w in self.writers.values() if w.oldest_unacknowledged is not None]
        return max(now - min(oldest), 0.0) if oldest else 0.0

    def delivery_rate(self, now: float) -> float:
        """Bits per second acknowledged over the last DELIVERY_WINDOW_S."""
        with self._lock:
            return self._rate(self._delivered, now)

    def _rate(self, window: _Window, now: float) -> float:
        return 8.0 * window.sum(now) / DELIVERY_WINDOW_S

    def _mean_estimate(self, elapsed: float, now: float) -> float:
        """The estimate's mean over the last DELIVERY_WINDOW_S (over the time since the first update, if shorter).

        The yardstick of the streams' use, which is summed over that window: compared with the estimate of the
        moment instead, it reads about 0.6 of an estimate that grows by e a second, and the growth stalls below
        the link: from START_BIT_S to the 663 Mbit/s of raw 720p rgb on a 1 Gbit/s link took 4.4 s, 3.4 s with
        this (the fake-clock link of test/unit/test_link_estimate.py).
        """
        self._held.add(now, self.estimate_bit_s * elapsed)
        span = min(DELIVERY_WINDOW_S, now - self._first_update) if self._first_update is not None else 0.0
        return self._held.sum(now) / span if span > 0.0 else self.estimate_bit_s

    def allowance(self, writer: _Writer, now: float) -> float:
        """How old a writer's backlog may get before the link counts as over-used, in seconds.

        At least BACKLOG_ALLOWANCE_S, or CLEARED_MARGIN times the 90th percentile of how long backlogs took to
        clear over the last CLEARED_WINDOW_S (a lossy link's repairs make them longer), at most
        MOST_ALLOWANCE_S; plus FRAME_TIMES the transmission time of the writer's largest recent frame.
        """
        while self._cleared and self._cleared[0][0] < now - CLEARED_WINDOW_S:
            self._cleared.popleft()
        usual = 0.0
        if len(self._cleared) >= 10:
            durations = sorted(duration for _, duration in self._cleared)
            usual = CLEARED_MARGIN * durations[int(0.9 * (len(durations) - 1))]
        base = min(max(BACKLOG_ALLOWANCE_S, usual), MOST_ALLOWANCE_S)
        return base + FRAME_TIMES * 8.0 * writer.largest_bytes / self.estimate_bit_s

    def _over_used(self, now: float) -> bool:
        """Whether a writer's backlog is older than its allowance.

        Counted from when the queue of the last decrease should have drained: what was queued then leaves first.
        """
        for writer in self.writers.values():
            if writer.oldest_unacknowledged is None:
                continue
            if now - max(writer.oldest_unacknowledged, self._drained_at) > self.allowance(writer, now):
                return True
        return False

    def _backlog_bits(self) -> float:
        return 8.0 * sum(w.sent_bytes - w.acknowledged_bytes for w in self.writers.values())

    def update(self, now: float) -> float:
        """The estimate at `now` (bit/s), after judging what happened since the last update."""
        with self._lock:
            elapsed = 0.0 if self._updated is None else max(now - self._updated, 0.0)
            if self._first_update is None:
                self._first_update = now
            self._updated = now
            delivered = self._rate(self._delivered, now)
            offered = self._rate(self._offered, now)
            mean_estimate = self._mean_estimate(elapsed, now)
            if self._over_used(now):
                if now >= self._hold_until:
                    self.over_uses += 1
                    # A backlog that never drains acknowledges nothing (the poll sees "all acknowledged" only):
                    # the delivery rate then reads low, so no single decrease goes below MOST_DECREASE.
                    self._full_at_bit_s = min(max(delivered, MOST_DECREASE * self.estimate_bit_s), self.estimate_bit_s)
                    self._over_used_at = now
                    self.estimate_bit_s = max(DECREASE * self._full_at_bit_s, FLOOR_BIT_S)
                    drain_s = min(self._backlog_bits() / self.estimate_bit_s, MAX_DRAIN_S)
                    self._drained_at = now + drain_s
                    self._hold_until = max(now + HOLD_S, self._drained_at)
                    self.reason = "over-use: the backlog grows"
            elif now < self._hold_until:
                self.reason = "holding after over-use"
            elif offered >= BUSY_USE * mean_estimate:
                near_full = self.estimate_bit_s >= 0.95 * self._full_at_bit_s
                if self._over_used_at is None or not near_full:  # not yet full, or catching up to where it was
                    increase = FAST_INCREASE
                else:
                    increase = QUIET_INCREASE if now - self._over_used_at > QUIET_S else SLOW_INCREASE
                grown = self.estimate_bit_s * (1.0 + increase * min(elapsed, 0.5))
                if not near_full:  # catching up: not past where the link was full
                    grown = min(grown, 0.95 * self._full_at_bit_s)
                self.estimate_bit_s = min(grown, self.ceiling)
                self.reason = "at the ceiling" if self.estimate_bit_s == self.ceiling else "probing up"
            else:
                self.reason = "streams at full rate"
            return self.estimate_bit_s
