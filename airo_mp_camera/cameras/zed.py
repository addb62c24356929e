"""A Stereolabs ZED stereo camera through `pyzed.sl`, the ZED SDK's Python API (SDK 4.x and 5.x).

pyzed is not on PyPI: it ships with the ZED SDK and is imported only when a `ZedCamera` is constructed,
so the rest of the package works without it. The names used here were checked against the API's source
(stereolabs/zed-python-api, src/pyzed/sl.pyx) at SDK 4.0.1, 4.2.2, 5.3.0, 5.3.1 and 5.4; what differs between
releases is resolved at run time (`sdk_member`, `is_warning`, the timestamp clock). Without hardware this
module was exercised only against the test double in `test/support/fakes/pyzed` (emulating SDK 4.2.2 and 5.4):
nothing here was verified on a real camera.

One file, though long: `ZedCamera` is one class around one `sl.Camera`, and the SDK-release helpers and
video-mode tables above it are what it (and the parameters that validate its arguments) read; retrieving
into a publisher's slot is zed_in_place.py's.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Collection, Mapping
from types import ModuleType
from typing import Any

import numpy as np

from airo_mp_camera.cameras.errors import CameraGrabError, CameraLostError, EndOfRecordingError
from airo_mp_camera.cameras.interface import LEFT_RGB, RIGHT_RGB, CameraState, PointCloud, check_view
from airo_mp_camera.cameras.zed_in_place import ZedSlotRetrieval
from airo_mp_camera.toolkit_interop import register_as_toolkit_interface

logger = logging.getLogger(__name__)

PYZED_MISSING = (
    "ZedCamera needs pyzed, the ZED SDK's Python API, which is not on PyPI. Install the ZED SDK "
    "(https://www.stereolabs.com/developers/release), then install pyzed into this environment by running the "
    "SDK's script with this environment's interpreter: `{python} /usr/local/zed/get_python_api.py` "
    "(on Windows: `get_python_api.py` in the SDK's installation folder)."
)

# Video modes (resolution -> frame rates) per camera model. Sources: the RESOLUTION notes of the ZED SDK's Python
# API (stereolabs/zed-python-api, src/pyzed/sl.pyx, 5.4: "XVGA, TXGA only supported with ZED-X HDR lineup") and the
# grab_frame_rate notes of stereolabs/zed-ros2-wrapper's configurations (zed2i, zedx, zedxhdr, zedxhdrmax, virtual,
# zedxone4k, zedxonehdr). USB cameras (ZED, ZED Mini, ZED 2, ZED 2i), GMSL cameras with the AR0234 sensor (ZED X,
# ZED X Mini, and the ZED X Nano, taken to be the same) and the ZED X HDR family support different modes.
RESOLUTION_SIZES: dict[str, tuple[int, int]] = {
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
USB_MODES: dict[str, tuple[int, ...]] = {
    "HD2K": (15,),
    "HD1080": (15, 30),
    "HD720": (15, 30, 60),
    "VGA": (15, 30, 60, 100),
}
GMSL_MODES: dict[str, tuple[int, ...]] = {"HD1200": (15, 30, 60), "HD1080": (15, 30, 60), "SVGA": (15, 30, 60, 120)}
HDR_MODES: dict[str, tuple[int, ...]] = {"HD1536": (30,), "XVGA": (30,), "TXGA": (30,)}
# A virtual ZED X is two ZED X Ones: GS (the ZED X's modes), 4K (also HD4K and QHDPLUS at 15) or HDR (HD1536, XVGA).
VIRTUAL_MODES: dict[str, tuple[int, ...]] = {
    **GMSL_MODES,
    "HD4K": (15,),
    "QHDPLUS": (15,),
    "HD1536": (30,),
    "XVGA": (30,),
}
MODES_BY_MODEL: dict[str, dict[str, tuple[int, ...]]] = {
    "ZED": USB_MODES,
    "ZED_M": USB_MODES,
    "ZED2": USB_MODES,
    "ZED2i": USB_MODES,
    "ZED_X": GMSL_MODES,
    "ZED_XM": GMSL_MODES,
    "ZED_X_NANO": GMSL_MODES,
    "ZED_X_HDR": HDR_MODES,
    "ZED_X_HDR_MINI": HDR_MODES,
    "ZED_X_HDR_MAX": HDR_MODES,
    "VIRTUAL_ZED_X": VIRTUAL_MODES,
}
# ZED X One cameras are monocular (the SDK opens them with CameraOne): no stereo, no depth.
MONOCULAR_MODELS = frozenset({"ZED_XONE_GS", "ZED_XONE_UHD", "ZED_XONE_HDR"})
DEPTH_MODES = ("NEURAL", "NEURAL_LIGHT", "NEURAL_PLUS", "NONE")

# The first ZED SDK release whose pyzed has a name this module may ask for (read in sl.pyx of each release:
# 4.0.1 33a098e, 4.1 3e1aa02, 4.1.3 053fd0f, 4.2.2 55e7520, 5.0.0 7f7b973, 5.3.0 22969f5, 5.4 0b750e3); names
# not listed are in every release from 4.0 on.
FIRST_SDK_WITH: dict[str, str] = {
    "DEPTH_MODE.NEURAL_PLUS": "4.1",
    "DEPTH_MODE.NEURAL_LIGHT": "5.0",
    "RESOLUTION.HD4K": "4.2",
    "RESOLUTION.QHDPLUS": "4.2",
    "RESOLUTION.HD1536": "5.0",
    "RESOLUTION.XVGA": "5.3",
    "RESOLUTION.TXGA": "5.3",
    "MODEL.VIRTUAL_ZED_X": "4.1.3",
    "MODEL.ZED_X_HDR": "5.0",
    "MODEL.ZED_X_HDR_MINI": "5.0",
    "MODEL.ZED_X_HDR_MAX": "5.0",
    "MODEL.ZED_X_NANO": "5.3",
    "Camera.get_timestamp_clock": "5.3",
}

# grab() codes after which the camera is gone until reopened.
_LOST_CODES = frozenset(
    {"CAMERA_NOT_DETECTED", "CAMERA_REBOOTING", "CAMERA_DETECTION_ISSUE", "CANNOT_START_CAMERA_STREAM"}
)
_CORRUPTED_FRAME_RETRIES = 3
# Real-time SVO playback: grab() errors while the next frame is not due yet (the code is not documented); it is
# retried for at most this long (plus two frame periods) before the error is raised.
_REAL_TIME_RETRY_S = 1.0


def import_pyzed() -> ModuleType:
    """`pyzed.sl`, or an ImportError that says how to install the ZED SDK and its Python API."""
    try:
        import pyzed.sl as sl
    except ImportError as error:
        import sys

        raise ImportError(PYZED_MISSING.format(python=sys.executable)) from error
    return sl


def sdk_version(sl: ModuleType) -> tuple[int, ...]:
    """The installed ZED SDK's version as numbers, e.g. (5, 4, 0) (`sl.Camera.get_sdk_version()`)."""
    text = str(sl.Camera.get_sdk_version())
    numbers = re.findall(r"\d+", text)
    if not numbers:
        raise RuntimeError(f"the ZED SDK reports an unreadable version {text!r}")
    return tuple(int(number) for number in numbers[:3])


def _version_text(version: tuple[int, ...]) -> str:
    return ".".join(str(number) for number in version)


def sdk_member(sl: ModuleType, kind: str, name: str, what: str) -> Any:
    """`sl.<kind>.<name>`, or a ValueError naming the SDK release that introduced it and the installed one."""
    member = getattr(getattr(sl, kind), name, None)
    if member is not None:
        return member
    installed = _version_text(sdk_version(sl))
    first = FIRST_SDK_WITH.get(f"{kind}.{name}")
    needs = f"needs ZED SDK {first} or newer" if first else "is not known to"
    raise ValueError(
        f"{what} {name} {needs}; the installed ZED SDK is {installed} (sl.{kind} has no {name}). "
        f"Choose another {what} or upgrade the ZED SDK and its pyzed."
    )


def is_warning(sl: ModuleType, code: Any) -> bool:
    """Whether an ERROR_CODE is a warning: the codes below SUCCESS (e.g. CONFIGURATION_FALLBACK).

    Compares values: SDK 4.x's ERROR_CODE has no ordering operators (5.x's has).
    """
    return bool(code.value < sl.ERROR_CODE.SUCCESS.value)


def check_video_mode(resolution: str, fps: int, model: str | None = None) -> None:
    """Raises ValueError unless the given model (or, when it is unknown, some ZED) supports `resolution` at `fps`.

    A model this module does not know (one newer than SDK 5.4) is not checked here: the SDK decides when it
    opens the camera (and warns CONFIGURATION_FALLBACK if it opened another mode).
    """
    if resolution not in RESOLUTION_SIZES:
        raise ValueError(f"ZED resolution must be one of {sorted(RESOLUTION_SIZES)}, got {resolution!r}")
    if model in MONOCULAR_MODELS:
        raise ValueError(
            f"the connected {model} is a monocular ZED X One: ZedCamera needs a stereo camera (two ZED X Ones "
            "set up as a virtual ZED X are one)"
        )
    if model is not None and model not in MODES_BY_MODEL:
        return
    tables = [MODES_BY_MODEL[model]] if model is not None else list(MODES_BY_MODEL.values())
    supported = sorted({rate for table in tables for rate in table.get(resolution, ())})
    who = f"the connected {model}" if model is not None else "any ZED camera"
    if not supported:
        known = sorted({name for table in tables for name in table})
        raise ValueError(f"resolution {resolution} is not supported by {who}, which supports {known}")
    if fps not in supported:
        raise ValueError(f"{who} supports {resolution} at {supported} fps, not at fps={fps}")


# sl.MAT_TYPE name -> numpy dtype and channels, for the Mats this module retrieves (and any other CPU Mat).
_MAT_LAYOUTS: dict[str, tuple[type[np.generic], int]] = {
    "U8_C1": (np.uint8, 1),
    "U8_C2": (np.uint8, 2),
    "U8_C3": (np.uint8, 3),
    "U8_C4": (np.uint8, 4),
    "U16_C1": (np.uint16, 1),
    "F32_C1": (np.float32, 1),
    "F32_C2": (np.float32, 2),
    "F32_C3": (np.float32, 3),
    "F32_C4": (np.float32, 4),
}


class _MatMemory:
    """The CPU memory of an `sl.Mat` as numpy sees it; an array over it keeps the Mat (and so its memory) alive."""

    def __init__(self, mat: Any, shape: tuple[int, ...], dtype: np.dtype, strides: tuple[int, ...]) -> None:
        self.mat = mat
        self.__array_interface__ = {
            "version": 3,
            "shape": shape,
            "typestr": dtype.str,
            "data": (int(mat.get_pointer()), False),
            "strides": strides,
        }


def mat_array(mat: Any) -> np.ndarray:
    """A numpy view of a CPU `sl.Mat`'s memory that respects its step and keeps the Mat alive.

    `Mat.get_data()` does neither: without `deep_copy` its array does not hold a reference to the Mat (a view
    kept after the Mat is freed or reallocated reads freed memory), and with or without it the array assumes
    rows without padding. This view is valid while the Mat is not reallocated or freed: its owner retrieves
    into it again in place (same type and size) or replaces the Mat.
    """
    if not mat.is_init() or not mat.get_pointer():
        raise RuntimeError("the ZED SDK returned an empty Mat")
    type_name = mat.get_data_type().name
    if type_name not in _MAT_LAYOUTS:
        raise RuntimeError(f"ZedCamera cannot read a Mat of type {type_name}")
    scalar, channels = _MAT_LAYOUTS[type_name]
    dtype = np.dtype(scalar)
    height, width = int(mat.get_height()), int(mat.get_width())
    step, pixel = int(mat.get_step_bytes()), int(mat.get_pixel_bytes())
    if channels == 1:
        shape: tuple[int, ...] = (height, width)
        strides: tuple[int, ...] = (step, pixel)
    else:
        shape, strides = (height, width, channels), (step, pixel, dtype.itemsize)
    return np.asarray(_MatMemory(mat, shape, dtype, strides))


class ZedCamera(CameraState):
    """A ZED stereo camera (or an SVO recording of one) with the airo-camera-toolkit interface, on ZED SDK 4.x or 5.x.

    Images are rectified, so distortion is zero and both views share the image plane; depth and point cloud
    are in metres in the left view's optical frame (x right, y down, z forward). Arrays returned by the
    `retrieve_*` methods are views of the SDK's buffers (their row step respected, the buffer kept alive),
    overwritten in place by the next `grab_images()`: copy one to keep it longer. After `close()` only a copy is
    safe (whether the SDK frees a Mat's memory when the camera closes was not checked on hardware).

    `open()` and `grab()` warnings (the SDK's codes below SUCCESS, e.g. CONFIGURATION_FALLBACK: "did succeed with
    a fallback") are logged once each and the camera goes on; on an error the camera is closed before the error
    is raised. A camera that disappears during `grab_images()` (unplugged, rebooting) is closed and reopened up
    to `reopen_attempts` times, `reopen_delay` seconds apart; then `CameraLostError` is raised. The end of an SVO
    file either rewinds (`svo_loop=True`) or raises `EndOfRecordingError`.

    Capture time (`capture_timestamp`) is the SDK's image timestamp (`TIME_REFERENCE.IMAGE`: the frame's
    arrival, before grab() returns) in seconds since the epoch on this host's wall clock: as the SDK gives it
    under its default system clock; converted when the process switched the SDK to a monotonic clock
    (`Camera.set_timestamp_clock`, SDK 5.3+); the recorded time when playing an SVO; this host's time at the
    end of the grab when the SDK has no timestamp (0, e.g. an SVO recorded without compression).
    `capture_clock` says which.

    Args:
        resolution: HD2K, HD1080, HD720, VGA (USB cameras), HD1200, HD1080, SVGA (ZED X, X Mini, X Nano),
            HD1536, XVGA, TXGA (ZED X HDR family, SDK 5.0/5.3+), HD4K, QHDPLUS (a virtual ZED X of 4K ZED X
            Ones); checked against the connected model before opening.
        fps: frame rate; checked like the resolution.
        depth_mode: NEURAL, NEURAL_LIGHT (SDK 5.0+), NEURAL_PLUS (SDK 4.1+), or NONE (no depth).
        serial_number: which camera to open when several are connected (None or 0: the first one).
        svo_file: play this .svo/.svo2 recording instead of a live camera (None or "": live).
        svo_loop: rewind at the end of the SVO file instead of raising `EndOfRecordingError`.
        svo_real_time: play the SVO in the SDK's real-time mode: frames are dropped whenever grabbing falls
            behind the recorded rate (`svo_frames_dropped` counts them). Off (the default): every frame is
            played, in order, paced to the recorded frame rate; a slow consumer makes playback late, not lossy.
        enable_depth: compute depth, confidence and point cloud on each grab.
        min_depth: closest depth in metres the SDK reports (None: the SDK's default).
        max_depth: farthest depth in metres the SDK reports (None: the SDK's default).
        reopen_attempts: how often to try to reopen a camera that disappeared before giving up.
        reopen_delay: seconds to wait before each reopen attempt.
        in_place: on SDK >= 5.3.1, retrieve straight into the publisher's shared-memory slots (BGRA images,
            XYZRGBA cloud; see cameras/zed_in_place.py); False: the publisher copies each frame.

    """

    def __init__(
        self,
        resolution: str = "HD720",
        fps: int = 30,
        depth_mode: str = "NEURAL",
        serial_number: int | None = None,
        svo_file: str | None = None,
        svo_loop: bool = False,
        svo_real_time: bool = False,
        enable_depth: bool = True,
        min_depth: float | None = None,
        max_depth: float | None = None,
        reopen_attempts: int = 3,
        reopen_delay: float = 1.0,
        in_place: bool = True,
    ) -> None:
        resolution = str(resolution).upper()
        fps = int(fps)
        depth_mode = str(depth_mode).upper()
        check_video_mode(resolution, fps)
        if depth_mode not in DEPTH_MODES:
            raise ValueError(f"depth_mode must be one of {DEPTH_MODES}, got {depth_mode!r}")
        if reopen_attempts < 0:
            raise ValueError(f"reopen_attempts must be >= 0, got {reopen_attempts}")
        for name, value in (("min_depth", min_depth), ("max_depth", max_depth)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive (metres), got {value}")
        if min_depth is not None and max_depth is not None and not min_depth < max_depth:
            raise ValueError(f"min_depth ({min_depth}) must be smaller than max_depth ({max_depth})")
        svo_file = str(svo_file) if svo_file else None  # "" (a ROS string parameter) means live camera
        serial_number = int(serial_number) if serial_number else None  # 0 means "the first camera found"
        if svo_file is not None and not os.path.isfile(svo_file):
            raise FileNotFoundError(f"SVO file not found: {svo_file}")
        if serial_number is not None and serial_number < 0:
            raise ValueError(f"serial_number must be a positive integer, got {serial_number}")

        self._sl = sl = import_pyzed()
        self.sdk_version = _version_text(sdk_version(sl))
        self._svo_file = svo_file
        self._svo_loop = svo_loop
        self._svo_real_time = bool(svo_real_time) and svo_file is not None
        self._depth_enabled = enable_depth and depth_mode != "NONE"
        self._reopen_attempts = int(reopen_attempts)
        self._reopen_delay = float(reopen_delay)
        self.reopens = 0
        self.svo_frames_dropped = 0
        init = sl.InitParameters()
        init.camera_resolution = sdk_member(sl, "RESOLUTION", resolution, "resolution")
        init.depth_mode = sdk_member(sl, "DEPTH_MODE", depth_mode, "depth_mode")
        if svo_file is None:
            self._check_connected_camera(resolution, fps, serial_number)
        init.camera_fps = fps
        init.coordinate_units = sl.UNIT.METER
        init.coordinate_system = sl.COORDINATE_SYSTEM.IMAGE
        if min_depth is not None:
            init.depth_minimum_distance = float(min_depth)
        if max_depth is not None:
            init.depth_maximum_distance = float(max_depth)
        if svo_file is not None:
            init.set_from_svo_file(str(svo_file))
            init.svo_real_time_mode = self._svo_real_time
        elif serial_number is not None:
            init.set_from_serial_number(int(serial_number))
        self._init = init
        self._requested = (resolution, fps)
        self._runtime = sl.RuntimeParameters()
        self._runtime.enable_depth = self._depth_enabled
        self._camera = sl.Camera()
        self._source = f"SVO file {svo_file}" if svo_file else f"ZED {serial_number or '(first found)'}"
        self._warned: set[str] = set()
        self._sdk_clock = "SYSTEM_CLOCK"
        self._slot_retrieval = ZedSlotRetrieval(
            sl, sdk_version(sl), self._source, (0, 0), self._depth_enabled, in_place
        )
        self._mats: dict[str, Any] = {}
        self._views: dict[str, np.ndarray] = {}
        self._frame_id = 0
        self._capture_timestamp = 0.0
        code = self._camera.open(init)
        if not self._accept(code, "open"):
            self._camera.close()
            raise CameraGrabError(f"could not open {self._source} (ZED SDK {self.sdk_version}): {code.name} ({code})")
        try:
            self._read_camera_information()
        except BaseException:
            self._camera.close()
            raise
        self._slot_retrieval.resolution = self._resolution
        self.capture_clock = self._timestamp_clock()
        logger.info("%s open on ZED SDK %s; capture times: %s", self._source, self.sdk_version, self.capture_clock)
        self._svo_next_position = 0
        self._svo_next_due = time.monotonic()

    def _accept(self, code: Any, call: str) -> bool:
        """True for SUCCESS and for warnings (logged once per code); False for errors."""
        if code == self._sl.ERROR_CODE.SUCCESS:
            return True
        if not is_warning(self._sl, code):
            return False
        if f"{call} {code.name}" not in self._warned:
            self._warned.add(f"{call} {code.name}")
            logger.warning("%s: %s() warns %s (%s); going on", self._source, call, code.name, code)
        return True

    def _check_connected_camera(self, resolution: str, fps: int, serial_number: int | None) -> None:
        """Checks the video mode against the model of the camera that will be opened, when it is listed."""
        devices = list(self._sl.Camera.get_device_list())
        if serial_number is not None:
            serials = [int(device.serial_number) for device in devices]
            if devices and all(serials) and int(serial_number) not in serials:
                raise ValueError(f"no ZED with serial number {serial_number} is connected; connected: {serials}")
            devices = [device for device in devices if int(device.serial_number) == int(serial_number)]
        if devices:
            check_video_mode(resolution, fps, devices[0].camera_model.name)

    def _read_camera_information(self) -> None:
        info = self._camera.get_camera_information()
        config = info.camera_configuration
        calibration = config.calibration_parameters
        self.serial_number = int(info.serial_number)
        self.camera_model = info.camera_model.name
        if self.camera_model in MONOCULAR_MODELS:
            raise ValueError(f"{self._source} is a monocular {self.camera_model}: ZedCamera needs a stereo camera")
        self._resolution = (int(config.resolution.width), int(config.resolution.height))
        self._fps = float(config.fps)
        requested_size = RESOLUTION_SIZES[self._requested[0]]
        if self._svo_file is None and (self._resolution, round(self._fps)) != (requested_size, self._requested[1]):
            logger.warning(
                "%s opened %dx%d at %g fps, not the requested %s (%dx%d) at %d fps",
                self._source,
                *self._resolution,
                self._fps,
                self._requested[0],
                *requested_size,
                self._requested[1],
            )
        self._intrinsics = {
            LEFT_RGB: _intrinsics(calibration.left_cam),
            RIGHT_RGB: _intrinsics(calibration.right_cam),
        }
        pose = np.eye(4)
        pose[:3, 3] = np.asarray(calibration.stereo_transform.get_translation().get(), dtype=np.float64)[:3]
        self._pose_right_in_left = pose
        self._source = f"ZED {self.camera_model} {self.serial_number}" if self._svo_file is None else self._source

    def _timestamp_clock(self) -> str:
        """The clock of the SDK's image timestamps, as `capture_clock` states it."""
        if self._svo_file is not None:
            return "recorded in the SVO file (this host's wall clock at the end of grab where it has none)"
        getter = getattr(self._sl.Camera, "get_timestamp_clock", None)  # SDK 5.3+; before: the system clock
        self._sdk_clock = "SYSTEM_CLOCK" if getter is None else str(getter().name)
        if self._sdk_clock == "SYSTEM_CLOCK":
            return "SDK SYSTEM_CLOCK (Unix time, this host's wall clock)"
        return f"SDK {self._sdk_clock}, converted to this host's wall clock (Unix time)"

    def _host_time(self, stamp_ns: int) -> float:
        """An SDK image timestamp in seconds since the epoch on this host's wall clock."""
        if stamp_ns == 0:  # no timestamp: an SVO without compression (or a camera that gives none)
            if "no timestamp" not in self._warned:
                self._warned.add("no timestamp")
                logger.warning("%s gives no image timestamps: capture times are this host's", self._source)
            return time.time()
        if self._svo_file is not None or self._sdk_clock == "SYSTEM_CLOCK":
            return stamp_ns / 1e9
        clock = time.CLOCK_MONOTONIC_RAW if self._sdk_clock == "MONOTONIC_RAW_CLOCK" else time.CLOCK_MONOTONIC
        return stamp_ns / 1e9 + (time.time() - time.clock_gettime(clock))

    # ------------------------------------------------------------------------------ properties
    @property
    def baseline(self) -> float:
        """Distance between the two views in metres."""
        return float(np.linalg.norm(self._pose_right_in_left[:3, 3]))

    def intrinsics_matrix(self, view: str = LEFT_RGB) -> np.ndarray:
        """3x3 pinhole intrinsics of the rectified view."""
        check_view(view)
        return self._intrinsics[view].copy()

    # ------------------------------------------------------------------------------ grabbing
    def grab_images(self) -> None:
        """Grabs the next frame (blocking until the camera delivers it).

        Raises:
            EndOfRecordingError: the SVO file ended and `svo_loop` is off.
            CameraLostError: the camera disappeared and could not be reopened.
            CameraGrabError: any other grab failure, naming the SDK's error code (the camera is closed).

        """
        if self._svo_file is not None and not self._svo_real_time:
            self._pace_svo()
        self._grab()
        if self._svo_file is not None:
            self._count_svo_drops()
        self._frame_id += 1
        stamp = self._camera.get_timestamp(self._sl.TIME_REFERENCE.IMAGE)
        self._capture_timestamp = self._host_time(int(stamp.get_nanoseconds()))
        self._views.clear()

    def _pace_svo(self) -> None:
        """Frame-by-frame SVO playback: waits until the next frame is due at the recorded frame rate."""
        delay = self._svo_next_due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._svo_next_due = max(self._svo_next_due, time.monotonic() - 1.0 / self._fps) + 1.0 / self._fps

    def _count_svo_drops(self) -> None:
        """Counts the frames real-time playback skipped (the position advances by one per frame played)."""
        position = int(self._camera.get_svo_position())
        if position < self._svo_next_position:  # rewound
            self._svo_next_position = 0
        played = position - 1
        dropped = max(0, played - self._svo_next_position)
        if dropped:
            self.svo_frames_dropped += dropped
            if "svo drops" not in self._warned:
                self._warned.add("svo drops")
                logger.warning(
                    "%s: real-time playback dropped %d frame(s) (svo_real_time=True drops frames whenever grabbing "
                    "falls behind the recorded rate; svo_frames_dropped counts them)",
                    self._source,
                    dropped,
                )
        self._svo_next_position = position

    def _grab(self) -> None:
        """One successful (or warned) grab, with rewinds, reopens and retries."""
        corrupted = 0
        rewound = False
        retry_until = time.monotonic() + _REAL_TIME_RETRY_S + 2.0 / self._fps
        while True:
            code = self._camera.grab(self._runtime)
            name = code.name
            if name == "END_OF_SVOFILE_REACHED":
                if not self._svo_loop:
                    raise EndOfRecordingError(f"{self._source} ended after {self._frame_id} frames (svo_loop=False)")
                if rewound:
                    self._fail(code, "has no frame to play")
                self._camera.set_svo_position(0)
                self._svo_next_position = 0
                rewound = True
                continue
            if name in _LOST_CODES:
                self._reopen(name)
                continue
            if name == "CORRUPTED_FRAME":
                corrupted += 1
                if corrupted <= _CORRUPTED_FRAME_RETRIES:
                    continue
                self._fail(code, f"delivered {corrupted} corrupted frames in a row")
            if self._accept(code, "grab"):
                return
            if self._svo_real_time and time.monotonic() < retry_until:  # asked before the next frame is due
                time.sleep(min(0.005, 0.25 / self._fps))
                continue
            self._fail(code, "grab failed")

    def _fail(self, code: Any, what: str) -> None:
        """Closes the camera and raises CameraGrabError naming the SDK's code."""
        self.close()
        raise CameraGrabError(f"{self._source}: {what} with {code.name} ({code}); the camera was closed")

    def _reopen(self, reason: str) -> None:
        """Closes the lost camera and tries to open it again, `reopen_attempts` times."""
        logger.warning(
            "%s disappeared (%s); reopening (up to %d attempts)", self._source, reason, self._reopen_attempts
        )
        self.close()
        last = reason
        for attempt in range(1, self._reopen_attempts + 1):
            time.sleep(self._reopen_delay)
            code = self._camera.open(self._init)
            if self._accept(code, "open"):
                self.reopens += 1
                self._read_camera_information()  # the resolution may differ: new Mats (close() dropped the old)
                self._slot_retrieval.resolution = self._resolution
                logger.warning("%s reopened after %d attempt(s)", self._source, attempt)
                return
            self._camera.close()
            last = code.name
        raise CameraLostError(
            f"{self._source} disappeared ({reason}) and could not be reopened in {self._reopen_attempts} "
            f"attempt(s) (last error: {last}); check the cable and that no other process uses the camera"
        )

    # ------------------------------------------------------------------------------ retrieving
    def _mat(self, key: str) -> Any:
        mat = self._mats.get(key)
        if mat is None:
            mat = self._mats[key] = self._sl.Mat()
        return mat

    def _retrieve(self, key: str, what: Any, measure: bool) -> np.ndarray:
        """The SDK buffer of `what` (a VIEW or MEASURE) for the current frame, retrieved once per frame."""
        view = self._views.get(key)
        if view is None:
            if self._frame_id == 0:
                raise RuntimeError("call grab_images() before retrieving data")
            mat = self._mat(key)
            self._retrieve_mat(mat, what, measure, key)
            view = self._views[key] = mat_array(mat)
        return view

    def _retrieve_mat(self, mat: Any, what: Any, measure: bool, key: str = "") -> None:
        """The SDK's retrieve of `what` (a VIEW or MEASURE) into `mat`; CameraGrabError on an error (not a warning)."""
        retrieve = self._camera.retrieve_measure if measure else self._camera.retrieve_image
        code = retrieve(mat, what)
        if not self._accept(code, "retrieve"):
            raise CameraGrabError(f"{self._source}: retrieving {key or what} failed with {code.name} ({code})")

    # ------------------------------------------------------------------------------ in-place retrieval
    def slot_layouts(self) -> dict[str, str]:
        """The layouts the SDK writes into the publisher's slots (cameras/in_place.py); {} before SDK 5.3.1."""
        return self._slot_retrieval.slot_layouts()

    def retrieve_into(self, buffers: Mapping[str, Any]) -> Collection[str]:
        """Retrieves the grabbed frame into Mats over the publisher's slot arrays; returns what the SDK wrote."""
        if self._frame_id == 0:
            raise RuntimeError("call grab_images() before retrieving data")
        written = self._slot_retrieval.retrieve_into(buffers, self._retrieve_mat)
        if "stereo" in written:
            buffers["stereo"].intrinsics_right[:] = self._intrinsics[RIGHT_RGB]
            buffers["stereo"].pose_right_in_left[:] = self._pose_right_in_left
        return written

    def _require_depth(self, what: str) -> None:
        if not self._depth_enabled:
            raise RuntimeError(f"{what} needs depth, which is off (depth_mode=NONE or enable_depth=False)")

    def retrieve_rgb_image_as_int(self, view: str = LEFT_RGB) -> np.ndarray:
        """HxWx3 uint8 RGB image of a view (a channel-reversed view of the SDK's BGRA buffer, no copy)."""
        check_view(view)
        sl_view = self._sl.VIEW.LEFT if view == LEFT_RGB else self._sl.VIEW.RIGHT
        return self._retrieve(f"rgb_{view}", sl_view, measure=False)[..., 2::-1]

    def retrieve_rgb_image(self, view: str = LEFT_RGB) -> np.ndarray:
        """HxWx3 float32 RGB image in [0, 1]."""
        return self.retrieve_rgb_image_as_int(view).astype(np.float32) / 255.0

    def retrieve_depth_map(self) -> np.ndarray:
        """HxW float32 depth in metres along the left view's optical axis (NaN/inf where unknown)."""
        self._require_depth("the depth map")
        return self._retrieve("depth", self._sl.MEASURE.DEPTH, measure=True)

    def retrieve_depth_image(self) -> np.ndarray:
        """HxWx3 uint8 rendering of the depth by the SDK (VIEW.DEPTH)."""
        self._require_depth("the depth image")
        return self._retrieve("depth_image", self._sl.VIEW.DEPTH, measure=False)[..., 2::-1]

    def retrieve_confidence_map(self) -> np.ndarray:
        """HxW float32 depth confidence in [1, 100] (higher is less confident, the SDK's convention)."""
        self._require_depth("the confidence map")
        return self._retrieve("confidence", self._sl.MEASURE.CONFIDENCE, measure=True)

    def retrieve_colored_point_cloud(self) -> PointCloud:
        """Organised point cloud (H*W points, row-major, NaN/inf where unknown) with RGB colors."""
        self._require_depth("the point cloud")
        xyzrgba = self._retrieve("point_cloud", self._sl.MEASURE.XYZRGBA, measure=True)
        points = xyzrgba[..., :3].reshape(-1, 3)
        # The 4th float of each point holds the color as 4 bytes R, G, B, A: reinterpret, do not convert. The Mat's
        # rows may be padded, and numpy < 1.23 reinterprets only C-contiguous arrays: take that float out first.
        colors = np.ascontiguousarray(xyzrgba[..., 3]).view(np.uint8).reshape(-1, 4)[:, :3]
        return PointCloud(points, colors)

    def close(self) -> None:
        """Closes the camera (or SVO file). Arrays handed out keep their Mats; the camera drops its own."""
        self._views.clear()
        self._mats.clear()
        self._camera.close()
        self._slot_retrieval.forget()


def _intrinsics(parameters: Any) -> np.ndarray:
    """3x3 intrinsics from the SDK's CameraParameters (fx, fy, cx, cy)."""
    return np.array(
        [[parameters.fx, 0.0, parameters.cx], [0.0, parameters.fy, parameters.cy], [0.0, 0.0, 1.0]],
        dtype=np.float64,
    )


register_as_toolkit_interface("StereoRGBDCamera", ZedCamera)  # isinstance checks of toolkit code accept it
