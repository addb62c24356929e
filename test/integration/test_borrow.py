"""Borrowed frames (loans of a shared-memory slot) and a publisher that writes only what live receivers read.

Real processes and real shared memory throughout; functions run in child processes live in this module
(spawned children import it by name). The memory-ordering test at the end runs in one process: it checks
that the ring calls its fences and ordered atomics in the protocol's order (x86 cannot show a missing one).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import time
from typing import Any

import numpy as np
import pytest

from airo_mp_camera import (
    CameraSchema,
    MultiprocessRGBDPublisher,
    MultiprocessRGBDReceiver,
    MultiprocessRGBPublisher,
    MultiprocessRGBReceiver,
    RGBSchema,
    SyntheticCamera,
    reclaim_stale_segments,
)
from airo_mp_camera.cameras import watermark
from airo_mp_camera.pipeline import atomics
from airo_mp_camera.pipeline.errors import FrameReleasedError, SchemaMismatchError, SlotsExhaustedError
from airo_mp_camera.pipeline.frame_ring import FREE_SLOTS_KEPT, BorrowOutcome, FrameRing, read_owner, segment_path
from airo_mp_camera.pipeline.process_identity import ProcessIdentity
from airo_mp_camera.pipeline.reader_table import readers_path
from support.workers import CLOUD, CONFIDENCE, DEPTH, DEPTH_IMAGE, RETRIEVES, RGB, CountingCamera

SPAWN = multiprocessing.get_context("spawn")


def synthetic(resolution: tuple[int, int] = (320, 240), fps: float = 30.0) -> dict[str, object]:
    return {"resolution": resolution, "fps": fps}


def get(results: Any, timeout: float) -> Any:
    """The next item of a multiprocessing queue, failing the test (not hanging) after `timeout` seconds."""
    try:
        return results.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"no report from a child process within {timeout} s")


def frame_streams(frame: Any) -> dict[str, np.ndarray]:
    """Every array of a borrowed frame of an RGB-D receiver with cloud and depth image."""
    cloud = frame.retrieve_colored_point_cloud()
    return {
        "rgb": frame.retrieve_rgb_image_as_int(),
        "depth": frame.retrieve_depth_map(),
        "depth_image": frame.retrieve_depth_image(),
        "points": cloud.points,
        "colors": cloud.colors,
    }


# ---------------------------------------------------------------------------------- child processes
def hold_two_frames(namespace: str, results: Any) -> None:
    """Borrows two distinct frames, reports their ids, and holds them until killed."""
    receiver = MultiprocessRGBDReceiver(namespace, timeout=20.0)
    frames = [receiver.borrow(), receiver.borrow()]
    results.put([frame.frame_id for frame in frames])
    time.sleep(120)


def borrow_and_hold(namespace: str, periods: float, duration: float, results: Any) -> None:
    """Borrows the newest frame, holds it `periods` frame times, checks it never changed; reports counts."""
    receiver = MultiprocessRGBDReceiver(namespace, timeout=10.0, enable_pointcloud=True, enable_depth_image=True)
    borrowed, changed, ids = 0, 0, []
    end = time.monotonic() + duration
    while time.monotonic() < end:
        with receiver.borrow() as frame:
            streams = frame_streams(frame)
            first = {name: array.copy() for name, array in streams.items()}
            whole = all(watermark.matches(array, frame.frame_id) for array in streams.values())
            time.sleep(periods / frame.fps)
            unchanged = all(np.array_equal(first[name], array) for name, array in streams.items())
            changed += not (whole and unchanged)
            borrowed += 1
            ids.append(frame.frame_id)
    receiver.close()
    results.put({"borrowed": borrowed, "changed": changed, "ids": ids})


def copy_frames(namespace: str, duration: float, results: Any) -> None:
    """A copying receiver: grabs for `duration` s; reports ids and frames whose streams disagree."""
    receiver = MultiprocessRGBDReceiver(namespace, timeout=10.0)
    ids, torn = [], 0
    end = time.monotonic() + duration
    while time.monotonic() < end:
        receiver.grab_images()
        ids.append(receiver.frame_id)
        streams = (receiver.retrieve_rgb_image_as_int(), receiver.retrieve_depth_map())
        torn += not all(watermark.matches(stream, receiver.frame_id) for stream in streams)
    receiver.close()
    results.put({"ids": ids, "torn": torn})


def read_clouds_until_killed(namespace: str, started: Any) -> None:
    """A receiver that reads the point cloud, until it is killed."""
    receiver = MultiprocessRGBDReceiver(namespace, timeout=10.0, enable_pointcloud=True)
    receiver.grab_images()
    started.put(os.getpid())
    while True:
        receiver.grab_images()


# ---------------------------------------------------------------------------------- borrowing
def test_a_borrowed_frame_is_read_only_and_never_changes_while_the_publisher_runs_on(
    namespace: str, processes
) -> None:
    with MultiprocessRGBDPublisher(SyntheticCamera, synthetic(fps=60), namespace, enable_pointcloud=True) as publisher:
        processes.track(publisher.pid)
        with (
            MultiprocessRGBDReceiver(namespace, enable_pointcloud=True, enable_depth_image=True) as receiver,
            MultiprocessRGBDReceiver(namespace) as copier,
        ):
            with receiver.borrow() as frame:
                streams = frame_streams(frame)
                kept = {name: array.copy() for name, array in streams.items()}
                for name, array in streams.items():
                    assert not array.flags.writeable, f"{name} of a borrowed frame is writeable"
                    assert watermark.matches(array, frame.frame_id), name
                with pytest.raises(ValueError):
                    streams["rgb"][0, 0, 0] = 1
                with pytest.raises(ValueError):
                    streams["depth"].setflags(write=True)
                first = copier.frame_id
                for _ in range(4 * 5):  # every other slot of the ring is rewritten several times
                    copier.grab_images()
                assert copier.frame_id >= first + 4 * 5
                assert watermark.matches(copier.retrieve_rgb_image_as_int(), copier.frame_id)
                for name, array in streams.items():
                    assert np.array_equal(array, kept[name]), f"{name} changed while the frame was held"
                assert frame.resolution == (320, 240) and frame.frame_id < copier.frame_id
                np.testing.assert_allclose(
                    frame.intrinsics_matrix(), SyntheticCamera(**synthetic()).intrinsics_matrix()
                )
            assert receiver.borrowed_slots == 0


def test_a_borrowed_frame_used_after_release_raises(namespace: str, processes) -> None:
    with MultiprocessRGBDPublisher(SyntheticCamera, synthetic(), namespace) as publisher:
        processes.track(publisher.pid)
        with MultiprocessRGBDReceiver(namespace) as receiver:
            frame = receiver.borrow()
            assert receiver.borrowed_slots == 1
            frame.release()
            frame.release()  # twice is harmless
            assert frame.released and receiver.borrowed_slots == 0
            for use in (
                frame.retrieve_rgb_image_as_int,
                frame.retrieve_rgb_image,
                frame.retrieve_depth_map,
                frame.retrieve_depth_image,
                frame.intrinsics_matrix,
                lambda: frame.frame_id,
                lambda: frame.capture_timestamp,
                lambda: frame.resolution,
            ):
                with pytest.raises(FrameReleasedError, match=f"'{namespace}'.*after release"):
                    use()
            with receiver.borrow() as held:
                with pytest.raises(SchemaMismatchError, match="point_cloud"):  # not read by this receiver
                    held.retrieve_colored_point_cloud()
            with pytest.raises(FrameReleasedError):
                held.retrieve_depth_map()


def test_a_borrower_sigkilled_while_holding_frames_frees_their_slots(namespace: str, processes) -> None:
    results = SPAWN.Queue()
    with MultiprocessRGBDPublisher(SyntheticCamera, synthetic(), namespace) as publisher:
        processes.track(publisher.pid)
        child = SPAWN.Process(target=hold_two_frames, args=(namespace, results))
        child.start()
        processes.track(child.pid)
        held_by_child = get(results, 30)
        assert len(set(held_by_child)) == 2
        with MultiprocessRGBDReceiver(namespace) as receiver:
            mine = []
            with pytest.raises(SlotsExhaustedError, match=f"'{namespace}'.*n_slots"):
                for _ in range(2):  # at most one of these can be a frame the child holds: the other needs a slot
                    mine.append(receiver.borrow(timeout=1.0))
            for frame in mine:
                frame.release()
            os.kill(child.pid, signal.SIGKILL)
            child.join(10)
            frames = [receiver.borrow(timeout=10.0), receiver.borrow(timeout=10.0)]
            assert len({frame.frame_id for frame in frames}) == 2, "the dead borrower's slots were not freed"
            for frame in frames:
                assert watermark.matches(frame.retrieve_rgb_image_as_int(), frame.frame_id)
                frame.release()


def test_with_every_lendable_slot_held_the_publisher_goes_on_and_a_new_borrow_waits_then_is_refused(
    namespace: str, processes
) -> None:
    with MultiprocessRGBDPublisher(SyntheticCamera, synthetic(fps=60), namespace) as publisher:
        processes.track(publisher.pid)
        ring = FrameRing.attach(namespace)
        assert ring is not None
        try:
            with MultiprocessRGBDReceiver(namespace) as borrower, MultiprocessRGBDReceiver(namespace) as copier:
                lendable = ring.n_slots - FREE_SLOTS_KEPT
                held = [borrower.borrow() for _ in range(lendable)]
                kept = [frame.retrieve_rgb_image_as_int().copy() for frame in held]
                assert len({frame.frame_id for frame in held}) == lendable
                assert borrower.try_borrow() is None or borrower.borrowed_slots == lendable
                started = time.monotonic()
                with pytest.raises(SlotsExhaustedError, match=f"'{namespace}'.*release borrowed frames sooner"):
                    borrower.borrow(timeout=1.0)
                assert time.monotonic() - started >= 1.0, "the borrow must wait for a release before refusing"
                published = publisher.frames_published
                ids = []
                for _ in range(20):
                    copier.grab_images()
                    ids.append(copier.frame_id)
                    assert watermark.matches(copier.retrieve_rgb_image_as_int(), copier.frame_id)
                assert ids == sorted(set(ids)) and publisher.frames_published >= published + 19
                assert ring.frames_dropped == 0, "the publisher had to drop frames: a slot it needed was lent"
                for frame, rgb in zip(held, kept, strict=True):
                    assert np.array_equal(frame.retrieve_rgb_image_as_int(), rgb)
                held[0].release()
                with borrower.borrow(timeout=5.0) as frame:
                    assert frame.frame_id > held[-1].frame_id
                for frame in held[1:]:
                    frame.release()
        finally:
            ring.close()


@pytest.mark.timeout(120)
def test_borrowing_and_copying_receivers_mix_on_one_namespace_and_nothing_is_torn_or_changed_while_held(
    namespace: str, processes
) -> None:
    duration, results = 4.0, SPAWN.Queue()
    with MultiprocessRGBDPublisher(SyntheticCamera, synthetic(), namespace, enable_pointcloud=True) as publisher:
        processes.track(publisher.pid)
        children = [
            SPAWN.Process(target=borrow_and_hold, args=(namespace, 3.0, duration, results)),
            SPAWN.Process(target=borrow_and_hold, args=(namespace, 3.0, duration, results)),
            SPAWN.Process(target=copy_frames, args=(namespace, duration, results)),
        ]
        for child in children:
            child.start()
            processes.track(child.pid)
        reports = [get(results, 60) for _ in children]
        for child in children:
            child.join(10)
            assert child.exitcode == 0
        ring = FrameRing.attach(namespace)
        assert ring is not None
        dropped = ring.frames_dropped
        ring.close()
    borrowers = [report for report in reports if "borrowed" in report]
    (copying,) = [report for report in reports if "torn" in report]
    assert len(borrowers) == 2
    for report in borrowers:
        assert report["borrowed"] >= 3 and report["changed"] == 0, report
        assert report["ids"] == sorted(set(report["ids"]))
    assert copying["torn"] == 0 and len(copying["ids"]) >= 10
    assert copying["ids"] == sorted(set(copying["ids"]))
    assert dropped == 0, "two receivers holding one frame each must never take a slot the publisher needs"


# ---------------------------------------------------------------------------------- zero waste
def test_a_schema_nobody_reads_is_not_retrieved_until_a_receiver_asks_and_its_first_frame_carries_it(
    namespace: str, processes
) -> None:
    counts = SPAWN.Array("q", len(RETRIEVES), lock=False)
    camera = {"counts": counts, **synthetic()}
    with MultiprocessRGBDPublisher(
        CountingCamera, camera, namespace, enable_pointcloud=True, enable_confidence=True
    ) as publisher:
        processes.track(publisher.pid)
        with MultiprocessRGBDReceiver(namespace, timeout=10.0) as rgbd:
            for _ in range(10):
                rgbd.grab_images()
                assert watermark.matches(rgbd.retrieve_depth_map(), rgbd.frame_id)
            assert rgbd.retrieve_depth_image().shape == (240, 320, 3)  # computed here from the depth map
            assert counts[RGB] >= 10 and counts[DEPTH] >= 10
            # Once, for the first frame only: it carries every schema so that start() proves the camera gives them.
            assert counts[CLOUD] == counts[CONFIDENCE] == counts[DEPTH_IMAGE] == 1, list(counts)

            with MultiprocessRGBDReceiver(namespace, timeout=10.0, enable_pointcloud=True) as cloud_reader:
                cloud_reader.grab_images()
                cloud = cloud_reader.retrieve_colored_point_cloud()
                assert watermark.matches(cloud.points, cloud_reader.frame_id), "first frame: a stale cloud"
                assert cloud.colors is not None and watermark.matches(cloud.colors, cloud_reader.frame_id)
                assert counts[CLOUD] >= 2
                with cloud_reader.borrow() as frame:
                    assert watermark.matches(frame.retrieve_colored_point_cloud().points, frame.frame_id)
            for _ in range(2):  # the frame being made when it left may still carry a cloud
                rgbd.grab_images()
            before = counts[CLOUD]
            for _ in range(5):
                rgbd.grab_images()
            assert counts[CLOUD] == before, "a closed receiver still counts"
            assert counts[CONFIDENCE] == counts[DEPTH_IMAGE] == 1


def test_a_killed_receiver_stops_counting_as_a_reader(namespace: str, processes) -> None:
    counts = SPAWN.Array("q", len(RETRIEVES), lock=False)
    started = SPAWN.Queue()
    with MultiprocessRGBDPublisher(
        CountingCamera, {"counts": counts, **synthetic()}, namespace, enable_pointcloud=True
    ) as publisher:
        processes.track(publisher.pid)
        child = SPAWN.Process(target=read_clouds_until_killed, args=(namespace, started))
        child.start()
        processes.track(child.pid)
        get(started, 30)
        with MultiprocessRGBDReceiver(namespace, timeout=10.0) as rgbd:
            rgbd.grab_images()
            assert counts[CLOUD] > 1  # more than the first frame, which carries every schema
            os.kill(child.pid, signal.SIGKILL)
            child.join(10)
            deadline = time.monotonic() + 10
            while True:  # the publisher frees a dead reader's row within about half a second
                before = counts[CLOUD]
                for _ in range(5):
                    rgbd.grab_images()
                if counts[CLOUD] == before:
                    break
                assert time.monotonic() < deadline, "the dead receiver's point cloud is still retrieved"


def test_copy_only_registers_only_what_is_copied(namespace: str, processes) -> None:
    counts = SPAWN.Array("q", len(RETRIEVES), lock=False)
    with MultiprocessRGBDPublisher(
        CountingCamera, {"counts": counts, **synthetic()}, namespace, enable_pointcloud=True
    ) as publisher:
        processes.track(publisher.pid)
        with MultiprocessRGBDReceiver(namespace, timeout=10.0, enable_pointcloud=True) as receiver:
            receiver.copy_only([RGBSchema.name])
            for _ in range(3):
                receiver.grab_images()
            before = (counts[CLOUD], counts[DEPTH])
            for _ in range(5):
                receiver.grab_images()
                assert watermark.matches(receiver.retrieve_rgb_image_as_int(), receiver.frame_id)
            assert (counts[CLOUD], counts[DEPTH]) == before, "copy_only still made the camera render the rest"
            receiver.copy_only(None)
            receiver.grab_images()  # the first frame carrying everything again
            assert watermark.matches(receiver.retrieve_colored_point_cloud().points, receiver.frame_id)
            assert watermark.matches(receiver.retrieve_depth_map(), receiver.frame_id)


# ---------------------------------------------------------------------------------- memory ordering
def test_the_ring_orders_its_memory_accesses_as_its_protocol_says(namespace: str, monkeypatch) -> None:
    fields = {
        CameraSchema.name: {"frame_id": np.zeros(1, dtype=np.uint64)},
        RGBSchema.name: {"rgb": np.zeros((4, 4, 3), dtype=np.uint8)},
    }
    writer = FrameRing.create(namespace, fields, n_slots=5)
    reader = FrameRing.attach(namespace, with_readers=True)
    assert writer.readers is not None and reader is not None and reader.readers is not None
    try:
        row, _ = reader.readers.register(ProcessIdentity.of_this_process(), reader.mask_of(fields))
        names = {writer._seq_addresses[slot]: f"seq{slot}" for slot in range(writer.n_slots)}
        names.update({reader._seq_addresses[slot]: f"seq{slot}" for slot in range(reader.n_slots)})
        for ring in (writer, reader):
            names[ring._header_address + 48] = "latest"
        names[reader.readers._address(row, "borrowed")] = "borrowed"
        calls: list[tuple[str, str, int]] = []
        real = {name: getattr(atomics, name) for name in ("fence", "load", "store")}

        def fence(order: int) -> None:
            calls.append(("fence", "", order))
            real["fence"](order)

        def load(address: int, order: int = atomics.ACQUIRE) -> int:
            calls.append(("load", names.get(address, "other"), order))
            return real["load"](address, order)

        def store(address: int, value: int, order: int = atomics.RELEASE) -> None:
            calls.append(("store", names.get(address, "other"), order))
            real["store"](address, value, order)

        for name, wrapper in (("fence", fence), ("load", load), ("store", store)):
            monkeypatch.setattr(atomics, name, wrapper)
        r, a, s = atomics.RELAXED, atomics.ACQUIRE, atomics.RELEASE

        slot = writer.loan_slot()
        assert slot is not None
        writer.publish(slot, 1, writer.mask_of(fields))
        seq = f"seq{slot}"
        assert calls == [
            ("load", "latest", a),
            ("load", seq, r),
            ("store", seq, r),  # odd: being written
            ("fence", "", atomics.SEQ_CST),  # before reading which slots are borrowed
            ("fence", "", a),  # those reads before any data store
            ("load", seq, r),
            ("store", seq, s),  # even: the data stores happen before it
            ("store", "latest", s),
        ], calls

        calls.clear()
        frame_id, read_slot = reader.latest_frame()
        copy = {RGBSchema.name: {"rgb": np.empty((4, 4, 3), dtype=np.uint8)}}
        assert reader.read_frame(read_slot, frame_id, copy)
        assert calls == [("load", "latest", a), ("load", seq, a), ("fence", "", a), ("load", seq, r)], calls

        calls.clear()
        sequence = reader.open_frame(read_slot, frame_id)
        assert sequence is not None and reader.borrow_slot(read_slot, sequence, row, 0) is BorrowOutcome.BORROWED
        reader.release_slot(row, 0)
        assert calls == [
            ("load", seq, a),
            ("store", "borrowed", r),  # mark the slot
            ("fence", "", atomics.SEQ_CST),  # before looking whether the publisher took it
            ("load", seq, r),
            ("fence", "", a),  # the borrowed frame is read after the checks
            ("fence", "", s),  # release: every read of the frame before the mark goes
            ("store", "borrowed", s),
        ], calls

        calls.clear()
        reader.readers.set_borrowed(row, 1 << read_slot, atomics.RELAXED)
        assert writer.loan_slot() not in (read_slot, None), "a borrowed slot was loaned for writing"
    finally:
        reader.close()
        writer.close(unlink=True)


def test_the_former_names_of_the_borrowing_steps_warn_naming_the_new_ones_and_still_work(namespace: str) -> None:
    fields = {CameraSchema.name: {"frame_id": np.zeros(1, dtype=np.uint64)}}
    writer = FrameRing.create(namespace, fields, n_slots=5)
    reader = FrameRing.attach(namespace, with_readers=True)
    assert reader is not None and reader.readers is not None
    try:
        row, _ = reader.readers.register(ProcessIdentity.of_this_process(), reader.mask_of(fields))
        with pytest.warns(DeprecationWarning, match="FrameRing.loan_slot"):
            slot = writer.claim_slot()
        assert slot is not None
        writer.publish(slot, 1, writer.mask_of(fields))
        frame_id, read_slot = reader.latest_frame()
        sequence = reader.open_frame(read_slot, frame_id)
        assert sequence is not None
        with pytest.warns(DeprecationWarning, match="FrameRing.borrow_slot"):
            assert reader.hold(read_slot, sequence, row, 0) == "held"
        with pytest.warns(DeprecationWarning, match="ReaderTable.borrowed_slots"):
            assert reader.readers.held_slots() == 1 << read_slot
        with pytest.warns(DeprecationWarning, match="FrameRing.release_slot"):
            reader.unhold(row, 0)
        assert reader.readers.borrowed_slots() == 0
        with pytest.warns(DeprecationWarning, match="ReaderTable.set_borrowed"):
            reader.readers.set_held(row, 1 << read_slot, atomics.RELEASE)
        assert reader.readers.borrowed_slots() == 1 << read_slot
    finally:
        reader.close()
        writer.close(unlink=True)


def test_a_reader_table_lives_and_dies_with_its_segment(namespace: str, processes) -> None:
    path = segment_path(namespace)
    table = readers_path(path)
    publisher = MultiprocessRGBDPublisher(SyntheticCamera, synthetic(), namespace)
    publisher.start()
    processes.track(publisher.pid)
    try:
        assert os.path.exists(table)
        owner = read_owner(table)  # the table carries its segment's owner, for every tool that judges by it
        assert owner is not None and owner.identity.pid == publisher.pid
        assert table not in reclaim_stale_segments() and os.path.exists(table)
        os.kill(publisher.pid, signal.SIGKILL)
        publisher.join(10)
        assert os.path.exists(table), "a SIGKILLed publisher cannot remove its table"
        removed = reclaim_stale_segments()
        assert path in removed and table in removed
        assert not os.path.exists(table)
    finally:
        publisher.stop()


def test_a_ring_too_small_to_lend_refuses_a_borrow_at_once_saying_why(namespace: str, processes) -> None:
    with MultiprocessRGBPublisher(SyntheticCamera, synthetic(), namespace, n_slots=3) as publisher:
        processes.track(publisher.pid)
        with MultiprocessRGBReceiver(namespace) as receiver:
            started = time.monotonic()
            with pytest.raises(SlotsExhaustedError, match=f"'{namespace}'.*3 slots.*n_slots >= 4"):
                receiver.borrow(timeout=5.0)
            assert time.monotonic() - started < 4.0, "a lasting condition must be reported, not waited out"
            receiver.grab_images()  # copying still works
            assert watermark.matches(receiver.retrieve_rgb_image_as_int(), receiver.frame_id)
