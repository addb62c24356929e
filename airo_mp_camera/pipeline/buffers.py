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
