"""/diagnostics for a bridged camera: grab rate, per stream rate, bandwidth, subscribers, latency, drops."""

from __future__ import annotations

import time
from collections.abc import Callable

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from airo_mp_camera.ros.bridge import Bridge
from airo_mp_camera.ros.link_share import SKIP_REASONS, share_key
from airo_mp_camera.ros.messages import stamp


class DiagnosticsReporter:
    """Builds one DiagnosticStatus per period from the bridge's counters (rates over the last period).

    Args:
        bridge: the bridge whose counters are reported.
        name: status name, e.g. "camera: shared-memory camera".
        extra: returns more (key, value) pairs and an optional error, e.g. the hosted publisher's state.
    """

    def __init__(
        self,
        bridge: Bridge,
        name: str,
        extra: Callable[[], tuple[list[tuple[str, str]], str | None]] | None = None,
    ) -> None:
        self.bridge = bridge
        self.name = name
        self.extra = extra
        self._last_time = time.monotonic()
        self._last_frames = 0
        self._last_published = {stream: 0 for stream in bridge.streams}
        self._last_bytes = {stream: 0 for stream in bridge.streams}

    def _link_share_values(self, name: str) -> list[tuple[str, str]]:
        """The remote bridge's link share of a stream: its state and the frames it skipped, by reason."""
        if self.bridge.link is None:
            return []
        share = self.bridge.link.share
        values = []
        for key in (name, share_key(name, raw=True)):
            if key not in share.streams or (key != name and share.streams[key].rate_hz == 0.0):
                continue
            label = f"{name} raw" if key != name else name
            values.append((f"{label} link share", share.state(key)))
            values += [
                (f"{label} skipped ({reason})", str(share.streams[key].skipped(reason))) for reason in SKIP_REASONS
            ]
        return values

    def report(self) -> DiagnosticArray:
        now = time.monotonic()
        elapsed = max(now - self._last_time, 1e-6)
        bridge = self.bridge
        frames = bridge.frames
        values = [
            ("namespace", bridge.config.namespace),
            ("publisher alive", str(bridge.publisher_alive)),
            ("grab rate (Hz)", f"{(frames - self._last_frames) / elapsed:.2f}"),
            ("frames grabbed", str(frames)),
            ("dropped frames", str(bridge.dropped)),
            ("publisher restarts", str(bridge.restarts)),
            ("last frame id", str(bridge.last_frame_id)),
        ]
        link = bridge.link.remote_link if bridge.link is not None else None
        if link is not None:
            estimate, form = link.estimate, link.rgb_form
            ceiling = f"{estimate.ceiling_bit_s * 1e-6:g}" if estimate.ceiling_bit_s else "none"
            values += [
                ("link estimate (Mbit/s)", f"{estimate.estimate_bit_s * 1e-6:.2f}"),
                ("link estimate", estimate.reason),
                ("link ceiling (Mbit/s)", ceiling),
                ("link over-uses", str(estimate.over_uses)),
                ("rgb form", f"{form.current} ({'chosen: ' + form.why if form.adaptive else 'set by parameters'})"),
                ("rgb form changes", str(form.changes)),
                ("depth scale", f"{link.depth_form.scale:g} ({link.depth_form.why})"),
            ]
        for name, stream in bridge.streams.items():
            stats = stream.stats
            sent = stats.bytes + stats.encoded_bytes
            values += [
                (f"{name} rate (Hz)", f"{(stats.published - self._last_published[name]) / elapsed:.2f}"),
                (f"{name} bandwidth (Mbit/s)", f"{(sent - self._last_bytes[name]) * 8e-6 / elapsed:.2f}"),
                (f"{name} latency p50 (ms)", f"{stats.latency_p50_ms():.2f}"),
                (f"{name} converted", str(stats.converted)),
                (f"{name} dropped (encoder busy)", str(stats.dropped)),
                (f"{name} skipped (link busy)", str(stats.link_busy)),
                (f"{name} subscribers", str(stream.subscribers())),
            ]
            values += self._link_share_values(name)
            self._last_published[name] = stats.published
            self._last_bytes[name] = sent
        self._last_time, self._last_frames = now, frames
        extra_error = None
        if self.extra is not None:
            more, extra_error = self.extra()
            values += more
        if extra_error is not None:
            level, message = DiagnosticStatus.ERROR, extra_error
        elif not bridge.publisher_alive:
            level, message = DiagnosticStatus.ERROR, bridge.status
        elif bridge.status != "ok":
            level, message = DiagnosticStatus.WARN, bridge.status
        else:
            level, message = DiagnosticStatus.OK, "streaming"
        status = DiagnosticStatus(
            level=level,
            name=self.name,
            message=message,
            hardware_id=f"shm:{bridge.config.namespace}",
            values=[KeyValue(key=key, value=value) for key, value in values],
        )
        array = DiagnosticArray(status=[status])
        array.header.stamp = stamp(time.time())
        return array
