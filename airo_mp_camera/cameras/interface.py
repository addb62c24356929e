"""The camera interface that publishers host and receivers expose (airo-camera-toolkit method names).

Nothing here imports airo-camera-toolkit: any class with these methods can be hosted by a
`CameraPublisher`, including the toolkit's own cameras.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

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
