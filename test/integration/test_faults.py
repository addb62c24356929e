"""Fault injection on the shared-memory pipeline: killed and restarted publishers, killed receivers, stale
segments, bad namespaces, schema mismatches, a seqlock under stress, and receivers that join and leave.

Every test uses real processes and real shared memory. Functions run in child processes live in this
module (spawned children import it by name, like `workers`).
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import queue
import random
import signal
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from airo_mp_camera import (
    CameraPublisher,
    CameraSchema,
    FrameTimeoutError,
    InvalidNamespaceError,
    MultiprocessRGBDPublisher,
    MultiprocessRGBDReceiver,
    MultiprocessRGBPublisher,
    MultiprocessRGBReceiver,
    MultiprocessStereoRGBDPublisher,
    MultiprocessStereoRGBDReceiver,
    NamespaceInUseError,
    PublisherGoneError,
    PublisherNotFoundError,
    RGBSchema,
    SchemaMismatchError,
    SegmentPermissionError,
    SyntheticCamera,
    reclaim_stale_segments,
)
from airo_mp_camera.cameras import watermark
from airo_mp_camera.pipeline import frame_ring
from airo_mp_camera.pipeline.frame_ring import SHM_DIR, FrameRing, read_owner, segment_path
from airo_mp_camera.pipeline.namespace import SEGMENT_PREFIX
from airo_mp_camera.pipeline.process_identity import ProcessIdentity
from support import delivery, workers
from support.shared_memory import descends_from_us

SPAWN = multiprocessing.get_context("spawn")
FLAT_MODULUS = 251  # FlatCamera fills every byte with frame_id % 251
NOBODY = 65534


def synthetic(resolution: tuple[int, int] = (320, 240), fps: float = 30.0) -> dict[str, object]:
    return {"resolution": resolution, "fps": fps}


def other_namespace() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


def get(results: Any, timeout: float) -> Any:
    """The next item of a multiprocessing queue, failing the test (not hanging) after `timeout` seconds."""
    try:
        return results.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"no report from a child process within {timeout} s")


# ---------------------------------------------------------------------------------- child processes
class FlatCamera:
    """A camera as fast as the machine: every byte of frame N is N % 251, watermarked with N at head and tail.

    A copy that mixes two frames shows two values, so a torn frame is caught anywhere in the image.
    """

    def __init__(self, resolution: tuple[int, int] = (1280, 720)) -> None:
        self.resolution = (int(resolution[0]), int(resolution[1]))
        self.fps = 1e6
        self._rgb = np.zeros((self.resolution[1], self.resolution[0], 3), dtype=np.uint8)
        self._frame_id = 0

    def grab_images(self) -> None:
        self._frame_id += 1
        self._rgb.fill(self._frame_id % FLAT_MODULUS)
        watermark.stamp(self._rgb, self._frame_id)

    def intrinsics_matrix(self, view: str = "left") -> np.ndarray:
        return np.eye(3)

    def retrieve_rgb_image_as_int(self, view: str = "left") -> np.ndarray:
        return self._rgb


def flat_frame_is_whole(rgb: np.ndarray, frame_id: int) -> bool:
    """Whether an image of FlatCamera is exactly frame `frame_id`: both watermarks and every other byte."""
    inner = rgb.reshape(-1)[8:-8]
    value = frame_id % FLAT_MODULUS
    return watermark.matches(rgb, frame_id) and int(inner.min()) == value and int(inner.max()) == value


def follow_across_restarts(namespace: str, frames_after_restart: int, ready: Any, results: Any) -> None:
    """Grabs until it has `frames_after_restart` frames of a restarted publisher; reports every grab."""
    receiver = MultiprocessRGBReceiver(namespace, timeout=30.0)
    records: list[tuple[int, int, int | None, tuple[int, ...], bool]] = []
    try:
        while sum(1 for record in records if record[1] > 0) < frames_after_restart:
            receiver.grab_images()
            rgb = receiver.retrieve_rgb_image_as_int()
            records.append(
                (
                    receiver.frame_id,
                    receiver.restarts,
                    receiver.publisher_generation,
                    rgb.shape,
                    watermark.matches(rgb, receiver.frame_id),
                )
            )
            if len(records) == 1:
                ready.put(os.getpid())
        results.put({"records": records})
    except Exception as error:  # noqa: BLE001 - the test reports it
        results.put({"error": f"{type(error).__name__}: {error}", "records": records})
    finally:
        receiver.close()


def grab_forever(namespace: str, prefetch: bool, started: Any) -> None:
    """A receiver that grabs and checks frames until it is killed."""
    receiver = MultiprocessStereoRGBDReceiver(namespace, timeout=10.0, prefetch=prefetch, enable_depth_image=True)
    receiver.grab_images()
    started.put(os.getpid())
    while True:
        receiver.grab_images()
        workers.frame_is_consistent(receiver, stereo=True)


def observe_until(namespace: str, stop: Any, results: Any) -> None:
    """Grabs every frame until `stop` is set; reports the ids and how many frames were inconsistent."""
    receiver = MultiprocessStereoRGBDReceiver(namespace, timeout=10.0, enable_depth_image=True)
    ids, torn = [], 0
    grabs: list[dict[str, Any]] = []
    receiver.grab_images()
    results.put("started")
    while not stop.is_set():
        ids.append(receiver.frame_id)
        if not workers.frame_is_consistent(receiver, stereo=True):
            torn += 1
        workers.accounted_grab(receiver, grabs)
    receiver.close()
    results.put({"ids": ids, "torn": torn, "grabs": grabs[: len(ids) - 1]})


# ---------------------------------------------------------------------------------- a killed publisher
@pytest.mark.timeout(60)
def test_a_killed_publisher_makes_every_receiver_raise_publisher_gone_instead_of_hanging(
    namespace: str, processes
) -> None:
    receiver_timeout = 1.5
    results = SPAWN.Queue()
    children = [
        SPAWN.Process(target=workers.grab_until_error, args=(namespace, receiver_timeout, results)) for _ in range(3)
    ]
    publisher = MultiprocessRGBDPublisher(SyntheticCamera, synthetic(), namespace)
    publisher.start()
    processes.track(publisher.pid)
    blocking = MultiprocessRGBDReceiver(namespace, timeout=receiver_timeout)
    polling = MultiprocessRGBDReceiver(namespace, timeout=receiver_timeout)
    prefetching = MultiprocessRGBDReceiver(namespace, timeout=receiver_timeout, prefetch=True)
    try:
        for child in children:
            child.start()
            processes.track(child.pid)
        assert all("first_frame" in get(results, 30) for _ in children)
        for receiver in (blocking, polling, prefetching):
            receiver.grab_images()

        os.kill(publisher.pid, signal.SIGKILL)
        killed = time.monotonic()

        gone = f"'{namespace}': publisher \\(pid {publisher.pid}\\) died .*within {receiver_timeout} s"
        for receiver in (blocking, prefetching):
            with pytest.raises(PublisherGoneError, match=gone):
                # A frame published just before the kill may come first (the prefetcher may have been copying
                # it as the test grabbed the one before); the grab after it must raise.
                for _ in range(2):
                    receiver.grab_images()
        with pytest.raises(PublisherGoneError, match=namespace):
            while time.monotonic() - killed < 10:  # try_grab_images never blocks: it says False, then raises
                polling.try_grab_images()
                time.sleep(0.01)
        assert time.monotonic() - killed < 10, "try_grab_images kept saying 'no frame' about a dead publisher"

        reports = [get(results, 20) for _ in children]
        for report in reports:
            assert report["error"] == "PublisherGoneError", report
            assert namespace in report["message"] and "died" in report["message"]
            assert report["seconds"] < receiver_timeout + 5, f"the failing grab took {report['seconds']:.1f} s"
        for child in children:
            child.join(10)
            assert child.exitcode == 0, "a receiver process crashed instead of raising"
        assert os.path.exists(segment_path(namespace)), "a SIGKILLed publisher cannot remove its segment"
    finally:
        for receiver in (blocking, polling, prefetching):
            receiver.close()
        publisher.stop()  # reaps the child and removes the segment it left
    assert publisher.exitcode == -signal.SIGKILL
    assert not os.path.exists(segment_path(namespace))


def host_publisher(namespace: str, started: Any) -> None:
    """A script that hosts a publisher, reports its pid, and runs until killed."""
    publisher = MultiprocessRGBPublisher(SyntheticCamera, synthetic((64, 48)), namespace)
    publisher.start()
    started.put(publisher.pid)
    time.sleep(120)


@pytest.mark.timeout(60)
def test_a_publisher_whose_parent_is_killed_stops_and_removes_its_segment(namespace: str, processes) -> None:
    started = SPAWN.Queue()
    host = SPAWN.Process(target=host_publisher, args=(namespace, started))
    host.start()
    processes.track(host.pid)
    publisher_pid = get(started, 30)
    processes.track(publisher_pid)
    assert os.path.exists(segment_path(namespace))
    os.kill(host.pid, signal.SIGKILL)
    host.join(10)
    deadline = time.monotonic() + 10
    while os.path.exists(segment_path(namespace)):
        assert time.monotonic() < deadline, "the orphaned publisher kept running and kept its segment"
        time.sleep(0.02)
    owner_gone = time.monotonic() + 10
    while ProcessIdentity(publisher_pid, 0, ProcessIdentity.of_this_process().pid_namespace).is_alive():
        assert time.monotonic() < owner_gone, "the orphaned publisher did not exit"
        time.sleep(0.02)
    processes.pids.remove(publisher_pid)  # gone (and not our child): its pid may soon be another process's


# ---------------------------------------------------------------------------------- a restarted publisher
@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    ("how", "second_resolution"),
    [("stop", (320, 240)), ("sigkill", (320, 240)), ("sigkill", (160, 96))],
    ids=["stopped-same-resolution", "killed-same-resolution", "killed-new-resolution"],
)
def test_receivers_reconnect_by_themselves_when_the_publisher_restarts(
    namespace: str, processes, how: str, second_resolution: tuple[int, int]
) -> None:
    ready, results = SPAWN.Queue(), SPAWN.Queue()
    children = [SPAWN.Process(target=follow_across_restarts, args=(namespace, 5, ready, results)) for _ in range(2)]
    for child in children:
        child.start()
        processes.track(child.pid)
    first = MultiprocessRGBPublisher(SyntheticCamera, synthetic((320, 240)), namespace)
    second = MultiprocessRGBPublisher(SyntheticCamera, synthetic(second_resolution), namespace)
    here = MultiprocessRGBReceiver(namespace, timeout=20.0)
    try:
        first.start()
        processes.track(first.pid)
        for _ in children:
            get(ready, 30)
        here.grab_images()
        first_generation = here.publisher_generation
        if how == "stop":
            first.stop()
        else:
            os.kill(first.pid, signal.SIGKILL)
            first.join(10)
        second.start()
        processes.track(second.pid)

        for _ in range(100):  # frames the first publisher completed before it went are still returned first
            here.grab_images()
            if here.restarts:
                break
        width, height = second_resolution
        assert here.restarts == 1 and here.publisher_generation != first_generation
        assert here.resolution == second_resolution
        rgb = here.retrieve_rgb_image_as_int()
        assert rgb.shape == (height, width, 3) and watermark.matches(rgb, here.frame_id)

        for _ in children:
            report = get(results, 30)
            assert "error" not in report, report
            records = report["records"]
            assert all(matched for *_, matched in records), "a frame was torn or mixed across the restart"
            for before, after in zip(records, records[1:], strict=False):
                if after[1] == before[1]:
                    assert after[0] > before[0] and after[2] == before[2], f"frame ids went back: {before} {after}"
                else:
                    assert after[1] == before[1] + 1 and after[2] != before[2], (
                        f"unsignalled restart: {before} {after}"
                    )
            assert records[-1][1] == 1, "the receiver should have seen exactly one restart"
            assert {record[3] for record in records if record[1] == 0} == {(240, 320, 3)}
            assert {record[3] for record in records if record[1] == 1} == {(height, width, 3)}
        for child in children:
            child.join(10)
            assert child.exitcode == 0
    finally:
        here.close()
        second.stop()
        first.stop()


class LateFirstFrameCamera(SyntheticCamera):
    """A synthetic camera whose first frame comes `delay` seconds after it opened, like one warming up."""

    def __init__(self, delay: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._delay = delay

    def grab_images(self) -> None:
        if self.frame_id == 0:
            time.sleep(self._delay)
        super().grab_images()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("prefetch", [False, True], ids=["plain", "prefetch"])
def test_a_receiver_reconnected_before_the_new_publishers_first_frame_returns_no_blank_frame(
    namespace: str, processes, prefetch: bool
) -> None:
    receiver = MultiprocessRGBReceiver(namespace, timeout=5.0, prefetch=prefetch)
    first = MultiprocessRGBPublisher(SyntheticCamera, synthetic((64, 48)), namespace)
    late = {"delay": 3.0, **synthetic((64, 48))}
    second = MultiprocessRGBPublisher(LateFirstFrameCamera, late, namespace)
    starter = threading.Thread(target=second.start, daemon=True)  # returns once the late first frame is out
    try:
        first.start()
        processes.track(first.pid)
        receiver.grab_images()
        time.sleep(0.2)  # with prefetch, a newer frame is now copied but not taken
        os.kill(first.pid, signal.SIGKILL)
        first.join(10)
        starter.start()
        deadline = time.monotonic() + 20
        while receiver.restarts == 0:  # the copier reconnects by itself; a plain receiver when asked
            assert time.monotonic() < deadline, "the receiver did not reconnect to the second publisher"
            if not prefetch:
                with contextlib.suppress(PublisherGoneError):
                    receiver.try_grab_images()
            time.sleep(0.01)
        processes.track(second.pid)
        ring = FrameRing.attach(namespace)
        assert ring is not None and ring.latest == 0, "the second publisher's first frame came too early to test"
        ring.close()

        receiver.try_grab_images()
        rgb = receiver.retrieve_rgb_image_as_int()
        assert receiver.frame_id > 0 and watermark.matches(rgb, receiver.frame_id), (
            f"frame id {receiver.frame_id} does not describe the image returned (watermark {watermark.read(rgb)})"
        )
        receiver.grab_images()
        assert receiver.frame_id == 1 and watermark.matches(receiver.retrieve_rgb_image_as_int(), 1)
    finally:
        if starter.ident is not None:
            starter.join(30)
        receiver.close()
        second.stop()
        first.stop()


# ---------------------------------------------------------------------------------- across pid namespaces
SLOW_CAMERA_RECEIVER = """
import sys, time
from airo_mp_camera import MultiprocessRGBReceiver
receiver = MultiprocessRGBReceiver(sys.argv[1], timeout=10.0)
receiver.grab_images()
first = receiver.frame_id
deadline = time.monotonic() + 15.0
while not receiver.try_grab_images():  # raises PublisherGoneError if the slow publisher is taken for dead
    assert time.monotonic() < deadline, "no second frame"
    time.sleep(0.05)
print(first, receiver.frame_id)
"""


@pytest.mark.timeout(60)
@pytest.mark.skipif(os.getuid() != 0, reason="a new pid namespace (unshare --pid) needs root here")
def test_a_slow_but_alive_publisher_is_not_taken_for_dead_from_another_pid_namespace(
    namespace: str, processes
) -> None:
    """Across pid namespaces (containers sharing /dev/shm) liveness is the heartbeat, not the pid.

    A camera slower than the heartbeat's staleness limit must still look alive between its frames.
    """
    with MultiprocessRGBPublisher(SyntheticCamera, synthetic((64, 48), fps=0.25), namespace) as publisher:
        processes.track(publisher.pid)
        command = ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", SLOW_CAMERA_RECEIVER]
        child = processes.popen([*command, namespace], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = child.communicate(timeout=40)
    assert child.returncode == 0, err.decode()[-2000:]
    first, second = (int(value) for value in out.split())
    assert second == first + 1


# ---------------------------------------------------------------------------------- stale segments
def test_a_killed_publishers_segment_is_detected_as_stale_and_reclaimed_by_the_next_publisher(
    namespace: str, processes
) -> None:
    path = segment_path(namespace)
    first = MultiprocessRGBPublisher(SyntheticCamera, synthetic((64, 48)), namespace)
    first.start()
    processes.track(first.pid)
    os.kill(first.pid, signal.SIGKILL)
    second = MultiprocessRGBPublisher(SyntheticCamera, synthetic((64, 48)), namespace)
    try:
        deadline = time.monotonic() + 10
        while (owner := read_owner(path)) is not None and owner.is_alive():  # a zombie is dead too
            assert time.monotonic() < deadline, "the killed publisher still looks alive"
            time.sleep(0.01)
        assert owner is not None and owner.identity.pid == first.pid, "the killed publisher's segment is gone"

        second.start()
        processes.track(second.pid)
        owner = read_owner(path)
        assert owner is not None and owner.identity.pid == second.pid and owner.is_alive()
        with MultiprocessRGBReceiver(namespace) as receiver:
            receiver.grab_images()
            assert watermark.matches(receiver.retrieve_rgb_image_as_int(), receiver.frame_id)
    finally:
        second.stop()
        first.stop()
    assert not os.path.exists(path)


def test_reclaim_stale_segments_removes_dead_owners_and_leaves_live_ones(namespace: str, processes) -> None:
    dead_namespace = other_namespace()
    junk_old = os.path.join(SHM_DIR, f"airo_mp_camera.{other_namespace()}")
    junk_new = os.path.join(SHM_DIR, f"airo_mp_camera.{other_namespace()}")
    dead = MultiprocessRGBPublisher(SyntheticCamera, synthetic((64, 48)), dead_namespace)
    live = MultiprocessRGBPublisher(SyntheticCamera, synthetic((64, 48)), namespace)
    try:
        dead.start()
        processes.track(dead.pid)
        os.kill(dead.pid, signal.SIGKILL)
        dead.join(10)
        live.start()
        processes.track(live.pid)
        for junk in (junk_old, junk_new):  # not a segment at all (e.g. a publisher killed while creating it)
            with open(junk, "wb") as file:
                file.write(b"not a segment")
        os.utime(junk_old, (time.time() - 60, time.time() - 60))

        removed = reclaim_stale_segments()

        assert segment_path(dead_namespace) in removed and not os.path.exists(segment_path(dead_namespace))
        assert junk_old in removed and not os.path.exists(junk_old)
        assert junk_new not in removed, "a segment younger than the heartbeat may be being created"
        assert segment_path(namespace) not in removed and os.path.exists(segment_path(namespace))
        with MultiprocessRGBReceiver(namespace) as receiver:
            receiver.grab_images()
    finally:
        for junk in (junk_old, junk_new):
            if os.path.exists(junk):
                os.unlink(junk)
        live.stop()
        dead.stop()


# ---------------------------------------------------------------------------------- refusals and timeouts
def test_a_second_publisher_on_a_live_namespace_is_refused_with_namespace_in_use(namespace: str, processes) -> None:
    with MultiprocessRGBPublisher(SyntheticCamera, synthetic((64, 48)), namespace) as first:
        processes.track(first.pid)
        with pytest.raises(NamespaceInUseError, match=f"'{namespace}'.*pid {first.pid}"):
            FrameRing.create(namespace, {"camera": {"frame_id": np.zeros(1, dtype=np.uint64)}})
        second = MultiprocessRGBPublisher(SyntheticCamera, synthetic((64, 48)), namespace)
        with pytest.raises(NamespaceInUseError, match=f"'{namespace}' is in use by a live publisher"):
            second.start()
        processes.track(second.pid)
        second.join(10)
        assert not second.is_alive()
        assert os.path.exists(segment_path(namespace)), "the refused publisher must not remove the live segment"
        owner = read_owner(segment_path(namespace))
        assert owner is not None and owner.identity.pid == first.pid
        with MultiprocessRGBReceiver(namespace) as receiver:
            receiver.grab_images()  # the first publisher is unaffected


@pytest.mark.parametrize("prefetch", [False, True], ids=["copying", "prefetching"])
def test_a_receiver_on_an_unknown_namespace_times_out_naming_it(namespace: str, prefetch: bool) -> None:
    with MultiprocessRGBReceiver(namespace, timeout=0.3, prefetch=prefetch) as receiver:
        assert receiver.try_grab_images() is False
        started = time.monotonic()
        with pytest.raises(PublisherNotFoundError, match=f"'{namespace}'"):
            # A prefetching receiver reports what its copier met after its own timeout: wait longer than that.
            receiver.grab_images(timeout=1.0 if prefetch else None)
        assert time.monotonic() - started < 3.0
        assert not receiver.connected
    assert not os.path.exists(segment_path(namespace))


def test_a_live_publisher_without_new_frames_gives_a_frame_timeout_naming_the_namespace(
    namespace: str, processes
) -> None:
    with MultiprocessRGBPublisher(SyntheticCamera, synthetic((64, 48), fps=0.5), namespace) as publisher:
        processes.track(publisher.pid)
        with MultiprocessRGBReceiver(namespace, timeout=0.3) as receiver:
            # The first frame carrying RGB is the first the publisher grabs after this receiver registered
            # (at most 2 s away); the one after it is 2 s away.
            receiver.grab_images(timeout=5.0)
            with pytest.raises(FrameTimeoutError, match=f"'{namespace}'.*publisher is alive"):
                receiver.grab_images()
            assert receiver.connected


BAD_NAMESPACES = [
    "",
    "/",
    "..",
    "a/../b",
    "./camera",
    "a//b",
    "camera/../../etc",
    "a b",
    " camera",
    "camera\n",
    "caméra",
    "kamera_\u0441",  # a Cyrillic 'c' that looks like a Latin one
    "x" * 101,
    "a-b",
    "a__b",
    "1camera",
    "cam\x00era",
]


@pytest.mark.parametrize("bad", BAD_NAMESPACES, ids=repr)
@pytest.mark.parametrize("side", ["publisher", "receiver", "prefetching-receiver", "frame-ring"])
def test_an_invalid_namespace_is_rejected_before_shared_memory_is_touched(
    bad: str, side: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    touched: list[str] = []
    real_open = os.open

    def watched_open(path: Any, *args: Any, **kwargs: Any) -> int:
        if str(path).startswith(SHM_DIR):
            touched.append(str(path))
        return real_open(path, *args, **kwargs)

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        touched.append("mmap")
        raise AssertionError("shared memory was mapped for an invalid namespace")

    listing, maps = _segments(), _segment_mappings()
    monkeypatch.setattr(os, "open", watched_open)
    monkeypatch.setattr(frame_ring.mmap, "mmap", forbidden)
    with pytest.raises(InvalidNamespaceError, match="namespace"):
        if side == "publisher":
            MultiprocessRGBDPublisher(SyntheticCamera, synthetic(), bad)
        elif side == "receiver":
            MultiprocessRGBDReceiver(bad)
        elif side == "prefetching-receiver":
            MultiprocessRGBDReceiver(bad, prefetch=True)
        else:
            FrameRing.create(bad, {"camera": {"frame_id": np.zeros(1, dtype=np.uint64)}})
    monkeypatch.undo()
    assert touched == []
    assert _new_segments_of_ours(listing) == [] and _segment_mappings() == maps


def _segments() -> list[str]:
    return sorted(name for name in os.listdir(SHM_DIR) if name.startswith(SEGMENT_PREFIX))


def _new_segments_of_ours(before: list[str]) -> list[str]:
    """Segments created since `before` that are not another program's (a concurrent test run, a benchmark)."""
    new = []
    for name in sorted(set(_segments()) - set(before)):
        try:
            owner = read_owner(os.path.join(SHM_DIR, name))
        except (FileNotFoundError, PermissionError):
            continue
        if owner is None or descends_from_us(owner.identity.pid):
            new.append(name)
    return new


def _segment_mappings() -> list[str]:
    with open("/proc/self/maps") as maps:
        return [line.split()[-1] for line in maps if os.path.join(SHM_DIR, SEGMENT_PREFIX) in line]


# ---------------------------------------------------------------------------------- schema mismatch
@pytest.mark.timeout(60)
def test_a_receiver_asking_for_depth_from_an_rgb_only_publisher_gets_a_schema_mismatch(
    namespace: str, processes
) -> None:
    waiting = MultiprocessRGBDReceiver(namespace, timeout=5.0)  # created before the publisher exists
    waiting_prefetch = MultiprocessRGBDReceiver(namespace, timeout=5.0, prefetch=True)
    try:
        with MultiprocessRGBPublisher(SyntheticCamera, synthetic((64, 48)), namespace) as publisher:
            processes.track(publisher.pid)
            with pytest.raises(SchemaMismatchError, match=f"'{namespace}' publishes \\['camera', 'rgb'\\].*depth"):
                MultiprocessRGBDReceiver(namespace)
            with pytest.raises(SchemaMismatchError, match="stereo"):
                MultiprocessStereoRGBDReceiver(namespace)
            started = time.monotonic()
            with pytest.raises(SchemaMismatchError, match=namespace):
                waiting.grab_images()
            assert time.monotonic() - started < 4, "a mismatch must be reported, not waited out as a timeout"
            started = time.monotonic()
            with pytest.raises(SchemaMismatchError, match=namespace):
                waiting_prefetch.grab_images()
            assert time.monotonic() - started < 4, "a prefetching receiver must not wait out a mismatch either"
            assert not waiting.connected
            with MultiprocessRGBReceiver(namespace) as rgb_receiver:  # what it does publish still works
                rgb_receiver.grab_images()
                assert watermark.matches(rgb_receiver.retrieve_rgb_image_as_int(), rgb_receiver.frame_id)
    finally:
        waiting.close()
        waiting_prefetch.close()


# ---------------------------------------------------------------------------------- a killed receiver
@pytest.mark.timeout(120)
def test_receivers_killed_mid_read_leave_the_publisher_and_other_receivers_unaffected(
    namespace: str, processes
) -> None:
    fps = 15.0  # a receiver descheduled for over a frame time skips one: keep that noise out
    rng = random.Random(7)
    stop, results, started = SPAWN.Event(), SPAWN.Queue(), SPAWN.Queue()
    publisher = MultiprocessStereoRGBDPublisher(SyntheticCamera, synthetic((320, 240), fps), namespace)
    observer = SPAWN.Process(target=observe_until, args=(namespace, stop, results))
    try:
        publisher.start()
        processes.track(publisher.pid)
        observer.start()
        processes.track(observer.pid)
        assert get(results, 30) == "started"
        first_frame, began = publisher.frames_published, time.monotonic()
        for kill in range(4):
            victim = SPAWN.Process(target=grab_forever, args=(namespace, kill % 2 == 1, started))
            victim.start()
            processes.track(victim.pid)
            assert get(started, 30) == victim.pid
            time.sleep(rng.uniform(0.02, 0.4))  # somewhere in a grab, a copy or a check
            os.kill(victim.pid, signal.SIGKILL)
            victim.join(10)
            assert victim.exitcode == -signal.SIGKILL
        elapsed, published = time.monotonic() - began, publisher.frames_published - first_frame
        stop.set()
        report = get(results, 20)
        observer.join(10)

        ids = report["ids"]
        assert ids == sorted(set(ids)), f"ids not strictly increasing: {ids}"
        lost = delivery.unexplained_misses(ids[0], report["grabs"])
        assert not lost, f"frames missed while the observer slept with a newer frame complete: {lost[:5]}"
        assert report["torn"] == 0
        # A stuck publisher would publish nothing; noise on 2 shared cores costs far less than 40 %.
        assert published >= 0.6 * fps * elapsed, f"{published} frames in {elapsed:.1f} s at {fps} fps"
        late = MultiprocessStereoRGBDReceiver(namespace, timeout=5.0, enable_depth_image=True)
        with late:  # no lock was left behind
            for _ in range(5):
                late.grab_images()
                assert workers.frame_is_consistent(late, stereo=True)
    finally:
        stop.set()
        publisher.stop()


# ---------------------------------------------------------------------------------- permissions
@pytest.mark.parametrize("mode", [None, 0o640, 0o644])
def test_segments_are_owner_only_unless_the_publisher_widens_segment_mode(
    namespace: str, processes, mode: int | None
) -> None:
    options = {} if mode is None else {"segment_mode": mode}
    old_umask = os.umask(0o077)  # the mode must not depend on the umask
    try:
        publisher = MultiprocessRGBPublisher(SyntheticCamera, synthetic((64, 48)), namespace, **options)
        publisher.start()
    finally:
        os.umask(old_umask)
    processes.track(publisher.pid)
    try:
        info = os.stat(segment_path(namespace))
        expected = 0o600 if mode is None else mode
        assert stat.S_IMODE(info.st_mode) == expected and info.st_uid == os.getuid()
        if os.getuid() == 0:  # root may act as another user: check what that user can open
            for group, readable in ((NOBODY, bool(expected & 0o004)), (info.st_gid, bool(expected & 0o044))):
                assert _can_open_as_nobody(segment_path(namespace), group, os.O_RDONLY) is readable
                assert _can_open_as_nobody(segment_path(namespace), group, os.O_RDWR) is False
        with MultiprocessRGBReceiver(namespace) as receiver:
            receiver.grab_images()
    finally:
        publisher.stop()


def _can_open_as_nobody(path: str, group: int, flags: int) -> bool:
    """Whether user 'nobody' in `group` may open `path` with `flags` (system python: the venv's is root's)."""
    code = (
        f"import os\ntry:\n    os.close(os.open({path!r}, {flags}))\nexcept PermissionError:\n    raise SystemExit(3)"
    )
    done = subprocess.run(
        ["/usr/bin/python3", "-c", code], user=NOBODY, group=group, extra_groups=[], timeout=30, check=False
    )
    assert done.returncode in (0, 3), f"the permission probe failed with code {done.returncode}"
    return done.returncode == 0


@contextlib.contextmanager
def acting_as_nobody() -> Iterator[None]:
    """Runs the block with the effective uid of 'nobody' (root keeps its saved uid and takes it back)."""
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)


@pytest.mark.skipif(os.getuid() != 0, reason="acting as another user (seteuid) needs root")
def test_another_user_is_told_the_segment_is_not_shared_and_reclaim_leaves_it_alone(namespace: str, processes) -> None:
    with MultiprocessRGBPublisher(SyntheticCamera, synthetic((64, 48)), namespace) as publisher:
        processes.track(publisher.pid)
        with acting_as_nobody():
            with pytest.raises(SegmentPermissionError, match=f"'{namespace}'.*mode 0600.*segment_mode=0o640"):
                MultiprocessRGBReceiver(namespace)
            removed = reclaim_stale_segments()  # must not fail on, nor remove, what it cannot read
            with pytest.raises(NamespaceInUseError, match=f"'{namespace}'.*uid 0.*cannot read"):
                FrameRing.create(namespace, {"camera": {"frame_id": np.zeros(1, dtype=np.uint64)}})
        assert segment_path(namespace) not in removed and os.path.exists(segment_path(namespace))
        with MultiprocessRGBReceiver(namespace) as receiver:  # its own user still reads it
            receiver.grab_images()


SMALL_SHM_PUBLISHER = """
import os, sys, time
from airo_mp_camera import MultiprocessRGBPublisher, PublisherStartError, SyntheticCamera
publisher = MultiprocessRGBPublisher(SyntheticCamera, {"resolution": (640, 480), "fps": 30}, sys.argv[1])
try:
    publisher.start()
except PublisherStartError as error:
    print("refused:", error)
else:
    time.sleep(1.0)  # frames fill the slots
    print("alive" if publisher.is_alive() else f"died with exit code {publisher.exitcode}")
finally:
    publisher.stop()
print("left:", [name for name in os.listdir("/dev/shm") if name.startswith("airo_mp_camera.")])
"""


@pytest.mark.timeout(60)
@pytest.mark.skipif(os.getuid() != 0, reason="a private, small /dev/shm (unshare --mount) needs root")
def test_a_dev_shm_too_small_for_the_segment_fails_the_start_clearly_instead_of_a_sigbus_later(
    namespace: str, processes
) -> None:
    small_shm = 'mount -t tmpfs -o size=2m tmpfs /dev/shm && exec "$@"'  # 640x480 RGB needs 4.4 MiB (5 slots)
    command = ["unshare", "--mount", "bash", "-c", small_shm, "small-shm", sys.executable, "-c", SMALL_SHM_PUBLISHER]
    child = processes.popen([*command, namespace], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = (stream.decode() for stream in child.communicate(timeout=50))
    assert child.returncode == 0, err[-2000:]
    assert f"refused: camera publisher of namespace '{namespace}' failed" in out, out
    assert "no room for the 4.4 MiB segment" in out and "--shm-size" in out
    assert "left: []" in out


# ---------------------------------------------------------------------------------- the sequence lock
@pytest.mark.timeout(60)
def test_the_sequence_lock_catches_overwrites_during_a_copy_and_returns_only_whole_frames(
    namespace: str, processes
) -> None:
    """Two slots and a publisher that rewrites them as fast as memory allows, so copies do get overwritten.

    A slow copy (into a Fortran-ordered array) of the newest slot, taken without the lock, is torn: the
    stress is real. The same copies through `FrameRing.read_frame` are rejected exactly when torn. A
    receiver under the same stress counts the overwrites its lock caught (`torn_reads`), retries, and
    returns only whole frames.
    """
    publisher = CameraPublisher(
        FlatCamera, {"resolution": (1280, 720)}, [CameraSchema(), RGBSchema()], namespace, n_slots=2
    )
    publisher.start()
    processes.track(publisher.pid)
    receiver = MultiprocessRGBReceiver(namespace, timeout=10.0)  # registered: the publisher writes RGB
    ring = FrameRing.attach(namespace)
    assert ring is not None
    try:
        receiver.grab_images()
        slow_copy = np.empty((720, 1280, 3), dtype=np.uint8, order="F")
        unprotected_torn = 0
        for _ in range(40):
            latest, slot = ring.latest_frame()
            np.copyto(slow_copy, ring.slot_views(slot)["rgb"]["rgb"])
            unprotected_torn += not flat_frame_is_whole(slow_copy, latest)
        assert unprotected_torn > 0, "the publisher never overwrote a slot during a copy: no stress, no proof"

        accepted_torn = rejected_torn = 0
        for _ in range(40):
            latest, slot = ring.latest_frame()
            accepted = ring.read_frame(slot, latest, {"rgb": {"rgb": slow_copy}})
            whole = flat_frame_is_whole(slow_copy, latest)
            accepted_torn += accepted and not whole
            rejected_torn += not accepted and not whole
        assert accepted_torn == 0, "the lock let a torn copy through"
        assert rejected_torn > 0, "the lock never had a torn copy to reject"

        ids, whole_frames = [], 0
        deadline = time.monotonic() + 20
        while (len(ids) < 300 or receiver.torn_reads == 0) and time.monotonic() < deadline:
            receiver.grab_images()
            ids.append(receiver.frame_id)
            whole_frames += flat_frame_is_whole(receiver.retrieve_rgb_image_as_int(), receiver.frame_id)
        retries = receiver.torn_reads
        assert retries > 0, "the receiver's lock caught no overwrite"
        assert whole_frames == len(ids), f"{len(ids) - whole_frames} of {len(ids)} returned frames were torn"
        assert ids == sorted(set(ids))
    finally:
        receiver.close()
        ring.close()
        publisher.stop()
    print(
        f"unprotected slow copies torn: {unprotected_torn}/40; torn copies rejected by read_frame: "
        f"{rejected_torn}/40; receiver: {len(ids)} whole frames, {retries} retried reads"
    )


# ---------------------------------------------------------------------------------- join and leave
def _resources() -> dict[str, int]:
    with open("/proc/self/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    with open("/proc/self/maps") as maps:
        mappings = sum(1 for _ in maps)
    return {
        "rss_kib": rss,
        "mappings": mappings,
        "fds": len(os.listdir("/proc/self/fd")),
        "threads": len(os.listdir("/proc/self/task")),
    }


@pytest.mark.timeout(120)
@pytest.mark.parametrize("prefetch", [False, True], ids=["plain", "prefetch"])
def test_a_receiver_joining_and_leaving_100_times_leaks_no_fd_mapping_thread_or_memory(
    namespace: str, processes, prefetch: bool
) -> None:
    with MultiprocessRGBDPublisher(SyntheticCamera, synthetic((320, 240), fps=60), namespace) as publisher:
        processes.track(publisher.pid)
        path = segment_path(namespace)
        start: dict[str, int] = {}
        for round_ in range(110):
            if round_ == 10:  # after the first rounds have filled allocator pools and import caches
                gc.collect()
                start = _resources()
            receiver = MultiprocessRGBDReceiver(namespace, prefetch=prefetch)
            receiver.grab_images()
            assert watermark.matches(receiver.retrieve_rgb_image_as_int(), receiver.frame_id)
            receiver.close()
            del receiver
        gc.collect()
        end = _resources()
        with open("/proc/self/maps") as maps:
            assert path not in maps.read(), "a closed receiver still maps the segment"
    assert end["fds"] == start["fds"], (start, end)
    # A leak maps something per round (100 rounds: +100). With prefetch each receiver starts a copier thread, and
    # glibc may give a new thread a malloc arena of its own: a heap mapping kept for reuse, not a leak.
    assert end["mappings"] - start["mappings"] <= (2 if prefetch else 0), (start, end)
    assert end["threads"] == start["threads"], (start, end)
    # One frame of the receiver's buffers is ~0.5 MB: a leak of one per round would be 50 MB.
    assert end["rss_kib"] - start["rss_kib"] < 4096, (start, end)
