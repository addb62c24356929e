"""A deterministic synthetic RGB-D stereo camera: a textured tilted plane seen by two pinhole views.

Depth, point cloud and right view are exact for the intrinsics and baseline, because both views are
rendered by intersecting their pixel rays with the same plane. The scene is rendered once; a grab only
waits for the frame time and stamps the frame id into every stream (see `watermark`), so it costs
microseconds even at 2K.
"""

from __future__ import annotations

import time

import numpy as np

from airo_mp_camera.cameras import watermark
from airo_mp_camera.cameras.interface import LEFT_RGB, CameraState, PointCloud, check_view
from airo_mp_camera.toolkit_interop import register_as_toolkit_interface

_PLANE_POINT = np.array([0.0, 0.0, 2.0])
_PLANE_NORMAL = np.array([0.0, -0.5, -1.0]) / np.linalg.norm([0.0, -0.5, -1.0])


def _texture(points: np.ndarray) -> np.ndarray:
    """Colors of world points on the plane: a checkerboard of 10 cm squares under two colour waves."""
    e1 = np.array([1.0, 0.0, 0.0])
    e2 = np.cross(_PLANE_NORMAL, e1)
    a = points @ e1
    b = points @ e2
    checker = ((np.floor(a / 0.1) + np.floor(b / 0.1)) % 2).astype(np.float64)
    rgb = np.stack(
        [128 + 100 * np.sin(a * 7.0), 128 + 100 * np.sin(b * 9.0 + 1.0), 60 + 150 * checker],
        axis=-1,
    )
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _render(intrinsics: np.ndarray, width: int, height: int, center: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depth (float32, metres along z) and colors seen from a camera at `center` (axes as the left view)."""
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    rays = np.stack(
        [(u - intrinsics[0, 2]) / intrinsics[0, 0], (v - intrinsics[1, 2]) / intrinsics[1, 1], np.ones_like(u)],
        axis=-1,
    )
    offset = _PLANE_NORMAL @ _PLANE_POINT - _PLANE_NORMAL @ center
    t = offset / (rays @ _PLANE_NORMAL)
    points = center + rays * t[..., None]
    return t.astype(np.float32), _texture(points)


class SyntheticCamera(CameraState):
    """A stereo RGB-D camera without hardware, with the airo-camera-toolkit interface.

    Args:
        resolution: (width, height) in pixels.
        fps: frames per second; `grab_images()` blocks until the next frame time, like a real camera.
        baseline: distance between the left and right views in metres.
        watermark: stamp the frame id into every stream (see `airo_mp_camera.cameras.watermark`).

    """

    def __init__(
        self,
        resolution: tuple[int, int] = (1280, 720),
        fps: float = 30.0,
        baseline: float = 0.12,
        watermark: bool = True,
    ) -> None:
        width, height = int(resolution[0]), int(resolution[1])
        if width < 16 or height < 16:
            raise ValueError(f"resolution must be at least 16x16 pixels, got {resolution}")
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self._resolution = (width, height)
        self._fps = float(fps)
        self._watermark = watermark
        focal = 0.75 * width
        self._intrinsics = np.array(
            [[focal, 0.0, (width - 1) / 2], [0.0, focal, (height - 1) / 2], [0.0, 0.0, 1.0]], dtype=np.float64
        )
        self._pose_right_in_left = np.eye(4)
        self._pose_right_in_left[0, 3] = baseline
        self._depth, self._rgb = _render(self._intrinsics, width, height, np.zeros(3))
        _, self._rgb_right = _render(self._intrinsics, width, height, np.array([baseline, 0.0, 0.0]))
        near, far = float(self._depth.min()), float(self._depth.max())
        gray = (255 * (far - self._depth) / max(far - near, 1e-6)).astype(np.uint8)
        self._depth_image = np.repeat(gray[..., None], 3, axis=-1)
        self._confidence = np.clip(100.0 * (self._depth - near) / max(far - near, 1e-6), 1, 100).astype(np.float32)
        u, v = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        x = (u - self._intrinsics[0, 2]) / self._intrinsics[0, 0] * self._depth
        y = (v - self._intrinsics[1, 2]) / self._intrinsics[1, 1] * self._depth
        self._points = np.stack([x, y, self._depth], axis=-1).reshape(-1, 3).astype(np.float32)
        self._colors = self._rgb.reshape(-1, 3).copy()
        self._frame_id = 0
        self._capture_timestamp = 0.0
        self._next_frame_time = time.monotonic()

    def intrinsics_matrix(self, view: str = LEFT_RGB) -> np.ndarray:
        """3x3 pinhole intrinsics (both views share them)."""
        check_view(view)
        return self._intrinsics.copy()

    def grab_images(self) -> None:
        """Waits for the next frame time, then produces the frame."""
        now = time.monotonic()
        if self._next_frame_time > now:
            time.sleep(self._next_frame_time - now)
        else:
            self._next_frame_time = now  # fell behind: do not burst to catch up
        self._next_frame_time += 1.0 / self._fps
        self._frame_id += 1
        self._capture_timestamp = time.time()
        if self._watermark:
            for stream in (self._rgb, self._rgb_right, self._depth, self._depth_image, self._confidence):
                watermark.stamp(stream, self._frame_id)
            watermark.stamp(self._points, self._frame_id)
            watermark.stamp(self._colors, self._frame_id)

    def retrieve_rgb_image_as_int(self, view: str = LEFT_RGB) -> np.ndarray:
        """HxWx3 uint8 RGB image of a view."""
        check_view(view)
        return self._rgb if view == LEFT_RGB else self._rgb_right

    def retrieve_rgb_image(self, view: str = LEFT_RGB) -> np.ndarray:
        """HxWx3 float32 RGB image in [0, 1]."""
        return self.retrieve_rgb_image_as_int(view).astype(np.float32) / 255.0

    def retrieve_depth_map(self) -> np.ndarray:
        """HxW float32 depth in metres along the optical axis of the left view."""
        return self._depth

    def retrieve_depth_image(self) -> np.ndarray:
        """HxWx3 uint8 visualisation of the depth (near is bright)."""
        return self._depth_image

    def retrieve_confidence_map(self) -> np.ndarray:
        """HxW float32 confidence in [1, 100], ZED convention (higher is less confident)."""
        return self._confidence

    def retrieve_colored_point_cloud(self) -> PointCloud:
        """Organised point cloud (H*W points, row-major) in the left optical frame, with RGB colors."""
        return PointCloud(self._points, self._colors)


register_as_toolkit_interface("StereoRGBDCamera", SyntheticCamera)  # isinstance checks of toolkit code accept it
