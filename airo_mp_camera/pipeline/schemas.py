"""Schemas: one kind of data each, tied to one buffer type.

A schema allocates its buffer for a resolution, fills it from a camera (in place, straight into shared
memory: one copy), and hands a received buffer to a receiver's field, which its mixin reads.
Which data travels is decided only by the list of schemas given to a publisher and a receiver.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np
from airo_ipc.cyclone_shm.idl_shared_memory.base_idl import BaseIdl

from airo_mp_camera.cameras.interface import RIGHT_RGB
from airo_mp_camera.pipeline.buffers import (
    CameraMetadataBuffer,
    ConfidenceFrameBuffer,
    DepthFrameBuffer,
    DepthImageBuffer,
    PointCloudBuffer,
    RGBFrameBuffer,
    StereoRGBFrameBuffer,
)


@dataclass(frozen=True)
class FrameStamp:
    """What the publisher knows of a grab beyond the camera's data."""

    frame_id: int
    timestamp: float


def buffer_arrays(buffer: BaseIdl) -> dict[str, np.ndarray]:
    """The numpy fields of a buffer by name."""
    return {field.name: getattr(buffer, field.name) for field in fields(buffer)}


class Schema(ABC):
    """One kind of data that travels through shared memory."""

    name: ClassVar[str]
    buffer_type: ClassVar[type[BaseIdl]]
    receiver_field: ClassVar[str]
    required_methods: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def allocate(self, width: int, height: int) -> BaseIdl:
        """An empty buffer for a camera of this resolution (done once, like malloc)."""

    @abstractmethod
    def fill(self, camera: Any, buffer: BaseIdl, stamp: FrameStamp) -> None:
        """Writes the camera's current frame into `buffer`, in place."""

    def wrap(self, arrays: dict[str, np.ndarray]) -> BaseIdl:
        """A buffer whose fields are the given arrays (e.g. views into shared memory)."""
        return self.buffer_type(**arrays)

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

    def allocate(self, width: int, height: int) -> CameraMetadataBuffer:
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


class RGBSchema(Schema):
    """The left RGB image, HxWx3 uint8."""

    name = "rgb"
    buffer_type = RGBFrameBuffer
    receiver_field = "_rgb_buffer"
    required_methods = ("retrieve_rgb_image_as_int",)

    def allocate(self, width: int, height: int) -> RGBFrameBuffer:
        return RGBFrameBuffer(rgb=np.zeros((height, width, 3), dtype=np.uint8))

    def fill(self, camera: Any, buffer: BaseIdl, stamp: FrameStamp) -> None:
        assert isinstance(buffer, RGBFrameBuffer)
        np.copyto(buffer.rgb, camera.retrieve_rgb_image_as_int())


class DepthSchema(Schema):
    """Depth map, HxW float32 metres."""

    name = "depth"
    buffer_type = DepthFrameBuffer
    receiver_field = "_depth_buffer"
    required_methods = ("retrieve_depth_map",)

    def allocate(self, width: int, height: int) -> DepthFrameBuffer:
        return DepthFrameBuffer(depth_map=np.zeros((height, width), dtype=np.float32))

    def fill(self, camera: Any, buffer: BaseIdl, stamp: FrameStamp) -> None:
        assert isinstance(buffer, DepthFrameBuffer)
        np.copyto(buffer.depth_map, camera.retrieve_depth_map())


class DepthImageSchema(Schema):
    """The camera's depth visualisation, HxWx3 uint8: a schema of its own, so it is rendered only when read."""

    name = "depth_image"
    buffer_type = DepthImageBuffer
    receiver_field = "_depth_image_buffer"
    required_methods = ("retrieve_depth_image",)

    def allocate(self, width: int, height: int) -> DepthImageBuffer:
        return DepthImageBuffer(depth_image=np.zeros((height, width, 3), dtype=np.uint8))

    def fill(self, camera: Any, buffer: BaseIdl, stamp: FrameStamp) -> None:
        assert isinstance(buffer, DepthImageBuffer)
        np.copyto(buffer.depth_image, camera.retrieve_depth_image())


class ConfidenceSchema(Schema):
    """Depth confidence map, HxW float32."""

    name = "confidence"
    buffer_type = ConfidenceFrameBuffer
    receiver_field = "_confidence_buffer"
    required_methods = ("retrieve_confidence_map",)

    def allocate(self, width: int, height: int) -> ConfidenceFrameBuffer:
        return ConfidenceFrameBuffer(confidence_map=np.zeros((height, width), dtype=np.float32))

    def fill(self, camera: Any, buffer: BaseIdl, stamp: FrameStamp) -> None:
        assert isinstance(buffer, ConfidenceFrameBuffer)
        np.copyto(buffer.confidence_map, camera.retrieve_confidence_map())


class PointCloudSchema(Schema):
    """Colored point cloud of at most H*W points, with the number of valid points."""

    name = "point_cloud"
    buffer_type = PointCloudBuffer
    receiver_field = "_point_cloud_buffer"
    required_methods = ("retrieve_colored_point_cloud",)

    def allocate(self, width: int, height: int) -> PointCloudBuffer:
        return PointCloudBuffer(
            points=np.zeros((width * height, 3), dtype=np.float32),
            colors=np.zeros((width * height, 3), dtype=np.uint8),
            point_count=np.zeros(1, dtype=np.int64),
        )

    def fill(self, camera: Any, buffer: BaseIdl, stamp: FrameStamp) -> None:
        assert isinstance(buffer, PointCloudBuffer)
        cloud = camera.retrieve_colored_point_cloud()
        points = np.asarray(cloud.points).reshape(-1, 3)
        count = min(len(points), len(buffer.points))
        np.copyto(buffer.points[:count], points[:count])
        if cloud.colors is not None:
            np.copyto(buffer.colors[:count], np.asarray(cloud.colors).reshape(-1, 3)[:count])
        else:
            buffer.colors[:count] = 0
        buffer.point_count[0] = count


class StereoRGBSchema(Schema):
    """The right view: RGB image, intrinsics and pose in the left view."""

    name = "stereo"
    buffer_type = StereoRGBFrameBuffer
    receiver_field = "_stereo_buffer"
    required_methods = ("pose_of_right_view_in_left_view",)

    def allocate(self, width: int, height: int) -> StereoRGBFrameBuffer:
        return StereoRGBFrameBuffer(
            rgb_right=np.zeros((height, width, 3), dtype=np.uint8),
            intrinsics_right=np.zeros((3, 3), dtype=np.float64),
            pose_right_in_left=np.zeros((4, 4), dtype=np.float64),
        )

    def fill(self, camera: Any, buffer: BaseIdl, stamp: FrameStamp) -> None:
        assert isinstance(buffer, StereoRGBFrameBuffer)
        np.copyto(buffer.rgb_right, camera.retrieve_rgb_image_as_int(view=RIGHT_RGB))
        buffer.intrinsics_right[:] = camera.intrinsics_matrix(view=RIGHT_RGB)
        buffer.pose_right_in_left[:] = camera.pose_of_right_view_in_left_view
