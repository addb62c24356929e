"""Buffers: POD dataclasses of fixed-shape numpy arrays (airo-ipc `BaseIdl`), layout only.

A publisher maps one instance of each onto every shared-memory slot and writes it in place; a
receiver keeps its own copies. Shapes follow the camera resolution (width W, height H).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from airo_ipc.cyclone_shm.idl_shared_memory.base_idl import BaseIdl


@dataclass
class CameraMetadataBuffer(BaseIdl):
    """Per-frame metadata: frame id, capture time, left intrinsics, distortion, resolution and fps."""

    frame_id: np.ndarray  # (1,) uint64
    timestamp: np.ndarray  # (1,) float64, capture time in seconds since the epoch
    intrinsics: np.ndarray  # (3, 3) float64
    distortion: np.ndarray  # (5,) float64, plumb-bob k1 k2 t1 t2 k3
    resolution: np.ndarray  # (2,) int32, width and height
    fps: np.ndarray  # (1,) float64


@dataclass
class RGBFrameBuffer(BaseIdl):
    """The left RGB image."""

    rgb: np.ndarray  # (H, W, 3) uint8


@dataclass
class DepthFrameBuffer(BaseIdl):
    """Depth in metres."""

    depth_map: np.ndarray  # (H, W) float32


@dataclass
class DepthImageBuffer(BaseIdl):
    """The camera's own visualisation of the depth (e.g. the ZED SDK's depth view)."""

    depth_image: np.ndarray  # (H, W, 3) uint8


@dataclass
class ConfidenceFrameBuffer(BaseIdl):
    """Depth confidence (ZED convention: 1 is most confident, 100 least)."""

    confidence_map: np.ndarray  # (H, W) float32


@dataclass
class PointCloudBuffer(BaseIdl):
    """A colored point cloud of at most H*W points; the first `point_count` are valid."""

    points: np.ndarray  # (H*W, 3) float32
    colors: np.ndarray  # (H*W, 3) uint8
    point_count: np.ndarray  # (1,) int64


@dataclass
class StereoRGBFrameBuffer(BaseIdl):
    """The right view: its RGB image, intrinsics, and pose in the left view."""

    rgb_right: np.ndarray  # (H, W, 3) uint8
    intrinsics_right: np.ndarray  # (3, 3) float64
    pose_right_in_left: np.ndarray  # (4, 4) float64


# The camera's own layouts (in-place retrieval, cameras/in_place.py): what a ZED SDK delivers, written into the
# slot by the camera itself. Each offers the familiar fields above as views (properties, no copy), so a borrowed
# frame or a mixin reads either layout alike; a copying receiver converts while it copies (schemas.py).
@dataclass
class BGRAFrameBuffer(BaseIdl):
    """The left image as the camera delivers it, BGRA; `rgb` is an RGB view of it."""

    bgra: np.ndarray  # (H, W, 4) uint8

    @property
    def rgb(self) -> np.ndarray:
        """HxWx3 RGB view of `bgra` (channels reversed by strides, no copy)."""
        return self.bgra[..., 2::-1]


@dataclass
class BGRADepthImageBuffer(BaseIdl):
    """The camera's depth visualisation as it delivers it, BGRA; `depth_image` is an RGB view of it."""

    depth_image_bgra: np.ndarray  # (H, W, 4) uint8

    @property
    def depth_image(self) -> np.ndarray:
        """HxWx3 RGB view of `depth_image_bgra`."""
        return self.depth_image_bgra[..., 2::-1]


@dataclass
class XYZRGBAPointCloudBuffer(BaseIdl):
    """An organised cloud as the ZED SDK delivers it: x, y, z and the color's 4 bytes R, G, B, A in a 4th float."""

    xyzrgba: np.ndarray  # (H*W, 4) float32
    point_count: np.ndarray  # (1,) int64

    @property
    def points(self) -> np.ndarray:
        """(N, 3) float32 view of x, y, z."""
        return self.xyzrgba[:, :3]

    @property
    def colors(self) -> np.ndarray:
        """(N, 3) uint8 view of R, G, B (the 4th float reinterpreted as bytes, not converted)."""
        return self.xyzrgba.view(np.uint8)[:, 12:15]


@dataclass
class BGRAStereoFrameBuffer(BaseIdl):
    """The right view with its image as the camera delivers it, BGRA; `rgb_right` is an RGB view of it."""

    bgra_right: np.ndarray  # (H, W, 4) uint8
    intrinsics_right: np.ndarray  # (3, 3) float64
    pose_right_in_left: np.ndarray  # (4, 4) float64

    @property
    def rgb_right(self) -> np.ndarray:
        """HxWx3 RGB view of `bgra_right`."""
        return self.bgra_right[..., 2::-1]
