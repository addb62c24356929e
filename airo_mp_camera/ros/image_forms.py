"""The form each image stream is sent in: its scale, and the JPEG quality of rgb and right.

The local bridge sends every image full size at `compressed.jpeg_quality`; the remote bridge's forms are set by its
parameters or chosen by its link (ros/link_policy.py), which sets them from its own thread between two frames.
"""

from __future__ import annotations

import numpy as np

from airo_mp_camera.ros.image_scaling import ImageScaler
from airo_mp_camera.ros.parameters import BridgeConfig

SCALED_LIKE = {"rgb": "rgb", "right": "rgb", "depth": "depth"}
"""Which form each image stream takes: right is sent in rgb's form; the other streams always full size."""


class ImageForms:
    """The scales of rgb (and right) and depth, and the JPEG quality of rgb and right, with their scalers.

    Args:
        config: the bridge's config (`image_scale`, `depth_scale`, `jpeg_quality`; a scale of 0 is the remote link's
            to choose and means full size until it does).
    """

    def __init__(self, config: BridgeConfig) -> None:
        self.jpeg_quality = config.jpeg_quality
        self._scales = {"rgb": config.image_scale, "depth": config.depth_scale}
        self._scalers: dict[str, ImageScaler] = {}

    def set_rgb(self, jpeg_quality: int, scale: float) -> None:
        """Rgb's (and right's) form from the next frame on."""
        self.jpeg_quality = jpeg_quality
        self._scales["rgb"] = scale

    def set_depth_scale(self, scale: float) -> None:
        """Depth's scale from the next frame on."""
        self._scales["depth"] = scale

    def scaler(self, stream: str) -> ImageScaler | None:
        """The scaler of a stream's smaller form (None: full size)."""
        form = SCALED_LIKE.get(stream)
        scale = self._scales[form] if form is not None else 1.0
        if scale in (0.0, 1.0):
            return None
        scaler = self._scalers.get(stream)
        if scaler is None or scaler.scale != scale:
            scaler = self._scalers[stream] = ImageScaler(scale, nearest=stream == "depth")
        return scaler

    def scaled(self, stream: str, pixels: np.ndarray) -> np.ndarray:
        """A stream's image in its current form (overwritten by the stream's next scaled image)."""
        scaler = self.scaler(stream)
        return pixels if scaler is None else scaler.scale_image(pixels)
