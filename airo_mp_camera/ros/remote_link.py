"""The remote bridge's link: what it carries (found by itself), how it is shared, and the form rgb takes on it.

`RemoteLink` joins three pieces for the remote-facing bridge (ros/bridge.py keeps none of this logic):

- `LinkEstimate` (ros/link_estimate.py): the link's capacity, from what each stream's writers were given and
  when their reliable subscribers acknowledged it. A poller thread asks the writers every POLL_S whether all
  is acknowledged (`wait_for_all_acked` with no wait) and updates the estimate.
- `LinkShare` (ros/link_share.py): the estimate given out in `remote.priority` order; a frame beyond a stream's
  share is skipped, never queued.
- `DepthForm`: while one depth frame would hold the whole link longer than the link share lets a lower-priority
  stream's frame (LONG_FRAME_S), depth is scaled down (nearest pixel, camera_info to match) to
  `remote.depth.min_scale`, so that it keeps flowing, at the share it gets, rather than pausing.
- `RgbForm`: when rgb alone does not fit its share, its JPEG quality steps down to a floor
  (`remote.rgb.min_jpeg_quality`), then its scale (rgb and right, camera_info to match) down to
  `remote.rgb.min_scale`, before it loses rate; back up when the link has room for the larger form, with hysteresis
  (a step down after DOWN_AFTER_S short of its share, a step up after UP_AFTER_S with UP_ROOM times what the larger
  form would ask for to spare, never two steps within SETTLE_S). A quality or scale the user set is never changed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from rclpy.duration import Duration
from rclpy.publisher import Publisher

from airo_mp_camera.ros.link_estimate import LinkEstimate
from airo_mp_camera.ros.link_share import LONG_FRAME_S, LinkShare

logger = logging.getLogger(__name__)

POLL_S = 0.005
_NO_WAIT = Duration(seconds=0)
AUTOMATIC_START_QUALITY = 80
QUALITY_STEP = 10
SCALE_STEPS = (1.0, 0.75, 0.5, 0.375, 0.25)
DOWN_AFTER_S = 1.0
UP_AFTER_S = 3.0
UP_ROOM = 1.5
LARGER = 1.3  # about how much more a frame of the next larger form asks for
SETTLE_S = 1.5
UP_FILL = 0.8  # depth steps up once its next larger frame would fill under this much of LONG_FRAME_S


@dataclass(frozen=True)
class Form:
    """A form of the rgb (and right) compressed images."""

    jpeg_quality: int
    scale: float

    def __str__(self) -> str:
        return f"jpeg quality {self.jpeg_quality}, scale {self.scale:g}"


def forms(jpeg_quality: int, min_jpeg_quality: int, scale: float, min_scale: float) -> tuple[Form, ...]:
    """The forms to choose from, largest first: quality steps down to its floor, then scale steps down to its floor.

    A quality or scale of 0 is the remote bridge's to choose; any other is the only one.
    """
    if jpeg_quality:
        qualities = [jpeg_quality]
    else:
        top = max(AUTOMATIC_START_QUALITY, min_jpeg_quality)
        qualities = [*range(top, min_jpeg_quality, -QUALITY_STEP), min_jpeg_quality]
    scales = scale_steps(scale, min_scale)
    return tuple(Form(q, scales[0]) for q in qualities) + tuple(Form(qualities[-1], s) for s in scales[1:])


def scale_steps(scale: float, min_scale: float) -> tuple[float, ...]:
    """The scales to choose from, largest first: `scale` alone if set, else the steps from 1 down to `min_scale`."""
    return (scale,) if scale else (*(s for s in SCALE_STEPS if s > min_scale), min_scale)


class RgbForm:
    """Chooses rgb's form from how its share compares with what it asks for (see the module)."""

    def __init__(self, choices: tuple[Form, ...]) -> None:
        self.choices = choices
        self.index = 0
        self.changes = 0
        self.why = "full form" if len(choices) > 1 else "set by parameters"
        self._short_since: float | None = None
        self._roomy_since: float | None = None
        self._changed_at = float("-inf")

    @property
    def current(self) -> Form:
        return self.choices[self.index]

    @property
    def adaptive(self) -> bool:
        return len(self.choices) > 1

    def update(self, share: LinkShare, now: float) -> Form | None:
        """Judges rgb's share at `now`; returns the new form if it changes."""
        stream = share.streams.get("rgb")
        if not self.adaptive or stream is None or stream.rate_hz == 0.0 or stream.frame_bits == 0.0:
            self._short_since = self._roomy_since = None
            return None
        short = stream.given_bit_s < 0.97 * stream.asked_bit_s
        roomy = share.budget_bit_s >= UP_ROOM * LARGER * stream.asked_bit_s  # room for the next larger form
        self._short_since = (self._short_since if self._short_since is not None else now) if short else None
        self._roomy_since = (self._roomy_since if self._roomy_since is not None else now) if roomy else None
        if now - self._changed_at < SETTLE_S:
            return None
        step = 0
        if self._short_since is not None and now - self._short_since >= DOWN_AFTER_S:
            step = 1
            self.why = (
                f"the link's share of {stream.given_bit_s * 1e-6:.1f} Mbit/s is short of the "
                f"{stream.asked_bit_s * 1e-6:.1f} rgb asks for"
            )
        elif self._roomy_since is not None and now - self._roomy_since >= UP_AFTER_S:
            step = -1
            self.why = f"the link has room ({share.budget_bit_s * 1e-6:.1f} Mbit/s)"
        index = min(max(self.index + step, 0), len(self.choices) - 1)
        if index == self.index:
            return None
        self.index, self.changes, self._changed_at = index, self.changes + 1, now
        self._short_since = self._roomy_since = None
        return self.current


class DepthForm:
    """Chooses depth's scale from how long one of its frames holds the link (see the module).

    A lower-priority stream's frame that holds the whole link over LONG_FRAME_S is paused by the link share; a
    smaller depth frame goes out instead, at the share depth gets, and keeps measuring the link. Steps down while a
    frame is too long for the estimate, up once the next larger frame (about 1/scale^2 times the size) has taken
    under UP_FILL of that for UP_AFTER_S.
    """

    def __init__(self, scales: tuple[float, ...]) -> None:
        self.scales = scales
        self.index = 0
        self.changes = 0
        self.why = "full form" if len(scales) > 1 else "set by parameters"
        self._changed_at = float("-inf")
        self._roomy_since: float | None = None

    @property
    def scale(self) -> float:
        return self.scales[self.index]

    @property
    def adaptive(self) -> bool:
        return len(self.scales) > 1

    def update(self, share: LinkShare, now: float) -> float | None:
        """Judges depth's frame size against the link at `now`; returns the new scale if it changes."""
        stream = share.streams.get("depth")
        if not self.adaptive or stream is None or stream.rate_hz == 0.0 or stream.frame_bits == 0.0:
            return None
        if now - self._changed_at < SETTLE_S:
            return None
        longest = share.budget_bit_s * LONG_FRAME_S
        index = self.index
        larger = stream.frame_bits * (self.scales[index - 1] / self.scale) ** 2 if index > 0 else float("inf")
        roomy = larger < UP_FILL * longest
        self._roomy_since = (self._roomy_since if self._roomy_since is not None else now) if roomy else None
        if stream.frame_bits > longest and index + 1 < len(self.scales):
            index += 1
            self.why = f"a frame of {stream.frame_bits * 1e-6:.1f} Mbit would hold the link too long"
        elif self._roomy_since is not None and now - self._roomy_since >= UP_AFTER_S:
            index -= 1
            self.why = f"the link carries a frame of {larger * 1e-6:.1f} Mbit quickly enough"
        if index == self.index:
            return None
        share.resize("depth", (self.scales[index] / self.scale) ** 2)  # admitted by its new size, then learnt
        self.index, self.changes, self._changed_at = index, self.changes + 1, now
        self._roomy_since = None
        return self.scale


class RemoteLink:
    """Estimate, share and rgb form of the remote bridge's link, kept up to date by a poller thread.

    Args:
        ceiling_mbit_s: `remote.max_mbit_s` (0: none).
        priority: `remote.priority` as share keys.
        choices: rgb's forms (`forms`).
        depth_scales: depth's scales, largest first (one: set by the user).
        writers: the publishers of each stream (by share key's stream name), polled for acknowledgements.
        clock: seconds (the bridge's clock).
        on_form: called with each new rgb form (from the poller thread).
        on_depth_scale: called with each new depth scale (from the poller thread).
    """

    def __init__(
        self,
        ceiling_mbit_s: float,
        priority: tuple[str, ...],
        choices: tuple[Form, ...],
        depth_scales: tuple[float, ...],
        writers: Callable[[], dict[str, list[Publisher]]],
        clock: Callable[[], float],
        on_form: Callable[[Form, str], None] | None = None,
        on_depth_scale: Callable[[float, str], None] | None = None,
    ) -> None:
        self.estimate = LinkEstimate(ceiling_bit_s=ceiling_mbit_s * 1e6)
        self.share = LinkShare(self.estimate.estimate_bit_s * 1e-6, priority)
        self.rgb_form = RgbForm(choices)
        self.depth_form = DepthForm(depth_scales)
        self._on_depth_scale = on_depth_scale
        self._writers = writers
        self._clock = clock
        self._on_form = on_form
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="remote link", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)

    def charge(self, key: str, nbytes: int) -> None:
        """A frame of `key` (a share key) went out: `nbytes` on all its topics."""
        now = self._clock()
        self.share.sent(key, nbytes, now)
        self.estimate.sent(key.partition(".")[0], nbytes, now)

    def _poll(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                self.poll_once()
            except Exception:  # a writer destroyed at shutdown, ...: never let the thread die silently
                if not self._stop.is_set():
                    logger.exception("remote link poll failed")
                    self._stop.wait(1.0)

    def poll_once(self) -> None:
        """Reads the writers' acknowledgements, updates the estimate, the share and rgb's form."""
        for writer, publishers in self._writers().items():
            sent = self.estimate.unacknowledged(writer)  # (a writer with nothing outstanding is not asked)
            if sent and all(p.wait_for_all_acked(_NO_WAIT) for p in publishers):
                self.estimate.acknowledged(writer, sent, self._clock())
        now = self._clock()
        self.share.set_budget(self.estimate.update(now))
        form = self.rgb_form.update(self.share, now)
        if form is not None and self._on_form is not None:
            self._on_form(form, self.rgb_form.why)
        scale = self.depth_form.update(self.share, now)
        if scale is not None and self._on_depth_scale is not None:
            self._on_depth_scale(scale, self.depth_form.why)
