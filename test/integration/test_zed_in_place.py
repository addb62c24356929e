"""The ZED retrieving in place, against the pyzed TEST DOUBLE (test/support/fakes/pyzed: no SDK, no camera, no GPU).

The double emulates SDK 5.4 (`init_mat_cpu` wraps external memory by address, retrieves write into a Mat of
matching type and size) or 4.2.2 (it does not); see its docstring. What a real SDK's transfer into shared
memory costs only hardware shows.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from airo_mp_camera.cameras.zed import ZedCamera
from airo_mp_camera.pipeline.publisher import CameraPublisher
from airo_mp_camera.pipeline.schemas import Schema
from airo_mp_camera.pipeline.variants import MultiprocessStereoRGBDReceiver, stereo_rgbd_schemas

SPAWN = multiprocessing.get_context("spawn")
WIDTH, HEIGHT = 672, 376  # VGA
ZED_KWARGS: dict[str, Any] = {"resolution": "VGA", "fps": 100}


def schemas() -> list[Schema]:
    return stereo_rgbd_schemas(enable_pointcloud=True, enable_confidence=True)


def slot_buffers(camera: ZedCamera) -> dict[str, Any]:
    """Buffers laid out as the publisher lays out a slot for this camera (here in plain numpy memory)."""
    layouts = camera.slot_layouts()
    return {s.name: s.allocate(WIDTH, HEIGHT, layouts[s.name]) for s in schemas() if s.name in layouts}


def expected_streams(sl: ModuleType, frame: int) -> dict[str, np.ndarray]:
    """What the double's camera delivers for a frame, in the layouts the ZED writes into slots."""
    return {
        "rgb": sl.fake_bgra("left", frame, WIDTH, HEIGHT),
        "stereo": sl.fake_bgra("right", frame, WIDTH, HEIGHT),
        "depth": sl.fake_depth(frame, WIDTH, HEIGHT),
        "confidence": sl.fake_confidence(frame, WIDTH, HEIGHT),
        "point_cloud": sl.fake_xyzrgba(frame, WIDTH, HEIGHT).reshape(-1, 4),
    }


SLOT_FIELDS = {
    "rgb": "bgra",
    "stereo": "bgra_right",
    "depth": "depth_map",
    "confidence": "confidence_map",
    "point_cloud": "xyzrgba",
}


class ZedWhoseSdkReallocates(ZedCamera):
    """A ZedCamera whose (double's) SDK reallocates every image Mat it retrieves into, as if type or size differed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        mat_class = self._sl.Mat
        store = mat_class._store

        def reallocating_store(mat: Any, values: np.ndarray, mat_type: Any) -> None:
            if mat_type == self._sl.MAT_TYPE.U8_C4 and not mat.is_memory_owner():
                mat._allocate(values.shape[1], values.shape[0], mat_type)
            store(mat, values, mat_type)

        mat_class._store = reallocating_store


class ZedRecordingItsMats(ZedCamera):
    """A ZedCamera that, in the publisher process, records for each stream written in place whether its Mat
    points at the slot array and whether that array lies in the namespace's shared-memory mapping."""

    def __init__(self, record: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._record = record

    def retrieve_into(self, buffers: Any) -> Any:
        written = super().retrieve_into(buffers)
        with open("/proc/self/maps") as maps:
            segments = [
                tuple(int(bound, 16) for bound in line.split()[0].split("-"))
                for line in maps
                if "/dev/shm/airo_mp_camera." in line and not line.rstrip().endswith(".readers")
            ]
        with open(self._record, "a") as record:
            for name in written:
                address = getattr(buffers[name], SLOT_FIELDS.get(name, "depth_image_bgra")).ctypes.data
                pointer = self._slot_retrieval._mats[(name, address)].get_pointer(self._sl.MEM.CPU)
                shared = any(low <= address < high for low, high in segments)
                record.write(f"{name} {address} {pointer} {shared}\n")
        return written


# ---------------------------------------------------------------------------------- in one process
def test_on_sdk_5_4_each_slot_array_is_wrapped_by_a_mat_the_sdk_writes_into(sl: ModuleType) -> None:
    camera = ZedCamera(**ZED_KWARGS)
    if sl.SDK_VERSION < "5.3.1":
        assert camera.slot_layouts() == {}, "before 5.3.1 init_mat_cpu cannot wrap memory by address"
        camera.close()
        return
    assert camera.slot_layouts()["rgb"] == "bgra8" and camera.slot_layouts()["point_cloud"] == "xyzrgba"
    buffers = slot_buffers(camera)
    for frame in (1, 2):
        camera.grab_images()
        written = camera.retrieve_into(buffers)
        assert sorted(written) == sorted(buffers)
        for name, expected in expected_streams(sl, frame).items():
            array = getattr(buffers[name], SLOT_FIELDS[name])
            mat = camera._slot_retrieval._mats[(name, array.ctypes.data)]
            assert mat.get_pointer(sl.MEM.CPU) == array.ctypes.data, f"the Mat of {name} wraps the slot array"
            assert mat.get_step_bytes(sl.MEM.CPU) == array.strides[0] * (WIDTH if name == "point_cloud" else 1)
            np.testing.assert_array_equal(array, expected, err_msg=name)
    assert buffers["point_cloud"].point_count[0] == WIDTH * HEIGHT
    np.testing.assert_array_equal(buffers["stereo"].intrinsics_right, camera.intrinsics_matrix("right"))
    camera.close()


def test_in_place_false_or_an_sdk_before_5_3_1_leave_the_copy_to_the_publisher(sl: ModuleType) -> None:
    camera = ZedCamera(**ZED_KWARGS, in_place=False)
    assert camera.slot_layouts() == {}
    camera.close()


def test_a_mat_the_sdk_reallocated_is_detected_logged_once_and_left_to_the_publishers_copy(
    sl: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    if sl.SDK_VERSION < "5.3.1":
        pytest.skip("no in-place retrieval before SDK 5.3.1 (the test above checks that it is off)")
    camera = ZedWhoseSdkReallocates(**ZED_KWARGS)
    buffers = slot_buffers(camera)
    with caplog.at_level(logging.WARNING, logger="airo_mp_camera.cameras.zed_in_place"):
        for _ in range(3):
            camera.grab_images()
            written = set(camera.retrieve_into(buffers))
            assert written == {"depth", "confidence", "point_cloud"}, "images went to reallocated Mats"
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 3, warnings  # rgb, stereo, depth_image: each once
    assert all("reallocated" in message and "copied into the slot" in message for message in warnings)
    assert camera._slot_retrieval.fallen_back == {"rgb", "stereo", "depth_image"}
    camera.close()


# ---------------------------------------------------------------------------------- real processes
def same(got: np.ndarray, expected: np.ndarray) -> bool:
    """Equal shapes and values (NaN equal to NaN, as a stereo camera's holes are)."""
    try:
        np.testing.assert_array_equal(got, expected)
    except AssertionError:
        return False
    return True


def read_and_compare(namespace: str, results: Any) -> None:
    """Borrows and copies frames; reports the streams that differ from what the double's camera delivered."""
    try:
        import pyzed.sl as sl

        receiver = MultiprocessStereoRGBDReceiver(namespace, timeout=20.0, enable_pointcloud=True)
        report: dict[str, Any] = {"differ": [], "frames": 0}
        for _ in range(5):
            for frame in (receiver.borrow(), None):
                source: Any = frame
                if frame is None:
                    receiver.grab_images()
                    source = receiver
                bgra = sl.fake_bgra("left", source.frame_id, WIDTH, HEIGHT)
                expected = {
                    "rgb": bgra[..., 2::-1],
                    "right": sl.fake_bgra("right", source.frame_id, WIDTH, HEIGHT)[..., 2::-1],
                    "depth": sl.fake_depth(source.frame_id, WIDTH, HEIGHT),
                    "points": sl.fake_xyzrgba(source.frame_id, WIDTH, HEIGHT).reshape(-1, 4)[:, :3],
                    "colors": bgra[..., 2::-1].reshape(-1, 3),
                }
                cloud = source.retrieve_colored_point_cloud()
                got = {
                    "rgb": source.retrieve_rgb_image_as_int(),
                    "right": source.retrieve_rgb_image_as_int("right"),
                    "depth": source.retrieve_depth_map(),
                    "points": cloud.points,
                    "colors": cloud.colors,
                }
                report["differ"] += [name for name in got if not same(got[name], expected[name])]
                report["frames"] += 1
                if frame is not None:
                    report["layout"] = frame.retrieve_camera_image()[1]
                    frame.release()
        receiver.close()
        results.put(report)
    except BaseException as error:  # report, so the test does not wait for nothing
        results.put({"error": f"{type(error).__name__}: {error}"})


@pytest.mark.timeout(120)
@pytest.mark.parametrize("camera_cls", [ZedRecordingItsMats, ZedWhoseSdkReallocates], ids=["in_place", "reallocated"])
def test_the_frame_in_shared_memory_is_the_one_the_sdk_delivered(
    camera_cls: type, sl: ModuleType, namespace: str, processes, tmp_path: Path
) -> None:
    in_place = sl.SDK_VERSION >= "5.3.1"
    if camera_cls is ZedWhoseSdkReallocates and not in_place:
        pytest.skip("no in-place retrieval before SDK 5.3.1 (nothing to reallocate)")
    results = SPAWN.Queue()
    record = tmp_path / "mats.txt"
    kwargs = {**ZED_KWARGS, "record": str(record)} if camera_cls is ZedRecordingItsMats else ZED_KWARGS
    with CameraPublisher(camera_cls, kwargs, schemas(), namespace) as publisher:
        processes.track(publisher.pid)
        child = SPAWN.Process(target=read_and_compare, args=(namespace, results))
        child.start()
        processes.track(child.pid)
        try:
            report = results.get(timeout=60)
        except queue.Empty:
            pytest.fail("the receiver process reported nothing within 60 s")
        child.join(10)
        time.sleep(0.1)
        frames, copies = publisher.frames_published, publisher.copies_made
    assert "error" not in report, report
    assert report["frames"] == 10 and report["differ"] == [], report
    assert report["layout"] == ("bgra8" if in_place else "rgb8")
    if camera_cls is ZedWhoseSdkReallocates:
        # The receiver read at least 5 distinct frames (5 borrowed, 5 copied): each had rgb and right copied.
        assert 2 * 5 <= copies <= 3 * frames, "rgb, right (and the depth view) fell back to the publisher's copy"
    elif in_place:
        assert copies == 0, "the SDK wrote every stream into the slot: the publisher copied nothing"
        rows = [line.split() for line in record.read_text().splitlines()]
        assert {row[0] for row in rows} == {"rgb", "stereo", "depth", "depth_image", "confidence", "point_cloud"}
        assert all(address == pointer and shared == "True" for _, address, pointer, shared in rows), rows[:6]
        assert len({row[1] for row in rows if row[0] == "rgb"}) >= 3, "one Mat per slot, several slots used"
    else:
        assert copies > 0
