"""The remote bridge's link share: a budget given out in priority order, frames skipped (never queued) beyond it.

Pure decisions with a fake clock (no timing assertions); the real link is measured by `make bench-remote`.
Frame sizes are those of the synthetic 720p camera with realistic depth: jpeg rgb 90 KB, rvl depth 766 KB,
a cloud decimated by 4 920 KB.
"""

from __future__ import annotations

import pytest

from airo_mp_camera.ros.link_share import BUDGET, LOWER_PRIORITY, LinkShare, parse_priority, share_key
from airo_mp_camera.ros.parameters import ParameterError, remote_bridge_config

SIZES = {"rgb": 90_000, "depth": 766_000, "points": 920_000, "rgb.raw": 2_764_800}
CAMERA_HZ = 30.0


def run(share: LinkShare, rates: dict[str, float], seconds: float = 10.0) -> dict[str, int]:
    """Frames sent per stream when every stream has a frame at each of the camera's frames (rate-limited)."""
    sent = {key: 0 for key in rates}
    due = {key: 0.0 for key in rates}
    for key, rate in rates.items():
        share.ask(key, rate)
    for frame in range(int(seconds * CAMERA_HZ)):
        now = frame / CAMERA_HZ
        for key, rate in rates.items():
            if rate == 0.0 or now + 1e-9 < due[key]:
                continue
            due[key] += 1.0 / rate
            if share.admit(key, now) is None:
                share.sent(key, SIZES[key], now)
                sent[key] += 1
    return sent


def test_a_link_that_carries_everything_sends_every_frame() -> None:
    share = LinkShare(1000.0)
    sent = run(share, {"rgb": 30.0, "depth": 30.0, "points": 10.0})
    assert sent == {"rgb": 300, "depth": 300, "points": 100}
    assert share.state("depth") == "full rate"


def test_the_first_stream_keeps_its_full_rate_and_the_next_gets_what_is_left() -> None:
    share = LinkShare(100.0)
    sent = run(share, {"rgb": 30.0, "depth": 30.0, "points": 10.0})
    assert sent["rgb"] == 300
    left_hz = (100e6 - 8 * SIZES["rgb"] * 30) / (8 * SIZES["depth"])  # 12.8 Hz
    assert abs(sent["depth"] / 10.0 - left_hz) < 1.0
    assert sent["points"] <= 1  # its first frame goes out before its size is known; then it is paused
    assert share.state("points") == f"paused ({LOWER_PRIORITY})"
    assert share.streams["points"].skipped(LOWER_PRIORITY) > 90
    assert share.streams["depth"].skipped(LOWER_PRIORITY) > 100


def test_what_goes_out_stays_within_the_budget() -> None:
    share = LinkShare(20.0)
    sent = run(share, {"rgb": 30.0, "depth": 30.0, "points": 10.0}, seconds=20.0)
    bits = sum(8 * SIZES[key] * count for key, count in sent.items())
    first_frames = 8 * sum(SIZES[key] for key in sent)  # each stream's first frame, sent before its size is known
    assert bits <= 20e6 * 20.0 + first_frames
    assert sent["rgb"] / 20.0 >= 20.0  # 18 Mbit/s would be 25 Hz of 90 KB frames
    assert sent["depth"] <= 1 and sent["points"] <= 1


def test_a_stream_nobody_subscribes_to_leaves_its_share_to_the_others() -> None:
    share = LinkShare(100.0)
    sent = run(share, {"rgb": 0.0, "depth": 30.0, "points": 10.0})
    assert abs(sent["depth"] / 10.0 - 100e6 / (8 * SIZES["depth"])) < 1.0  # 16.3 Hz: the whole budget


def test_a_stream_that_alone_asks_for_more_than_the_budget_is_skipped_for_the_budget() -> None:
    share = LinkShare(100.0)
    run(share, {"rgb.raw": 30.0})
    assert share.streams["rgb.raw"].skipped(BUDGET) > 0
    assert share.streams["rgb.raw"].skipped(LOWER_PRIORITY) == 0
    assert share.state("rgb.raw") == "100.0 of 663.6 Mbit/s"


def test_the_priority_order_is_a_parameter() -> None:
    share = LinkShare(100.0, parse_priority("points,depth"))
    sent = run(share, {"rgb": 30.0, "depth": 30.0, "points": 10.0})
    assert sent["points"] == 100
    assert sent["rgb"] < 300 and share.streams["rgb"].skipped(LOWER_PRIORITY) > 0


def test_raw_topics_come_after_every_named_stream_by_default() -> None:
    share = LinkShare(100.0)
    assert list(share.stream(key) and key for key in ("rgb.raw", "points", "rgb")) == ["rgb.raw", "points", "rgb"]
    assert list(share.streams) == ["rgb", "points", "rgb.raw"]
    assert share_key("depth", raw=True) == "depth.raw"


def test_unknown_or_repeated_priority_names_are_refused_saying_what_is_accepted() -> None:
    assert parse_priority(" depth , rgb") == ("depth", "rgb", "points", "right", "raw")
    with pytest.raises(ValueError, match="unknown stream 'colour'; accepted: rgb, depth, points, right, raw"):
        parse_priority("rgb,colour")
    with pytest.raises(ValueError, match="'rgb' named twice"):
        parse_priority("rgb,depth,rgb")


@pytest.mark.parametrize(
    ("parameter", "value", "allowed"),
    [
        ("remote.max_mbit_s", -5.0, "a number >= 0"),
        ("remote.rgb.min_jpeg_quality", 0, "an integer from 1 to 100"),
        ("remote.rgb.min_jpeg_quality", 101, "an integer from 1 to 100"),
        ("remote.rgb.min_scale", 0.0, "a number > 0"),
        ("remote.rgb.min_scale", 1.5, "a number > 0"),
    ],
)
def test_a_bad_ceiling_or_floor_stops_the_node_naming_the_parameter(
    parameter: str, value: float, allowed: str
) -> None:
    with pytest.raises(ParameterError, match=rf"parameter '{parameter}' must be {allowed}"):
        remote_bridge_config({parameter: value}, "camera")


def test_no_ceiling_and_no_pinned_form_by_default() -> None:
    config = remote_bridge_config({}, "camera")
    assert config.link_budget_mbit_s == 0.0  # the link estimate alone
    assert config.jpeg_quality == 0 and config.image_scale == 0.0  # chosen by the remote bridge
    assert (config.min_jpeg_quality, config.min_image_scale) == (40, 0.5)


def test_an_unknown_priority_name_stops_the_node_naming_the_parameter() -> None:
    with pytest.raises(ParameterError, match=r"parameter 'remote.priority': unknown stream 'confidence'; accepted"):
        remote_bridge_config({"remote.priority": "rgb,confidence"}, "camera")
    config = remote_bridge_config({"remote.priority": "depth", "remote.max_mbit_s": 90}, "camera")
    assert config.link_priority[:2] == ("depth", "rgb") and config.link_budget_mbit_s == 90.0
