"""BorrowedFrame: a frame a receiver borrowed from the publisher's ring, read in place through read-only views.

`receiver.borrow()` marks the newest frame's slot as borrowed in the reader table; the publisher then writes
other slots until the frame is released (`release()`, the end of a `with` block, or garbage collection).
The arrays it returns are views of the shared-memory slot: no copy, and not writeable (the receiver maps
frames read-only). After release every accessor raises FrameReleasedError; arrays taken before the
release must not be used any more (numpy cannot revoke a view: they would show later frames).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from airo_ipc.cyclone_shm.idl_shared_memory.base_idl import BaseIdl

from airo_mp_camera.pipeline.errors import FrameReleasedError, SchemaMismatchError
from airo_mp_camera.pipeline.mixins import (
    ConfidenceMixin,
    DepthMixin,
    PointCloudMixin,
    RGBMixin,
    StereoRGBMixin,
)
from airo_mp_camera.pipeline.schemas import (
    ConfidenceSchema,
    DepthImageSchema,
    DepthSchema,
    PointCloudSchema,
    RGBSchema,
    Schema,
    StereoRGBSchema,
)

# Every schema whose mixin a BorrowedFrame has, by name: its buffer attribute.
_FIELDS: dict[str, str] = {
    schema.name: schema.receiver_field
    for schema in (RGBSchema, DepthSchema, ConfidenceSchema, PointCloudSchema, StereoRGBSchema)
}


class _Unavailable:
    """Stands for a buffer a borrowed frame cannot read: any field access raises the given error."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    def __getattr__(self, name: str) -> NoReturn:
        raise self._error


class BorrowedFrame(StereoRGBMixin, RGBMixin, DepthMixin, ConfidenceMixin, PointCloudMixin):
    """One borrowed frame, read in place (see the module docstring).

    It offers the camera interface of the receiver that borrowed it, for the schemas that receiver
    reads: `retrieve_rgb_image_as_int()`, `retrieve_depth_map()`, `retrieve_colored_point_cloud()`, ...,
    `frame_id`, `capture_timestamp`, `resolution`, `intrinsics_matrix()`. Use it as a context manager
    or call `release()`; keep it for as short a time as the work allows: until released, its slot is one the
    publisher cannot use.
    """

    def __init__(
        self, namespace: str, buffers: Mapping[str, BaseIdl], schemas: list[Schema], release: Callable[[], None]
    ) -> None:
        self.namespace = namespace
        self._release = release
        self._released = False
        fields = dict(_FIELDS)
        for schema in schemas:
            fields[schema.name] = schema.receiver_field
            setattr(self, schema.receiver_field, buffers[schema.name])
        reads = {schema.name for schema in schemas}
        for name, field in fields.items():
            if name not in reads:
                setattr(self, field, _Unavailable(self._not_read_error(name)))
        self._fields = list(fields.values())
        if DepthImageSchema.name not in reads:
            self._depth_image_buffer = None  # type: ignore[assignment]  # computed from the depth map

    def _not_read_error(self, schema_name: str) -> SchemaMismatchError:
        return SchemaMismatchError(
            f"this frame of namespace '{self.namespace}' was borrowed by a receiver that does not read "
            f"'{schema_name}'; borrow from a receiver configured with that schema"
        )

    @property
    def frame_id(self) -> int:
        """Id of the frame (from 1 for each publisher instance)."""
        return int(self._camera_buffer.frame_id[0])

    @property
    def capture_timestamp(self) -> float:
        """Capture time of the frame, in seconds since the epoch."""
        return float(self._camera_buffer.timestamp[0])

    @property
    def released(self) -> bool:
        """Whether the frame was released (its slot is the publisher's again)."""
        return self._released

    def _require_frame(self) -> None:
        if self._released:
            raise FrameReleasedError(f"a borrowed frame of namespace '{self.namespace}' was used after release()")

    def release(self) -> None:
        """Releases the frame (its slot is the publisher's again); every accessor raises FrameReleasedError now."""
        if self._released:
            return
        self._released = True
        error = FrameReleasedError(f"a borrowed frame of namespace '{self.namespace}' was used after release()")
        for field in self._fields:
            setattr(self, field, _Unavailable(error))
        self._depth_image_buffer = _Unavailable(error)  # type: ignore[assignment]
        self._release()

    def __enter__(self) -> BorrowedFrame:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:
        try:
            self.release()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "released" if self._released else f"frame {self.frame_id}"
        return f"BorrowedFrame(namespace={self.namespace!r}, {state})"

    def __getstate__(self) -> Any:
        raise TypeError("a borrowed frame cannot be pickled or sent to another process: copy its arrays")
