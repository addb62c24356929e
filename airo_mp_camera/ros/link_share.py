"""How the remote bridge shares a link that cannot carry every stream: a budget, given out in priority order.

Each remote stream (and, apart from it, the raw topics) asks for its frame size times its rate: the camera's rate,
capped by the stream's `max_rate`. `LinkShare` hands the budget (`remote.max_mbit_s`) to the streams in priority
order (`remote.priority`, by default rgb, depth, points, right, raw): a stream gets all it asks for while the budget
lasts, the next one what is left, and a stream after the budget ran out gets nothing (it is paused); so does a
lower-priority stream whose one frame would hold the whole link for longer than LONG_FRAME_S, since the frames of
the streams before it would wait behind it in the link's queue. Every stream fills its own token bucket at the rate
it was given; a frame goes out only when the bucket holds the frame's size, and otherwise it is skipped, never
queued: a stream that was given less than it asks for sends the newest frame at the rate its share carries, so the
link never holds more than a frame or two of a stream and latency stays flat. A skipped frame is counted with its
reason: `lower priority` (streams before it took part of what it could have had) or `budget` (it got all the budget
allows it, still too little).

Sizes are learned from the frames sent (the last few, smoothed); a stream whose size is not known yet sends
its first frame freely. Streams that nobody subscribes to ask for nothing, so their share goes to the others.
The class has no ROS in it and takes the time as an argument: its decisions are tested with a fake clock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

PRIORITY_NAMES = ("rgb", "depth", "points", "right", "raw")
"""What `remote.priority` may name: the remote streams, and `raw` for every raw topic (rgb, depth, right)."""
DEFAULT_PRIORITY = PRIORITY_NAMES
BUDGET = "budget"
LOWER_PRIORITY = "lower priority"
SKIP_REASONS = (BUDGET, LOWER_PRIORITY)
BURST_S = 0.05
"""A bucket holds at most one frame plus this many seconds of its share: what accrues while the stream waits for
its next camera frame is kept (else a stream given 12 Hz of a 30 Hz camera would get 10), no burst after a pause."""
LONG_FRAME_S = 0.1
"""A lower-priority stream whose frame would hold the whole link longer than this is paused (it would hold up the
frames of the streams before it)."""
_SIZE_WEIGHT = 0.3  # weight of the newest frame in a stream's smoothed size


def share_key(stream: str, raw: bool = False) -> str:
    """The name a stream's topics are shared under: the stream's, or `<stream>.raw` for its raw topic."""
    return f"{stream}.raw" if raw else stream


def parse_priority(text: str) -> tuple[str, ...]:
    """`remote.priority` as a tuple of names; ValueError (saying what is accepted) for an unknown or repeated one.

    Names left out follow the named ones, in the default order.
    """
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in PRIORITY_NAMES]
    if unknown:
        raise ValueError(f"unknown stream {', '.join(map(repr, unknown))}; accepted: {', '.join(PRIORITY_NAMES)}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(
            f"{', '.join(map(repr, repeated))} named twice; accepted once each: {', '.join(PRIORITY_NAMES)}"
        )
    return names + tuple(name for name in DEFAULT_PRIORITY if name not in names)


@dataclass
class StreamShare:
    """One stream's part of the link: what it asks for, what it was given, its bucket, its skips."""

    frame_bits: float = 0.0
    """Smoothed size of the stream's frames, in bits (0: not known yet)."""
    rate_hz: float = 0.0
    """The rate it asks for (0: nobody subscribes)."""
    given_bit_s: float = 0.0
    tokens: float = 0.0
    refilled: float | None = None
    skipped_budget: int = 0
    skipped_lower_priority: int = 0

    @property
    def asked_bit_s(self) -> float:
        return self.frame_bits * self.rate_hz

    def skipped(self, reason: str) -> int:
        """Frames skipped for `reason` (BUDGET or LOWER_PRIORITY)."""
        return self.skipped_budget if reason == BUDGET else self.skipped_lower_priority


class LinkShare:
    """Gives a link budget to streams in priority order, and says per frame whether it may go out.

    Args:
        budget_mbit_s: what the remote streams may send together, in Mbit/s (> 0).
        priority: share keys (`share_key`), most important first; the raw topics share the place of `raw`.

    Thread-safe: the depth encoder's thread reports what it sent while the bridge thread asks.
    """

    def __init__(self, budget_mbit_s: float, priority: tuple[str, ...] = DEFAULT_PRIORITY) -> None:
        if not budget_mbit_s > 0:
            raise ValueError(f"a link budget must be > 0 Mbit/s, got {budget_mbit_s}")
        self.budget_bit_s = budget_mbit_s * 1e6
        self.priority = priority
        self.streams: dict[str, StreamShare] = {}
        self._lock = threading.Lock()

    def _rank(self, key: str) -> tuple[int, str]:
        stream, _, raw = key.partition(".")
        name = "raw" if raw else stream
        return (self.priority.index(name) if name in self.priority else len(self.priority), key)

    def stream(self, key: str) -> StreamShare:
        """The share of `key`, created on first use."""
        with self._lock:
            return self._stream(key)

    def _stream(self, key: str) -> StreamShare:
        share = self.streams.get(key)
        if share is None:
            share = self.streams[key] = StreamShare()
            self.streams = dict(sorted(self.streams.items(), key=lambda item: self._rank(item[0])))
        return share

    def set_budget(self, budget_bit_s: float) -> None:
        """A new budget (the link estimate of the moment), given out again at once."""
        with self._lock:
            self.budget_bit_s = max(budget_bit_s, 1.0)
            self._give_out()

    def resize(self, key: str, factor: float) -> None:
        """`key`'s frames change size by about `factor` (a new form): what it asks for follows at once."""
        with self._lock:
            share = self._stream(key)
            share.frame_bits *= factor
            self._give_out()

    def ask(self, key: str, rate_hz: float) -> None:
        """Sets the rate `key` asks for (0: nobody subscribes to it now); the budget is given out again."""
        with self._lock:
            self._stream(key).rate_hz = max(rate_hz, 0.0)
            self._give_out()

    def _give_out(self) -> None:
        left = self.budget_bit_s
        before_it = False  # a stream of higher priority asks for some of the link
        for share in self.streams.values():
            # A frame that alone holds the whole link for over LONG_FRAME_S would hold up the streams before it
            # (their frames wait behind its fragments in the link's queue): it waits until the link is faster.
            too_long = before_it and share.frame_bits > self.budget_bit_s * LONG_FRAME_S
            share.given_bit_s = 0.0 if too_long else min(share.asked_bit_s, left)
            left -= share.given_bit_s
            before_it = before_it or share.rate_hz > 0.0

    def admit(self, key: str, now: float) -> str | None:
        """Whether a frame of `key` may go out now: None if so (then report it with `sent`), else the reason.

        A skipped frame is counted under its reason.
        """
        with self._lock:
            share = self._stream(key)
            self._refill(share, now)
            if share.frame_bits == 0.0 or share.given_bit_s >= share.asked_bit_s or share.tokens >= share.frame_bits:
                return None  # (a stream given all it asks for is not held to its bucket: frames come with jitter)
            reason = self._reason(share)
            if reason == BUDGET:
                share.skipped_budget += 1
            else:
                share.skipped_lower_priority += 1
            return reason

    def _reason(self, share: StreamShare) -> str:
        """LOWER_PRIORITY if streams before it took part of what it could have had, else BUDGET."""
        return LOWER_PRIORITY if share.given_bit_s < min(share.asked_bit_s, self.budget_bit_s) else BUDGET

    def _refill(self, share: StreamShare, now: float) -> None:
        if share.refilled is not None and now > share.refilled:
            cap = share.frame_bits + share.given_bit_s * BURST_S
            share.tokens = min(share.tokens + share.given_bit_s * (now - share.refilled), cap)
        if share.refilled is None or now > share.refilled:
            share.refilled = now

    def sent(self, key: str, nbytes: int, now: float) -> None:
        """Charges a frame that went out (`nbytes`, all its topics) to `key`, and learns the stream's size."""
        with self._lock:
            share = self._stream(key)
            self._refill(share, now)
            bits = 8.0 * nbytes
            share.tokens = max(share.tokens - bits, -max(share.frame_bits, bits))  # a debt of one frame at most
            first = share.frame_bits == 0.0
            share.frame_bits = bits if first else (1 - _SIZE_WEIGHT) * share.frame_bits + _SIZE_WEIGHT * bits
            if first:  # the first frame went out freely: start from an empty bucket, not from a debt
                share.tokens = 0.0
            self._give_out()

    def state(self, key: str) -> str:
        """In words, for /diagnostics: full rate, part of it (Mbit/s given of asked), or paused."""
        with self._lock:
            share = self.streams.get(key)
            if share is None or share.rate_hz == 0.0:
                return "not subscribed"
            if share.frame_bits == 0.0 or share.given_bit_s >= share.asked_bit_s:
                return "full rate"
            if share.given_bit_s < share.frame_bits * 0.05:  # under one frame in 20 s
                return f"paused ({self._reason(share)})"
            return f"{share.given_bit_s * 1e-6:.1f} of {share.asked_bit_s * 1e-6:.1f} Mbit/s"
