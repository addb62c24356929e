"""The camera interface's depth image (`retrieve_depth_image()`), rendered from a depth map.

Cameras that have no depth image of their own (a replayed bag) and receivers that do not read one
(DepthImageSchema off) both render it here, so the two look the same.
"""

from __future__ import annotations

import numpy as np


def depth_visualisation(depth: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 gray image of a depth map: near is bright, unknown depth is black."""
    finite = np.isfinite(depth) & (depth > 0)
    if not finite.any():
        return np.zeros((*depth.shape, 3), dtype=np.uint8)
    near, far = float(depth[finite].min()), float(depth[finite].max())
    scaled = (far - np.where(finite, depth, far)) * (255.0 / max(far - near, 1e-6))
    gray = np.where(finite, np.clip(scaled, 1, 255), 0).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=-1)
