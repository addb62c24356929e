"""A camera written only against the airo-camera-toolkit interface is hosted unchanged by CameraPublisher.

`ToolkitStyleCamera` imports neither airo-camera-toolkit (it pulls open3d) nor this package's cameras:
like a toolkit camera it derives from abstract bases with the toolkit's method names, has a default
point cloud built from depth and intrinsics, returns its own point-cloud type, and has no
`capture_timestamp` (the publisher then stamps frames with its own clock).
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass

import numpy as np
import pytest

from airo_mp_camera import (
    CameraPublisher,
    CameraSchema,
    DepthSchema,
    MultiprocessRGBDReceiver,
    PointCloudSchema,
    RGBSchema,
)

WIDTH, HEIGHT, FPS = 160, 120, 30.0


@dataclass
class ToolkitPointCloud:
    """The toolkit's point cloud: (N, 3) float32 points and (N, 3) uint8 colors."""

    points: np.ndarray
    colors: np.ndarray | None = None


class ToolkitRGBCamera(abc.ABC):
    """The toolkit's RGB camera contract: explicit grab, then retrieve."""

    @property
    @abc.abstractmethod
    def resolution(self) -> tuple[int, int]: ...

    @property
    @abc.abstractmethod
    def fps(self) -> float: ...

    @abc.abstractmethod
    def intrinsics_matrix(self) -> np.ndarray: ...

    @abc.abstractmethod
    def grab_images(self) -> None: ...

    @abc.abstractmethod
    def retrieve_rgb_image_as_int(self) -> np.ndarray: ...

    def retrieve_rgb_image(self) -> np.ndarray:
        return self.retrieve_rgb_image_as_int().astype(np.float32) / 255.0


class ToolkitRGBDCamera(ToolkitRGBCamera):
    """The toolkit's RGB-D contract, with its default point cloud from depth and intrinsics."""

    @abc.abstractmethod
    def retrieve_depth_map(self) -> np.ndarray: ...

    @abc.abstractmethod
    def retrieve_depth_image(self) -> np.ndarray: ...

    def retrieve_colored_point_cloud(self) -> ToolkitPointCloud:
        depth = self.retrieve_depth_map()
        intrinsics = self.intrinsics_matrix()
        v, u = np.indices(depth.shape, dtype=np.float32)
        x = (u - intrinsics[0, 2]) / intrinsics[0, 0] * depth
        y = (v - intrinsics[1, 2]) / intrinsics[1, 1] * depth
        points = np.stack([x, y, depth], axis=-1).reshape(-1, 3).astype(np.float32)
        return ToolkitPointCloud(points, self.retrieve_rgb_image_as_int().reshape(-1, 3))


def expected_rgb(frame: int) -> np.ndarray:
    v, u = np.indices((HEIGHT, WIDTH))
    return np.stack([np.full_like(u, frame % 256), u % 256, (v * 2) % 256], axis=-1).astype(np.uint8)


def expected_depth(frame: int) -> np.ndarray:
    v = np.arange(HEIGHT, dtype=np.float32)[:, None]
    return np.broadcast_to(1.0 + v / HEIGHT + np.float32(0.001 * frame), (HEIGHT, WIDTH)).astype(np.float32)


class ToolkitStyleCamera(ToolkitRGBDCamera):
    """A concrete toolkit-style RGB-D camera: frame n shows n in the red channel and in the depth."""

    def __init__(self, resolution: tuple[int, int] = (WIDTH, HEIGHT), fps: float = FPS) -> None:
        self._resolution = resolution
        self._fps = fps
        self._frame = 0
        self._next = time.monotonic()

    @property
    def resolution(self) -> tuple[int, int]:
        return self._resolution

    @property
    def fps(self) -> float:
        return self._fps

    def intrinsics_matrix(self) -> np.ndarray:
        return np.array([[100.0, 0.0, 79.5], [0.0, 101.0, 59.5], [0.0, 0.0, 1.0]])

    def grab_images(self) -> None:
        self._next += 1.0 / self._fps
        time.sleep(max(0.0, self._next - time.monotonic()))
        self._frame += 1

    def retrieve_rgb_image_as_int(self) -> np.ndarray:
        return expected_rgb(self._frame)

    def retrieve_depth_map(self) -> np.ndarray:
        return expected_depth(self._frame)

    def retrieve_depth_image(self) -> np.ndarray:
        gray = (255 * (2.0 - self.retrieve_depth_map()) / 2.0).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)


def test_a_toolkit_style_camera_is_hosted_unchanged_and_read_by_an_rgbd_receiver(namespace: str, processes) -> None:
    assert not hasattr(ToolkitStyleCamera(), "capture_timestamp")
    schemas = [CameraSchema(), RGBSchema(), DepthSchema(), PointCloudSchema()]
    with CameraPublisher(ToolkitStyleCamera, {}, schemas, namespace) as publisher:
        processes.track(publisher.pid)
        with MultiprocessRGBDReceiver(namespace, enable_pointcloud=True) as receiver:
            for _ in range(3):
                before = time.time()
                receiver.grab_images()
                frame = receiver.frame_id
                np.testing.assert_array_equal(receiver.retrieve_rgb_image_as_int(), expected_rgb(frame))
                np.testing.assert_array_equal(receiver.retrieve_depth_map(), expected_depth(frame))
                depth_image = receiver.retrieve_depth_image()
                assert depth_image.shape == (HEIGHT, WIDTH, 3) and depth_image.dtype == np.uint8
                cloud = receiver.retrieve_colored_point_cloud()
                assert cloud.points.shape == (WIDTH * HEIGHT, 3)
                np.testing.assert_array_equal(cloud.points[:, 2], expected_depth(frame).reshape(-1))
                np.testing.assert_array_equal(cloud.colors, expected_rgb(frame).reshape(-1, 3))
                # no capture_timestamp on the camera: the publisher stamps with its clock at grab time
                assert before - 1.0 < receiver.capture_timestamp <= time.time()
            assert receiver.resolution == (WIDTH, HEIGHT)
            assert receiver.fps == pytest.approx(FPS)
            np.testing.assert_allclose(receiver.intrinsics_matrix(), ToolkitStyleCamera().intrinsics_matrix())
