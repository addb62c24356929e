"""The shared-memory pipeline with real processes: publisher, receivers, timeouts, clean-up."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import numpy as np
import pytest

from airo_mp_camera import (
    CameraPublisher,
    MultiprocessRGBDPublisher,
    MultiprocessRGBDReceiver,
    MultiprocessRGBPublisher,
    MultiprocessRGBReceiver,
    MultiprocessStereoRGBDPublisher,
    PublisherStartError,
    RGBSchema,
    SharedMemoryReceiver,
    SyntheticCamera,
)
from airo_mp_camera.cameras import watermark
from airo_mp_camera.pipeline.frame_ring import segment_path
from support import delivery, workers

SPAWN = multiprocessing.get_context("spawn")


def synthetic(resolution: tuple[int, int] = (640, 480), fps: float = 30.0) -> dict[str, object]:
    return {"resolution": resolution, "fps": fps}


def test_receivers_in_other_processes_each_get_every_frame_untorn(namespace: str, processes) -> None:
    """No torn or mixed frame, ids strictly increasing, and no frame missed while the receiver kept up.

    On a busy machine a receiver may skip frames it was too busy (or too starved of CPU) to take; the kernel's
    per-grab accounting tells those from frames lost while it slept (`delivery`), which must never happen.
    """
    results = SPAWN.Queue()
    receivers = [SPAWN.Process(target=workers.collect_frames, args=(namespace, 10.0, results)) for _ in range(3)]
    for receiver in receivers:
        receiver.start()
        processes.track(receiver.pid)
    with MultiprocessStereoRGBDPublisher(SyntheticCamera, synthetic((1280, 720)), namespace) as publisher:
        processes.track(publisher.pid)
        reports = [results.get(timeout=60) for _ in receivers]
    for receiver in receivers:
        receiver.join(10)
    for report in reports:
        ids = report["ids"]
        assert report["torn"] == 0
        assert ids == sorted(set(ids)), f"ids not strictly increasing: {ids}"
        assert len(ids) >= 30, f"a receiver got only {len(ids)} frames in 10 s at 30 fps: is the publisher stuck?"
        lost = delivery.unexplained_misses(ids[0], report["grabs"])
        assert not lost, f"frames missed while the receiver slept with a newer frame complete: {lost[:5]}"
        skipped = ids[-1] - ids[0] + 1 - len(ids)
        assert skipped == delivery.excused_misses(ids[0], report["grabs"])


def test_delivery_judge_blames_sleeping_through_a_complete_frame_and_excuses_being_busy() -> None:
    period = 1 / 30
    # Frame 2 complete before frame 3's capture at t=1.0; the receiver called at 0.96 and slept 0.05 s: past it.
    slept_through = [{"frame_id": 3, "capture": 1.0, "called": 0.96, "returned": 1.02, "slept": 0.05}]
    assert [item["skipped"] for item in delivery.unexplained_misses(1, slept_through)] == [1]
    # Same skip, but the receiver was busy until after frame 3's capture and did not sleep: excused.
    busy = [{"frame_id": 3, "capture": 1.0, "called": 1.004, "returned": 1.01, "slept": 0.0}]
    assert delivery.unexplained_misses(1, busy) == [] and delivery.excused_misses(1, busy) == 1
    # Slept only until frame 2 would have completed, then waited for a CPU past frame 3: excused.
    starved = [{"frame_id": 3, "capture": 1.0, "called": 1.0 - period, "returned": 1.02, "slept": 0.01}]
    assert delivery.unexplained_misses(1, starved) == []
    # No skip at all: nothing to judge, however long it slept.
    assert (
        delivery.unexplained_misses(1, [{"frame_id": 2, "capture": 1.0, "called": 0.9, "returned": 1.0, "slept": 0.1}])
        == []
    )


def test_camera_rate_floor_discounts_only_time_without_a_cpu() -> None:
    assert delivery.camera_rate_floor(30.0, 4.0, starved=0.0) == pytest.approx(24.0)
    assert delivery.camera_rate_floor(30.0, 4.0, starved=2.0) == pytest.approx(12.0)
    assert delivery.camera_rate_floor(30.0, 4.0, starved=5.0) == 0.0


def test_rgb_receiver_reads_an_rgbd_publisher(namespace: str, processes) -> None:
    results = SPAWN.Queue()
    child = SPAWN.Process(target=workers.rgb_only, args=(namespace, 10, results))
    child.start()
    processes.track(child.pid)
    with MultiprocessRGBDPublisher(SyntheticCamera, synthetic((320, 240)), namespace, enable_pointcloud=True):
        report = results.get(timeout=60)
    assert report["resolution"] == (320, 240)
    assert len(report["frames"]) == 10
    assert all(matched for _, matched in report["frames"])


def test_receiver_started_before_the_publisher_waits_then_receives(namespace: str, processes) -> None:
    results = SPAWN.Queue()
    child = SPAWN.Process(target=workers.rgb_only, args=(namespace, 3, results))
    child.start()
    processes.track(child.pid)
    time.sleep(2.0)  # the receiver is up and waiting
    assert child.is_alive()
    with MultiprocessRGBPublisher(SyntheticCamera, synthetic((320, 240)), namespace):
        report = results.get(timeout=60)
    assert [frame_id for frame_id, _ in report["frames"]] == sorted({f for f, _ in report["frames"]})


def test_try_grab_images_never_blocks_and_says_when_there_is_no_new_frame(namespace: str, processes) -> None:
    receiver = MultiprocessRGBReceiver(namespace)
    assert receiver.try_grab_images() is False  # no publisher yet
    with MultiprocessRGBPublisher(SyntheticCamera, synthetic((320, 240), fps=10), namespace) as publisher:
        processes.track(publisher.pid)
        receiver.grab_images()
        first = receiver.frame_id
        assert receiver.try_grab_images() is False, "no frame newer than the one just taken"
        assert receiver.frame_id == first
        deadline = time.monotonic() + 5
        while not receiver.try_grab_images():
            assert time.monotonic() < deadline
            time.sleep(0.005)
        assert receiver.frame_id > first
        assert watermark.matches(receiver.retrieve_rgb_image_as_int(), receiver.frame_id)
    receiver.close()


def test_arrays_handed_out_are_not_overwritten_by_later_grabs(namespace: str, processes) -> None:
    with MultiprocessRGBPublisher(SyntheticCamera, synthetic((320, 240), fps=60), namespace) as publisher:
        processes.track(publisher.pid)
        with MultiprocessRGBReceiver(namespace) as receiver:
            receiver.grab_images()
            kept, kept_id = receiver.retrieve_rgb_image_as_int(), receiver.frame_id
            for _ in range(5):
                receiver.grab_images()
            assert watermark.matches(kept, kept_id)
            assert watermark.matches(receiver.retrieve_rgb_image_as_int(), receiver.frame_id)


def test_receiver_exposes_the_camera_interface(namespace: str, processes) -> None:
    camera = SyntheticCamera(resolution=(320, 240), fps=30)
    started = time.time()
    with MultiprocessStereoRGBDPublisher(
        SyntheticCamera, synthetic((320, 240)), namespace, enable_pointcloud=True, enable_confidence=True
    ):
        from airo_mp_camera import MultiprocessStereoRGBDReceiver

        with MultiprocessStereoRGBDReceiver(namespace, enable_pointcloud=True, enable_confidence=True) as receiver:
            receiver.grab_images()
            grabbed = time.time()
            assert started <= receiver.capture_timestamp <= grabbed  # the camera's wall-clock capture time
            assert receiver.resolution == (320, 240) and receiver.fps == 30.0
            np.testing.assert_allclose(receiver.intrinsics_matrix(), camera.intrinsics_matrix())
            np.testing.assert_allclose(
                receiver.pose_of_right_view_in_left_view, camera.pose_of_right_view_in_left_view
            )
            rgb = receiver.retrieve_rgb_image()
            assert rgb.dtype == np.float32 and rgb.shape == (240, 320, 3) and 0 <= rgb.min() and rgb.max() <= 1
            assert receiver.retrieve_depth_map().shape == (240, 320)
            assert receiver.retrieve_confidence_map().shape == (240, 320)
            cloud = receiver.retrieve_colored_point_cloud()
            assert cloud.points.shape == (320 * 240, 3) and cloud.colors is not None


@pytest.mark.parametrize("how", ["stop", signal.SIGINT, signal.SIGTERM])
def test_stopping_the_publisher_removes_its_segment(namespace: str, processes, how) -> None:
    publisher = MultiprocessRGBPublisher(SyntheticCamera, synthetic((64, 48)), namespace)
    publisher.start()
    processes.track(publisher.pid)
    assert os.path.exists(segment_path(namespace))
    if how == "stop":
        publisher.stop()
    else:
        os.kill(publisher.pid, how)
        publisher.join(10)
    assert publisher.exitcode == 0
    assert not os.path.exists(segment_path(namespace))


def test_a_camera_that_fails_to_open_reports_why(namespace: str) -> None:
    publisher = CameraPublisher(SyntheticCamera, {"resolution": (1, 1)}, [RGBSchema()], namespace)
    with pytest.raises(PublisherStartError, match="at least 16x16"):
        publisher.start()


def test_receiver_with_a_custom_schema_list(namespace: str, processes) -> None:
    with MultiprocessRGBPublisher(SyntheticCamera, synthetic((64, 48)), namespace):
        with SharedMemoryReceiver(namespace, [RGBSchema()]) as receiver:
            receiver.grab_images()
            assert receiver.frame_id >= 1
    with pytest.raises(ValueError):
        MultiprocessRGBDReceiver("bad namespace")


def test_prefetching_receiver_returns_whole_new_frames_without_copying_in_the_caller(
    namespace: str, processes
) -> None:
    with MultiprocessRGBDPublisher(SyntheticCamera, synthetic((320, 240), fps=60), namespace) as publisher:
        processes.track(publisher.pid)
        receiver = MultiprocessRGBDReceiver(namespace, prefetch=True, enable_depth_image=True)
        try:
            receiver.grab_images()
            ids = [receiver.frame_id]
            deadline = time.monotonic() + 10
            while len(ids) < 20 and time.monotonic() < deadline:
                if receiver.try_grab_images():
                    ids.append(receiver.frame_id)
                    assert workers.frame_is_consistent(receiver, stereo=False)
                time.sleep(0.002)
            assert len(ids) == 20 and ids == sorted(set(ids))
            assert receiver.try_grab_images() is False or receiver.frame_id > ids[-1]
        finally:
            receiver.close()


def test_copy_only_skips_the_other_schemas_until_reset(namespace: str, processes) -> None:
    with MultiprocessRGBDPublisher(SyntheticCamera, synthetic((320, 240)), namespace):
        with MultiprocessRGBDReceiver(namespace, timeout=20) as receiver:
            receiver.grab_images()
            receiver.copy_only([RGBSchema.name])
            for _ in range(3):
                receiver.grab_images()
            frame_id = receiver.frame_id
            assert watermark.matches(receiver.retrieve_rgb_image_as_int(), frame_id)
            assert not watermark.matches(receiver.retrieve_depth_map(), frame_id), "depth was copied anyway"
            receiver.copy_only(None)
            receiver.grab_images()
            assert watermark.matches(receiver.retrieve_depth_map(), receiver.frame_id)
