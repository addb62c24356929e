"""sensor_msgs messages built straight from a receiver's frame, with no per-pixel Python work.

rclpy stores an `array.array('B')` given to a message's `data` as it is, and converts the message to its C form
synchronously inside `publish()`. Which messages keep it depends on the distro's rosidl_python: from 0.18 (Iron,
Jazzy, Kilted) only a message made with `check_fields=True` (else the setter copies), in 0.14 (Humble, whose
constructor refuses that argument) every message (`zero_copy_message`). So the bridge's receiver copies each
frame out of shared memory into arrays that are views of `array.array` storage (`message_backed_array`), and an
image message takes that storage as its data: the one copy out of shared memory is the message. Depth in millimetres,
point clouds and compressed images need a conversion; each writes into storage kept per stream.
"""

from __future__ import annotations

import array
from typing import Any, TypeVar

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2, PointField
from std_msgs.msg import Header

POINT_STEP = 16  # x, y, z, rgb as float32
XYZ_POINT_STEP = 12  # x, y, z as float32
MessageT = TypeVar("MessageT")
ENCODINGS = {(np.dtype(np.uint8), 3): "rgb8", (np.dtype(np.float32), 1): "32FC1", (np.dtype(np.uint16), 1): "16UC1"}


def message_backed_array(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A zeroed numpy array whose memory is an `array.array('B')` that a message can take as its data."""
    dtype = np.dtype(dtype)
    storage = array.array("B", bytes(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize))
    return np.frombuffer(storage, dtype=dtype).reshape(shape)


def storage_of(pixels: np.ndarray) -> array.array | None:
    """The `array.array` that `pixels` covers exactly, or None (e.g. a plain numpy array or a slice)."""
    base: Any = pixels
    while base is not None and not isinstance(base, array.array):
        base = getattr(base, "base", None)
        if isinstance(base, memoryview):
            base = base.obj
    if base is None or not pixels.flags.c_contiguous or pixels.nbytes != len(base):
        return None
    return base


def stamp(seconds: float) -> Time:
    """A ROS time from seconds since the epoch."""
    whole = int(seconds)
    return Time(sec=whole, nanosec=min(int(round((seconds - whole) * 1e9)), 999_999_999))


def header(seconds: float, frame_id: str) -> Header:
    """A header with the capture time of a frame and an optical frame id."""
    return Header(stamp=stamp(seconds), frame_id=frame_id)


def zero_copy_message(message_type: type[MessageT]) -> MessageT:
    """A message whose array fields keep an `array.array` they are given as it is, on every distro.

    rosidl_python 0.18 and later (Iron on) keep it only where the message checks its fields (`check_fields=True`,
    a `_check_fields` slot); Humble's 0.14 has no such argument (its constructor asserts on it) and always keeps it.
    """
    if "_check_fields" in getattr(message_type, "__slots__", ()):
        return message_type(check_fields=True)  # type: ignore[call-arg]
    return message_type()


class _Storage:
    """One reusable `array.array` per stream, resized only when the frame size changes."""

    def __init__(self) -> None:
        self._storage = array.array("B")

    def view(self, nbytes: int, dtype: np.dtype | type, shape: tuple[int, ...]) -> tuple[array.array, np.ndarray]:
        if len(self._storage) != nbytes:
            self._storage = array.array("B", bytes(nbytes))
        return self._storage, np.frombuffer(self._storage, dtype=dtype).reshape(shape)


class ImageBuilder:
    """Builds Image messages; takes the receiver's storage when it can, else copies once into its own."""

    def __init__(self) -> None:
        self._storage = _Storage()
        self.message = zero_copy_message(Image)

    def build(self, pixels: np.ndarray, frame_header: Header, encoding: str | None = None) -> Image:
        height, width = pixels.shape[:2]
        channels = 1 if pixels.ndim == 2 else pixels.shape[2]
        message = self.message
        message.header = frame_header
        message.height, message.width = int(height), int(width)
        message.encoding = encoding or ENCODINGS[(pixels.dtype, channels)]
        message.is_bigendian = 0
        message.step = int(width * channels * pixels.dtype.itemsize)
        data = storage_of(pixels)
        if data is None:
            data, view = self._storage.view(pixels.nbytes, pixels.dtype, pixels.shape)
            np.copyto(view, pixels)
        message.data = data
        return message


class DepthMillimetreBuilder:
    """16UC1 depth in millimetres from float32 metres; invalid depths (NaN, inf, <= 0, > 65.535 m) become 0."""

    def __init__(self) -> None:
        self._storage = _Storage()
        self._scratch = np.empty(0, np.float32)
        self._image = ImageBuilder()

    def build(self, depth_m: np.ndarray, frame_header: Header) -> Image:
        if self._scratch.shape != depth_m.shape:
            self._scratch = np.empty(depth_m.shape, np.float32)
        scratch = self._scratch
        np.multiply(depth_m, 1000.0, out=scratch)
        np.nan_to_num(scratch, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        scratch[(scratch < 0.0) | (scratch > 65535.0)] = 0.0
        _, millimetres = self._storage.view(depth_m.size * 2, np.uint16, depth_m.shape)
        np.rint(scratch, out=scratch)
        millimetres[...] = scratch
        return self._image.build(millimetres, frame_header, "16UC1")  # takes the storage as its data


def camera_info(
    intrinsics: np.ndarray,
    distortion: np.ndarray,
    width: int,
    height: int,
    frame_header: Header,
    baseline_x: float = 0.0,
) -> CameraInfo:
    """CameraInfo of a (rectified) view: K, D (plumb_bob), R = I, P = [K | Tx] with Tx = -fx * baseline."""
    message = CameraInfo()
    message.header = frame_header
    message.width, message.height = int(width), int(height)
    message.distortion_model = "plumb_bob"
    message.d = [float(v) for v in distortion]
    message.k = [float(v) for v in np.asarray(intrinsics, dtype=np.float64).reshape(9)]
    message.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    projection = np.zeros((3, 4))
    projection[:, :3] = intrinsics
    projection[0, 3] = -float(intrinsics[0, 0]) * baseline_x
    message.p = [float(v) for v in projection.reshape(12)]
    return message


class PointCloudBuilder:
    """PointCloud2 with float32 x, y, z and rgb (packed 0x00RRGGBB in the float's bytes, as rviz reads it).

    Args:
        xyz_only: fields x, y, z only (12 bytes a point instead of 16), for links where colour is not worth
            its bandwidth.

    """

    FIELDS = [
        PointField(name="x", offset=0, datatype=PointField.FLOAT32, count=1),
        PointField(name="y", offset=4, datatype=PointField.FLOAT32, count=1),
        PointField(name="z", offset=8, datatype=PointField.FLOAT32, count=1),
        PointField(name="rgb", offset=12, datatype=PointField.FLOAT32, count=1),
    ]
    XYZ_FIELDS = FIELDS[:3]

    def __init__(self, xyz_only: bool = False) -> None:
        self._storage = _Storage()
        self.xyz_only = xyz_only
        self.point_step = XYZ_POINT_STEP if xyz_only else POINT_STEP
        self.message = zero_copy_message(PointCloud2)
        self.message.fields = self.XYZ_FIELDS if xyz_only else self.FIELDS
        self.message.is_bigendian = False
        self.message.point_step = self.point_step

    def build(
        self,
        points: np.ndarray,
        colors: np.ndarray,
        frame_header: Header,
        organized_shape: tuple[int, int] | None,
        *,
        decimation: int = 1,
        grid_shape: tuple[int, int] | None = None,
    ) -> PointCloud2:
        """Builds the cloud of `points` (N x 3 float32, row-major over the image) and `colors` (N x 3 uint8 RGB).

        Args:
            points: N x 3 float32 points.
            colors: N x 3 uint8 RGB colours (ignored when `xyz_only`).
            frame_header: the message header.
            organized_shape: (height, width) keeps every point, NaN included, as an organized cloud; None keeps
                finite points only (height 1).
            decimation: keep every n-th row and column of the image grid (rows and columns 0, n, 2n, ...), so an
                organized cloud stays organized with ceil(height / n) x ceil(width / n) points.
            grid_shape: (height, width) of the points' image grid, needed to decimate an unorganized cloud;
                defaults to `organized_shape`.

        Raises:
            ValueError: when `decimation` is below 1, or above 1 without a grid shape, or the grid does not fit.

        """
        if decimation < 1:
            raise ValueError(f"points.decimation must be at least 1, got {decimation}")
        grid = grid_shape or organized_shape
        if decimation > 1:
            if grid is None or grid[0] * grid[1] != len(points):
                raise ValueError(
                    f"decimating a cloud of {len(points)} points needs its (height, width) grid, got {grid}"
                )
            rows, cols = grid
            points = points.reshape(rows, cols, 3)[::decimation, ::decimation]
            colors = colors.reshape(rows, cols, 3)[::decimation, ::decimation]
            if organized_shape is not None:
                organized_shape = (points.shape[0], points.shape[1])
        if organized_shape is None:
            points, colors = points.reshape(-1, 3), colors.reshape(-1, 3)
            valid = np.isfinite(points).all(axis=1)
            if not valid.all():
                points, colors = points[valid], colors[valid]
            height, width = 1, len(points)
        else:
            height, width = organized_shape
        count = height * width
        step = self.point_step
        data: array.array | None = None
        if self.xyz_only and points.dtype == np.float32 and points.flags.c_contiguous:
            data = storage_of(points)  # the receiver's storage is already the xyz layout: no copy at all
        if data is None:
            # Shaped like `points` (a decimated grid is a strided view): each field is copied once, in place.
            data, cloud = self._storage.view(count * step, np.uint8, points.shape[:-1] + (step,))
            cloud.view(np.float32)[..., :3] = points
            if not self.xyz_only:
                cloud[..., 12] = colors[..., 2]  # little-endian 0x00RRGGBB: bytes b, g, r, 0
                cloud[..., 13] = colors[..., 1]
                cloud[..., 14] = colors[..., 0]
                cloud[..., 15] = 0
        message = self.message
        message.header = frame_header
        message.height, message.width = int(height), int(width)
        message.row_step = int(width * step)
        message.is_dense = organized_shape is None
        message.data = data
        return message


class CompressedImageBuilder:
    """sensor_msgs/CompressedImage as image_transport's compressed plugin writes it (format string included)."""

    def __init__(self, image_format: str = "jpeg", jpeg_quality: int = 80, png_level: int = 3) -> None:
        import cv2  # opencv-python-headless; only needed once someone subscribes to a compressed topic

        self._cv2 = cv2
        self._format = image_format
        self.jpeg_quality = jpeg_quality
        if image_format == "jpeg":
            self._extension, self._params = ".jpg", [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
        else:
            self._extension, self._params = ".png", [cv2.IMWRITE_PNG_COMPRESSION, png_level]
        self._bgr = np.empty(0, np.uint8)

    def build(self, rgb: np.ndarray, frame_header: Header) -> CompressedImage:
        if self._bgr.shape != rgb.shape:
            self._bgr = np.empty(rgb.shape, np.uint8)
        if rgb.flags.c_contiguous:
            self._cv2.cvtColor(rgb, self._cv2.COLOR_RGB2BGR, dst=self._bgr)
        else:  # the RGB view of a BGRA image (a camera's own layout): its BGR channels, in one pass
            np.copyto(self._bgr, rgb[..., ::-1])
        ok, encoded = self._cv2.imencode(self._extension, self._bgr, self._params)
        if not ok:
            raise RuntimeError(f"OpenCV could not encode a {rgb.shape} image as {self._format}")
        message = CompressedImage()
        message.header = frame_header
        message.format = f"rgb8; {self._format} compressed bgr8"
        message.data = array.array("B", encoded.tobytes())
        return message
