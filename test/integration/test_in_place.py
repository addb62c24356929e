"""In-place retrieval: a camera writes its frame into the publisher's shared-memory slot (cameras/in_place.py).

Real publisher and receiver processes on real shared memory, with `InPlaceSyntheticCamera` (the synthetic
scene in a ZED's layouts: BGRA images, XYZRGBA cloud). Children compare what they read with the frame an
identical camera produces for the same frame id (the synthetic camera is deterministic by frame id).
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import pytest

from airo_mp_camera import (
    MultiprocessRGBDPublisher,
    MultiprocessRGBDReceiver,
    MultiprocessStereoRGBDReceiver,
    SyntheticCamera,
)
from airo_mp_camera.cameras import watermark
from airo_mp_camera.cameras.synthetic_in_place import InPlaceSyntheticCamera
from airo_mp_camera.pipeline.errors import PublisherStartError
from airo_mp_camera.pipeline.frame_ring import FrameRing
from airo_mp_camera.pipeline.publisher import CameraPublisher
from airo_mp_camera.pipeline.receiver import SharedMemoryReceiver
from airo_mp_camera.pipeline.schemas import CameraSchema, RGBSchema
from airo_mp_camera.pipeline.variants import stereo_rgbd_schemas

SPAWN = multiprocessing.get_context("spawn")
RESOLUTION = (320, 240)
KWARGS: dict[str, Any] = {"resolution": RESOLUTION, "fps": 30.0, "depth_model": "realistic"}


def get(results: Any, timeout: float) -> Any:
    """The next item of a multiprocessing queue, failing the test (not hanging) after `timeout` seconds."""
    try:
        item = results.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"no report from a child process within {timeout} s")
    if isinstance(item, str):
        pytest.fail(f"a child process failed: {item}")
    return item


class Expected:
    """What the publisher's camera produced for a frame id: an identical camera advanced to that frame."""

    def __init__(self) -> None:
        self.camera = InPlaceSyntheticCamera(**{**KWARGS, "fps": 1e6})

    def streams(self, frame_id: int) -> dict[str, np.ndarray]:
        if frame_id < self.camera.frame_id:
            self.camera = InPlaceSyntheticCamera(**{**KWARGS, "fps": 1e6})
        while self.camera.frame_id < frame_id:
            self.camera.grab_images()
        return streams_of(self.camera)


def streams_of(source: Any) -> dict[str, np.ndarray]:
    """Every stream of a camera, receiver or borrowed frame, in the familiar layout."""
    cloud = source.retrieve_colored_point_cloud()
    return {
        "rgb": source.retrieve_rgb_image_as_int(),
        "right": source.retrieve_rgb_image_as_int("right"),
        "depth": source.retrieve_depth_map(),
        "depth_image": source.retrieve_depth_image(),
        "confidence": source.retrieve_confidence_map(),
        "points": cloud.points,
        "colors": cloud.colors,
    }


def differences(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> list[str]:
    """Streams whose shape or values differ (NaN equal to NaN)."""
    return [
        name
        for name, array in got.items()
        if array.shape != expected[name].shape or not np.array_equal(array, expected[name], equal_nan=True)
    ]


def stereo_receiver(namespace: str) -> MultiprocessStereoRGBDReceiver:
    return MultiprocessStereoRGBDReceiver(
        namespace, timeout=20.0, enable_pointcloud=True, enable_confidence=True, enable_depth_image=True
    )


# ---------------------------------------------------------------------------------- child processes
def read_and_compare(namespace: str, duration: float, hold_periods: float, results: Any) -> None:
    """Borrows and copies frames alternately; reports frames that differ from the camera's, torn or changed."""
    try:
        receiver = stereo_receiver(namespace)
        expected = Expected()
        report: dict[str, Any] = {"borrowed": 0, "copied": 0, "differ": [], "torn": 0, "changed": 0, "ids": []}
        end = time.monotonic() + duration
        while time.monotonic() < end:
            with receiver.borrow() as frame:
                streams = streams_of(frame)
                first = {name: array.copy() for name, array in streams.items()}
                report["torn"] += not all(watermark.matches(a, frame.frame_id) for a in streams.values())
                report["differ"] += differences(streams, expected.streams(frame.frame_id))
                report["layouts"] = [frame.retrieve_camera_image()[1], frame.retrieve_camera_image("right")[1]]
                report["borrowed_rgb_strides"] = list(streams["rgb"].strides)
                time.sleep(hold_periods / 30.0)
                report["changed"] += bool(differences(streams, first))
                report["borrowed"] += 1
                report["ids"].append(frame.frame_id)
            receiver.grab_images()
            streams = streams_of(receiver)
            report["torn"] += not all(watermark.matches(a, receiver.frame_id) for a in streams.values())
            report["differ"] += differences(streams, expected.streams(receiver.frame_id))
            report["copied_rgb_contiguous"] = bool(streams["rgb"].flags.c_contiguous)
            report["copied_layout"] = receiver.retrieve_camera_image()[1]
            report["copied"] += 1
        receiver.close()
        results.put(report)
    except BaseException as error:  # report, so the test does not wait for nothing
        results.put(f"{type(error).__name__}: {error}")


def copy_in_camera_layout(namespace: str, results: Any) -> None:
    """A copying receiver that keeps the RGB image in the camera's layout (as the bridge's bgra8 does)."""
    try:
        receiver = SharedMemoryReceiver(namespace, [CameraSchema(), RGBSchema()], timeout=20.0, camera_layout={"rgb"})
        receiver.grab_images()
        bgra = receiver._rgb_buffer.bgra  # type: ignore[attr-defined]
        expected = Expected()
        expected.streams(receiver.frame_id)
        device = expected.camera._retrieve("rgb")
        results.put({"shape": bgra.shape, "equal": bool(np.array_equal(bgra, device))})
        receiver.close()
    except BaseException as error:
        results.put(f"{type(error).__name__}: {error}")


class WritesNothingInPlace(InPlaceSyntheticCamera):
    """Asks for the camera layouts but reports nothing written: the publisher must copy every schema."""

    def retrieve_into(self, buffers: Mapping[str, Any]) -> Collection[str]:
        return []


class OnlyHalfTheProtocol(SyntheticCamera):
    """Offers slot_layouts() without retrieve_into()."""

    def slot_layouts(self) -> Mapping[str, str]:
        return {"rgb": "bgra8"}


def _run_readers(namespace: str, processes: Any, n: int, duration: float, hold: float) -> list[dict[str, Any]]:
    results = SPAWN.Queue()
    children = [SPAWN.Process(target=read_and_compare, args=(namespace, duration, hold, results)) for _ in range(n)]
    for child in children:
        child.start()
        processes.track(child.pid)
    reports = [get(results, duration + 60) for _ in children]
    for child in children:
        child.join(10)
    return reports


# ---------------------------------------------------------------------------------- tests
@pytest.mark.timeout(180)
def test_an_in_place_camera_fills_the_slot_itself_and_receivers_read_the_frame_it_produced(
    namespace: str, processes
) -> None:
    schemas = stereo_rgbd_schemas(enable_pointcloud=True, enable_confidence=True)
    with CameraPublisher(InPlaceSyntheticCamera, KWARGS, schemas, namespace) as publisher:
        processes.track(publisher.pid)
        ring = FrameRing.attach(namespace)
        assert ring is not None
        fields = {name: sorted(spec) for name, spec in ring.layout.items()}
        ring.close()
        reports = _run_readers(namespace, processes, 2, 3.0, hold=3.0)
        frames, copies = publisher.frames_published, publisher.copies_made
    assert fields["rgb"] == ["bgra"] and fields["point_cloud"] == ["point_count", "xyzrgba"]
    assert fields["stereo"] == ["bgra_right", "intrinsics_right", "pose_right_in_left"]
    assert fields["depth_image"] == ["depth_image_bgra"]
    for report in reports:
        assert report["borrowed"] >= 3 and report["copied"] >= 3, report
        assert report["differ"] == [] and report["torn"] == 0 and report["changed"] == 0, report
        assert report["ids"] == sorted(set(report["ids"]))
        assert report["layouts"] == ["bgra8", "bgra8"]
        assert report["borrowed_rgb_strides"] == [RESOLUTION[0] * 4, 4, -1]  # a view of the BGRA slot
        assert report["copied_rgb_contiguous"] and report["copied_layout"] == "rgb8"  # converted while copied
    assert frames > 10 and copies == 0, "an in-place camera that writes every schema leaves the publisher no copy"


@pytest.mark.timeout(120)
def test_the_same_camera_copying_is_copied_by_the_publisher_once_per_schema_read(namespace: str, processes) -> None:
    with MultiprocessRGBDPublisher(InPlaceSyntheticCamera, {**KWARGS, "in_place": False}, namespace) as publisher:
        processes.track(publisher.pid)
        ring = FrameRing.attach(namespace)
        assert ring is not None
        assert sorted(ring.layout["rgb"]) == ["rgb"]
        ring.close()
        with MultiprocessRGBDReceiver(namespace, timeout=10.0) as rgbd:
            rgbd.grab_images()
            before_frames, before_copies = publisher.frames_published, publisher.copies_made
            for _ in range(10):
                rgbd.grab_images()
                assert watermark.matches(rgbd.retrieve_rgb_image_as_int(), rgbd.frame_id)
            # The publisher counts a frame after its copies and after receivers can see it: sampled between two
            # frames (copies and frames read again until both stand still), each frame counts two copies.
            deadline = time.monotonic() + 5.0
            while True:
                frames = publisher.frames_published - before_frames
                copies = publisher.copies_made - before_copies
                if frames >= 10 and frames == publisher.frames_published - before_frames and copies == 2 * frames:
                    break
                if time.monotonic() > deadline:
                    break
                time.sleep(0.002)
    assert frames >= 10
    assert copies == 2 * frames, "rgb and depth, copied by the publisher on every frame"


@pytest.mark.timeout(120)
def test_schemas_a_camera_does_not_report_written_are_copied_by_the_publisher_into_its_layout(
    namespace: str, processes
) -> None:
    schemas = stereo_rgbd_schemas(enable_pointcloud=True, enable_confidence=True)
    with CameraPublisher(WritesNothingInPlace, KWARGS, schemas, namespace) as publisher:
        processes.track(publisher.pid)
        reports = _run_readers(namespace, processes, 1, 2.0, hold=0.0)
        assert publisher.copies_made > 0
    (report,) = reports
    assert report["differ"] == [] and report["torn"] == 0, report
    assert report["layouts"] == ["bgra8", "bgra8"]


@pytest.mark.timeout(120)
def test_a_copying_receiver_can_keep_the_camera_layout_verbatim(namespace: str, processes) -> None:
    results = SPAWN.Queue()
    with CameraPublisher(InPlaceSyntheticCamera, KWARGS, [CameraSchema(), RGBSchema()], namespace) as publisher:
        processes.track(publisher.pid)
        child = SPAWN.Process(target=copy_in_camera_layout, args=(namespace, results))
        child.start()
        processes.track(child.pid)
        report = get(results, 60)
        child.join(10)
    assert report == {"shape": (RESOLUTION[1], RESOLUTION[0], 4), "equal": True}


class WrongLayout(InPlaceSyntheticCamera):
    """Asks for a layout RGBSchema does not have."""

    def slot_layouts(self) -> Mapping[str, str]:
        return {"rgb": "yuv422"}


@pytest.mark.parametrize(
    ("camera_cls", "kwargs", "message"),
    [
        (OnlyHalfTheProtocol, {"resolution": RESOLUTION}, "only one of slot_layouts.. and retrieve_into"),
        (WrongLayout, KWARGS, "schema 'rgb' has no layout 'yuv422'"),
    ],
)
def test_a_camera_that_misuses_the_protocol_fails_the_start_saying_how(
    camera_cls: type, kwargs: dict[str, Any], message: str, namespace: str, processes
) -> None:
    publisher = CameraPublisher(camera_cls, kwargs, [CameraSchema(), RGBSchema()], namespace)
    with pytest.raises(PublisherStartError, match=message):
        publisher.start()
    processes.track(publisher.pid)
    publisher.stop()


def test_watermarks_of_strided_views_are_read_as_they_were_stamped() -> None:
    bgra = np.zeros((4, 5, 4), np.uint8)
    watermark.stamp(bgra[..., 2::-1], 2**40 + 7)
    assert watermark.matches(bgra[..., 2::-1], 2**40 + 7)
    assert watermark.matches(np.ascontiguousarray(bgra[..., 2::-1]), 2**40 + 7)  # what a copying receiver sees
    assert not watermark.matches(bgra, 2**40 + 7)  # the BGRA bytes themselves are in another order


def test_the_copying_camera_hands_out_its_bgra_buffers_of_which_retrieves_are_rgb_views() -> None:
    camera = InPlaceSyntheticCamera(resolution=(32, 24), fps=100.0, in_place=False)
    camera.grab_images()
    copies = camera.device_copies
    for stream, rgb in (("rgb", camera.retrieve_rgb_image_as_int()), ("depth_image", camera.retrieve_depth_image())):
        bgra = camera.retrieve_bgra(stream)
        assert bgra.shape == (24, 32, 4) and np.all(bgra[..., 3] == 255)
        assert np.shares_memory(bgra, rgb) and np.array_equal(bgra[..., 2::-1], rgb)
        assert watermark.matches(np.ascontiguousarray(bgra[..., 2::-1]), 1)
    assert camera.device_copies == copies + 2, "one device copy per stream and frame, however often it is read"
    with pytest.raises(ValueError, match="depth"):
        camera.retrieve_bgra("depth")


def test_the_converting_copy_equals_numpys_for_every_camera_layout_view() -> None:
    from airo_mp_camera.pipeline.pixel_copy import copy_array

    rng = np.random.default_rng(18)
    bgra = rng.integers(0, 256, (7, 9, 4), dtype=np.uint8)
    cloud = rng.standard_normal((63, 4)).astype(np.float32)
    padded = rng.integers(0, 256, (7, 12, 4), dtype=np.uint8)[:, :9]  # rows with padding, as a Mat's step
    for source in (bgra[..., 2::-1], padded[..., 2::-1], cloud[:, :3], cloud.view(np.uint8)[:, 12:15], cloud[:, 1:4]):
        destination = np.zeros(source.shape, source.dtype)
        copy_array(destination, source)
        assert np.array_equal(destination, source)
    slot = np.zeros_like(bgra)
    copy_array(slot[..., 2::-1], bgra[..., 2::-1])  # RGB view into RGB view: BGRA copied whole
    assert np.array_equal(slot, bgra)


def test_camera_node_hosts_the_in_place_synthetic_camera_on_request_with_its_phase_and_jitter() -> None:
    from airo_mp_camera.ros.node import camera_class
    from airo_mp_camera.ros.parameters import camera_config

    assert camera_config({"camera_type": "synthetic"}).camera_type == "synthetic", "copying unless asked"
    config = camera_config(
        {"camera_type": "synthetic", "synthetic.in_place": True, "synthetic.phase": 0.004, "synthetic.jitter": 0.001}
    )
    cls = camera_class(config.camera_type)
    assert cls is InPlaceSyntheticCamera
    camera = cls(**{**config.camera_kwargs, "resolution": (32, 24), "fps": 100.0})
    assert camera.slot_layouts()["rgb"] == "bgra8"
    stamps = []
    for _ in range(3):
        camera.grab_images()
        stamps.append(camera.capture_timestamp)
    offsets = [(stamp - 0.004) % 0.010 for stamp in stamps]  # on the 10 ms grid shifted by the phase, +-1 ms
    assert all(min(offset, 0.010 - offset) <= 0.0011 for offset in offsets), offsets
