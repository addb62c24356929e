"""airo_mp_camera: camera frames in shared memory for controllers, and as ROS 2 topics for everyone else."""

from airo_mp_camera.cameras import LEFT_RGB, RIGHT_RGB, PointCloud, SyntheticCamera
from airo_mp_camera.consumers import (
    MultiprocessRGBDRerunLogger,
    MultiprocessRGBRerunLogger,
    MultiprocessRGBVideoRecorder,
    MultiprocessVideoRecorder,
)
from airo_mp_camera.pipeline.borrowed_frame import BorrowedFrame
from airo_mp_camera.pipeline.errors import (
    FrameReleasedError,
    FrameTimeoutError,
    InvalidNamespaceError,
    NamespaceInUseError,
    NoFrameSetError,
    PublisherGoneError,
    PublisherNotFoundError,
    PublisherStartError,
    SchemaMismatchError,
    SegmentPermissionError,
    SharedMemoryCameraError,
    SlotsExhaustedError,
)
from airo_mp_camera.pipeline.frame_ring import reclaim_stale_segments
from airo_mp_camera.pipeline.multi_camera import BorrowedSet, MultiCameraReceiver
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
from airo_mp_camera.pipeline.variants import (
    MultiprocessRGBDPublisher,
    MultiprocessRGBDReceiver,
    MultiprocessRGBPublisher,
    MultiprocessRGBReceiver,
    MultiprocessStereoRGBDPublisher,
    MultiprocessStereoRGBDReceiver,
)

__all__ = [
    "LEFT_RGB",
    "RIGHT_RGB",
    "BorrowedFrame",
    "BorrowedSet",
    "CameraPublisher",
    "CameraSchema",
    "ConfidenceSchema",
    "DepthImageSchema",
    "DepthSchema",
    "FrameReleasedError",
    "FrameTimeoutError",
    "InvalidNamespaceError",
    "MultiCameraReceiver",
    "MultiprocessRGBDPublisher",
    "MultiprocessRGBDReceiver",
    "MultiprocessRGBDRerunLogger",
    "MultiprocessRGBPublisher",
    "MultiprocessRGBReceiver",
    "MultiprocessRGBRerunLogger",
    "MultiprocessRGBVideoRecorder",
    "MultiprocessStereoRGBDPublisher",
    "MultiprocessStereoRGBDReceiver",
    "MultiprocessVideoRecorder",
    "NamespaceInUseError",
    "NoFrameSetError",
    "PointCloud",
    "PointCloudSchema",
    "PublisherGoneError",
    "PublisherNotFoundError",
    "PublisherStartError",
    "RGBSchema",
    "Schema",
    "SchemaMismatchError",
    "SegmentPermissionError",
    "SharedMemoryCameraError",
    "SharedMemoryReceiver",
    "SlotsExhaustedError",
    "StereoRGBSchema",
    "SyntheticCamera",
    "reclaim_stale_segments",
]
