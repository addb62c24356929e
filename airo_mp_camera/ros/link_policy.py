"""The remote bridge's policy for its link: what each stream asks, what is let out, what is charged, in which form.

Only the remote bridge (ros/remote_bridge_node.py) has one; the local bridge publishes every frame its subscribers
and rate limits ask for. The pieces it joins:

- `RemoteLink` (ros/remote_link.py): the link's estimate (ros/link_estimate.py), its share among the streams in
  `remote.priority` order (ros/link_share.py), and the forms of rgb and depth it chooses, kept up to date by a
  poller thread; the policy sets the chosen forms on the bridge's `ImageForms` (ros/image_forms.py).
- Admission: a stream asks the share for the camera's rate (capped by its `max_rate`) while it has subscribers,
  and a frame beyond its share is skipped, never queued.
- Acknowledgements: a large frame (over GATED_BYTES) is skipped while a subscriber has left the stream's last one
  unacknowledged for over ACK_GRACE_S, so a slow link gets the newest frames at the rate it can carry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from rclpy.duration import Duration
from rclpy.publisher import Publisher

from airo_mp_camera.ros.image_forms import ImageForms
from airo_mp_camera.ros.link_share import LinkShare
from airo_mp_camera.ros.parameters import BridgeConfig
from airo_mp_camera.ros.remote_link import Form, RemoteLink, forms, scale_steps
from airo_mp_camera.ros.streams import BridgedStream, Wanted

ACK_GRACE_S = 0.25
"""The remote bridge skips a stream's frames while a subscriber leaves one of its messages unacknowledged longer."""
ACK_GIVE_UP_S = 1.0
"""... but not for longer than this: a subscriber that stopped acknowledging altogether must not stall the others."""
GATED_BYTES = 1_000_000
"""Only streams whose frames are larger are held back for acknowledgements: raw images and full clouds, which
can fill a link. Fast DDS asks subscribers to acknowledge once a socket buffer's worth (4 MB) has been sent, so
the acknowledgements of small messages come late, and holding them back would throttle a link that keeps up."""
_NO_WAIT = Duration(seconds=0)
logger = logging.getLogger(__name__)


class LinkPolicy:
    """The remote bridge's link: estimate, share, forms, admission and charging (see the module).

    Args:
        config: the remote bridge's config (budget, priority, forms and their floors).
        clock: the bridge's clock, in seconds.
        log: where the forms chosen are told (the node's logger's `info`).
    """

    def __init__(
        self, config: BridgeConfig, clock: Callable[[], float], log: Callable[[str], object] | None = None
    ) -> None:
        self.config = config
        self._clock = clock
        self._log = log or logger.info
        self._forms: ImageForms | None = None
        self._unacknowledged_since: dict[str, float] = {}
        self.remote_link: RemoteLink | None = None

    @property
    def share(self) -> LinkShare:
        """The link's share among the streams."""
        assert self.remote_link is not None, "LinkPolicy.attach first"
        return self.remote_link.share

    def attach(self, streams: Mapping[str, BridgedStream], image_forms: ImageForms) -> None:
        """Binds the policy to the bridge's streams (their writers are polled) and the forms it sets."""
        config = self.config
        self._forms = image_forms
        choices = forms(config.jpeg_quality, config.min_jpeg_quality, config.image_scale, config.min_image_scale)
        self.remote_link = RemoteLink(
            config.link_budget_mbit_s,
            config.link_priority,
            choices,
            scale_steps(config.depth_scale, config.min_depth_scale),
            lambda: writers_of(streams),
            self._clock,
            self._new_form,
            self._new_depth_scale,
        )
        self._new_form(self.remote_link.rgb_form.current, "")
        self._new_depth_scale(self.remote_link.depth_form.scale, "")

    def start(self) -> None:
        if self.remote_link is not None:
            self.remote_link.start()

    def stop(self) -> None:
        if self.remote_link is not None:
            self.remote_link.stop()

    # ------------------------------------------------------------------------------ admission
    def ask(self, stream: BridgedStream, wanted: Wanted, camera_fps: float) -> None:
        """Tells the share the rate each part of a stream asks for: the camera's, capped by the stream's max_rate.

        The camera's rate, not the rate the bridge grabs at: a bridge short of CPU must not ask for less and then
        take on more streams than the link and itself can carry.
        """
        rate = camera_fps
        if stream.config.max_rate > 0:
            rate = min(rate, stream.config.max_rate)
        share = self.share
        key = stream.compressed_key
        if key is not None:
            share.ask(key, rate if wanted.info or wanted.compressed else 0.0)
        if stream.raw is not None:
            share.ask(stream.raw_key, rate if wanted.raw else 0.0)

    def admit(self, stream: BridgedStream, wanted: Wanted, now: float) -> Wanted:
        """The parts of a stream's frame that the share lets out now."""
        share = self.share
        raw, compressed, info = wanted.raw, wanted.compressed, wanted.info
        key = stream.compressed_key
        if key is not None and (info or compressed) and share.admit(key, now) is not None:
            info = compressed = False
        if raw and share.admit(stream.raw_key, now) is not None:
            raw = False
        return Wanted(raw=raw, compressed=compressed, info=info)

    def skip(self, stream: BridgedStream, when: float, start_clock: bool) -> bool:
        """Whether to skip this frame of a stream because its link still carries the last message.

        Skipping rather than queueing gives a slow link the newest frames at the rate it can carry. Only large
        messages are judged (GATED_BYTES); each skip counts as link_busy.
        """
        if stream.last_bytes > GATED_BYTES and self._link_busy(stream, when, start_clock):
            stream.stats.link_busy += 1
            return True
        return False

    def _link_busy(self, stream: BridgedStream, now: float, start_clock: bool) -> bool:
        """Whether a subscriber has left a message of this stream unacknowledged for over ACK_GRACE_S.

        The clock starts when a message is seen unacknowledged a frame after it was sent (`start_clock`, just
        before the next one would be): seen right after sending, every message is still on its way. It stops
        whenever everything is acknowledged. Best-effort subscribers never hold a message. Messages
        acknowledged within the grace pass freely, so a link that keeps up is never throttled, whatever its
        round trip. Past ACK_GIVE_UP_S the subscriber is taken for gone (crashed, unplugged: DDS notices
        only when its lease expires) and frames flow again, so it cannot stall the stream for the others.
        """
        if all(p.wait_for_all_acked(_NO_WAIT) for p in stream.publishers):
            self._unacknowledged_since.pop(stream.name, None)
            return False
        since = self._unacknowledged_since.get(stream.name)
        if since is None:
            if not start_clock:
                return False
            since = self._unacknowledged_since[stream.name] = now
        return ACK_GRACE_S < now - since <= ACK_GIVE_UP_S

    def charge(self, key: str, nbytes: int) -> None:
        """A part of a frame went out under share key `key`: `nbytes` on its topics."""
        if self.remote_link is not None:
            self.remote_link.charge(key, nbytes)

    # ------------------------------------------------------------------------------ forms
    def _new_form(self, form: Form, why: str) -> None:
        """The form of rgb (and right) the link chose: used from the next frame on."""
        if why:
            self._log(f"remote rgb: {form} ({why})")
        if self._forms is not None:
            self._forms.set_rgb(form.jpeg_quality, form.scale)

    def _new_depth_scale(self, scale: float, why: str) -> None:
        """The depth scale the link chose: used from the next frame on."""
        if why:
            self._log(f"remote depth: scale {scale:g} ({why})")
        if self._forms is not None:
            self._forms.set_depth_scale(scale)


def writers_of(streams: Mapping[str, BridgedStream]) -> dict[str, list[Publisher]]:
    """The publishers of each stream, by stream name."""
    return {name: stream.publishers for name, stream in streams.items()}
