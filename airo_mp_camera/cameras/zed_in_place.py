"""In-place retrieval for the ZED (cameras/in_place.py): the SDK's device-to-host copy lands in the slot.

From SDK 5.3.1 on, `Mat.init_mat_cpu(width, height, mat_type, ptr, step, memory_type)` wraps external memory
given by its address (before, `ptr` had to be a str: the wrapper called `ptr.encode()`), and
`retrieve_image`/`retrieve_measure` write into a Mat whose type and size match instead of reallocating it.
So a `ZedCamera` wraps every slot array the publisher hands it in a Mat once (address and row step of the
slot) and retrieves into it. After each retrieve it checks that the SDK wrote there (`get_pointer()` equals
the slot's address); where it did not (the SDK reallocated the Mat), that stream falls back, logged once, to
the copy every camera gets: it is then retrieved into the SDK's own Mat, and the publisher copies it from
`retrieve_*()` on every frame (`CameraPublisher.copies_made` counts those copies).

The slot holds what the SDK delivers: BGRA images (left, right, depth view), float32 depth and confidence,
the XYZRGBA cloud (the color's bytes in the 4th float). Checked against the SDK's Python source
(stereolabs/zed-python-api `src/pyzed/sl.pyx` at 5.3.1 and 5.4) and against the test double only: no real
ZED ran this. Whether the SDK's transfer into pageable shared memory is as fast as into its own pinned
memory only hardware shows (README, "In-place retrieval").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

IN_PLACE_SINCE = (5, 3, 1)
"""The first SDK whose `Mat.init_mat_cpu` wraps memory given by its address."""


@dataclass(frozen=True)
class _Stream:
    """How one schema is retrieved in place: the slot field, the SDK's VIEW or MEASURE, the Mat type."""

    field: str
    what: str  # "VIEW.LEFT", "MEASURE.DEPTH", ...
    mat_type: str  # a MAT_TYPE member
    needs_depth: bool


STREAMS = {
    "rgb": _Stream("bgra", "VIEW.LEFT", "U8_C4", False),
    "stereo": _Stream("bgra_right", "VIEW.RIGHT", "U8_C4", False),
    "depth_image": _Stream("depth_image_bgra", "VIEW.DEPTH", "U8_C4", True),
    "depth": _Stream("depth_map", "MEASURE.DEPTH", "F32_C1", True),
    "confidence": _Stream("confidence_map", "MEASURE.CONFIDENCE", "F32_C1", True),
    "point_cloud": _Stream("xyzrgba", "MEASURE.XYZRGBA", "F32_C4", True),
}
LAYOUTS = {
    "rgb": "bgra8",
    "stereo": "bgra8",
    "depth_image": "bgra8",
    "depth": "32FC1",
    "confidence": "32FC1",
    "point_cloud": "xyzrgba",
}

# retrieve(mat, what, measure) -> None, raising on an SDK error; what the ZedCamera's own retrieves do.
Retrieve = Callable[[Any, Any, bool], None]


class ZedSlotRetrieval:
    """The ZED's in-place retrieval: a Mat over each slot array it is handed, and the fallback to copying.

    Args:
        sl: the `pyzed.sl` module.
        version: the SDK's version as numbers, e.g. (5, 4, 0).
        source: the camera's name, for log messages.
        resolution: (width, height) of the camera's images (a cloud's Mat is an image of that size).
        depth: whether depth (and so depth view, confidence and cloud) is computed.
        enabled: the user's choice (`ZedCamera(in_place=...)`); in-place retrieval also needs SDK >= 5.3.1.

    """

    def __init__(
        self,
        sl: Any,
        version: tuple[int, ...],
        source: str,
        resolution: tuple[int, int],
        depth: bool,
        enabled: bool = True,
    ) -> None:
        self._sl = sl
        self.resolution = resolution
        self._source = source
        self.version = version
        self.active = bool(enabled) and self.version >= IN_PLACE_SINCE
        if enabled and not self.active:
            logger.info(
                "%s: ZED SDK %s cannot retrieve into shared memory (needs %s); the publisher copies each frame",
                source,
                ".".join(map(str, self.version)),
                ".".join(map(str, IN_PLACE_SINCE)),
            )
        self._depth = depth
        self._mats: dict[tuple[str, int], Any] = {}  # (schema, slot address) -> the Mat wrapping that array
        self.fallen_back: set[str] = set()  # schemas the SDK would not write in place: copied from now on
        self.in_place_writes = 0

    def slot_layouts(self) -> dict[str, str]:
        """The layouts written in place (none before SDK 5.3.1 or with `in_place=False`)."""
        if not self.active:
            return {}
        return {name: LAYOUTS[name] for name, stream in STREAMS.items() if self._depth or not stream.needs_depth}

    def retrieve_into(self, buffers: Mapping[str, Any], retrieve: Retrieve) -> Collection[str]:
        """Retrieves each stream into the Mat over its slot array; returns the schemas the SDK wrote there."""
        written = []
        for name, buffer in buffers.items():
            stream = STREAMS.get(name)
            if stream is None or name in self.fallen_back:
                continue
            array = getattr(buffer, stream.field)
            address = int(array.ctypes.data)
            mat = self._mats.get((name, address))
            if mat is None:
                mat = self._mats[(name, address)] = self._wrap(array, stream)
            kind, member = stream.what.split(".")
            retrieve(mat, getattr(getattr(self._sl, kind), member), kind == "MEASURE")
            pointer = int(mat.get_pointer(self._sl.MEM.CPU))
            if pointer != address:
                self.fallen_back.add(name)
                logger.warning(
                    "%s: the ZED SDK did not retrieve '%s' into shared memory (its Mat was reallocated: at %#x, "
                    "not the slot's %#x); it is copied into the slot from now on",
                    self._source,
                    name,
                    pointer,
                    address,
                )
                continue
            if name == "point_cloud":
                buffer.point_count[0] = len(array)
            written.append(name)
            self.in_place_writes += 1
        return written

    def _wrap(self, array: np.ndarray, stream: _Stream) -> Any:
        """A Mat over a slot array: its address, size and row step (a cloud is an image of width x height)."""
        if stream.field == "xyzrgba":
            height, width = self._cloud_shape(len(array))
            step = width * array.strides[0]
        else:
            height, width = array.shape[:2]
            step = array.strides[0]
        mat = self._sl.Mat()
        mat_type = getattr(self._sl.MAT_TYPE, stream.mat_type)
        mat.init_mat_cpu(int(width), int(height), mat_type, int(array.ctypes.data), int(step), self._sl.MEM.CPU)
        return mat

    def _cloud_shape(self, points: int) -> tuple[int, int]:
        """Height and width of the cloud's image: the camera's resolution."""
        width, height = self.resolution
        if width * height != points:
            raise ValueError(f"{self._source}: a cloud slot of {points} points does not fit {width}x{height}")
        return height, width

    def forget(self) -> None:
        """Drops every Mat (the camera closed or reopened; the slots stay the publisher's)."""
        self._mats.clear()
