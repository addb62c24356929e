"""MultiCameraReceiver: sets of frames, one per camera, within a tolerance, from real publisher processes.

Every camera is a SyntheticCamera in its own publisher process, on a wall-clock grid with a phase and
jitter (FrameClock), so the spread a set can reach is known; its watermarks prove no frame is torn or mixed.
The matching functions are also checked on their own, on hand-made capture times.
"""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from airo_mp_camera import (
    FrameReleasedError,
    MultiCameraReceiver,
    MultiprocessRGBDPublisher,
    MultiprocessRGBReceiver,
    NoFrameSetError,
    PublisherGoneError,
    SyntheticCamera,
)
from airo_mp_camera.cameras import watermark
from airo_mp_camera.cameras.frame_clock import FrameClock
from airo_mp_camera.cameras.replay import ReplayCamera, camera_prefixes
from airo_mp_camera.pipeline.set_matching import newest_set
from support.driver_bags import write_own_pair
from support.shared_memory import issue_namespaces

TOLERANCE = 0.010
SMALL = (160, 96)


@pytest.fixture
def names() -> Iterator[dict[str, str]]:
    """Camera name -> a namespace no other test uses (registered as this run's for the /dev/shm check)."""
    issued = {name: f"test_{uuid.uuid4().hex[:10]}_{name}" for name in ("wrist", "top", "side")}
    issue_namespaces(issued.values())
    yield issued


def start(namespace: str, processes, fps: float = 30.0, phase: float = 0.0, jitter: float = 0.0):
    publisher = MultiprocessRGBDPublisher(
        SyntheticCamera, {"resolution": SMALL, "fps": fps, "phase": phase, "jitter": jitter}, namespace
    )
    publisher.start()
    processes.track(publisher.pid)
    return publisher


def stop(publishers) -> None:
    for publisher in publishers:
        if publisher.is_alive():
            publisher.stop()


def check_set(cameras: MultiCameraReceiver, previous: dict[str, int]) -> dict[str, int]:
    """Asserts the set the cameras' receivers hold: within tolerance, newer than `previous`, untorn."""
    stamps = [cameras[name].capture_timestamp for name in cameras.names]
    assert max(stamps) - min(stamps) <= TOLERANCE, f"a set spread {1000 * (max(stamps) - min(stamps)):.1f} ms"
    assert cameras.spread == pytest.approx(max(stamps) - min(stamps))
    ids = {}
    for name in cameras.names:
        receiver = cameras[name]
        ids[name] = receiver.frame_id
        assert ids[name] > previous.get(name, 0), f"camera {name}: frame {ids[name]} after {previous.get(name)}"
        assert watermark.matches(receiver.retrieve_rgb_image_as_int(), receiver.frame_id), f"{name}: rgb torn"
        assert watermark.matches(receiver.retrieve_depth_map(), receiver.frame_id), f"{name}: depth torn"
    return ids


# ---------------------------------------------------------------------------------- matching alone
def test_the_newest_set_is_the_one_whose_oldest_frame_is_newest() -> None:
    candidates = {"a": [0.000, 0.033, 0.066], "b": [0.004, 0.037, 0.070], "c": [0.008, 0.041]}
    assert newest_set(candidates, 0.010) == {"a": 1, "b": 1, "c": 1}


def test_a_camera_that_delivers_later_is_matched_with_an_older_frame_of_the_others() -> None:
    # b's frame of the instant 0.000 arrives after a's next frame: only a history of a's frames finds the set.
    assert newest_set({"a": [0.000, 0.033], "b": [0.001]}, 0.010) == {"a": 0, "b": 0}


def test_no_set_when_the_frames_lie_further_apart_than_the_tolerance() -> None:
    assert newest_set({"a": [0.000, 0.033], "b": [0.015]}, 0.010) is None
    assert newest_set({"a": [0.000], "b": []}, 0.010) is None


def test_the_frame_clock_captures_on_its_wall_clock_grid_within_the_jitter() -> None:
    clock = FrameClock(100.0, phase=0.003, jitter=0.001, seed=1)
    stamps = [clock.wait() for _ in range(10)]
    offsets = [(stamp - 0.003 + 0.005) % 0.01 - 0.005 for stamp in stamps]  # distance to the nearest grid point
    assert all(abs(offset) <= 0.001 + 1e-6 for offset in offsets), offsets
    assert all(later > earlier for earlier, later in zip(stamps, stamps[1:], strict=False))
    with pytest.raises(ValueError, match="jitter needs a phase"):
        FrameClock(30.0, jitter=0.001)


# ---------------------------------------------------------------------------------- real processes
def test_three_cameras_with_phases_and_jitter_give_sets_within_tolerance_newer_and_untorn(
    names: dict[str, str], processes
) -> None:
    publishers = [
        start(names["wrist"], processes, phase=0.000, jitter=0.002),
        start(names["top"], processes, phase=0.003, jitter=0.002),
        start(names["side"], processes, phase=0.005, jitter=0.002),
    ]
    try:
        with MultiCameraReceiver(names, tolerance=TOLERANCE) as cameras:
            ids: dict[str, int] = {}
            for _ in range(40):
                cameras.grab_images(timeout=5.0)
                ids = check_set(cameras, ids)
            assert cameras.sets == 40
            kept, kept_id = cameras["top"].retrieve_rgb_image_as_int(), cameras["top"].frame_id
            cameras.grab_images(timeout=5.0)
            assert cameras["top"].frame_id > kept_id
            assert watermark.matches(kept, kept_id), "an array the caller holds is never overwritten by the next set"
    finally:
        stop(publishers)


def test_a_camera_at_half_the_rate_sets_the_rate_of_the_sets(names: dict[str, str], processes) -> None:
    publishers = [
        start(names["wrist"], processes, fps=30.0, phase=0.000),
        start(names["top"], processes, fps=15.0, phase=0.002),
    ]
    cameras_used = {"wrist": names["wrist"], "top": names["top"]}
    try:
        with MultiCameraReceiver(cameras_used, tolerance=TOLERANCE) as cameras:
            ids: dict[str, int] = {}
            for _ in range(12):
                cameras.grab_images(timeout=5.0)
                ids = check_set(cameras, ids)
            # Between two sets the 30 fps camera publishes two frames, one of them in no set.
            assert cameras.skipped["wrist"] >= 11 - 2, cameras.skipped
            assert cameras.skipped["top"] <= 2, cameras.skipped
    finally:
        stop(publishers)


def test_a_tolerance_no_set_can_meet_raises_within_the_timeout_naming_the_cameras(
    names: dict[str, str], processes
) -> None:
    # Grids 15 ms apart at 30 fps: the closest frames are 15 ms apart (or 18.3 ms the other way).
    publishers = [start(names["wrist"], processes, phase=0.000), start(names["top"], processes, phase=0.015)]
    try:
        with MultiCameraReceiver({"wrist": names["wrist"], "top": names["top"]}, tolerance=0.005) as cameras:
            began = time.monotonic()
            with pytest.raises(NoFrameSetError) as raised:
                cameras.grab_images(timeout=1.0)
            assert time.monotonic() - began < 3.0
            assert raised.value.cameras in (["wrist"], ["top"])
            assert raised.value.smallest_spread == pytest.approx(0.015, abs=0.002)
            assert "tolerance 5.0 ms" in str(raised.value) and "closest set seen spread 15" in str(raised.value)
    finally:
        stop(publishers)


def test_a_killed_publisher_is_named_within_the_timeout_and_followed_after_its_restart(
    names: dict[str, str], processes
) -> None:
    wrist = start(names["wrist"], processes, phase=0.000)
    top = start(names["top"], processes, phase=0.002)
    publishers = [wrist, top]
    try:
        with MultiCameraReceiver({"wrist": names["wrist"], "top": names["top"]}, tolerance=TOLERANCE) as cameras:
            cameras.grab_images(timeout=5.0)
            os.kill(top.pid, signal.SIGKILL)
            top.join(10)
            began = time.monotonic()
            with pytest.raises(PublisherGoneError, match=f"camera 'top' \\(namespace '{names['top']}'\\).*died"):
                for _ in range(100):  # sets the killed publisher completed may still come first
                    cameras.grab_images(timeout=1.5)
            assert time.monotonic() - began < 5.0
            with pytest.raises(PublisherGoneError, match="camera 'top'"):
                cameras.try_grab_images()  # never blocks, and says which camera is gone
            restarted = start(names["top"], processes, phase=0.002)  # reclaims the dead publisher's segment
            publishers.append(restarted)
            ids: dict[str, int] = {}
            for _ in range(5):
                cameras.grab_images(timeout=10.0)
                ids = check_set(cameras, ids)
            assert cameras["top"].restarts == 1 and cameras["top"].frame_id < 30
    finally:
        stop(publishers)


def test_borrowed_sets_are_released_together_and_never_change_while_held(names: dict[str, str], processes) -> None:
    publishers = [
        start(names["wrist"], processes, phase=0.000, jitter=0.001),
        start(names["top"], processes, phase=0.003, jitter=0.001),
    ]
    try:
        with MultiCameraReceiver({"wrist": names["wrist"], "top": names["top"]}, tolerance=TOLERANCE) as cameras:
            held = cameras.borrow(timeout=5.0)
            copies = {name: held[name].retrieve_rgb_image_as_int().copy() for name in held}
            # A second set while the first is held: the loans kept per camera make room for both.
            with cameras.borrow(timeout=5.0) as newer:
                time.sleep(0.2)  # several frame times: the publishers write other slots meanwhile
                for name in held:
                    frame = held[name]
                    assert newer[name].frame_id > frame.frame_id
                    assert np.array_equal(frame.retrieve_rgb_image_as_int(), copies[name]), f"{name} changed"
                    assert watermark.matches(frame.retrieve_depth_map(), frame.frame_id)
                assert newer.spread <= TOLERANCE and held.spread <= TOLERANCE
            assert newer.released and all(newer[name].released for name in newer)
            held.release()
            assert all(held[name].released for name in held)
            with pytest.raises(FrameReleasedError):
                held["wrist"].retrieve_rgb_image_as_int()
    finally:
        stop(publishers)


def test_try_grab_images_never_blocks_and_takes_a_set_when_one_is_complete(names: dict[str, str], processes) -> None:
    publishers = [start(names["wrist"], processes, phase=0.000), start(names["top"], processes, phase=0.004)]
    receivers = {"wrist": MultiprocessRGBReceiver(names["wrist"]), "top": MultiprocessRGBReceiver(names["top"])}
    try:
        with MultiCameraReceiver(receivers, tolerance=TOLERANCE) as cameras:
            taken, calls, slowest = 0, 0, 0.0
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                began = time.monotonic()
                taken += cameras.try_grab_images()
                slowest = max(slowest, time.monotonic() - began)
                calls += 1
                time.sleep(0.002)
            assert taken >= 5 and calls > taken
            assert slowest < 0.1, f"a try_grab_images() call took {slowest:.3f} s"
            assert cameras["top"].retrieve_rgb_image_as_int().shape == (SMALL[1], SMALL[0], 3)
        assert all(receiver.connected for receiver in receivers.values()), "receivers given are left open"
    finally:
        for receiver in receivers.values():
            receiver.close()
        stop(publishers)


def test_one_bag_of_two_cameras_replays_as_two_cameras_with_the_bags_relative_timing(
    tmp_path: Path, names: dict[str, str], processes
) -> None:
    written = write_own_pair(tmp_path / "pair", offset_ns=30_000_000)  # top stamped 30 ms after wrist, 10 fps
    assert camera_prefixes(str(tmp_path / "pair")) == ["/top", "/wrist"]
    start_time = time.time() + 3.0  # both publishers are up by then; a late one plays its first frames at once
    publishers = []
    for name in ("wrist", "top"):
        kwargs = {"bag_path": str(tmp_path / "pair"), "topic_prefix": f"/{name}", "start_time": start_time}
        publisher = MultiprocessRGBDPublisher(ReplayCamera, kwargs, names[name])
        publisher.start()
        processes.track(publisher.pid)
        publishers.append(publisher)
    pair = {"wrist": names["wrist"], "top": names["top"]}
    try:
        with MultiCameraReceiver(pair, tolerance=0.040) as cameras:
            for _ in range(12):  # more than one pass of the bag
                cameras.grab_images(timeout=10.0)
                assert cameras.spread == pytest.approx(0.030, abs=1e-4), "the bag's relative timing"
                indexes = set()
                for name in cameras.names:
                    index = (cameras[name].frame_id - 1) % len(written[f"/{name}"].frames)
                    recorded = written[f"/{name}"].frames[index]
                    np.testing.assert_array_equal(cameras[name].retrieve_rgb_image_as_int(), recorded.rgb)
                    indexes.add(index)
                assert len(indexes) == 1, "a set holds both cameras' frames of one recorded instant"
        with MultiCameraReceiver(pair, tolerance=0.020) as cameras:
            with pytest.raises(NoFrameSetError) as raised:
                cameras.grab_images(timeout=1.0)
            assert raised.value.smallest_spread == pytest.approx(0.030, abs=1e-4)
    finally:
        stop(publishers)


def test_camera_node_parameters_and_the_launch_files_put_synthetic_cameras_on_a_phased_grid() -> None:
    from airo_mp_camera.launch_support import CAMERA_ARGUMENTS
    from airo_mp_camera.ros.parameters import camera_config

    config = camera_config({"camera_type": "synthetic", "synthetic.phase": 0.004, "synthetic.jitter": 0.002})
    assert config.camera_kwargs["phase"] == 0.004 and config.camera_kwargs["jitter"] == 0.002
    SyntheticCamera(resolution=(16, 16), **{k: v for k, v in config.camera_kwargs.items() if k != "resolution"})
    assert "phase" not in camera_config({"camera_type": "synthetic"}).camera_kwargs, "no grid unless asked"
    root = Path(__file__).resolve().parents[2]
    multi = (root / "launch" / "multi_camera.launch.py").read_text()
    passed = set(re.findall(r'^\s+"([a-z_]+)": (?:args|str\()', multi, re.MULTILINE))
    assert {"synthetic_phase", "synthetic_jitter"} <= passed <= {spec.name for spec in CAMERA_ARGUMENTS}
