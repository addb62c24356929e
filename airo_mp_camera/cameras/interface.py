"""The camera interface that publishers host and receivers expose (airo-camera-toolkit method names).

Nothing here imports airo-camera-toolkit: any class with these methods can be hosted by a
`CameraPublisher`, including the toolkit's own cameras.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

LEFT_RGB = "left"
RIGHT_RGB = "right"
VIEWS = (LEFT_RGB, RIGHT_RGB)


@dataclass
class PointCloud:
    """A colored point cloud: `points` (N, 3) float32 metres in the left optical frame, `colors` (N, 3) uint8 RGB."""

    points: np.ndarray
    colors: np.ndarray | None = None


@runtime_checkable
class RGBCameraLike(Protocol):
    """The least a hosted camera offers: grab, RGB image, intrinsics, resolution and fps."""

    def grab_images(self) -> None: ...

    def retrieve_rgb_image_as_int(self) -> np.ndarray: ...

    def intrinsics_matrix(self) -> np.ndarray: ...

    @property
    def resolution(self) -> tuple[int, int]: ...

    @property
    def fps(self) -> float: ...


def check_view(view: str) -> None:
    """Raises ValueError unless `view` is 'left' or 'right'."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")


class CameraState:
    """The read-only state a camera of this package keeps, as properties of the camera interface.

    A subclass sets `_resolution`, `_fps` and `_pose_right_in_left` when it opens, and `_frame_id` and
    `_capture_timestamp` on every grab.
    """

    # The view names as attributes, as the toolkit's stereo cameras carry them (`camera.RIGHT_RGB`).
    LEFT_RGB: ClassVar[str] = LEFT_RGB
    RIGHT_RGB: ClassVar[str] = RIGHT_RGB
    _VIEWS: ClassVar[tuple[str, str]] = (LEFT_RGB, RIGHT_RGB)

    _resolution: tuple[int, int]
    _fps: float
    _pose_right_in_left: np.ndarray
    _frame_id: int = 0
    _capture_timestamp: float = 0.0

    @property
    def resolution(self) -> tuple[int, int]:
        """(width, height) in pixels of each view."""
        return self._resolution

    @property
    def fps(self) -> float:
        """Frames per second."""
        return self._fps

    @property
    def frame_id(self) -> int:
        """Number of the last grabbed frame, starting at 1 (0 before the first grab)."""
        return self._frame_id

    @property
    def capture_timestamp(self) -> float:
        """Capture time of the last grabbed frame, in seconds since the epoch."""
        return self._capture_timestamp

    @property
    def pose_of_right_view_in_left_view(self) -> np.ndarray:
        """4x4 homogeneous pose of the right view in the left optical frame."""
        return self._pose_right_in_left.copy()
