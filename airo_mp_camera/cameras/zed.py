"""A Stereolabs ZED stereo camera through `pyzed.sl`, the ZED SDK's Python API (SDK 4 and 5).

pyzed is not on PyPI: it ships with the ZED SDK and is imported only when a `ZedCamera` is constructed,
so the rest of the package works without it. Without hardware this module was exercised only against
the test double in `test/fakes/pyzed` (written from the SDK's documented API); nothing here was verified
on a real camera.
"""

from __future__ import annotations

import logging
import os
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

# Video modes (resolution -> frame rates) per camera family. Sources: the RESOLUTION table in the ZED SDK
# Python API (stereolabs/zed-python-api, src/pyzed/sl.pyx, SDK 5.x) and the grab_frame_rate notes of the
# zedx.yaml / zed2i.yaml configurations of stereolabs/zed-ros2-wrapper. USB cameras (ZED, ZED Mini, ZED 2,
# ZED 2i) and GMSL cameras (ZED X, ZED X Mini) support different modes.
RESOLUTION_SIZES: dict[str, tuple[int, int]] = {
    "HD2K": (2208, 1242),
    "HD1080": (1920, 1080),
    "HD1200": (1920, 1200),
    "HD720": (1280, 720),
    "SVGA": (960, 600),
    "VGA": (672, 376),
}
USB_MODES: dict[str, tuple[int, ...]] = {
    "HD2K": (15,),
    "HD1080": (15, 30),
    "HD720": (15, 30, 60),
    "VGA": (15, 30, 60, 100),
}
GMSL_MODES: dict[str, tuple[int, ...]] = {"HD1200": (15, 30, 60), "HD1080": (15, 30, 60), "SVGA": (15, 30, 60, 120)}
MODES_BY_MODEL: dict[str, dict[str, tuple[int, ...]]] = {
    "ZED": USB_MODES,
    "ZED_M": USB_MODES,
    "ZED2": USB_MODES,
    "ZED2i": USB_MODES,
    "ZED_X": GMSL_MODES,
    "ZED_XM": GMSL_MODES,
}
DEPTH_MODES = ("NEURAL", "NEURAL_LIGHT", "NEURAL_PLUS", "NONE")

# grab() codes after which the camera is gone until reopened.
_LOST_CODES = frozenset(
    {"CAMERA_NOT_DETECTED", "CAMERA_REBOOTING", "CAMERA_DETECTION_ISSUE", "CANNOT_START_CAMERA_STREAM"}
)
# grab() warnings (SDK 5) that still deliver a usable frame.
_USABLE_WARNINGS = frozenset(
    {"SENSOR_CONFIGURATION_CHANGED", "POTENTIAL_CALIBRATION_ISSUE", "CONFIGURATION_FALLBACK", "SENSORS_DATA_REQUIRED"}
)
_CORRUPTED_FRAME_RETRIES = 3


def import_pyzed() -> ModuleType:
    """`pyzed.sl`, or an ImportError that says how to install the ZED SDK and its Python API."""
    try:
        import pyzed.sl as sl
    except ImportError as error:
        import sys

        raise ImportError(PYZED_MISSING.format(python=sys.executable)) from error
    return sl


def check_video_mode(resolution: str, fps: int, model: str | None = None) -> None:
    """Raises ValueError unless some ZED (or the given model, when known) supports `resolution` at `fps`."""
    if resolution not in RESOLUTION_SIZES:
        raise ValueError(f"ZED resolution must be one of {sorted(RESOLUTION_SIZES)}, got {resolution!r}")
    tables = [MODES_BY_MODEL[model]] if model in MODES_BY_MODEL else [USB_MODES, GMSL_MODES]
    supported = sorted({rate for table in tables for rate in table.get(resolution, ())})
    who = f"the connected {model}" if model in MODES_BY_MODEL else "any ZED camera"
    if not supported:
        known = sorted({name for table in tables for name in table})
        raise ValueError(f"resolution {resolution} is not supported by {who}, which supports {known}")
    if fps not in supported:
        raise ValueError(f"{who} supports {resolution} at {supported} fps, not at fps={fps}")


class ZedCamera(CameraState):
    """A ZED stereo camera (or an SVO recording of one) with the airo-camera-toolkit interface.

    Images are rectified, so distortion is zero and both views share the image plane; depth and point cloud
    are in metres in the left view's optical frame (x right, y down, z forward). Arrays returned by the
    `retrieve_*` methods are views of the SDK's buffers, valid until the next `grab_images()`.

    A camera that disappears during `grab_images()` (unplugged, rebooting) is closed and reopened up to
    `reopen_attempts` times, `reopen_delay` seconds apart; then `CameraLostError` is raised. The end of an
    SVO file either rewinds (`svo_loop=True`) or raises `EndOfRecordingError`.

    Args:
        resolution: HD2K, HD1080, HD1200, HD720, SVGA or VGA; checked against the connected model before opening.
        fps: frame rate; checked like the resolution.
        depth_mode: NEURAL, NEURAL_LIGHT, NEURAL_PLUS, or NONE (no depth).
        serial_number: which camera to open when several are connected (None or 0: the first one).
        svo_file: play this .svo/.svo2 recording instead of a live camera, at its recorded rate (None or "": live).
        svo_loop: rewind at the end of the SVO file instead of raising `EndOfRecordingError`.
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
        self._svo_file = svo_file
        self._svo_loop = svo_loop
        self._depth_enabled = enable_depth and depth_mode != "NONE"
        self._reopen_attempts = int(reopen_attempts)
        self._reopen_delay = float(reopen_delay)
        self.reopens = 0
        if svo_file is None:
            self._check_connected_camera(resolution, fps, serial_number)

        init = sl.InitParameters()
        init.camera_resolution = getattr(sl.RESOLUTION, resolution)
        init.camera_fps = fps
        init.depth_mode = getattr(sl.DEPTH_MODE, depth_mode)
        init.coordinate_units = sl.UNIT.METER
        init.coordinate_system = sl.COORDINATE_SYSTEM.IMAGE
        if min_depth is not None:
            init.depth_minimum_distance = float(min_depth)
        if max_depth is not None:
            init.depth_maximum_distance = float(max_depth)
        if svo_file is not None:
            init.set_from_svo_file(str(svo_file))
            init.svo_real_time_mode = True  # play at the recorded rate, like a live camera
        elif serial_number is not None:
            init.set_from_serial_number(int(serial_number))
        self._init = init
        self._runtime = sl.RuntimeParameters()
        self._runtime.enable_depth = self._depth_enabled
        self._camera = sl.Camera()
        self._source = f"SVO file {svo_file}" if svo_file else f"ZED {serial_number or '(first found)'}"
        code = self._camera.open(init)
        if code != sl.ERROR_CODE.SUCCESS:
            raise CameraGrabError(f"could not open {self._source}: {code.name} ({code})")
        self._read_camera_information()
        self._slot_retrieval = ZedSlotRetrieval(sl, self._source, self._resolution, self._depth_enabled, in_place)
        self._mats: dict[str, Any] = {}
        self._views: dict[str, np.ndarray] = {}
        self._frame_id = 0
        self._capture_timestamp = 0.0
        self._warned: set[str] = set()

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
        self._resolution = (int(config.resolution.width), int(config.resolution.height))
        self._fps = float(config.fps)
        self._intrinsics = {
            LEFT_RGB: _intrinsics(calibration.left_cam),
            RIGHT_RGB: _intrinsics(calibration.right_cam),
        }
        pose = np.eye(4)
        pose[:3, 3] = np.asarray(calibration.stereo_transform.get_translation().get(), dtype=np.float64)[:3]
        self._pose_right_in_left = pose
        self._source = f"ZED {self.camera_model} {self.serial_number}" if self._svo_file is None else self._source

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
            CameraGrabError: any other grab failure, naming the SDK's error code.

        """
        sl = self._sl
        corrupted = 0
        rewound = False
        while True:
            code = self._camera.grab(self._runtime)
            if code == sl.ERROR_CODE.SUCCESS:
                break
            name = code.name
            if name == "END_OF_SVOFILE_REACHED":
                if not self._svo_loop:
                    raise EndOfRecordingError(f"{self._source} ended after {self._frame_id} frames (svo_loop=False)")
                if rewound:
                    raise CameraGrabError(f"{self._source} has no frame to play")
                self._camera.set_svo_position(0)
                rewound = True
                continue
            if name in _LOST_CODES:
                self._reopen(name)
                continue
            if name == "CORRUPTED_FRAME" and corrupted < _CORRUPTED_FRAME_RETRIES:
                corrupted += 1
                continue
            if name in _USABLE_WARNINGS:
                if name not in self._warned:
                    self._warned.add(name)
                    logger.warning("%s: grab warns %s (%s); frames are still used", self._source, name, code)
                break
            raise CameraGrabError(f"{self._source}: grab failed with {name} ({code})")
        self._frame_id += 1
        stamp = self._camera.get_timestamp(sl.TIME_REFERENCE.IMAGE)
        self._capture_timestamp = int(stamp.get_nanoseconds()) / 1e9
        self._views.clear()

    def _reopen(self, reason: str) -> None:
        """Closes the lost camera and tries to open it again, `reopen_attempts` times."""
        sl = self._sl
        logger.warning(
            "%s disappeared (%s); reopening (up to %d attempts)", self._source, reason, self._reopen_attempts
        )
        self._camera.close()
        last = reason
        for attempt in range(1, self._reopen_attempts + 1):
            time.sleep(self._reopen_delay)
            code = self._camera.open(self._init)
            if code == sl.ERROR_CODE.SUCCESS:
                self.reopens += 1
                self._read_camera_information()
                self._slot_retrieval.forget()
                self._slot_retrieval.resolution = self._resolution
                logger.warning("%s reopened after %d attempt(s)", self._source, attempt)
                return
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
            view = self._views[key] = mat.get_data()
        return view

    def _retrieve_mat(self, mat: Any, what: Any, measure: bool, key: str = "") -> None:
        """The SDK's retrieve of `what` (a VIEW or MEASURE) into `mat`, raising CameraGrabError on an error."""
        retrieve = self._camera.retrieve_measure if measure else self._camera.retrieve_image
        code = retrieve(mat, what)
        if code != self._sl.ERROR_CODE.SUCCESS:
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
        # The 4th float of each point holds the color as 4 bytes R, G, B, A: reinterpret, do not convert.
        colors = xyzrgba.view(np.uint8)[..., 12:15].reshape(-1, 3)
        return PointCloud(points, colors)

    def close(self) -> None:
        """Closes the camera (or SVO file)."""
        self._camera.close()
        self._views.clear()
        self._slot_retrieval.forget()


def _intrinsics(parameters: Any) -> np.ndarray:
    """3x3 intrinsics from the SDK's CameraParameters (fx, fy, cx, cy)."""
    return np.array(
        [[parameters.fx, 0.0, parameters.cx], [0.0, parameters.fy, parameters.cy], [0.0, 0.0, 1.0]],
        dtype=np.float64,
    )


register_as_toolkit_interface("StereoRGBDCamera", ZedCamera)  # isinstance checks of toolkit code accept it
