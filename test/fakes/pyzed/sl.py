"""A TEST DOUBLE of `pyzed.sl` (ZED SDK 4/5 Python API). It is not the SDK and was never compared with one.

It implements only the surface `airo_mp_camera.cameras.zed.ZedCamera` uses, written from the SDK's public
API documentation (names, enums, return codes, BGRA images, XYZRGBA packing, calibration structures):
`Camera` (open/grab/retrieve_image/retrieve_measure/get_timestamp/get_camera_information/SVO position/
get_device_list/close), `InitParameters`, `RuntimeParameters`, `Mat`, the enums, `Timestamp` and the
calibration classes. Frames are generated deterministically from the frame number (see `fake_bgra`,
`fake_depth`, `fake_confidence`), so tests can compute what a camera must deliver.

Test controls (not part of pyzed): `WORLD` holds the connected devices (from the environment variable
`PYZED_FAKE_DEVICES`, e.g. "ZED2i:30001,ZED_X:40001"; default one ZED2i), records every `open()` call,
and can unplug a device (optionally coming back after some failed opens). `write_fake_svo` writes a
stand-in "SVO file" of N frames (a small JSON document, which the real SDK would reject).
"""

from __future__ import annotations

import enum
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# ---------------------------------------------------------------------------------------------- enums


class ERROR_CODE(enum.Enum):  # noqa: N801 - the SDK's names
    """Return codes; warnings are below SUCCESS, as in the SDK 5 header."""

    SENSOR_CONFIGURATION_CHANGED = -6
    POTENTIAL_CALIBRATION_ISSUE = -5
    CONFIGURATION_FALLBACK = -4
    SENSORS_DATA_REQUIRED = -3
    CORRUPTED_FRAME = -2
    CAMERA_REBOOTING = -1
    SUCCESS = 0
    FAILURE = 1
    NO_GPU_COMPATIBLE = 2
    NOT_ENOUGH_GPU_MEMORY = 3
    CAMERA_NOT_DETECTED = 4
    SENSORS_NOT_INITIALIZED = 5
    SENSORS_NOT_AVAILABLE = 6
    INVALID_RESOLUTION = 7
    LOW_USB_BANDWIDTH = 8
    CALIBRATION_FILE_NOT_AVAILABLE = 9
    INVALID_CALIBRATION_FILE = 10
    INVALID_SVO_FILE = 11
    SVO_RECORDING_ERROR = 12
    END_OF_SVOFILE_REACHED = 13
    SVO_UNSUPPORTED_COMPRESSION = 14
    INVALID_COORDINATE_SYSTEM = 15
    INVALID_FIRMWARE = 16
    INVALID_FUNCTION_PARAMETERS = 17
    CUDA_ERROR = 18
    CAMERA_NOT_INITIALIZED = 19
    NVIDIA_DRIVER_OUT_OF_DATE = 20
    INVALID_FUNCTION_CALL = 21
    CORRUPTED_SDK_INSTALLATION = 22
    INCOMPATIBLE_SDK_VERSION = 23
    CAMERA_DETECTION_ISSUE = 28
    CANNOT_START_CAMERA_STREAM = 29

    def __str__(self) -> str:
        return f"fake {self.name}"


class RESOLUTION(enum.Enum):  # noqa: N801
    HD2K = 0
    HD1080 = 1
    HD1200 = 2
    HD720 = 3
    SVGA = 4
    VGA = 5
    AUTO = 6


class DEPTH_MODE(enum.Enum):  # noqa: N801
    NONE = 0
    PERFORMANCE = 1
    QUALITY = 2
    ULTRA = 3
    NEURAL_LIGHT = 4
    NEURAL = 5
    NEURAL_PLUS = 6


class UNIT(enum.Enum):  # noqa: N801
    MILLIMETER = 0
    CENTIMETER = 1
    METER = 2
    INCH = 3
    FOOT = 4


class COORDINATE_SYSTEM(enum.Enum):  # noqa: N801
    IMAGE = 0
    LEFT_HANDED_Y_UP = 1
    RIGHT_HANDED_Y_UP = 2
    RIGHT_HANDED_Z_UP = 3
    LEFT_HANDED_Z_UP = 4
    RIGHT_HANDED_Z_UP_X_FWD = 5


class VIEW(enum.Enum):  # noqa: N801
    LEFT = 0
    RIGHT = 1
    DEPTH = 9
    CONFIDENCE = 10


class MEASURE(enum.Enum):  # noqa: N801
    DISPARITY = 0
    DEPTH = 1
    CONFIDENCE = 2
    XYZ = 3
    XYZRGBA = 4


class TIME_REFERENCE(enum.Enum):  # noqa: N801
    IMAGE = 0
    CURRENT = 1


class MEM(enum.Enum):  # noqa: N801
    CPU = 1
    GPU = 2
    BOTH = 3


class MODEL(enum.Enum):  # noqa: N801
    ZED = 0
    ZED_M = 1
    ZED2 = 2
    ZED2i = 3
    ZED_X = 4
    ZED_XM = 5


class CAMERA_STATE(enum.Enum):  # noqa: N801
    AVAILABLE = 0
    NOT_AVAILABLE = 1


SIZES = {
    RESOLUTION.HD2K: (2208, 1242),
    RESOLUTION.HD1080: (1920, 1080),
    RESOLUTION.HD1200: (1920, 1200),
    RESOLUTION.HD720: (1280, 720),
    RESOLUTION.SVGA: (960, 600),
    RESOLUTION.VGA: (672, 376),
}
BASELINES = {
    MODEL.ZED: 0.12,
    MODEL.ZED_M: 0.063,
    MODEL.ZED2: 0.12,
    MODEL.ZED2i: 0.12,
    MODEL.ZED_X: 0.12,
    MODEL.ZED_XM: 0.05,
}

# ---------------------------------------------------------------------------------------------- data classes


class Timestamp:
    def __init__(self, data_ns: int = 0) -> None:
        self.data_ns = int(data_ns)

    def get_nanoseconds(self) -> int:
        return self.data_ns

    def get_milliseconds(self) -> int:
        return self.data_ns // 1_000_000

    def get_seconds(self) -> int:
        return self.data_ns // 1_000_000_000


class Resolution:
    def __init__(self, width: int = 0, height: int = 0) -> None:
        self.width = width
        self.height = height


class Translation:
    def __init__(self, values: np.ndarray) -> None:
        self._values = np.asarray(values, dtype=np.float32)

    def get(self) -> np.ndarray:
        return self._values.copy()


class Transform:
    def __init__(self, translation: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> None:
        self.m = np.eye(4, dtype=np.float32)
        self.m[:3, 3] = translation

    def get_translation(self) -> Translation:
        return Translation(self.m[:3, 3])


class CameraParameters:
    def __init__(self, fx: float = 0.0, fy: float = 0.0, cx: float = 0.0, cy: float = 0.0) -> None:
        self.fx, self.fy, self.cx, self.cy = fx, fy, cx, cy
        self.disto = np.zeros(12)


class CalibrationParameters:
    def __init__(self, left: CameraParameters, right: CameraParameters, stereo: Transform) -> None:
        self.left_cam = left
        self.right_cam = right
        self.stereo_transform = stereo

    def get_camera_baseline(self) -> float:
        return float(self.stereo_transform.m[0, 3])


class CameraConfiguration:
    def __init__(self, resolution: Resolution, fps: float, calibration: CalibrationParameters) -> None:
        self.resolution = resolution
        self.fps = fps
        self.calibration_parameters = calibration


class CameraInformation:
    def __init__(self, serial_number: int, camera_model: MODEL, configuration: CameraConfiguration) -> None:
        self.serial_number = serial_number
        self.camera_model = camera_model
        self.camera_configuration = configuration


class DeviceProperties:
    def __init__(self, serial_number: int, camera_model: MODEL, device_id: int) -> None:
        self.serial_number = serial_number
        self.camera_model = camera_model
        self.camera_state = CAMERA_STATE.AVAILABLE
        self.id = device_id


class InitParameters:
    """Defaults as documented: HD720 (AUTO), 0 fps (the mode's default), NEURAL depth, millimetres, IMAGE."""

    def __init__(self) -> None:
        self.camera_resolution = RESOLUTION.AUTO
        self.camera_fps = 0
        self.depth_mode = DEPTH_MODE.NEURAL
        self.coordinate_units = UNIT.MILLIMETER
        self.coordinate_system = COORDINATE_SYSTEM.IMAGE
        self.depth_minimum_distance = -1.0
        self.depth_maximum_distance = -1.0
        self.svo_real_time_mode = False
        self.sdk_verbose = 1
        self._serial_number: int | None = None
        self._svo_file: str | None = None

    def set_from_serial_number(self, serial_number: int) -> None:
        self._serial_number = int(serial_number)

    def set_from_svo_file(self, svo_input_filename: str) -> None:
        self._svo_file = str(svo_input_filename)


class RuntimeParameters:
    def __init__(self) -> None:
        self.enable_depth = True
        self.confidence_threshold = 95


class Mat:
    """A CPU matrix; `get_data()` returns a view that the next retrieve into this Mat overwrites in place."""

    def __init__(self) -> None:
        self._data: np.ndarray | None = None

    def _write(self, values: np.ndarray) -> None:
        if self._data is None or self._data.shape != values.shape or self._data.dtype != values.dtype:
            self._data = np.empty_like(values)
        np.copyto(self._data, values)

    def get_data(self, memory_type: MEM = MEM.CPU, deep_copy: bool = False) -> np.ndarray:
        if self._data is None:
            raise RuntimeError("fake Mat: empty")
        return self._data.copy() if deep_copy else self._data

    def get_width(self) -> int:
        return 0 if self._data is None else int(self._data.shape[1])

    def get_height(self) -> int:
        return 0 if self._data is None else int(self._data.shape[0])


# ---------------------------------------------------------------------------------------------- generated frames


def fake_intrinsics(width: int, height: int) -> tuple[float, float, float, float]:
    """fx, fy, cx, cy of both rectified views."""
    return 0.55 * width, 0.55 * width, (width - 1) / 2 + 1.25, (height - 1) / 2 - 0.75


def fake_bgra(view: str, frame: int, width: int, height: int) -> np.ndarray:
    """The BGRA image of a view ('left' or 'right') at a frame number."""
    u, v = np.meshgrid(np.arange(width, dtype=np.int64), np.arange(height, dtype=np.int64))
    image = np.empty((height, width, 4), dtype=np.uint8)
    image[..., 0] = (u + 3 * frame) % 256
    image[..., 1] = (v + 5 * frame) % 256
    image[..., 2] = (u + v + (0 if view == "left" else 40)) % 256
    image[..., 3] = 255
    return image


def fake_depth(frame: int, width: int, height: int) -> np.ndarray:
    """Depth in metres: rows farther down are farther away; the first 4 pixels are unknown (NaN)."""
    v = np.arange(height, dtype=np.float32)[:, None]
    depth = np.broadcast_to(0.5 + 2.0 * v / height + 0.01 * (frame % 50), (height, width)).astype(np.float32)
    depth[0, :4] = np.nan
    return depth


def fake_confidence(frame: int, width: int, height: int) -> np.ndarray:
    """Confidence in [1, 100]."""
    u = np.arange(width, dtype=np.int64)[None, :]
    return np.broadcast_to(((u + frame) % 100 + 1).astype(np.float32), (height, width)).copy()


def fake_xyzrgba(frame: int, width: int, height: int) -> np.ndarray:
    """XYZRGBA point cloud: points from `fake_depth` and the intrinsics, colors of the left image as RGBA bytes."""
    fx, fy, cx, cy = fake_intrinsics(width, height)
    depth = fake_depth(frame, width, height)
    u, v = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    cloud = np.empty((height, width, 4), dtype=np.float32)
    cloud[..., 0] = (u - cx) / fx * depth
    cloud[..., 1] = (v - cy) / fy * depth
    cloud[..., 2] = depth
    rgba = np.ascontiguousarray(fake_bgra("left", frame, width, height)[..., [2, 1, 0, 3]])
    cloud[..., 3] = rgba.view(np.float32)[..., 0]
    return cloud


def _depth_view(frame: int, width: int, height: int) -> np.ndarray:
    depth = np.nan_to_num(fake_depth(frame, width, height), nan=0.0)
    gray = (255 * np.clip((3.0 - depth) / 3.0, 0, 1)).astype(np.uint8)
    return np.stack([gray, gray, gray, np.full_like(gray, 255)], axis=-1)


# ---------------------------------------------------------------------------------------------- the fake world


@dataclass
class FakeDevice:
    """A connected (or unplugged) camera."""

    serial_number: int
    model: MODEL
    plugged: bool = True
    failed_opens_left: int | None = None  # while unplugged: opens that fail before it is back (None: never)


@dataclass
class FakeWorld:
    """The cameras the fake SDK sees, and a record of every Camera.open() call."""

    devices: list[FakeDevice] = field(default_factory=list)
    open_calls: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_environment(cls) -> FakeWorld:
        spec = os.environ.get("PYZED_FAKE_DEVICES", "ZED2i:30001")
        devices = []
        for item in filter(None, (part.strip() for part in spec.split(","))):
            model, serial = item.split(":")
            devices.append(FakeDevice(int(serial), MODEL[model]))
        return cls(devices)

    def reset(self, spec: str = "ZED2i:30001") -> None:
        os.environ["PYZED_FAKE_DEVICES"] = spec
        fresh = FakeWorld.from_environment()
        self.devices = fresh.devices
        self.open_calls = []

    def device(self, serial_number: int) -> FakeDevice:
        return next(device for device in self.devices if device.serial_number == serial_number)

    def unplug(self, serial_number: int, failed_opens: int | None = None) -> None:
        """Unplugs a camera; it comes back after `failed_opens` failed open() calls (None: never)."""
        device = self.device(serial_number)
        device.plugged = False
        device.failed_opens_left = failed_opens


WORLD = FakeWorld.from_environment()


def write_fake_svo(
    path: str | os.PathLike[str],
    frames: int,
    resolution: str = "VGA",
    fps: int = 30,
    model: str = "ZED2i",
    serial_number: int = 30001,
    start_ns: int = 1_700_000_000_000_000_000,
) -> None:
    """Writes a stand-in SVO file of `frames` frames that the fake `Camera` plays."""
    document = {
        "frames": frames,
        "resolution": resolution,
        "fps": fps,
        "model": model,
        "serial_number": serial_number,
        "start_ns": start_ns,
    }
    with open(path, "w") as file:
        json.dump(document, file)


class Camera:
    """The fake camera: generated frames, paced at the frame rate like the SDK's blocking grab()."""

    def __init__(self) -> None:
        self._opened = False
        self._device: FakeDevice | None = None
        self._svo: dict[str, Any] | None = None
        self._svo_position = 0
        self._frame = 0  # live: successful grabs since construction; SVO: position of the grabbed frame
        self._grabbed = False
        self._stamp_ns = 0
        self._next_frame_time = 0.0
        self._enable_depth = True
        self.fake_frame = -1

    @staticmethod
    def get_device_list() -> list[DeviceProperties]:
        return [
            DeviceProperties(device.serial_number, device.model, index)
            for index, device in enumerate(WORLD.devices)
            if device.plugged
        ]

    def open(self, py_init: InitParameters | None = None) -> ERROR_CODE:
        init = py_init or InitParameters()
        WORLD.open_calls.append(
            {
                "resolution": init.camera_resolution.name,
                "fps": init.camera_fps,
                "depth_mode": init.depth_mode.name,
                "serial_number": init._serial_number,
                "svo_file": init._svo_file,
                "units": init.coordinate_units.name,
                "coordinate_system": init.coordinate_system.name,
            }
        )
        self._init = init
        if init._svo_file is not None:
            try:
                with open(init._svo_file) as file:
                    self._svo = json.load(file)
            except (OSError, ValueError):
                return ERROR_CODE.INVALID_SVO_FILE
            assert self._svo is not None
            self._model = MODEL[self._svo["model"]]
            self._serial = int(self._svo["serial_number"])
            self._size = SIZES[RESOLUTION[self._svo["resolution"]]]
            self._fps = float(self._svo["fps"])
            self._svo_position = 0
        else:
            candidates = [
                device
                for device in WORLD.devices
                if init._serial_number is None or device.serial_number == init._serial_number
            ]
            if not candidates:
                return ERROR_CODE.CAMERA_NOT_DETECTED
            device = candidates[0]
            if not device.plugged:
                if device.failed_opens_left is None or device.failed_opens_left > 0:
                    if device.failed_opens_left is not None:
                        device.failed_opens_left -= 1
                    return ERROR_CODE.CAMERA_NOT_DETECTED
                device.plugged = True
            self._device = device
            self._model = device.model
            self._serial = device.serial_number
            resolution = init.camera_resolution
            if resolution == RESOLUTION.AUTO:
                resolution = RESOLUTION.HD1200 if device.model in (MODEL.ZED_X, MODEL.ZED_XM) else RESOLUTION.HD720
            self._size = SIZES[resolution]
            self._fps = float(init.camera_fps or 30)
        self._depth_mode = init.depth_mode
        self._opened = True
        self._next_frame_time = time.monotonic()
        return ERROR_CODE.SUCCESS

    def is_opened(self) -> bool:
        return self._opened

    def close(self) -> None:
        self._opened = False
        self._grabbed = False

    def _pace(self) -> None:
        now = time.monotonic()
        if self._next_frame_time > now:
            time.sleep(self._next_frame_time - now)
        else:
            self._next_frame_time = now
        self._next_frame_time += 1.0 / self._fps

    def grab(self, py_runtime: RuntimeParameters | None = None) -> ERROR_CODE:
        if not self._opened:
            return ERROR_CODE.CAMERA_NOT_INITIALIZED
        self._enable_depth = (py_runtime or RuntimeParameters()).enable_depth
        if self._svo is not None:
            if self._svo_position >= int(self._svo["frames"]):
                return ERROR_CODE.END_OF_SVOFILE_REACHED
            if self._init.svo_real_time_mode:
                self._pace()
            self._frame = self._svo_position
            self._stamp_ns = int(self._svo["start_ns"]) + self._svo_position * round(1e9 / self._fps)
            self._svo_position += 1
        else:
            assert self._device is not None
            if not self._device.plugged:
                return ERROR_CODE.CAMERA_NOT_DETECTED
            self._pace()
            self._frame += 1
            self._stamp_ns = time.time_ns()
        self._grabbed = True
        self.fake_frame = self._frame
        return ERROR_CODE.SUCCESS

    def retrieve_image(
        self, py_mat: Mat, view: VIEW = VIEW.LEFT, mem_type: MEM = MEM.CPU, resolution: Resolution | None = None
    ) -> ERROR_CODE:
        if not self._grabbed:
            return ERROR_CODE.INVALID_FUNCTION_CALL
        width, height = self._size
        if view in (VIEW.LEFT, VIEW.RIGHT):
            py_mat._write(fake_bgra(view.name.lower(), self._frame, width, height))
        elif view == VIEW.DEPTH and self._depth_on():
            py_mat._write(_depth_view(self._frame, width, height))
        else:
            return ERROR_CODE.INVALID_FUNCTION_CALL
        return ERROR_CODE.SUCCESS

    def _depth_on(self) -> bool:
        return self._enable_depth and self._depth_mode != DEPTH_MODE.NONE

    def retrieve_measure(
        self,
        py_mat: Mat,
        measure: MEASURE = MEASURE.DEPTH,
        mem_type: MEM = MEM.CPU,
        resolution: Resolution | None = None,
    ) -> ERROR_CODE:
        if not self._grabbed or not self._depth_on():
            return ERROR_CODE.INVALID_FUNCTION_CALL
        width, height = self._size
        if measure == MEASURE.DEPTH:
            py_mat._write(fake_depth(self._frame, width, height))
        elif measure == MEASURE.CONFIDENCE:
            py_mat._write(fake_confidence(self._frame, width, height))
        elif measure == MEASURE.XYZRGBA:
            py_mat._write(fake_xyzrgba(self._frame, width, height))
        else:
            return ERROR_CODE.INVALID_FUNCTION_CALL
        return ERROR_CODE.SUCCESS

    def get_timestamp(self, time_reference: TIME_REFERENCE) -> Timestamp:
        if time_reference == TIME_REFERENCE.CURRENT:
            return Timestamp(time.time_ns())
        return Timestamp(self._stamp_ns)

    def get_camera_information(self, resizer: Resolution | None = None) -> CameraInformation:
        if not self._opened:
            raise RuntimeError("fake Camera: get_camera_information() before open()")
        width, height = self._size
        fx, fy, cx, cy = fake_intrinsics(width, height)
        calibration = CalibrationParameters(
            CameraParameters(fx, fy, cx, cy),
            CameraParameters(fx, fy, cx, cy),
            Transform((BASELINES[self._model], 0.0, 0.0)),
        )
        return CameraInformation(
            self._serial, self._model, CameraConfiguration(Resolution(width, height), self._fps, calibration)
        )

    def set_svo_position(self, position: int) -> None:
        self._svo_position = int(position)

    def get_svo_position(self) -> int:
        return self._svo_position

    def get_svo_number_of_frames(self) -> int:
        return int(self._svo["frames"]) if self._svo is not None else -1
