"""The depth view: a depth map as a colour image, for viewers that cannot show float depth (rviz2's Image display).

rviz2 shows a 32FC1 depth image black (ros2/rviz#969), so the bridge also publishes `depth/image_vis`, rgb8, made
here. Depths from `depth_min` to `depth_max` metres spread over a colour map, the nearest at its top end (near is
bright, as in the package's gray `depth_visualisation`); nearer depths take its top colour, farther ones its bottom
colour, and unknown depth (NaN, inf, zero or negative) is black. Each pixel becomes an index into a 256-colour table
(0 unknown, 1 to 255 the colour map), which `cv2.applyColorMap` looks up in one pass: no per-pixel Python work.

This module imports no ROS package; OpenCV is imported when a `DepthColouring` is made (the first subscriber).
"""

from __future__ import annotations

import numpy as np

COLORMAPS = ("turbo", "jet", "viridis", "inferno", "magma", "plasma", "bone", "gray")
"""Colour maps of the depth view: OpenCV's `COLORMAP_<NAME>`, and gray (near is white, as `depth_visualisation`)."""
UNKNOWN = 0
"""Table index of unknown depth (black); known depths use 1 (farthest) to 255 (nearest)."""


def check_range(depth_min: float, depth_max: float) -> None:
    """Raises ValueError unless 0 <= depth_min < depth_max, both finite."""
    if not (np.isfinite(depth_min) and np.isfinite(depth_max) and 0.0 <= depth_min < depth_max):
        raise ValueError(
            f"the depth view's range must satisfy 0 <= depth_min < depth_max (metres), got {depth_min!r} to "
            f"{depth_max!r}"
        )


def colormap_table(colormap: str) -> np.ndarray:
    """256 x 3 uint8 RGB colours by table index: 0 black (unknown depth), 1 to 255 the colour map, low to high.

    Raises:
        ValueError: for a colour map not in COLORMAPS.
    """
    if colormap not in COLORMAPS:
        raise ValueError(f"colormap must be one of {', '.join(COLORMAPS)}, got {colormap!r}")
    table = np.zeros((256, 3), np.uint8)
    if colormap == "gray":  # index i is gray level i, as `depth_visualisation` draws it
        table[1:] = np.arange(1, 256, dtype=np.uint8)[:, None]
        return table
    import cv2  # opencv-python-headless

    # Indices 1..255 sample the whole colour map, its lowest and its highest colour included.
    levels = np.rint(np.linspace(0.0, 255.0, 255)).astype(np.uint8)
    bgr = cv2.applyColorMap(levels.reshape(-1, 1), getattr(cv2, f"COLORMAP_{colormap.upper()}"))
    table[1:] = bgr.reshape(-1, 3)[:, ::-1]
    return table


class DepthColouring:
    """Colours depth maps (float32 metres) into HxWx3 uint8 RGB, reusing its scratch arrays frame after frame.

    Args:
        depth_min: metres shown in the top colour of the map (nearer depths too).
        depth_max: metres shown in its bottom colour (farther depths too).
        colormap: one of COLORMAPS.

    Raises:
        ValueError: for a range that is not 0 <= depth_min < depth_max, or an unknown colour map.
    """

    def __init__(self, depth_min: float, depth_max: float, colormap: str = "turbo") -> None:
        import cv2  # opencv-python-headless

        check_range(depth_min, depth_max)
        self._cv2 = cv2
        self.depth_min, self.depth_max = float(depth_min), float(depth_max)
        self.colormap = colormap
        self.table = colormap_table(colormap)
        self._lut = np.ascontiguousarray(self.table.reshape(256, 1, 3))  # applyColorMap's user colour map
        self._scale = np.float32(254.0 / (self.depth_max - self.depth_min))
        self._scratch = np.empty(0, np.float32)
        self._known = np.empty(0, bool)
        self._indices = np.empty(0, np.uint8)

    def indices(self, depth: np.ndarray) -> np.ndarray:
        """HxW uint8 table indices of a depth map: 0 unknown, 1 at or beyond depth_max, 255 at or before depth_min.

        The array is reused by the next call.
        """
        if self._scratch.shape != depth.shape:
            self._scratch = np.empty(depth.shape, np.float32)
            self._known = np.empty(depth.shape, bool)
            self._indices = np.empty(depth.shape, np.uint8)
        scratch, known = self._scratch, self._known
        # 1 + 254 (max - d) / (max - min), clipped to 1..255, rounded down; infinities end at 1 or 255 here and
        # are set to unknown below with NaN and non-positive depths.
        np.subtract(np.float32(self.depth_max), depth, out=scratch)
        np.multiply(scratch, self._scale, out=scratch)
        np.add(scratch, np.float32(1.0), out=scratch)
        np.clip(scratch, 1.0, 255.0, out=scratch)
        np.isfinite(depth, out=known)
        np.logical_and(known, depth > 0.0, out=known)
        np.copyto(scratch, UNKNOWN, where=~known)
        np.copyto(self._indices, scratch, casting="unsafe")
        return self._indices

    def apply(self, depth: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """HxWx3 uint8 RGB view of `depth` (HxW metres), written into `out` when given (e.g. a message's storage)."""
        if depth.ndim != 2:
            raise ValueError(f"a depth map is HxW, got shape {depth.shape}")
        if out is None:
            out = np.empty((*depth.shape, 3), np.uint8)
        elif out.shape != (*depth.shape, 3) or out.dtype != np.uint8 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a contiguous {(*depth.shape, 3)} uint8 array, got {out.dtype} {out.shape}")
        indices = self.indices(depth)
        self._cv2.applyColorMap(indices, self._lut, dst=out)
        return out
