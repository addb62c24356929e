"""Schemas: one kind of data each, tied to one buffer type.

A schema allocates its buffer for a resolution, fills it from a camera (in place, straight into shared
memory: one copy), and hands a received buffer to a receiver's field, which its mixin reads.
Which data travels is decided only by the list of schemas given to a publisher and a receiver.

Layouts. A schema's data sits in a slot in one of its `layouts`: the familiar one (the first: RGB images,
points and colors apart), or a camera's own (BGRA images, XYZRGBA clouds), chosen by a camera that retrieves
in place (cameras/in_place.py). The segment's layout names each field, so a receiver learns the layout from
the publisher; every layout's buffer offers the familiar fields (views, no copy), which is all a mixin or a
borrowed frame reads. A copying receiver copies into the familiar layout and so converts in the same pass
(`familiar_views`), or, where asked, keeps the camera's layout verbatim (the ROS bridge's bgra8).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np
from airo_ipc.cyclone_shm.idl_shared_memory.base_idl import BaseIdl

from airo_mp_camera.cameras.interface import RIGHT_RGB
from airo_mp_camera.pipeline.buffers import (
    BGRADepthImageBuffer,
    BGRAFrameBuffer,
    BGRAStereoFrameBuffer,
    CameraMetadataBuffer,
    ConfidenceFrameBuffer,
    DepthFrameBuffer,
    DepthImageBuffer,
    PointCloudBuffer,
    RGBFrameBuffer,
    StereoRGBFrameBuffer,
    XYZRGBAPointCloudBuffer,
)
from airo_mp_camera.pipeline.pixel_copy import copy_array


@dataclass(frozen=True)
class FrameStamp:
    """What the publisher knows of a grab beyond the camera's data."""

    frame_id: int
    timestamp: float


def buffer_arrays(buffer: BaseIdl) -> dict[str, np.ndarray]:
    """The numpy fields of a buffer by name."""
    return {field.name: getattr(buffer, field.name) for field in fields(buffer)}


def _opaque(bgra: np.ndarray) -> None:
    """Sets the alpha channel of a BGRA image a camera did not write itself (the publisher's copy fallback)."""
    bgra[..., 3] = 255


class Schema(ABC):
    """One kind of data that travels through shared memory."""

    name: ClassVar[str]
    buffer_type: ClassVar[type[BaseIdl]]
    receiver_field: ClassVar[str]
    required_methods: ClassVar[tuple[str, ...]] = ()
    layouts: ClassVar[dict[str, type[BaseIdl]]]
    """Layout name -> buffer type; the first is the familiar layout (`buffer_type`), the others a camera's own."""

    @abstractmethod
    def allocate(self, width: int, height: int, layout: str | None = None) -> BaseIdl:
        """An empty buffer for a camera of this resolution in a layout (None: the familiar one), done once."""

    @abstractmethod
    def fill(self, camera: Any, buffer: BaseIdl, stamp: FrameStamp) -> None:
        """Writes the camera's current frame into `buffer` (of any of the schema's layouts), in place."""

    @property
    def familiar_layout(self) -> str:
        """The layout receivers copy into by default (RGB images, points and colors apart)."""
        return next(iter(self.layouts))

    def layout_type(self, layout: str | None) -> type[BaseIdl]:
        """The buffer type of a layout (None: the familiar one).

        Raises:
            ValueError: the schema has no such layout; the message lists those it has.

        """
        chosen = self.familiar_layout if layout is None else layout
        if chosen not in self.layouts:
            raise ValueError(f"schema '{self.name}' has no layout {chosen!r}; its layouts are {list(self.layouts)}")
        return self.layouts[chosen]

    def layout_of(self, buffer: BaseIdl) -> str:
        """The name of the layout a buffer of this schema is in."""
        for name, buffer_type in self.layouts.items():
            if type(buffer) is buffer_type:
                return name
        raise TypeError(f"a {type(buffer).__name__} is no buffer of schema '{self.name}'")

    def wrap(self, arrays: dict[str, np.ndarray]) -> BaseIdl:
        """A buffer whose fields are the given arrays (e.g. views into shared memory), in the layout they name."""
        names = set(arrays)
        for buffer_type in self.layouts.values():
            if {field.name for field in fields(buffer_type)} == names:
                return buffer_type(**arrays)
        raise ValueError(f"schema '{self.name}' has no layout with the fields {sorted(names)}")

    def familiar_views(self, buffer: BaseIdl) -> dict[str, np.ndarray]:
        """The familiar layout's fields of a buffer in any layout: the arrays themselves, or views of them."""
        return {field.name: getattr(buffer, field.name) for field in fields(self.buffer_type)}

    def read_into_receiver(self, buffer: BaseIdl, receiver: Any) -> None:
        """Hands a received buffer to the receiver field that this schema's mixin reads."""
        setattr(receiver, self.receiver_field, buffer)

    def missing_methods(self, camera: Any) -> list[str]:
        """Camera methods this schema needs that `camera` lacks."""
        return [method for method in self.required_methods if not hasattr(camera, method)]

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash(type(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CameraSchema(Schema):
    """Frame id, capture time, intrinsics, distortion, resolution and fps. Every receiver needs it."""

    name = "camera"
    buffer_type = CameraMetadataBuffer
    receiver_field = "_camera_buffer"
    required_methods = ("grab_images", "intrinsics_matrix", "resolution", "fps")
    layouts = {"metadata": CameraMetadataBuffer}

    def allocate(self, width: int, height: int, layout: str | None = None) -> CameraMetadataBuffer:
        self.layout_type(layout)
        return CameraMetadataBuffer(
            frame_id=np.zeros(1, dtype=np.uint64),
            timestamp=np.zeros(1, dtype=np.float64),
            intrinsics=np.zeros((3, 3), dtype=np.float64),
            distortion=np.zeros(5, dtype=np.float64),
            resolution=np.zeros(2, dtype=np.int32),
            fps=np.zeros(1, dtype=np.float64),
        )

    def fill(self, camera: Any, buffer: BaseIdl, stamp: FrameStamp) -> None:
        assert isinstance(buffer, CameraMetadataBuffer)
        buffer.frame_id[0] = stamp.frame_id
        buffer.timestamp[0] = stamp.timestamp
        buffer.intrinsics[:] = camera.intrinsics_matrix()
        distortion = getattr(camera, "distortion_coefficients", None)
        buffer.distortion[:] = 0.0 if distortion is None else np.asarray(distortion, dtype=np.float64)[:5]
        buffer.resolution[:] = camera.resolution
        buffer.fps[0] = camera.fps


class _ImageSchema(Schema):
    """An HxWx3 uint8 image a camera retrieves (`retrieve`), in the familiar rgb8 layout or the camera's bgra8.

    A subclass names its layouts (the first the familiar one), the retrieve method and the two fields; its buffer
    type and required method follow from those.
    """

    retrieve: ClassVar[str]
    image_field: ClassVar[str]
    """The familiar field (in the bgra8 layout a view of the BGRA array)."""
    bgra_field: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.buffer_type = next(iter(cls.layouts.values()))
        cls.required_methods = (cls.retrieve,)

    def allocate(self, width: int, height: int, layout: str | None = None) -> BaseIdl:
        buffer_type = self.layout_type(layout)
        if buffer_type is self.buffer_type:
            return buffer_type(**{self.image_field: np.zeros((height, width, 3), dtype=np.uint8)})
        return buffer_type(**{self.bgra_field: np.zeros((height, width, 4), dtype=np.uint8)})

    def fill(self, camera: Any, buffer: BaseIdl, stamp: FrameStamp) -> None:
        assert type(buffer) in self.layouts.values()
        copy_array(getattr(buffer, self.image_field), getattr(camera, self.retrieve)())
        if type(buffer) is not self.buffer_type:
            _opaque(getattr(buffer, self.bgra_field))


class _MapSchema(Schema):
    """An HxW float32 map a camera retrieves (`retrieve`), in its one layout, 32FC1."""

    retrieve: ClassVar[str]
    map_field: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.layouts = {"32FC1": cls.buffer_type}
        cls.required_methods = (cls.retrieve,)

    def allocate(self, width: int, height: int, layout: str | None = None) -> BaseIdl:
        return self.layout_type(layout)(**{self.map_field: np.zeros((height, width), dtype=np.float32)})

    def fill(self, camera: Any, buffer: BaseIdl, stamp: FrameStamp) -> None:
        assert isinstance(buffer, self.buffer_type)
        np.copyto(getattr(buffer, self.map_field), getattr(camera, self.retrieve)())


class RGBSchema(_ImageSchema):
    """The left RGB image, HxWx3 uint8."""

    name, receiver_field, retrieve = "rgb", "_rgb_buffer", "retrieve_rgb_image_as_int"
    layouts = {"rgb8": RGBFrameBuffer, "bgra8": BGRAFrameBuffer}
    image_field, bgra_field = "rgb", "bgra"


class DepthSchema(_MapSchema):
    """Depth map, HxW float32 metres."""

    name, receiver_field = "depth", "_depth_buffer"
    buffer_type, retrieve, map_field = DepthFrameBuffer, "retrieve_depth_map", "depth_map"


class DepthImageSchema(_ImageSchema):
    """The camera's depth visualisation, HxWx3 uint8: a schema of its own, so it is rendered only when read."""

    name, receiver_field, retrieve = "depth_image", "_depth_image_buffer", "retrieve_depth_image"
    layouts = {"rgb8": DepthImageBuffer, "bgra8": BGRADepthImageBuffer}
    image_field, bgra_field = "depth_image", "depth_image_bgra"


class ConfidenceSchema(_MapSchema):
    """Depth confidence map, HxW float32."""

    name, receiver_field = "confidence", "_confidence_buffer"
    buffer_type, retrieve, map_field = ConfidenceFrameBuffer, "retrieve_confidence_map", "confidence_map"


class PointCloudSchema(Schema):
    """Colored point cloud of at most H*W points, with the number of valid points."""

    name = "point_cloud"
    buffer_type = PointCloudBuffer
    receiver_field = "_point_cloud_buffer"
    required_methods = ("retrieve_colored_point_cloud",)
    layouts = {"xyz_rgb": PointCloudBuffer, "xyzrgba": XYZRGBAPointCloudBuffer}

    def allocate(
        self, width: int, height: int, layout: str | None = None
    ) -> PointCloudBuffer | XYZRGBAPointCloudBuffer:
        if self.layout_type(layout) is XYZRGBAPointCloudBuffer:
            return XYZRGBAPointCloudBuffer(
                xyzrgba=np.zeros((width * height, 4), dtype=np.float32), point_count=np.zeros(1, dtype=np.int64)
            )
        return PointCloudBuffer(
            points=np.zeros((width * height, 3), dtype=np.float32),
            colors=np.zeros((width * height, 3), dtype=np.uint8),
            point_count=np.zeros(1, dtype=np.int64),
        )

    def fill(self, camera: Any, buffer: BaseIdl, stamp: FrameStamp) -> None:
        assert isinstance(buffer, (PointCloudBuffer, XYZRGBAPointCloudBuffer))
        cloud = camera.retrieve_colored_point_cloud()
        points = np.asarray(cloud.points).reshape(-1, 3)
        count = min(len(points), len(buffer.points))
        copy_array(buffer.points[:count], points[:count])
        if cloud.colors is not None:
            copy_array(buffer.colors[:count], np.asarray(cloud.colors).reshape(-1, 3)[:count])
        else:
            buffer.colors[:count] = 0
        buffer.point_count[0] = count


class StereoRGBSchema(Schema):
    """The right view: RGB image, intrinsics and pose in the left view."""

    name = "stereo"
    buffer_type = StereoRGBFrameBuffer
    receiver_field = "_stereo_buffer"
    required_methods = ("pose_of_right_view_in_left_view",)
    layouts = {"rgb8": StereoRGBFrameBuffer, "bgra8": BGRAStereoFrameBuffer}

    def allocate(
        self, width: int, height: int, layout: str | None = None
    ) -> StereoRGBFrameBuffer | BGRAStereoFrameBuffer:
        intrinsics, pose = np.zeros((3, 3), dtype=np.float64), np.zeros((4, 4), dtype=np.float64)
        if self.layout_type(layout) is BGRAStereoFrameBuffer:
            bgra = np.zeros((height, width, 4), dtype=np.uint8)
            return BGRAStereoFrameBuffer(bgra_right=bgra, intrinsics_right=intrinsics, pose_right_in_left=pose)
        rgb = np.zeros((height, width, 3), dtype=np.uint8)
        return StereoRGBFrameBuffer(rgb_right=rgb, intrinsics_right=intrinsics, pose_right_in_left=pose)

    def fill(self, camera: Any, buffer: BaseIdl, stamp: FrameStamp) -> None:
        assert isinstance(buffer, (StereoRGBFrameBuffer, BGRAStereoFrameBuffer))
        copy_array(buffer.rgb_right, camera.retrieve_rgb_image_as_int(view=RIGHT_RGB))
        if isinstance(buffer, BGRAStereoFrameBuffer):
            _opaque(buffer.bgra_right)
        buffer.intrinsics_right[:] = camera.intrinsics_matrix(view=RIGHT_RGB)
        buffer.pose_right_in_left[:] = camera.pose_of_right_view_in_left_view
