"""A TEST DOUBLE of `pyzed.sl`, the ZED SDK's Python API: no SDK, no camera, no CUDA.

It emulates one SDK release, chosen by the environment variable `PYZED_FAKE_SDK_VERSION` when it is imported:
"4.2.2" (or "4.2") or "5.4" (or "5.4.0", the default). `Camera.get_sdk_version()` says which, and the module
has only the names (classes, methods, enum members) that release's `sl.pyx` has, for the part of the API it
emulates: what `airo_mp_camera` uses and a little around it. The names were read in stereolabs/zed-python-api,
`src/pyzed/sl.pyx`, at 4.2.2 (commit 55e7520) and 5.4 (commit 0b750e3); behaviour the source does not show
(what the C++ SDK does inside open, grab and retrieve) follows the SDK's documentation in that file and is
marked "assumed" where it is a guess. It is still a double: passing against it is not running on a ZED.

What it reproduces, because code written against a kinder double breaks on the SDK:
- Enum values other than their order are not the SDK's; warnings are the codes below SUCCESS. Only 5.x
  enums compare with `<` (4.2.2's have no ordering), and only 5.x has `TIMESTAMP_CLOCK`, `MEM.GPU`,
  `DEPTH_MODE.NEURAL_LIGHT`, the ZED X HDR / Nano models, `HD1536`/`XVGA`/`TXGA`.
- `InitParameters` and `RuntimeParameters` reject attributes the release does not have (as a Cython class does).
- `open()` returns `CONFIGURATION_FALLBACK` (a warning: the camera is open) when the model does not have the
  requested video mode, and opens the nearest one (assumed); tests can queue other results (`WORLD.open_codes`).
- `grab()` can return queued codes (`FakeDevice.grab_codes`): a warning delivers a frame, an error does not.
- Live capture stamps are the frame's arrival time, about `GRAB_COMPUTE_S` before `grab()` returns, on the
  process's timestamp clock (`Camera.set_timestamp_clock`, 5.3+; the default is the system clock, Unix time).
- SVO: frame by frame by default; with `svo_real_time_mode` grab paces against the wall clock, returns an
  error (FAILURE: which code the SDK returns is not documented) when asked too early, and skips the frames
  that became due while nobody grabbed. An SVO written with `timestamps=False` stamps 0, as the SDK does
  for an uncompressed SVO.
- `Mat`: memory the double allocates has padded rows (`ROW_PADDING` bytes after each row; the SDK does not
  promise unpadded rows). `get_data()` builds its array as the SDK does, ignoring the step, and the array
  does not keep the Mat alive: memory freed (`free()`, a reallocating retrieve, the Mat's destruction) is
  overwritten with `FREED_BYTE`, so a stale view reads `is_freed()` garbage instead of crashing.
  `retrieve_image`/`retrieve_measure` write into the Mat's memory when its type and size match (also into
  memory it only wraps), and otherwise free it and allocate new memory. `init_mat_cpu` wraps external memory
  (an integer address or an object with `__array_interface__`) from 5.3.1 on; before 5.3.1 `ptr` had to be a
  str (an int raises AttributeError, as `ptr.encode()` does) and the Mat points at a copy of its bytes.

Test controls (not part of pyzed): `WORLD` holds the connected devices (from the environment variable
`PYZED_FAKE_DEVICES`, e.g. "ZED2i:30001,ZED_X:40001"; default one ZED2i), records every `open()` call, can
unplug a device (optionally coming back after some failed opens) and queue open/grab results.
`write_fake_svo` writes a stand-in "SVO file" (a small JSON document, which the real SDK would reject).
"""

from __future__ import annotations

import ctypes
import enum
import json
import os
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_ALIASES = {"4.2": "4.2.2", "4.2.2": "4.2.2", "5.4": "5.4.0", "5.4.0": "5.4.0"}
_wanted = os.environ.get("PYZED_FAKE_SDK_VERSION", "5.4")
if _wanted not in _ALIASES:
    raise ImportError(f"PYZED_FAKE_SDK_VERSION={_wanted!r}: the pyzed double emulates 4.2.2 and 5.4 only")
SDK_VERSION = _ALIASES[_wanted]
_VERSION = tuple(int(part) for part in SDK_VERSION.split("."))


def _since(version: str) -> bool:
    return _VERSION >= tuple(int(part) for part in version.split("."))


GRAB_COMPUTE_S = 0.003  # time grab() spends after the frame arrived (rectification, depth)
ROW_PADDING = 64  # bytes after each row of memory the double allocates
FREED_BYTE = 0xDB  # what freed memory reads as

# ---------------------------------------------------------------------------------------------- enums


class _Enum(enum.Enum):
    def __str__(self) -> str:
        return self.name


class _OrderedEnum(_Enum):
    """Enums that compare by value: sl.pyx defines __lt__ and friends from 5.0.5 on (4.2.2's enums do not)."""

    def __lt__(self, other: object) -> bool:
        if isinstance(other, type(self)):
            return bool(self.value < other.value)
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, type(self)):
            return bool(self.value <= other.value)
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, type(self)):
            return bool(self.value > other.value)
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, type(self)):
            return bool(self.value >= other.value)
        return NotImplemented


def _enum(name: str, members: list[str], start: int = 0) -> Any:
    base = _OrderedEnum if _since("5.0.5") else _Enum
    return base(name, [(member, start + index) for index, member in enumerate(members)], module=__name__)


_WARNINGS = (
    (["SENSOR_CONFIGURATION_CHANGED"] if _since("5.2.0") else [])
    + (["POTENTIAL_CALIBRATION_ISSUE"] if _since("5.1.0") else [])
    + [
        "CONFIGURATION_FALLBACK",
        "SENSORS_DATA_REQUIRED",
        "CORRUPTED_FRAME",
        "CAMERA_REBOOTING",
    ]
)
ERROR_CODE = _enum(
    "ERROR_CODE",
    _WARNINGS
    + [
        "SUCCESS",
        "FAILURE",
        "NO_GPU_COMPATIBLE",
        "NOT_ENOUGH_GPU_MEMORY",
        "CAMERA_NOT_DETECTED",
        "SENSORS_NOT_INITIALIZED",
        "SENSORS_NOT_AVAILABLE",
        "INVALID_RESOLUTION",
        "LOW_USB_BANDWIDTH",
        "CALIBRATION_FILE_NOT_AVAILABLE",
        "INVALID_CALIBRATION_FILE",
        "INVALID_SVO_FILE",
        "SVO_RECORDING_ERROR",
        "END_OF_SVOFILE_REACHED",
        "SVO_UNSUPPORTED_COMPRESSION",
        "INVALID_COORDINATE_SYSTEM",
        "INVALID_FIRMWARE",
        "INVALID_FUNCTION_PARAMETERS",
        "CUDA_ERROR",
        "CAMERA_NOT_INITIALIZED",
        "NVIDIA_DRIVER_OUT_OF_DATE",
        "INVALID_FUNCTION_CALL",
        "CORRUPTED_SDK_INSTALLATION",
        "INCOMPATIBLE_SDK_VERSION",
        "INVALID_AREA_FILE",
        "INCOMPATIBLE_AREA_FILE",
        "CAMERA_FAILED_TO_SETUP",
        "CAMERA_DETECTION_ISSUE",
        "CANNOT_START_CAMERA_STREAM",
        "NO_GPU_DETECTED",
        "PLANE_NOT_FOUND",
        "MODULE_NOT_COMPATIBLE_WITH_CAMERA",
        "MOTION_SENSORS_REQUIRED",
        "MODULE_NOT_COMPATIBLE_WITH_CUDA_VERSION",
    ]
    + (["DRIVER_FAILURE"] if _since("5.1.0") else [])
    + (["CAMERA_EXCEEDS_BANDWIDTH"] if _since("5.3.0") else [])
    + ["LAST"],
    start=-len(_WARNINGS),
)
MODEL = _enum(
    "MODEL",
    ["ZED", "ZED_M", "ZED2", "ZED2i", "ZED_X", "ZED_XM"]
    + (["ZED_X_NANO"] if _since("5.3.0") else [])
    + (["ZED_X_HDR", "ZED_X_HDR_MINI", "ZED_X_HDR_MAX"] if _since("5.0.0") else [])
    + ["VIRTUAL_ZED_X", "ZED_XONE_GS", "ZED_XONE_UHD"]
    + (["ZED_XONE_HDR"] if _since("5.0.0") else [])
    + ["LAST"],
)
RESOLUTION = _enum(
    "RESOLUTION",
    ["HD4K", "QHDPLUS", "HD2K", "HD1080", "HD1200"]
    + (["HD1536"] if _since("5.0.0") else [])
    + ["HD720", "SVGA", "VGA"]
    + (["XVGA", "TXGA"] if _since("5.3.0") else [])
    + ["AUTO", "LAST"],
)
DEPTH_MODE = _enum(
    "DEPTH_MODE",
    ["NONE", "PERFORMANCE", "QUALITY", "ULTRA"]
    + (["NEURAL_LIGHT"] if _since("5.0.0") else [])
    + ["NEURAL", "NEURAL_PLUS"]
    + (["CUSTOM"] if _since("5.4.0") else [])
    + ["LAST"],
)
UNIT = _enum("UNIT", ["MILLIMETER", "CENTIMETER", "METER", "INCH", "FOOT", "LAST"])
COORDINATE_SYSTEM = _enum(
    "COORDINATE_SYSTEM",
    [
        "IMAGE",
        "LEFT_HANDED_Y_UP",
        "RIGHT_HANDED_Y_UP",
        "RIGHT_HANDED_Z_UP",
        "LEFT_HANDED_Z_UP",
        "RIGHT_HANDED_Z_UP_X_FWD",
        "LAST",
    ],
)
VIEW = _enum("VIEW", ["LEFT", "RIGHT", "LEFT_GRAY", "RIGHT_GRAY", "DEPTH", "CONFIDENCE"])  # a subset
MEASURE = _enum("MEASURE", ["DISPARITY", "DEPTH", "CONFIDENCE", "XYZ", "XYZRGBA"])  # a subset
TIME_REFERENCE = _enum("TIME_REFERENCE", ["IMAGE", "CURRENT", "LAST"])
MEM = _enum("MEM", ["CPU", "GPU", "BOTH"] if _since("5.0.0") else ["CPU"])
MAT_TYPE = _enum(
    "MAT_TYPE",
    ["F32_C1", "F32_C2", "F32_C3", "F32_C4", "U8_C1", "U8_C2", "U8_C3", "U8_C4", "U16_C1", "S8_C4"]
    + (["NV12"] if _since("5.2.0") else []),
)
CAMERA_STATE = _enum("CAMERA_STATE", ["AVAILABLE", "NOT_AVAILABLE"])
BUS_TYPE = _enum("BUS_TYPE", ["USB", "GMSL", "AUTO", "LAST"])
if _since("5.3.0"):
    TIMESTAMP_CLOCK = _enum(
        "TIMESTAMP_CLOCK",
        ["SYSTEM_CLOCK", "MONOTONIC_CLOCK"] + (["MONOTONIC_RAW_CLOCK"] if _since("5.4.0") else []) + ["LAST"],
    )

SIZES = {
    "HD4K": (3856, 2180),
    "QHDPLUS": (3800, 1800),
    "HD2K": (2208, 1242),
    "HD1080": (1920, 1080),
    "HD1200": (1920, 1200),
    "HD1536": (1920, 1536),
    "HD720": (1280, 720),
    "SVGA": (960, 600),
    "VGA": (672, 376),
    "XVGA": (960, 768),
    "TXGA": (640, 512),
}

# What the fake cameras accept at open() (resolution -> frame rates), written for the double from the SDK's
# RESOLUTION notes and zed-ros2-wrapper's camera configurations. AUTO opens the first resolution listed.
_USB = {"HD720": (15, 30, 60), "HD2K": (15,), "HD1080": (15, 30), "VGA": (15, 30, 60, 100)}
_GMSL = {"HD1200": (15, 30, 60), "HD1080": (15, 30, 60), "SVGA": (15, 30, 60, 120)}
_HDR = {"HD1536": (30,), "XVGA": (30,), "TXGA": (30,)}
FAKE_MODES: dict[str, dict[str, tuple[int, ...]]] = {
    "ZED": _USB,
    "ZED_M": _USB,
    "ZED2": _USB,
    "ZED2i": _USB,
    "ZED_X": _GMSL,
    "ZED_XM": _GMSL,
    "ZED_X_NANO": _GMSL,
    "ZED_X_HDR": _HDR,
    "ZED_X_HDR_MINI": _HDR,
    "ZED_X_HDR_MAX": _HDR,
    "VIRTUAL_ZED_X": _GMSL,
}
BASELINES = {"ZED_M": 0.063, "ZED_XM": 0.05, "ZED_X_NANO": 0.05, "ZED_X_HDR_MINI": 0.05}  # others: 0.12

# ---------------------------------------------------------------------------------------------- data classes


class Timestamp:
    """Nanoseconds on the SDK's timestamp clock."""

    def __init__(self) -> None:
        self.data_ns = 0

    def get_nanoseconds(self) -> int:
        return self.data_ns

    def get_microseconds(self) -> int:
        return self.data_ns // 1_000

    def get_milliseconds(self) -> int:
        return self.data_ns // 1_000_000

    def get_seconds(self) -> int:
        return self.data_ns // 1_000_000_000


def _timestamp(data_ns: int) -> Timestamp:
    stamp = Timestamp()
    stamp.data_ns = int(data_ns)
    return stamp


class Resolution:
    def __init__(self, width: int = 0, height: int = 0) -> None:
        self.width = width
        self.height = height


class Translation:
    def __init__(self) -> None:
        self._values = np.zeros(3, dtype=np.float32)

    def get(self) -> np.ndarray:
        return self._values.copy()


class Transform:
    def __init__(self) -> None:
        self.m = np.eye(4, dtype=np.float32)

    def get_translation(self) -> Translation:
        translation = Translation()
        translation._values = self.m[:3, 3].copy()
        return translation


class CameraParameters:
    def __init__(self) -> None:
        self.fx = self.fy = self.cx = self.cy = 0.0
        self.disto = np.zeros(12)


class CalibrationParameters:
    def __init__(self) -> None:
        self.left_cam = CameraParameters()
        self.right_cam = CameraParameters()
        self.stereo_transform = Transform()

    def get_camera_baseline(self) -> float:
        return float(self.stereo_transform.m[0, 3])


class CameraConfiguration:
    def __init__(self) -> None:
        self.resolution = Resolution()
        self.fps = 0.0
        self.calibration_parameters = CalibrationParameters()


class CameraInformation:
    def __init__(self) -> None:
        self.serial_number = 0
        self.camera_model = MODEL.ZED
        self.camera_configuration = CameraConfiguration()


class DeviceProperties:
    def __init__(self) -> None:
        self.camera_state = CAMERA_STATE.AVAILABLE
        self.id = -1
        self.camera_model = MODEL.LAST
        self.serial_number = 0


class InitParameters:
    """The attributes both releases have (a subset); like the Cython class, it has no others."""

    __slots__ = (
        "camera_resolution",
        "camera_fps",
        "depth_mode",
        "coordinate_units",
        "coordinate_system",
        "depth_minimum_distance",
        "depth_maximum_distance",
        "svo_real_time_mode",
        "sdk_verbose",
        "_serial_number",
        "_svo_file",
    ) + (("maximum_working_resolution",) if _since("5.1.0") else ())

    def __init__(self) -> None:
        self.camera_resolution = RESOLUTION.AUTO
        self.camera_fps = 0
        self.depth_mode = DEPTH_MODE.NEURAL if _since("5.0.0") else DEPTH_MODE.PERFORMANCE
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
    __slots__ = ("enable_depth", "enable_fill_mode", "confidence_threshold", "texture_confidence_threshold")

    def __init__(self) -> None:
        self.enable_depth = True
        self.enable_fill_mode = False
        self.confidence_threshold = 95
        self.texture_confidence_threshold = 100


# ---------------------------------------------------------------------------------------------- Mat

# MAT_TYPE name -> (numpy dtype, channels)
_LAYOUT = {
    "F32_C1": (np.float32, 1),
    "F32_C2": (np.float32, 2),
    "F32_C3": (np.float32, 3),
    "F32_C4": (np.float32, 4),
    "U8_C1": (np.uint8, 1),
    "U8_C2": (np.uint8, 2),
    "U8_C3": (np.uint8, 3),
    "U8_C4": (np.uint8, 4),
    "U16_C1": (np.uint16, 1),
    "S8_C4": (np.int8, 4),
}


def is_freed(array: np.ndarray) -> bool:
    """Whether every byte of `array` reads as freed memory (a view that outlived its Mat's memory)."""
    raw = np.ascontiguousarray(array).view(np.uint8)
    return bool(raw.size) and bool(np.all(raw == FREED_BYTE))


class Mat:
    """A CPU matrix: owned memory (padded rows) or wrapped external memory; see the module's docstring."""

    def __init__(
        self, width: int = 0, height: int = 0, mat_type: Any = MAT_TYPE.F32_C1, memory_type: Any = MEM.CPU
    ) -> None:
        self._memory: np.ndarray | None = None  # the bytes of the matrix (height * step), owned or wrapped
        self._owner = False
        self._width = self._height = self._step = 0
        self._type = MAT_TYPE.F32_C1
        self.timestamp = Timestamp()
        self.verbose = False
        self.name = ""
        if width and height:
            self.alloc_size(width, height, mat_type, memory_type)

    def __del__(self) -> None:
        self._release()

    # -- allocation
    def _release(self) -> None:
        if self._memory is not None and self._owner:
            self._memory.fill(FREED_BYTE)
        self._memory = None
        self._owner = False
        self._width = self._height = self._step = 0

    def _allocate(self, width: int, height: int, mat_type: Any) -> None:
        self._release()
        dtype, channels = _LAYOUT[mat_type.name]
        step = width * channels * np.dtype(dtype).itemsize + ROW_PADDING
        self._memory = np.full(height * step, FREED_BYTE, dtype=np.uint8)  # fresh memory holds garbage too
        self._owner = True
        self._width, self._height, self._step, self._type = int(width), int(height), step, mat_type

    @staticmethod
    def _check_types(mat_type: Any, memory_type: Any) -> None:
        if not isinstance(mat_type, MAT_TYPE) or not isinstance(memory_type, MEM):
            raise TypeError("Argument are not of MAT_TYPE or MEM type.")
        if memory_type != MEM.CPU:
            raise NotImplementedError("the pyzed double has CPU memory only")

    def init_mat_type(self, width: int, height: int, mat_type: Any, memory_type: Any = MEM.CPU) -> None:
        self._check_types(mat_type, memory_type)
        self._allocate(width, height, mat_type)

    def alloc_size(self, width: int, height: int, mat_type: Any, memory_type: Any = MEM.CPU) -> None:
        self._check_types(mat_type, memory_type)
        self._allocate(width, height, mat_type)

    def init_mat_cpu(
        self, width: int, height: int, mat_type: Any, ptr: Any, step: int, memory_type: Any = MEM.CPU
    ) -> None:
        """Wraps `height` rows of `step` bytes at `ptr` (5.3.1+); before 5.3.1, `ptr` had to be a str."""
        self._check_types(mat_type, memory_type)
        size = int(height) * int(step)
        if _since("5.3.1"):
            if isinstance(ptr, (int, np.integer)):
                address = int(ptr)
            elif getattr(ptr, "__array_interface__", None) is not None:
                address = int(ptr.__array_interface__["data"][0])
            else:
                raise TypeError(
                    "ptr must be an integer memory address (e.g. my_numpy_array.ctypes.data) "
                    "or a NumPy array exposing __array_interface__."
                )
            memory = np.frombuffer((ctypes.c_ubyte * size).from_address(address), dtype=np.uint8)
        else:
            data = ptr.encode()  # what the 4.x wrapper does: an int has no encode(), and a str is not memory
            memory = np.full(size, FREED_BYTE, dtype=np.uint8)
            memory[: min(size, len(data))] = np.frombuffer(data, dtype=np.uint8)[:size]
        self._release()
        self._memory, self._owner = memory, False
        self._width, self._height, self._step, self._type = int(width), int(height), int(step), mat_type

    def free(self, memory_type: Any = MEM.CPU) -> None:
        if not isinstance(memory_type, MEM):
            raise TypeError("Argument is not of MEM type.")
        self._release()

    # -- properties
    def get_width(self) -> int:
        return self._width

    def get_height(self) -> int:
        return self._height

    def get_resolution(self) -> Resolution:
        return Resolution(self._width, self._height)

    def get_channels(self) -> int:
        return _LAYOUT[self._type.name][1]

    def get_data_type(self) -> Any:
        return self._type

    def get_memory_type(self) -> Any:
        return MEM.CPU

    def get_pixel_bytes(self) -> int:
        dtype, channels = _LAYOUT[self._type.name]
        return channels * np.dtype(dtype).itemsize

    def get_width_bytes(self) -> int:
        return self._width * self.get_pixel_bytes()

    def get_step_bytes(self, memory_type: Any = MEM.CPU) -> int:
        if type(memory_type) is not MEM:
            raise TypeError("Argument is not of MEM type.")
        return self._step

    def get_step(self, memory_type: Any = MEM.CPU) -> int:
        """The step in elements (pixels) of a row."""
        return self.get_step_bytes(memory_type) // self.get_pixel_bytes()

    def is_init(self) -> bool:
        return self._memory is not None

    def is_memory_owner(self) -> bool:
        return self._owner

    def get_pointer(self, memory_type: Any = MEM.CPU) -> int:
        return 0 if self._memory is None else int(self._memory.ctypes.data)

    def get_data(self, memory_type: Any = MEM.CPU, deep_copy: bool = False) -> np.ndarray:
        """As the SDK builds it: height x width (x channels) read contiguously from the start, whatever the step.

        The view does not keep the Mat alive (its base is the memory, not the Mat); with a padded step the rows
        after the first are shifted. `deep_copy` copies that same misread (the SDK copies height * step bytes
        into it, past its end: the double stops at the array's size).
        """
        if not isinstance(memory_type, MEM):
            raise TypeError("Argument is not of MEM type.")
        if self._memory is None:
            raise RuntimeError("fake Mat: get_data() on a Mat with no memory (the SDK would read address 0)")
        dtype, channels = _LAYOUT[self._type.name]
        shape = (self._height, self._width) if channels == 1 else (self._height, self._width, channels)
        count = int(np.prod(shape))
        view = self._memory[: count * np.dtype(dtype).itemsize].view(dtype).reshape(shape)
        return view.copy() if deep_copy else view

    def numpy(self, force: bool = False) -> np.ndarray:
        return self.get_data(MEM.CPU, deep_copy=force)

    # -- what the fake camera's retrieve does
    def _store(self, values: np.ndarray, mat_type: Any) -> None:
        """Writes `values` into the existing memory when type and size match; otherwise reallocates first."""
        height, width = values.shape[:2]
        if self._memory is None or self._type != mat_type or (self._width, self._height) != (width, height):
            self._allocate(width, height, mat_type)
        assert self._memory is not None
        dtype, channels = _LAYOUT[mat_type.name]
        itemsize = np.dtype(dtype).itemsize
        rows = np.ndarray(
            (height, width, channels), dtype, buffer=self._memory, strides=(self._step, channels * itemsize, itemsize)
        )
        np.copyto(rows, values.reshape(height, width, channels))


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
    model: Any
    plugged: bool = True
    failed_opens_left: int | None = None  # while unplugged: opens that fail before it is back (None: never)
    grab_codes: deque[str] = field(default_factory=deque)  # results of the next grabs (names), then SUCCESS


@dataclass
class FakeWorld:
    """The cameras the fake SDK sees, a record of every Camera.open() call, and queued open() results."""

    devices: list[FakeDevice] = field(default_factory=list)
    open_calls: list[dict[str, Any]] = field(default_factory=list)
    open_codes: deque[str] = field(default_factory=deque)  # results of the next opens (names), then as usual
    close_calls: int = 0

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
        self.open_codes = deque()
        self.close_calls = 0

    def device(self, serial_number: int) -> FakeDevice:
        return next(device for device in self.devices if device.serial_number == serial_number)

    def unplug(self, serial_number: int, failed_opens: int | None = None) -> None:
        """Unplugs a camera; it comes back after `failed_opens` failed open() calls (None: never)."""
        device = self.device(serial_number)
        device.plugged = False
        device.failed_opens_left = failed_opens


WORLD = FakeWorld.from_environment()
_CLOCK: dict[str, str] = {"name": "SYSTEM_CLOCK"}  # the process-wide timestamp clock (5.3+: set_timestamp_clock)


def _clock_ns() -> int:
    if _CLOCK["name"] == "MONOTONIC_CLOCK":
        return time.monotonic_ns()
    if _CLOCK["name"] == "MONOTONIC_RAW_CLOCK":
        return time.clock_gettime_ns(time.CLOCK_MONOTONIC_RAW)
    return time.time_ns()


def write_fake_svo(
    path: str | os.PathLike[str],
    frames: int,
    resolution: str = "VGA",
    fps: int = 30,
    model: str = "ZED2i",
    serial_number: int = 30001,
    start_ns: int = 1_700_000_000_000_000_000,
    timestamps: bool = True,
) -> None:
    """Writes a stand-in SVO file of `frames` frames that the fake `Camera` plays.

    `timestamps=False`: its frames have no timestamps (0), as the SDK reports for an uncompressed SVO.
    """
    document = {
        "frames": frames,
        "resolution": resolution,
        "fps": fps,
        "model": model,
        "serial_number": serial_number,
        "start_ns": start_ns if timestamps else 0,
    }
    with open(path, "w") as file:
        json.dump(document, file)


class Camera:
    """The fake camera: generated frames, paced at the frame rate like the SDK's blocking grab()."""

    def __init__(self) -> None:
        self._opened = False
        self._device: FakeDevice | None = None
        self._svo: dict[str, Any] | None = None
        self._svo_position = 0  # the next frame to read
        self._svo_clock_start = 0.0  # real-time playback: when the frame at `_svo_clock_position` was due
        self._svo_clock_position = 0
        self._frame = 0  # live: successful grabs since construction; SVO: position of the grabbed frame
        self._grabbed = False
        self._stamp_ns = 0
        self._next_frame_time = 0.0
        self._enable_depth = True
        self._mode = ("VGA", 30)
        self.fake_frame = -1

    @staticmethod
    def get_sdk_version() -> str:
        return SDK_VERSION

    if _since("5.0.0"):

        @staticmethod
        def get_device_list(bus_type: Any = BUS_TYPE.AUTO) -> list[DeviceProperties]:
            return Camera._device_list()

    else:

        @staticmethod
        def get_device_list() -> list[DeviceProperties]:
            return Camera._device_list()

    @staticmethod
    def _device_list() -> list[DeviceProperties]:
        listed = []
        for index, device in enumerate(WORLD.devices):
            if device.plugged:
                properties = DeviceProperties()
                properties.serial_number, properties.camera_model, properties.id = (
                    device.serial_number,
                    device.model,
                    index,
                )
                listed.append(properties)
        return listed

    if _since("5.3.0"):

        @staticmethod
        def set_timestamp_clock(clock: Any) -> None:
            if not isinstance(clock, TIMESTAMP_CLOCK):
                raise TypeError(f"Expected TIMESTAMP_CLOCK enum, got {type(clock)}")
            _CLOCK["name"] = clock.name

        @staticmethod
        def get_timestamp_clock() -> Any:
            return TIMESTAMP_CLOCK[_CLOCK["name"]]

    # -- opening
    def open(self, py_init: InitParameters | None = None) -> Any:
        if self._opened:
            self.close()  # as documented: open() on an opened camera closes it first
        init = py_init or InitParameters()
        WORLD.open_calls.append(
            {
                "resolution": init.camera_resolution.name,
                "fps": init.camera_fps,
                "depth_mode": init.depth_mode.name,
                "serial_number": init._serial_number,
                "svo_file": init._svo_file,
                "svo_real_time_mode": init.svo_real_time_mode,
                "units": init.coordinate_units.name,
                "coordinate_system": init.coordinate_system.name,
            }
        )
        self._init = init
        queued = WORLD.open_codes.popleft() if WORLD.open_codes else None
        if queued is not None and ERROR_CODE[queued].value > ERROR_CODE.SUCCESS.value:
            return ERROR_CODE[queued]
        code = self._open_svo(init) if init._svo_file is not None else self._open_live(init)
        if code.value > ERROR_CODE.SUCCESS.value:
            return code
        self._depth_mode = init.depth_mode
        self._opened = True
        self._next_frame_time = time.monotonic()
        return ERROR_CODE[queued] if queued is not None else code

    def _open_svo(self, init: InitParameters) -> Any:
        try:
            with open(str(init._svo_file)) as file:
                self._svo = json.load(file)
        except (OSError, ValueError):
            return ERROR_CODE.INVALID_SVO_FILE
        assert self._svo is not None
        self._model = MODEL[self._svo["model"]]
        self._serial = int(self._svo["serial_number"])
        self._mode = (str(self._svo["resolution"]), int(self._svo["fps"]))
        self._svo_position = 0
        self._restart_svo_clock()
        return ERROR_CODE.SUCCESS

    def _open_live(self, init: InitParameters) -> Any:
        self._svo = None
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
        modes = FAKE_MODES.get(device.model.name)
        if modes is None:  # a ZED X One: a monocular camera is opened with CameraOne (assumed code)
            return ERROR_CODE.MODULE_NOT_COMPATIBLE_WITH_CAMERA
        self._device = device
        self._model = device.model
        self._serial = device.serial_number
        resolution = init.camera_resolution.name
        code = ERROR_CODE.SUCCESS
        if resolution not in modes:
            if resolution != "AUTO":
                code = ERROR_CODE.CONFIGURATION_FALLBACK
            resolution = next(iter(modes))
        rates = modes[resolution]
        fps = int(init.camera_fps) or max(rate for rate in rates if rate <= 30)
        if fps not in rates:
            code = ERROR_CODE.CONFIGURATION_FALLBACK
            fps = min(rates, key=lambda rate: abs(rate - fps))
        self._mode = (resolution, fps)
        return code

    @property
    def _size(self) -> tuple[int, int]:
        return SIZES[self._mode[0]]

    @property
    def _fps(self) -> float:
        return float(self._mode[1])

    def is_opened(self) -> bool:
        return self._opened

    def close(self) -> None:
        WORLD.close_calls += 1
        self._opened = False
        self._grabbed = False

    # -- grabbing
    def _restart_svo_clock(self) -> None:
        self._svo_clock_start = time.monotonic()
        self._svo_clock_position = self._svo_position

    def _pace(self) -> float:
        """Waits for the next frame of a live camera; returns its arrival (monotonic)."""
        now = time.monotonic()
        if self._next_frame_time > now:
            time.sleep(self._next_frame_time - now)
        else:
            self._next_frame_time = now
        arrival = self._next_frame_time
        self._next_frame_time += 1.0 / self._fps
        return arrival

    def grab(self, py_runtime: RuntimeParameters | None = None) -> Any:
        if not self._opened:
            return ERROR_CODE.CAMERA_NOT_INITIALIZED
        self._enable_depth = (py_runtime or RuntimeParameters()).enable_depth
        if self._svo is not None:
            code = self._grab_svo()
        else:
            code = self._grab_live()
        if code.value <= ERROR_CODE.SUCCESS.value and code.name != "CAMERA_REBOOTING":  # a frame came
            self._grabbed = True
            self.fake_frame = self._frame
        return code

    def _grab_svo(self) -> Any:
        assert self._svo is not None
        frames = int(self._svo["frames"])
        if self._init.svo_real_time_mode:
            due = self._svo_clock_position + int((time.monotonic() - self._svo_clock_start) * self._fps)
            if due < self._svo_position:
                return ERROR_CODE.FAILURE  # asked before the next frame is due ("plays too fast")
            self._svo_position = due  # frames that became due since the last grab are dropped
        if self._svo_position >= frames:
            return ERROR_CODE.END_OF_SVOFILE_REACHED
        self._frame = self._svo_position
        start_ns = int(self._svo["start_ns"])
        self._stamp_ns = start_ns + self._svo_position * round(1e9 / self._fps) if start_ns else 0
        self._svo_position += 1
        return ERROR_CODE.SUCCESS

    def _grab_live(self) -> Any:
        assert self._device is not None
        if not self._device.plugged:
            return ERROR_CODE.CAMERA_NOT_DETECTED
        queued = ERROR_CODE[self._device.grab_codes.popleft()] if self._device.grab_codes else ERROR_CODE.SUCCESS
        arrival = self._pace()
        if queued.value > ERROR_CODE.SUCCESS.value or queued.name == "CAMERA_REBOOTING":
            return queued  # no frame
        self._stamp_ns = _clock_ns() - int((time.monotonic() - arrival) * 1e9)
        time.sleep(GRAB_COMPUTE_S)  # rectification and depth, after the frame arrived
        self._frame += 1
        return queued

    # -- retrieving
    def _retrieve_image(self, py_mat: Mat, view: Any, mem_type: Any) -> Any:
        if not self._grabbed:
            return ERROR_CODE.INVALID_FUNCTION_CALL
        if mem_type != MEM.CPU:
            return ERROR_CODE.FAILURE  # the double has no GPU
        width, height = self._size
        if view in (VIEW.LEFT, VIEW.RIGHT):
            py_mat._store(fake_bgra(view.name.lower(), self._frame, width, height), MAT_TYPE.U8_C4)
        elif view == VIEW.DEPTH and self._depth_on():
            py_mat._store(_depth_view(self._frame, width, height), MAT_TYPE.U8_C4)
        else:
            return ERROR_CODE.INVALID_FUNCTION_PARAMETERS
        return ERROR_CODE.SUCCESS

    def _retrieve_measure(self, py_mat: Mat, measure: Any, mem_type: Any) -> Any:
        if not self._grabbed:
            return ERROR_CODE.INVALID_FUNCTION_CALL
        if not self._depth_on():
            return ERROR_CODE.INVALID_FUNCTION_PARAMETERS
        if mem_type != MEM.CPU:
            return ERROR_CODE.FAILURE
        width, height = self._size
        if measure == MEASURE.DEPTH:
            py_mat._store(fake_depth(self._frame, width, height), MAT_TYPE.F32_C1)
        elif measure == MEASURE.CONFIDENCE:
            py_mat._store(fake_confidence(self._frame, width, height), MAT_TYPE.F32_C1)
        elif measure == MEASURE.XYZRGBA:
            py_mat._store(fake_xyzrgba(self._frame, width, height), MAT_TYPE.F32_C4)
        else:
            return ERROR_CODE.FAILURE
        return ERROR_CODE.SUCCESS

    if _since("5.4.0"):  # the keyword was `type` up to 5.3.1

        def retrieve_image(
            self, py_mat: Mat, view: Any = VIEW.LEFT, mem_type: Any = MEM.CPU, resolution: Resolution | None = None
        ) -> Any:
            return self._retrieve_image(py_mat, view, mem_type)

        def retrieve_measure(
            self,
            py_mat: Mat,
            measure: Any = MEASURE.DEPTH,
            mem_type: Any = MEM.CPU,
            resolution: Resolution | None = None,
        ) -> Any:
            return self._retrieve_measure(py_mat, measure, mem_type)

    else:

        def retrieve_image(
            self,
            py_mat: Mat,
            view: Any = VIEW.LEFT,
            type: Any = MEM.CPU,  # noqa: A002
            resolution: Resolution | None = None,
        ) -> Any:
            return self._retrieve_image(py_mat, view, type)

        def retrieve_measure(
            self,
            py_mat: Mat,
            measure: Any = MEASURE.DEPTH,
            type: Any = MEM.CPU,  # noqa: A002
            resolution: Resolution | None = None,
        ) -> Any:
            return self._retrieve_measure(py_mat, measure, type)

    def _depth_on(self) -> bool:
        return self._enable_depth and self._depth_mode != DEPTH_MODE.NONE

    # -- state
    def get_timestamp(self, time_reference: Any) -> Timestamp:
        if time_reference == TIME_REFERENCE.CURRENT:
            return _timestamp(_clock_ns())
        return _timestamp(self._stamp_ns)

    def get_camera_information(self, resizer: Resolution | None = None) -> CameraInformation:
        if not self._opened:
            raise RuntimeError("fake Camera: get_camera_information() before open()")
        width, height = self._size
        information = CameraInformation()
        information.serial_number, information.camera_model = self._serial, self._model
        configuration = information.camera_configuration
        configuration.resolution, configuration.fps = Resolution(width, height), self._fps
        calibration = configuration.calibration_parameters
        for parameters in (calibration.left_cam, calibration.right_cam):
            parameters.fx, parameters.fy, parameters.cx, parameters.cy = fake_intrinsics(width, height)
        calibration.stereo_transform.m[0, 3] = BASELINES.get(self._model.name, 0.12)
        return information

    def set_svo_position(self, position: int) -> Any:
        self._svo_position = int(position)
        self._restart_svo_clock()
        return ERROR_CODE.SUCCESS if _since("5.0.0") else None

    def get_svo_position(self) -> int:
        return self._svo_position if self._svo is not None else -1

    def get_svo_number_of_frames(self) -> int:
        return int(self._svo["frames"]) if self._svo is not None else -1
