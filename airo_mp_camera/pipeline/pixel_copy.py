"""One copy of a frame array, fast also where it converts a camera's layout (BGRA, XYZRGBA) to the familiar one.

numpy copies a channel-reversed view (`bgra[..., 2::-1]`, strides (row, 4, -1)) element by element: about
16 ms for a 1080p image here, 40 times a memcpy; likewise 3 of every 4 elements (the points and colors of an
XYZRGBA cloud: 12 and 16 ms for 2 M points). OpenCV's BGRA -> RGB and BGRA -> BGR conversions do the same in
one vectorised pass (about 0.5 ms for the image); without OpenCV (it is the `compressed` extra), per-channel
copies. Everything else is `np.copyto`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

_cv2: Any = None
_cv2_checked = False


def _opencv() -> Any:
    """cv2 (opencv-python-headless, the `compressed` extra) when installed, imported on first use; else None."""
    global _cv2, _cv2_checked
    if not _cv2_checked:
        _cv2_checked = True
        try:
            import cv2

            _cv2 = cv2
        except ImportError:
            _cv2 = None
    return _cv2


def _bgra_behind(rgb: np.ndarray, writeable: bool = False) -> np.ndarray | None:
    """The BGRA image an RGB view was taken from, or None when `rgb` is no such view."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[-1] != 3 or rgb.strides[1:] != (4, -1):
        return None
    bgr = rgb[..., ::-1]  # starts at the B byte of the first pixel: strides (row, 4, 1)
    return as_strided(bgr, shape=(*rgb.shape[:2], 4), strides=(rgb.strides[0], 4, 1), writeable=writeable)


def _quads_behind(triples: np.ndarray) -> np.ndarray | None:
    """The 4 elements behind an (N, 3) view of 3 of them in 16-byte rows, as one (1, N, 4) image; else None.

    Such views are an XYZRGBA cloud's points and its colors' bytes.

    Points are a float32 image as they lie (no copy); the colors' 4 bytes are gathered first (one strided pass
    of 4-byte words, which numpy does fast).
    """
    if triples.ndim != 2 or triples.shape[1] != 3 or triples.strides != (16, triples.itemsize) or not len(triples):
        return None
    root = triples
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not root.flags.c_contiguous or triples.dtype not in (np.uint8, np.float32):
        return None
    start = triples.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    if start < 0 or start + (len(triples) - 1) * 16 + 4 * triples.itemsize > root.nbytes:
        return None  # the last row's 4th element must lie in the same memory
    if triples.dtype == np.float32:
        return as_strided(triples, shape=(1, len(triples), 4), strides=(0, 16, 4), writeable=False)
    words = np.ndarray((1, len(triples)), "<u4", buffer=root, offset=start, strides=(0, 16))
    return np.ascontiguousarray(words).view(np.uint8).reshape(1, len(triples), 4)


def copy_array(destination: np.ndarray, source: np.ndarray) -> None:
    """`np.copyto(destination, source)`, in one vectorised pass also from a camera's layout (see the module)."""
    if destination.shape == source.shape and not destination.flags.c_contiguous and destination.flags.writeable:
        source_bgra, destination_bgra = _bgra_behind(source), _bgra_behind(destination, writeable=True)
        if source_bgra is not None and destination_bgra is not None:  # BGRA to BGRA (a ZED's copy fallback)
            np.copyto(destination_bgra, source_bgra)
            return
    if destination.shape == source.shape and destination.flags.c_contiguous and not source.flags.c_contiguous:
        cv2 = _opencv()
        bgra = _bgra_behind(source)
        if bgra is not None:
            if cv2 is not None:
                cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGB, dst=destination)
            else:
                for channel in range(3):
                    np.copyto(destination[..., channel], source[..., channel])
            return
        quads = _quads_behind(source)
        if quads is not None and cv2 is not None:
            cv2.cvtColor(quads, cv2.COLOR_BGRA2BGR, dst=destination.reshape(1, len(destination), 3))
            return
    np.copyto(destination, source)
