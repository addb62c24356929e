"""Mixins: camera-interface methods of a receiver, read from the fields its schemas write. No transport.

Each mixin reads the field its schema's `receiver_field` names. Arrays returned stay valid after the
next grab: a receiver never overwrites an array that is still referenced outside it. A buffer in a camera's
own layout (BGRA, XYZRGBA: cameras/in_place.py) offers the same fields as views, so every mixin reads either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from airo_mp_camera.cameras.depth_image import depth_visualisation
from airo_mp_camera.cameras.interface import LEFT_RGB, RIGHT_RGB, PointCloud, check_view
from airo_mp_camera.pipeline.buffers import (
    BGRAFrameBuffer,
    BGRAStereoFrameBuffer,
    CameraMetadataBuffer,
    ConfidenceFrameBuffer,
    DepthFrameBuffer,
    DepthImageBuffer,
    PointCloudBuffer,
    RGBFrameBuffer,
    StereoRGBFrameBuffer,
)


class Mixin:
    """Base of all mixins: marks a class as exposing data a receiver's schemas wrote."""

    if TYPE_CHECKING:

        def _require_frame(self) -> None:
            """Provided by the receiver: makes sure a frame was taken (connecting if needed)."""


class CameraMixin(Mixin):
    """Intrinsics, resolution, fps, frame id and capture time (CameraSchema)."""

    _camera_buffer: CameraMetadataBuffer

    @property
    def resolution(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        self._require_frame()
        width, height = self._camera_buffer.resolution
        return int(width), int(height)

    @property
    def fps(self) -> float:
        """The publishing camera's frame rate."""
        self._require_frame()
        return float(self._camera_buffer.fps[0])

    def distortion_coefficients(self) -> np.ndarray:
        """Plumb-bob distortion k1, k2, t1, t2, k3 of the left view (zeros for rectified images)."""
        self._require_frame()
        return self._camera_buffer.distortion.copy()

    def intrinsics_matrix(self, view: str = LEFT_RGB) -> np.ndarray:
        """3x3 pinhole intrinsics of a view."""
        check_view(view)
        self._require_frame()
        if view == RIGHT_RGB:
            return self._right_view().intrinsics_right.copy()
        return self._camera_buffer.intrinsics.copy()

    def _right_view(self) -> StereoRGBFrameBuffer:
        buffer = getattr(self, "_stereo_buffer", None)
        if buffer is None:
            raise ValueError(
                f"{type(self).__name__} does not receive the right view; use a receiver with StereoRGBSchema "
                "(e.g. MultiprocessStereoRGBDReceiver)"
            )
        return buffer


class RGBMixin(CameraMixin):
    """`retrieve_rgb_image()` and `retrieve_rgb_image_as_int()` (RGBSchema; right view with StereoRGBSchema)."""

    _rgb_buffer: RGBFrameBuffer

    def retrieve_rgb_image_as_int(self, view: str = LEFT_RGB) -> np.ndarray:
        """HxWx3 uint8 RGB image of the last grabbed frame."""
        check_view(view)
        if view == RIGHT_RGB:
            return self._right_view().rgb_right
        return self._rgb_buffer.rgb

    def retrieve_rgb_image(self, view: str = LEFT_RGB) -> np.ndarray:
        """HxWx3 float32 RGB image in [0, 1] of the last grabbed frame."""
        return self.retrieve_rgb_image_as_int(view).astype(np.float32) / 255.0

    def retrieve_camera_image(self, view: str = LEFT_RGB) -> tuple[np.ndarray, str]:
        """The image of a view as its buffer holds it, and its ROS encoding: ("bgra8", HxWx4) or ("rgb8", HxWx3).

        A BGRA image is there when the camera wrote it in place (cameras/in_place.py) and the frame was
        borrowed, or copied by a receiver that keeps the camera's layout (`camera_layout`).
        """
        check_view(view)
        buffer = self._right_view() if view == RIGHT_RGB else self._rgb_buffer
        if isinstance(buffer, BGRAStereoFrameBuffer):
            return buffer.bgra_right, "bgra8"
        if isinstance(buffer, BGRAFrameBuffer):
            return buffer.bgra, "bgra8"
        return self.retrieve_rgb_image_as_int(view), "rgb8"


class DepthMixin(Mixin):
    """`retrieve_depth_map()` (DepthSchema) and `retrieve_depth_image()` (DepthImageSchema, or computed)."""

    _depth_buffer: DepthFrameBuffer
    _depth_image_buffer: DepthImageBuffer

    def retrieve_depth_map(self) -> np.ndarray:
        """HxW float32 depth in metres of the last grabbed frame."""
        return self._depth_buffer.depth_map

    def retrieve_depth_image(self) -> np.ndarray:
        """HxWx3 uint8 depth visualisation of the last grabbed frame.

        The camera's own when this reads DepthImageSchema (`enable_depth_image=True`); otherwise computed
        here from the depth map on each call (near is bright), so the camera never renders one nobody reads.
        """
        buffer = getattr(self, "_depth_image_buffer", None)
        if buffer is not None:
            return buffer.depth_image
        return depth_visualisation(self.retrieve_depth_map())


class ConfidenceMixin(Mixin):
    """`retrieve_confidence_map()` (ConfidenceSchema)."""

    _confidence_buffer: ConfidenceFrameBuffer

    def retrieve_confidence_map(self) -> np.ndarray:
        """HxW float32 depth confidence of the last grabbed frame."""
        return self._confidence_buffer.confidence_map


class PointCloudMixin(Mixin):
    """`retrieve_colored_point_cloud()` (PointCloudSchema)."""

    _point_cloud_buffer: PointCloudBuffer

    def retrieve_colored_point_cloud(self) -> PointCloud:
        """The valid points of the last grabbed frame and their RGB colors."""
        count = int(self._point_cloud_buffer.point_count[0])
        return PointCloud(self._point_cloud_buffer.points[:count], self._point_cloud_buffer.colors[:count])


class StereoRGBMixin(CameraMixin):
    """`pose_of_right_view_in_left_view` (StereoRGBSchema); the right image comes through RGBMixin's view."""

    # The view names as attributes, as the toolkit's stereo cameras carry them (`camera.RIGHT_RGB`).
    LEFT_RGB: ClassVar[str] = LEFT_RGB
    RIGHT_RGB: ClassVar[str] = RIGHT_RGB
    _VIEWS: ClassVar[tuple[str, str]] = (LEFT_RGB, RIGHT_RGB)

    _stereo_buffer: StereoRGBFrameBuffer

    @property
    def pose_of_right_view_in_left_view(self) -> np.ndarray:
        """4x4 homogeneous pose of the right view in the left optical frame."""
        self._require_frame()
        return self._right_view().pose_right_in_left.copy()
