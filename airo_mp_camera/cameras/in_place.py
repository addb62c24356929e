"""In-place retrieval: a camera writes its frame straight into the shared-memory slot the publisher hands it.

A hosted camera normally returns its frame from `retrieve_*()` and the publisher copies it into a slot (one
copy: the toolkit's cameras, and ours by default). A camera that can write into memory it is given (the ZED
SDK's `Mat.init_mat_cpu` over external memory, SDK >= 5.3.1) may instead offer the two methods below, beside
the toolkit interface. The publisher detects them (`in_place_layouts`), allocates those schemas' slots in
the camera's own layout, and on every frame:

1. grabs (`grab_images()`), claims a slot (its sequence odd: readers see it as being written);
2. calls `retrieve_into(buffers)` with the slot's writable buffers of the in-place schemas that some live
   receiver reads this frame (schema name -> buffer of `pipeline/buffers.py`, e.g. a `BGRAFrameBuffer` whose
   `bgra` is the slot's HxWx4 array; its address `bgra.ctypes.data`, its row step `bgra.strides[0]`);
3. copies, as for any camera, every schema the camera did not report as written (the fallback, e.g. when the
   SDK reallocated a Mat instead of writing into the slot), then completes the frame (sequence even).

So a camera may write into a slot only inside `retrieve_into`, only into the buffers of that call, and must
return only the names it wrote completely; the sequence lock around the call keeps frames untorn, and a
slot a receiver borrows is never handed out. A camera that stamps watermarks (cameras/watermark.py) stamps
the slot's familiar views (e.g. `buffer.rgb`), so receivers check them alike on either layout.

Layouts a camera may ask for, per schema name (the schema's `layouts`): "rgb" "bgra8"; "depth_image" "bgra8";
"stereo" "bgra8"; "point_cloud" "xyzrgba" (x, y, z float32 and the color's bytes R, G, B, A as a 4th float);
"depth" "32FC1" and "confidence" "32FC1" (the familiar layout, written in place).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class InPlaceRetrieval(Protocol):
    """What a camera offers, beside the camera interface, to retrieve straight into shared-memory slots."""

    def slot_layouts(self) -> Mapping[str, str]:
        """Schema name -> the layout this camera writes in place (asked once, after the camera opened).

        An empty mapping: the camera does not retrieve in place (the publisher copies, as for any camera).
        """
        ...

    def retrieve_into(self, buffers: Mapping[str, Any]) -> Collection[str]:
        """Writes the grabbed frame's data of these schemas into their slot buffers; returns the names written.

        Called once per frame after `grab_images()`, with a subset of `slot_layouts()`'s schemas. A schema
        left out of the result is copied by the publisher from `retrieve_*()` into the same buffer.
        """
        ...


def in_place_layouts(camera: Any, schema_names: Collection[str]) -> dict[str, str]:
    """The layouts a camera writes in place, for the schemas a publisher writes ({} for an ordinary camera).

    Raises:
        TypeError: the camera offers only one of the two methods, or `slot_layouts()` is not a mapping.

    """
    has_layouts, has_retrieve = hasattr(camera, "slot_layouts"), hasattr(camera, "retrieve_into")
    if not (has_layouts or has_retrieve):
        return {}
    if not (has_layouts and has_retrieve):
        raise TypeError(
            f"{type(camera).__name__} offers only one of slot_layouts() and retrieve_into(); in-place retrieval "
            "needs both (see airo_mp_camera.cameras.in_place)"
        )
    layouts = camera.slot_layouts()
    if not isinstance(layouts, Mapping):
        raise TypeError(f"{type(camera).__name__}.slot_layouts() must return a mapping, not {type(layouts).__name__}")
    return {str(name): str(layout) for name, layout in layouts.items() if name in schema_names}
