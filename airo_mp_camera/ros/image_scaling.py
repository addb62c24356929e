"""Smaller images for a slow link: a frame scaled down, and its camera_info scaled to match.

The camera_info follows image_proc's resize node: width and height become the scaled image's; fx, cx of K and
fx, cx, Tx of P scale with the width, fy, cy with the height; the region of interest scales likewise; binning
and distortion are left as they are. Colour images are averaged over the pixels they shrink (OpenCV's
INTER_AREA); depth takes the nearest pixel, so that no depth is a mix of a foreground and a background one.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import CameraInfo


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """(width, height) of an image scaled by `scale` (truncated, as image_proc's resize; at least 1 pixel)."""
    return max(int(width * scale), 1), max(int(height * scale), 1)


class ImageScaler:
    """Scales images by a fixed factor into storage kept between frames.

    Args:
        scale: the factor, in (0, 1]; 1 returns images unchanged.
        nearest: take the nearest pixel (depth) instead of averaging (colour).
    """

    def __init__(self, scale: float, nearest: bool = False) -> None:
        import cv2  # opencv-python-headless; only needed when an image is scaled

        if not 0.0 < scale <= 1.0:
            raise ValueError(f"an image scale must be in (0, 1], got {scale}")
        self._cv2 = cv2
        self.scale = scale
        self._interpolation = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
        self._out = np.empty(0, np.uint8)

    def scale_image(self, pixels: np.ndarray) -> np.ndarray:
        """`pixels` (HxW or HxWxC) scaled down; the result is overwritten by the next call."""
        if self.scale == 1.0:
            return pixels
        height, width = pixels.shape[:2]
        size = scaled_size(width, height, self.scale)
        shape = (size[1], size[0], *pixels.shape[2:])
        if self._out.shape != shape or self._out.dtype != pixels.dtype:
            self._out = np.empty(shape, pixels.dtype)
        if not pixels.flags.c_contiguous:  # e.g. RGB as a view of a BGRA slot: OpenCV needs positive strides
            pixels = np.ascontiguousarray(pixels)
        self._cv2.resize(pixels, size, dst=self._out, interpolation=self._interpolation)
        return self._out


def scale_camera_info(info: CameraInfo, width: int, height: int) -> CameraInfo:
    """`info` changed in place to describe its image scaled to `width` x `height` (as image_proc's resize)."""
    scale_x, scale_y = width / info.width, height / info.height
    k, p = list(info.k), list(info.p)
    for i in (0, 2):
        k[i] *= scale_x
    for i in (4, 5):
        k[i] *= scale_y
    for i in (0, 2, 3):
        p[i] *= scale_x
    for i in (5, 6):
        p[i] *= scale_y
    info.k, info.p = k, p
    info.width, info.height = int(width), int(height)
    roi = info.roi
    roi.x_offset, roi.width = int(roi.x_offset * scale_x), int(roi.width * scale_x)
    roi.y_offset, roi.height = int(roi.y_offset * scale_y), int(roi.height * scale_y)
    return info
