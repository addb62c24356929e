"""Images of recorded messages as numpy arrays: sensor_msgs/Image encodings and image_transport's codecs.

Raw images (sensor_msgs/Image): rgb8, bgr8, rgba8, bgra8 and mono8 for colour; 32FC1 (metres), 16UC1 and
mono16 (millimetres, 0 = unknown) for depth; 32FC1 for a confidence map. Rows may be padded (`step` larger
than a row) and big-endian.

Compressed images (sensor_msgs/CompressedImage), told apart by their `format` string:
- image_transport's `compressed` plugin: "<encoding>; jpeg compressed <target>" or "...; png compressed ..."
  (older writers: just "jpeg" or "png"), decoded with OpenCV. Colour is stored as BGR by the plugin;
  a 16-bit PNG (16UC1 or mono16 source) is depth in millimetres.
- its `compressedDepth` plugin: "<encoding>; compressedDepth [png|rvl]", decoded by
  `airo_mp_camera.codecs.compressed_depth` (inverse-depth 32FC1 or 16UC1 millimetres).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

_RAW_LAYOUTS: dict[str, tuple[str, int]] = {
    "rgb8": ("u1", 3),
    "bgr8": ("u1", 3),
    "rgba8": ("u1", 4),
    "bgra8": ("u1", 4),
    "mono8": ("u1", 1),
    "8UC1": ("u1", 1),
    "32FC1": ("f4", 1),
    "16UC1": ("u2", 1),
    "mono16": ("u2", 1),
}
RGB_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8")
DEPTH_ENCODINGS = ("32FC1", "16UC1", "mono16")


def is_compressed(message: Any) -> bool:
    """Whether a message is a sensor_msgs/CompressedImage (it has a `format`, an Image has an `encoding`)."""
    return hasattr(message, "format") and not hasattr(message, "encoding")


def is_compressed_depth(message: Any) -> bool:
    """Whether a CompressedImage is in image_transport's compressedDepth format."""
    return is_compressed(message) and "compresseddepth" in str(message.format).lower()


def _cv2() -> ModuleType:
    try:
        import cv2
    except ImportError as error:
        raise ImportError("decoding compressed images needs OpenCV: `pip install opencv-python-headless`") from error
    return cv2


def decode_image(message: Any) -> np.ndarray:
    """HxWxC (C > 1) or HxW native-endian array of a sensor_msgs/Image.

    A view of the message's data when its rows are unpadded, otherwise a compact copy (numpy < 1.23
    cannot `view` a row slice that is not contiguous).
    """
    layout = _RAW_LAYOUTS.get(message.encoding)
    if layout is None:
        raise ValueError(f"unsupported image encoding {message.encoding!r}; expected one of {sorted(_RAW_LAYOUTS)}")
    kind, channels = layout
    dtype = np.dtype(kind).newbyteorder(">" if message.is_bigendian else "<")
    height, width, step = int(message.height), int(message.width), int(message.step)
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes or len(message.data) < step * height:
        raise ValueError(
            f"{message.encoding} image of {width}x{height} has inconsistent step {step} for {len(message.data)} bytes"
        )
    rows = np.frombuffer(message.data, dtype=np.uint8, count=step * height).reshape(height, step)
    if step != row_bytes:
        rows = np.ascontiguousarray(rows[:, :row_bytes])
    pixels = rows.view(dtype)
    if not dtype.isnative:
        pixels = pixels.astype(dtype.newbyteorder("="))
    return pixels.reshape(height, width, channels) if channels > 1 else pixels.reshape(height, width)


def source_encoding(message: Any) -> str:
    """The encoding a CompressedImage was made from ("rgb8" of "rgb8; jpeg compressed bgr8"); "" if unknown."""
    text = str(message.format)
    return text.split(";", 1)[0].strip() if ";" in text else ""


def decode_compressed(message: Any) -> np.ndarray:
    """The image of a `compressed` CompressedImage as OpenCV decodes it: HxW, HxWx3 BGR or HxWx4 BGRA."""
    cv2 = _cv2()
    data = np.frombuffer(message.data, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"OpenCV cannot decode a CompressedImage of format {message.format!r} ({len(data)} bytes)")
    decoded: np.ndarray = image
    return decoded


def decode_rgb(message: Any) -> np.ndarray:
    """HxWx3 uint8 RGB of an Image (rgb8/bgr8/rgba8/bgra8/mono8) or a `compressed` CompressedImage."""
    if is_compressed(message):
        if is_compressed_depth(message):
            raise ValueError(f"a compressedDepth image ({message.format!r}) is not an RGB image")
        image = decode_compressed(message)
        if image.dtype != np.uint8:
            raise ValueError(f"CompressedImage of format {message.format!r} is {image.dtype}, not an 8-bit image")
        if image.ndim == 2:
            return np.repeat(image[..., None], 3, axis=-1)
        return np.ascontiguousarray(image[..., 2::-1])  # BGR(A), as the compressed plugin stores colour
    pixels = decode_image(message)
    encoding = message.encoding
    if encoding in ("rgb8", "rgba8"):
        return pixels[..., :3]
    if encoding in ("bgr8", "bgra8"):
        return pixels[..., 2::-1]
    if encoding in ("mono8", "8UC1"):
        return np.repeat(pixels[..., None], 3, axis=-1)
    raise ValueError(f"an RGB image must be one of {', '.join(RGB_ENCODINGS)}, got {encoding!r}")


def _millimetres_to_metres(pixels: np.ndarray) -> np.ndarray:
    metres = pixels.astype(np.float32) / np.float32(1000.0)
    metres[pixels == 0] = np.nan
    return metres


def decode_depth(message: Any) -> np.ndarray:
    """HxW float32 metres (NaN where unknown) of a depth image.

    Accepted: Image 32FC1 (metres) or 16UC1 / mono16 (millimetres, 0 = unknown); a compressedDepth
    CompressedImage (PNG or RVL); a `compressed` 16-bit PNG (millimetres).
    """
    if is_compressed_depth(message):
        from airo_mp_camera.codecs.compressed_depth import decode_compressed_depth

        depth = decode_compressed_depth(str(message.format), message.data)
        if depth.dtype == np.uint16:
            return _millimetres_to_metres(depth)
        return depth.astype(np.float32, copy=False)
    if is_compressed(message):
        image = decode_compressed(message)
        if image.dtype != np.uint16 or image.ndim != 2:
            raise ValueError(
                f"a compressed depth image must be a 16-bit single-channel PNG (millimetres); "
                f"format {message.format!r} decodes to {image.dtype} {image.shape}"
            )
        return _millimetres_to_metres(image)
    pixels = decode_image(message)
    if message.encoding == "32FC1":
        return pixels.astype(np.float32, copy=False)
    if message.encoding in ("16UC1", "mono16"):
        return _millimetres_to_metres(pixels)
    raise ValueError(f"a depth image must be 32FC1 (metres) or 16UC1/mono16 (millimetres), got {message.encoding!r}")


def decode_confidence(message: Any) -> np.ndarray:
    """HxW float32 confidence map of a 32FC1 image (ZED convention: 1 most confident, 100 least)."""
    if is_compressed(message):
        raise ValueError(f"a confidence map must be a raw 32FC1 image, got a CompressedImage ({message.format!r})")
    pixels = decode_image(message)
    if message.encoding != "32FC1":
        raise ValueError(f"a confidence map must be 32FC1, got {message.encoding!r}")
    return pixels.astype(np.float32, copy=False)
