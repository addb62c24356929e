"""ZedCamera against the pyzed TEST DOUBLE in test/support/fakes/pyzed (no ZED SDK, no camera: no hardware here).

The double emulates `pyzed.sl` of ZED SDK 4.2.2 and of 5.4 (only the names each release has, its warnings, its
timestamps, its memory ownership) with generated frames; every test that uses it runs against both releases.
These tests show that ZedCamera drives that API as its source says, not that a real ZED behaves like the double.
"""

from __future__ import annotations

import gc
import logging
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from airo_mp_camera import MultiprocessStereoRGBDPublisher, MultiprocessStereoRGBDReceiver
from airo_mp_camera.cameras.errors import CameraGrabError, CameraLostError, EndOfRecordingError
from airo_mp_camera.cameras.zed import MODES_BY_MODEL, ZedCamera, check_video_mode
from support.pyzed_double import forget_pyzed


def played_positions(camera: ZedCamera, grabs: int, pause: float = 0.0) -> list[int]:
    """The SVO positions the double played for `grabs` grabs, `pause` seconds apart."""
    positions = []
    for _ in range(grabs):
        camera.grab_images()
        positions.append(camera._camera.fake_frame)
        time.sleep(pause)
    return positions


def rgb_of(sl: ModuleType, view: str, frame: int, width: int = 672, height: int = 376) -> np.ndarray:
    return sl.fake_bgra(view, frame, width, height)[..., 2::-1]


def test_opens_the_requested_mode_in_metres_in_the_optical_frame(sl: ModuleType) -> None:
    camera = ZedCamera(resolution="VGA", fps=60, depth_mode="NEURAL_PLUS", min_depth=0.3, max_depth=5.0)
    (call,) = sl.WORLD.open_calls
    assert call["resolution"] == "VGA" and call["fps"] == 60 and call["depth_mode"] == "NEURAL_PLUS"
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
        ("HD8K", 15, "resolution must be one of"),
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
    assert played_positions(camera, 7) == [0, 1, 2, 0, 1, 2, 0]
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
    forget_pyzed()
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
        # Frame by frame (not the SDK's real-time mode, which drops frames when grabbing falls behind): every frame.
        assert publisher.frames_published == 20
    finally:
        publisher.stop()


# ---------------------------------------------------------------------------------------------- SDK releases


def is_sdk5(sl: ModuleType) -> bool:
    return str(sl.Camera.get_sdk_version()).startswith("5.")


def test_the_double_has_only_the_names_of_the_emulated_release(sl: ModuleType) -> None:
    five = is_sdk5(sl)
    assert hasattr(sl.DEPTH_MODE, "NEURAL_LIGHT") is five and hasattr(sl.DEPTH_MODE, "NEURAL_PLUS")
    assert hasattr(sl, "TIMESTAMP_CLOCK") is five and hasattr(sl.Camera, "set_timestamp_clock") is five
    assert hasattr(sl.MEM, "GPU") is five and hasattr(sl.RESOLUTION, "HD1536") is five
    models = [model.name for model in sl.MODEL if model.name != "LAST"]
    assert len(models) == (14 if five else 9)
    with pytest.raises(AttributeError):
        sl.InitParameters().no_such_parameter = 1  # a Cython class has no other attributes


def test_a_depth_mode_the_sdk_lacks_is_refused_naming_the_release_that_has_it(sl: ModuleType) -> None:
    if is_sdk5(sl):
        ZedCamera(resolution="VGA", fps=30, depth_mode="NEURAL_LIGHT").close()
        assert sl.WORLD.open_calls[-1]["depth_mode"] == "NEURAL_LIGHT"
        return
    with pytest.raises(
        ValueError, match=r"NEURAL_LIGHT needs ZED SDK 5\.0 or newer; the installed ZED SDK is 4\.2\.2"
    ):
        ZedCamera(resolution="VGA", fps=30, depth_mode="NEURAL_LIGHT")
    assert sl.WORLD.open_calls == []


def test_a_resolution_the_sdk_lacks_is_refused_naming_the_release_that_has_it(sl: ModuleType) -> None:
    if is_sdk5(sl):
        sl.WORLD.reset("ZED_X_HDR:50001")
        camera = ZedCamera(resolution="HD1536", fps=30)
        assert camera.camera_model == "ZED_X_HDR" and camera.resolution == (1920, 1536)
        camera.close()
        return
    with pytest.raises(ValueError, match=r"HD1536 needs ZED SDK 5\.0 or newer; the installed ZED SDK is 4\.2\.2"):
        ZedCamera(resolution="HD1536", fps=30)
    assert sl.WORLD.open_calls == []


@pytest.mark.parametrize(
    ("model", "resolution", "fps", "valid"),
    [
        ("ZED_X_HDR", "HD1536", 30, True),
        ("ZED_X_HDR_MAX", "TXGA", 30, True),
        ("ZED_X_HDR_MINI", "HD1200", 30, False),  # a ZED X mode, not an HDR one
        ("ZED_X_NANO", "SVGA", 120, True),
        ("ZED_X_NANO", "HD720", 30, False),
        ("ZED2i", "HD1536", 30, False),
        ("VIRTUAL_ZED_X", "HD1200", 60, True),
    ],
)
def test_each_model_has_its_own_modes(sl: ModuleType, model: str, resolution: str, fps: int, valid: bool) -> None:
    if not hasattr(sl.MODEL, model):
        pytest.skip(f"SDK {sl.Camera.get_sdk_version()} has no {model}")
    sl.WORLD.reset(f"{model}:50001")
    if not hasattr(sl.RESOLUTION, resolution):
        with pytest.raises(ValueError, match=f"{resolution} needs ZED SDK"):
            ZedCamera(resolution=resolution, fps=fps)
    elif valid:
        camera = ZedCamera(resolution=resolution, fps=fps)
        assert camera.camera_model == model and round(camera.fps) == fps
        camera.close()
    else:
        with pytest.raises(ValueError, match=f"not supported by the connected {model}|{resolution} at"):
            ZedCamera(resolution=resolution, fps=fps)
        assert sl.WORLD.open_calls == []


def test_every_stereo_model_of_sdk_5_4_has_a_mode_table() -> None:
    monocular = {"ZED_XONE_GS", "ZED_XONE_UHD", "ZED_XONE_HDR"}
    stereo = {
        "ZED", "ZED_M", "ZED2", "ZED2i", "ZED_X", "ZED_XM", "ZED_X_NANO",
        "ZED_X_HDR", "ZED_X_HDR_MINI", "ZED_X_HDR_MAX", "VIRTUAL_ZED_X",
    }  # fmt: skip
    assert set(MODES_BY_MODEL) == stereo and len(stereo | monocular) == 14
    for model in monocular:
        with pytest.raises(ValueError, match="monocular ZED X One"):
            check_video_mode("HD1200", 30, model)
    check_video_mode("VGA", 15, "ZED_FROM_THE_FUTURE")  # a model unknown to the table: the SDK decides at open


def test_a_monocular_zed_x_one_is_refused_before_opening(sl: ModuleType) -> None:
    sl.WORLD.reset("ZED_XONE_GS:60001")
    with pytest.raises(ValueError, match="monocular ZED X One"):
        ZedCamera(resolution="HD1200", fps=30)
    assert sl.WORLD.open_calls == []


# ---------------------------------------------------------------------------------------------- open and grab results


def test_an_open_warning_is_logged_and_the_camera_is_used(sl: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    sl.WORLD.open_codes.append("CONFIGURATION_FALLBACK")
    with caplog.at_level(logging.WARNING, logger="airo_mp_camera.cameras.zed"):
        camera = ZedCamera(resolution="VGA", fps=100)
    assert "open() warns CONFIGURATION_FALLBACK" in caplog.text
    camera.grab_images()
    np.testing.assert_array_equal(camera.retrieve_rgb_image_as_int(), rgb_of(sl, "left", 1))
    assert sl.WORLD.close_calls == 0
    camera.close()


def test_an_open_error_closes_the_camera_and_names_the_code_and_the_sdk(sl: ModuleType) -> None:
    sl.WORLD.open_codes.append("CAMERA_FAILED_TO_SETUP")
    with pytest.raises(CameraGrabError, match=r"ZED SDK (4\.2\.2|5\.4\.0)\): CAMERA_FAILED_TO_SETUP"):
        ZedCamera(resolution="VGA", fps=100)
    assert sl.WORLD.close_calls == 1


def test_a_grab_warning_is_logged_once_and_its_frames_are_used(
    sl: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    warning = "POTENTIAL_CALIBRATION_ISSUE" if is_sdk5(sl) else "SENSORS_DATA_REQUIRED"
    camera = ZedCamera(resolution="VGA", fps=100)
    sl.WORLD.device(30001).grab_codes.extend([warning, warning])
    with caplog.at_level(logging.WARNING, logger="airo_mp_camera.cameras.zed"):
        for frame in (1, 2, 3):
            camera.grab_images()
            np.testing.assert_array_equal(camera.retrieve_rgb_image_as_int(), rgb_of(sl, "left", frame))
    assert caplog.text.count(f"grab() warns {warning}") == 1
    camera.close()


def test_a_grab_error_closes_the_camera_before_raising(sl: ModuleType) -> None:
    camera = ZedCamera(resolution="VGA", fps=100)
    camera.grab_images()
    sl.WORLD.device(30001).grab_codes.append("CUDA_ERROR")
    with pytest.raises(CameraGrabError, match="CUDA_ERROR.*the camera was closed"):
        camera.grab_images()
    assert not camera._camera.is_opened() and sl.WORLD.close_calls == 1


def test_corrupted_frames_are_skipped(sl: ModuleType) -> None:
    camera = ZedCamera(resolution="VGA", fps=100)
    sl.WORLD.device(30001).grab_codes.extend(["CORRUPTED_FRAME", "CORRUPTED_FRAME"])
    camera.grab_images()
    assert camera.frame_id == 1 and camera._camera.fake_frame == 3  # the SDK's frames 1 and 2 were corrupted
    np.testing.assert_array_equal(camera.retrieve_rgb_image_as_int(), rgb_of(sl, "left", 3))
    camera.close()


# ---------------------------------------------------------------------------------------------- SVO playback


def test_svo_plays_every_frame_in_order_at_the_recorded_rate(sl: ModuleType, tmp_path: Path) -> None:
    svo = tmp_path / "recording.svo2"
    sl.write_fake_svo(svo, frames=6, fps=50)
    camera = ZedCamera(svo_file=str(svo))
    assert sl.WORLD.open_calls[-1]["svo_real_time_mode"] is False
    started = time.monotonic()
    positions = played_positions(camera, 6, pause=0.03)  # slower than the recorded 50 fps: none is skipped
    assert positions == [0, 1, 2, 3, 4, 5] and camera.svo_frames_dropped == 0
    assert time.monotonic() - started >= 5 / 50
    camera.close()


def test_real_time_svo_drops_frames_when_grabbing_is_slow_and_says_so(
    sl: ModuleType, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    svo = tmp_path / "recording.svo2"
    sl.write_fake_svo(svo, frames=400, fps=100)
    camera = ZedCamera(svo_file=str(svo), svo_real_time=True)
    assert sl.WORLD.open_calls[-1]["svo_real_time_mode"] is True
    with caplog.at_level(logging.WARNING, logger="airo_mp_camera.cameras.zed"):
        positions = played_positions(camera, 4, pause=0.05)  # 5 frame periods apart
    assert positions == sorted(set(positions)) and positions[-1] - positions[0] >= 3 * 4
    assert camera.svo_frames_dropped == positions[-1] + 1 - 4  # every frame up to the last one played but 4
    assert "real-time playback dropped" in caplog.text
    camera.close()


def test_real_time_svo_waits_for_the_next_frame_when_grabbing_is_fast(sl: ModuleType, tmp_path: Path) -> None:
    svo = tmp_path / "recording.svo2"
    sl.write_fake_svo(svo, frames=400, fps=100)
    camera = ZedCamera(svo_file=str(svo), svo_real_time=True)
    positions = played_positions(camera, 5)  # the SDK errors while the next frame is not due: ZedCamera waits
    assert positions == sorted(set(positions)) and camera.frame_id == 5
    camera.close()


# ---------------------------------------------------------------------------------------------- memory


def test_retrieved_arrays_respect_the_row_step_of_the_sdk_memory(sl: ModuleType) -> None:
    camera = ZedCamera(resolution="VGA", fps=100)
    camera.grab_images()
    depth = camera.retrieve_depth_map()
    mat = camera._mats["depth"]
    assert mat.get_step_bytes() > mat.get_width_bytes(), "the double pads its rows"
    assert depth.strides[0] == mat.get_step_bytes()
    np.testing.assert_array_equal(depth, sl.fake_depth(1, 672, 376))
    with pytest.raises(AssertionError):  # what the SDK's own get_data() gives for the same memory
        np.testing.assert_array_equal(mat.get_data(), sl.fake_depth(1, 672, 376))
    camera.close()


def test_an_array_outlives_neither_its_mat_nor_a_reopen_at_another_resolution(sl: ModuleType) -> None:
    camera = ZedCamera(resolution="VGA", fps=100, reopen_attempts=1, reopen_delay=0.0)
    camera.grab_images()
    depth = camera.retrieve_depth_map()
    cloud_colors = camera.retrieve_colored_point_cloud().colors
    old_mat = camera._mats["depth"]
    sdk_mat = sl.Mat()  # beside it, what the SDK's own get_data() view does when its Mat goes
    assert camera._camera.retrieve_measure(sdk_mat, sl.MEASURE.DEPTH) == sl.ERROR_CODE.SUCCESS
    sdk_view = sdk_mat.get_data()
    del sdk_mat
    camera._init.camera_resolution = sl.RESOLUTION.HD720  # the camera comes back in another mode
    sl.WORLD.unplug(30001, failed_opens=0)
    camera.grab_images()
    assert camera.resolution == (1280, 720) and camera.retrieve_depth_map().shape == (720, 1280)
    assert camera._mats["depth"] is not old_mat, "a Mat that would be reallocated is replaced, not reused"
    del old_mat
    gc.collect()
    assert sl.is_freed(sdk_view), "a get_data() view does not keep its Mat: it reads freed memory"
    np.testing.assert_array_equal(depth, sl.fake_depth(1, 672, 376))  # ours kept its Mat
    np.testing.assert_array_equal(cloud_colors, rgb_of(sl, "left", 1).reshape(-1, 3))
    camera.close()
    gc.collect()
    np.testing.assert_array_equal(depth, sl.fake_depth(1, 672, 376))


def test_a_matching_mat_is_reused_in_place(sl: ModuleType) -> None:
    camera = ZedCamera(resolution="VGA", fps=100)
    camera.grab_images()
    first = camera.retrieve_rgb_image_as_int()
    address = camera._mats["rgb_left"].get_pointer()
    camera.grab_images()
    second = camera.retrieve_rgb_image_as_int()
    assert camera._mats["rgb_left"].get_pointer() == address and np.shares_memory(first, second)
    camera.close()


# ---------------------------------------------------------------------------------------------- timestamps


def test_live_capture_time_is_the_frame_arrival_before_grab_returns(sl: ModuleType) -> None:
    camera = ZedCamera(resolution="VGA", fps=100)
    assert "SYSTEM_CLOCK" in camera.capture_clock
    for _ in range(3):
        before = time.time()
        camera.grab_images()
        after = time.time()
        assert before - 0.5 <= camera.capture_timestamp <= after - sl.GRAB_COMPUTE_S * 0.9
    camera.close()


def test_capture_time_under_a_monotonic_sdk_clock_is_converted_to_the_wall_clock(sl: ModuleType) -> None:
    if not hasattr(sl.Camera, "set_timestamp_clock"):
        pytest.skip("SDK 4.2.2 has no set_timestamp_clock (its stamps are always Unix time)")
    sl.Camera.set_timestamp_clock(sl.TIMESTAMP_CLOCK.MONOTONIC_CLOCK)
    camera = ZedCamera(resolution="VGA", fps=100)
    assert "MONOTONIC_CLOCK" in camera.capture_clock
    before = time.time()
    camera.grab_images()
    after = time.time()
    raw = camera._camera.get_timestamp(sl.TIME_REFERENCE.IMAGE).get_nanoseconds() / 1e9
    assert abs(raw - before) > 1000, "the SDK's stamp is not Unix time under this clock"
    assert before - 0.5 <= camera.capture_timestamp <= after
    camera.close()


def test_an_svo_without_timestamps_gets_the_hosts_time(sl: ModuleType, tmp_path: Path) -> None:
    svo = tmp_path / "uncompressed.svo"
    sl.write_fake_svo(svo, frames=3, fps=100, timestamps=False)
    camera = ZedCamera(svo_file=str(svo))
    assert "recorded" in camera.capture_clock
    before = time.time()
    camera.grab_images()
    assert before <= camera.capture_timestamp <= time.time()
    camera.close()
