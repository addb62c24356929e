"""ZedCamera against the pyzed TEST DOUBLE in test/fakes/pyzed (no ZED SDK, no camera: nothing here is hardware).

The double implements the documented `pyzed.sl` surface with generated frames; these tests show that
ZedCamera drives that API as documented (parameters, streams, calibration, SVO, reconnects), not that a
real ZED behaves like the double.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from airo_mp_camera import MultiprocessStereoRGBDPublisher, MultiprocessStereoRGBDReceiver
from airo_mp_camera.cameras.errors import CameraLostError, EndOfRecordingError
from airo_mp_camera.cameras.zed import ZedCamera

FAKES = Path(__file__).parent / "fakes"


def _forget_pyzed() -> None:
    for name in [name for name in sys.modules if name == "pyzed" or name.startswith("pyzed.")]:
        del sys.modules[name]


@pytest.fixture
def sl(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The fake `pyzed.sl` with one ZED 2i (serial 30001), importable here and in spawned children."""
    monkeypatch.syspath_prepend(str(FAKES))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(FAKES), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("PYZED_FAKE_DEVICES", "ZED2i:30001")
    _forget_pyzed()
    import pyzed.sl as fake_sl

    assert Path(fake_sl.__file__).is_relative_to(FAKES), "the test double must be the pyzed found"
    fake_sl.WORLD.reset("ZED2i:30001")
    yield fake_sl
    _forget_pyzed()


def rgb_of(sl: ModuleType, view: str, frame: int, width: int = 672, height: int = 376) -> np.ndarray:
    return sl.fake_bgra(view, frame, width, height)[..., 2::-1]


def test_opens_the_requested_mode_in_metres_in_the_optical_frame(sl: ModuleType) -> None:
    camera = ZedCamera(resolution="VGA", fps=60, depth_mode="NEURAL_LIGHT", min_depth=0.3, max_depth=5.0)
    (call,) = sl.WORLD.open_calls
    assert call["resolution"] == "VGA" and call["fps"] == 60 and call["depth_mode"] == "NEURAL_LIGHT"
    assert call["units"] == "METER" and call["coordinate_system"] == "IMAGE"
    assert call["serial_number"] is None and call["svo_file"] is None
    assert camera.resolution == (672, 376) and camera.fps == 60
    assert camera.serial_number == 30001 and camera.camera_model == "ZED2i"
    camera.close()


def test_each_stream_holds_the_grabbed_frame(sl: ModuleType) -> None:
    camera = ZedCamera(resolution="VGA", fps=100)
    for frame in (1, 2):
        before = time.time()
        camera.grab_images()
        assert camera.frame_id == frame
        np.testing.assert_array_equal(camera.retrieve_rgb_image_as_int(), rgb_of(sl, "left", frame))
        np.testing.assert_array_equal(camera.retrieve_rgb_image_as_int("right"), rgb_of(sl, "right", frame))
        assert camera.retrieve_rgb_image().dtype == np.float32
        np.testing.assert_array_equal(camera.retrieve_depth_map(), sl.fake_depth(frame, 672, 376))
        np.testing.assert_array_equal(camera.retrieve_confidence_map(), sl.fake_confidence(frame, 672, 376))
        depth_image = camera.retrieve_depth_image()
        assert depth_image.shape == (376, 672, 3) and depth_image.dtype == np.uint8
        cloud = camera.retrieve_colored_point_cloud()
        expected = sl.fake_xyzrgba(frame, 672, 376)
        np.testing.assert_array_equal(cloud.points, expected[..., :3].reshape(-1, 3))
        np.testing.assert_array_equal(cloud.colors, rgb_of(sl, "left", frame).reshape(-1, 3))
        assert before - 0.01 <= camera.capture_timestamp <= time.time() + 0.01
    camera.close()


def test_rgb_is_a_channel_reversed_view_of_the_sdk_buffer_without_a_copy(sl: ModuleType) -> None:
    camera = ZedCamera(resolution="VGA", fps=100)
    camera.grab_images()
    rgb = camera.retrieve_rgb_image_as_int()
    assert rgb.base is not None and not rgb.flags["OWNDATA"] and rgb.strides[-1] == -1
    camera.close()


def test_calibration_gives_both_intrinsics_and_the_baseline(sl: ModuleType) -> None:
    camera = ZedCamera(resolution="HD720", fps=15)
    fx, fy, cx, cy = sl.fake_intrinsics(1280, 720)
    expected = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]])
    np.testing.assert_allclose(camera.intrinsics_matrix(), expected)
    np.testing.assert_allclose(camera.intrinsics_matrix("right"), expected)
    pose = camera.pose_of_right_view_in_left_view
    np.testing.assert_allclose(pose[:3, :3], np.eye(3))
    np.testing.assert_allclose(pose[:3, 3], [0.12, 0.0, 0.0], atol=1e-6)
    assert camera.baseline == pytest.approx(0.12)
    camera.close()


def test_serial_number_picks_the_camera_and_its_model_decides_the_modes(sl: ModuleType) -> None:
    sl.WORLD.reset("ZED2i:30001,ZED_X:40001")
    camera = ZedCamera(resolution="HD1200", fps=60, serial_number=40001)
    assert sl.WORLD.open_calls[-1]["serial_number"] == 40001
    assert camera.camera_model == "ZED_X" and camera.resolution == (1920, 1200)
    camera.close()
    with pytest.raises(ValueError, match="HD1200 is not supported by the connected ZED2i"):
        ZedCamera(resolution="HD1200", fps=30, serial_number=30001)
    with pytest.raises(ValueError, match=r"no ZED with serial number 123.*\[30001, 40001\]"):
        ZedCamera(serial_number=123)
    assert len(sl.WORLD.open_calls) == 1


@pytest.mark.parametrize(
    ("resolution", "fps", "message"),
    [
        ("HD4K", 15, "resolution must be one of"),
        ("HD2K", 30, r"HD2K at \[15\] fps"),
        ("VGA", 120, "not at fps=120"),
        ("SVGA", 30, "connected ZED2i"),  # a ZED X mode; the connected camera is a ZED 2i
        ("HD720", 100, "not at fps=100"),
    ],
)
def test_unsupported_mode_is_rejected_before_opening(sl: ModuleType, resolution: str, fps: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ZedCamera(resolution=resolution, fps=fps)
    assert sl.WORLD.open_calls == [], "the camera must not be opened with a mode it does not support"


def test_depth_mode_outside_the_neural_family_is_rejected(sl: ModuleType) -> None:
    with pytest.raises(ValueError, match="depth_mode must be one of"):
        ZedCamera(depth_mode="ULTRA")
    assert sl.WORLD.open_calls == []


def test_without_depth_images_still_flow_and_depth_says_it_is_off(sl: ModuleType) -> None:
    camera = ZedCamera(resolution="VGA", fps=100, depth_mode="NONE")
    camera.grab_images()
    np.testing.assert_array_equal(camera.retrieve_rgb_image_as_int(), rgb_of(sl, "left", 1))
    with pytest.raises(RuntimeError, match="needs depth, which is off"):
        camera.retrieve_depth_map()
    camera.close()


def test_svo_playback_stops_at_the_end_with_a_clear_error(sl: ModuleType, tmp_path: Path) -> None:
    svo = tmp_path / "recording.svo2"
    sl.write_fake_svo(svo, frames=3, fps=100, start_ns=1_700_000_000_000_000_000)
    camera = ZedCamera(svo_file=str(svo))
    assert sl.WORLD.open_calls[-1]["svo_file"] == str(svo)
    stamps = []
    for position in range(3):
        camera.grab_images()
        np.testing.assert_array_equal(camera.retrieve_rgb_image_as_int(), rgb_of(sl, "left", position))
        stamps.append(camera.capture_timestamp)
    np.testing.assert_allclose(np.diff(stamps), [0.01, 0.01], atol=1e-6)
    assert stamps[0] == pytest.approx(1_700_000_000.0)
    with pytest.raises(EndOfRecordingError, match="ended after 3 frames"):
        camera.grab_images()
    camera.close()


def test_svo_playback_loops_when_asked(sl: ModuleType, tmp_path: Path) -> None:
    svo = tmp_path / "recording.svo"
    sl.write_fake_svo(svo, frames=3, fps=100)
    camera = ZedCamera(svo_file=str(svo), svo_loop=True)
    positions = []
    for _ in range(7):
        camera.grab_images()
        positions.append(camera._camera.fake_frame)
    assert positions == [0, 1, 2, 0, 1, 2, 0]
    assert camera.frame_id == 7
    camera.close()


def test_missing_svo_file_is_reported_before_opening(sl: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="SVO file not found"):
        ZedCamera(svo_file=str(tmp_path / "absent.svo2"))
    assert sl.WORLD.open_calls == []


def test_an_unplugged_camera_is_reopened_and_grabbing_goes_on(sl: ModuleType) -> None:
    camera = ZedCamera(resolution="VGA", fps=100, reopen_attempts=3, reopen_delay=0.0)
    camera.grab_images()
    sl.WORLD.unplug(30001, failed_opens=1)  # back on the second open attempt
    camera.grab_images()
    assert camera.reopens == 1
    assert len(sl.WORLD.open_calls) == 3  # the first open, one failed reopen, one successful reopen
    assert camera.frame_id == 2
    np.testing.assert_array_equal(camera.retrieve_rgb_image_as_int(), rgb_of(sl, "left", 2))
    camera.close()


def test_a_camera_that_stays_away_gives_up_after_the_bound(sl: ModuleType) -> None:
    camera = ZedCamera(resolution="VGA", fps=100, reopen_attempts=2, reopen_delay=0.0)
    camera.grab_images()
    sl.WORLD.unplug(30001)
    with pytest.raises(CameraLostError, match=r"CAMERA_NOT_DETECTED.*2 attempt"):
        camera.grab_images()
    assert len(sl.WORLD.open_calls) == 1 + 2


def test_without_the_sdk_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _forget_pyzed()
    monkeypatch.setitem(sys.modules, "pyzed", None)  # makes `import pyzed.sl` fail, as without the SDK
    with pytest.raises(ImportError, match=r"ZED SDK.*get_python_api\.py"):
        ZedCamera()


def test_importing_the_package_imports_neither_pyzed_nor_rosbags() -> None:
    code = (
        "import sys, airo_mp_camera\n"
        "from airo_mp_camera.cameras import ZedCamera, ReplayCamera\n"
        "assert ZedCamera.__name__ == 'ZedCamera' and ReplayCamera.__name__ == 'ReplayCamera'\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('pyzed', 'rosbags'))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_a_publisher_process_hosts_the_zed_and_a_receiver_reads_it(sl: ModuleType, namespace: str, processes) -> None:
    kwargs = {"resolution": "VGA", "fps": 30, "depth_mode": "NEURAL"}
    started = time.time()
    with MultiprocessStereoRGBDPublisher(
        ZedCamera, kwargs, namespace, enable_pointcloud=True, enable_confidence=True
    ) as publisher:
        processes.track(publisher.pid)
        with MultiprocessStereoRGBDReceiver(namespace, enable_pointcloud=True, enable_confidence=True) as receiver:
            for _ in range(3):
                receiver.grab_images()
                grabbed = time.time()
                # The SDK's image time, on the wall clock: taken after the publisher started, before the grab
                # returned (bounds that hold however slow a busy machine makes the checks below).
                assert started <= receiver.capture_timestamp <= grabbed
                frame = receiver.frame_id
                np.testing.assert_array_equal(receiver.retrieve_rgb_image_as_int(), rgb_of(sl, "left", frame))
                np.testing.assert_array_equal(receiver.retrieve_rgb_image_as_int("right"), rgb_of(sl, "right", frame))
                np.testing.assert_array_equal(receiver.retrieve_depth_map(), sl.fake_depth(frame, 672, 376))
                np.testing.assert_array_equal(receiver.retrieve_confidence_map(), sl.fake_confidence(frame, 672, 376))
                cloud = receiver.retrieve_colored_point_cloud()
                np.testing.assert_array_equal(cloud.colors, rgb_of(sl, "left", frame).reshape(-1, 3))
            assert receiver.resolution == (672, 376) and receiver.fps == 30
            fx, fy, cx, cy = sl.fake_intrinsics(672, 376)
            np.testing.assert_allclose(receiver.intrinsics_matrix(), [[fx, 0, cx], [0, fy, cy], [0, 0, 1]])
            assert receiver.pose_of_right_view_in_left_view[0, 3] == pytest.approx(0.12)


def test_a_publisher_plays_an_svo_with_its_recorded_stamps_then_stops(
    sl: ModuleType, namespace: str, processes, tmp_path: Path
) -> None:
    svo = tmp_path / "recording.svo2"
    start_ns = 1_700_000_000_000_000_000
    sl.write_fake_svo(svo, frames=20, fps=15, start_ns=start_ns)
    publisher = MultiprocessStereoRGBDPublisher(ZedCamera, {"svo_file": str(svo)}, namespace)
    publisher.start()
    processes.track(publisher.pid)
    try:
        with MultiprocessStereoRGBDReceiver(namespace) as receiver:
            receiver.grab_images()
            frame = receiver.frame_id
            assert receiver.capture_timestamp == pytest.approx(start_ns / 1e9 + (frame - 1) / 15, abs=1e-6)
            np.testing.assert_array_equal(receiver.retrieve_rgb_image_as_int(), rgb_of(sl, "left", frame - 1))
        publisher.join(30)
        assert publisher.exitcode == 0, "the end of the SVO file ends the publisher normally"
        assert publisher.frames_published == 20
    finally:
        publisher.stop()
