"""Ready-made publisher/receiver pairs: a choice of schemas plus mixins, nothing more."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from airo_mp_camera.pipeline.mixins import (
    CameraMixin,
    ConfidenceMixin,
    DepthMixin,
    PointCloudMixin,
    RGBMixin,
    StereoRGBMixin,
)
from airo_mp_camera.pipeline.publisher import CameraPublisher
from airo_mp_camera.pipeline.receiver import SharedMemoryReceiver
from airo_mp_camera.pipeline.schemas import (
    CameraSchema,
    ConfidenceSchema,
    DepthImageSchema,
    DepthSchema,
    PointCloudSchema,
    RGBSchema,
    Schema,
    StereoRGBSchema,
)
from airo_mp_camera.toolkit_interop import register_as_toolkit_interface


def rgb_schemas() -> list[Schema]:
    """Metadata and the left RGB image."""
    return [CameraSchema(), RGBSchema()]


def rgbd_schemas(
    enable_pointcloud: bool = False, enable_confidence: bool = False, enable_depth_image: bool = True
) -> list[Schema]:
    """RGB plus depth, optionally the camera's depth visualisation, the confidence map and the point cloud."""
    schemas = [*rgb_schemas(), DepthSchema()]
    if enable_depth_image:
        schemas.append(DepthImageSchema())
    if enable_confidence:
        schemas.append(ConfidenceSchema())
    if enable_pointcloud:
        schemas.append(PointCloudSchema())
    return schemas


def stereo_rgbd_schemas(
    enable_pointcloud: bool = False, enable_confidence: bool = False, enable_depth_image: bool = True
) -> list[Schema]:
    """RGB-D plus the right view."""
    return [*rgbd_schemas(enable_pointcloud, enable_confidence, enable_depth_image), StereoRGBSchema()]


class MultiprocessRGBPublisher(CameraPublisher):
    """Publishes metadata and RGB of `camera_cls(**camera_kwargs)` on a namespace."""

    def __init__(
        self,
        camera_cls: type,
        camera_kwargs: dict[str, Any] | None = None,
        shared_memory_namespace: str = "camera",
        **options: Any,
    ) -> None:
        super().__init__(camera_cls, camera_kwargs, rgb_schemas(), shared_memory_namespace, **options)


class _DepthPublisher(CameraPublisher):
    """A publisher whose schemas are chosen by `_choose_schemas(enable_pointcloud, enable_confidence)`."""

    _choose_schemas: ClassVar[Callable[[bool, bool, bool], list[Schema]]]

    def __init__(
        self,
        camera_cls: type,
        camera_kwargs: dict[str, Any] | None = None,
        shared_memory_namespace: str = "camera",
        enable_pointcloud: bool = False,
        enable_confidence: bool = False,
        **options: Any,
    ) -> None:
        schemas = type(self)._choose_schemas(enable_pointcloud, enable_confidence, True)
        super().__init__(camera_cls, camera_kwargs, schemas, shared_memory_namespace, **options)


class MultiprocessRGBDPublisher(_DepthPublisher):
    """Publishes RGB and depth, and optionally the confidence map and point cloud."""

    _choose_schemas = staticmethod(rgbd_schemas)


class MultiprocessStereoRGBDPublisher(_DepthPublisher):
    """Publishes both views, depth, and optionally the confidence map and point cloud."""

    _choose_schemas = staticmethod(stereo_rgbd_schemas)


class MultiprocessRGBReceiver(RGBMixin, CameraMixin, SharedMemoryReceiver):
    """RGB camera interface over a namespace (works on any publisher that writes RGB)."""

    def __init__(self, shared_memory_namespace: str = "camera", timeout: float = 5.0, prefetch: bool = False) -> None:
        SharedMemoryReceiver.__init__(self, shared_memory_namespace, rgb_schemas(), timeout, prefetch)


class _DepthReceiver(SharedMemoryReceiver):
    """A receiver whose schemas are chosen by `_choose_schemas(enable_pointcloud, enable_confidence)`."""

    _choose_schemas: ClassVar[Callable[[bool, bool, bool], list[Schema]]]

    def __init__(
        self,
        shared_memory_namespace: str = "camera",
        enable_pointcloud: bool = False,
        enable_confidence: bool = False,
        timeout: float = 5.0,
        prefetch: bool = False,
        enable_depth_image: bool = False,
    ) -> None:
        schemas = type(self)._choose_schemas(enable_pointcloud, enable_confidence, enable_depth_image)
        super().__init__(shared_memory_namespace, schemas, timeout, prefetch)


class MultiprocessRGBDReceiver(RGBMixin, DepthMixin, ConfidenceMixin, PointCloudMixin, _DepthReceiver):
    """RGB-D camera interface; confidence, point cloud and the camera's depth image when enabled.

    Without `enable_depth_image`, `retrieve_depth_image()` is computed here from the depth map, so the
    camera does not render (nor the publisher write) a depth image for this receiver.
    """

    _choose_schemas = staticmethod(rgbd_schemas)


class MultiprocessStereoRGBDReceiver(
    StereoRGBMixin, RGBMixin, DepthMixin, ConfidenceMixin, PointCloudMixin, _DepthReceiver
):
    """Stereo RGB-D camera interface: `view="right"`, `pose_of_right_view_in_left_view`."""

    _choose_schemas = staticmethod(stereo_rgbd_schemas)


# Accepted by airo-camera-toolkit's interface checks (isinstance) once the toolkit is imported; never imports it.
register_as_toolkit_interface("RGBCamera", MultiprocessRGBReceiver)
register_as_toolkit_interface("RGBDCamera", MultiprocessRGBDReceiver)
register_as_toolkit_interface("StereoRGBDCamera", MultiprocessStereoRGBDReceiver)
