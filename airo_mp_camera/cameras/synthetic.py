"""A deterministic synthetic RGB-D stereo camera: a textured tilted plane seen by two pinhole views.

Depth, point cloud and right view are exact for the intrinsics and baseline, because both views are
rendered by intersecting their pixel rays with the same plane. The scene is rendered once; a grab only
waits for the frame time and stamps the frame id into every stream (see `watermark`), so it costs
microseconds even at 2K.

`depth_model="realistic"` makes depth as hard to compress as a stereo camera's: two spheres and a box stand
in front of the plane (in both views and the depth), and the depth gets stereo-like noise (a disparity
error of a fraction of a pixel, so the depth error grows with the square of the depth) and holes (NaN in
blobs, along depth edges, sparse pixels, more of them far away). A few noisy depth maps are made when the
camera opens and frame N uses map N mod their number, so a frame id always gives the same depth and a grab
still costs microseconds.
"""

from __future__ import annotations

import numpy as np

from airo_mp_camera.cameras import watermark
from airo_mp_camera.cameras.frame_clock import FrameClock
from airo_mp_camera.cameras.interface import LEFT_RGB, CameraState, PointCloud, check_view
from airo_mp_camera.toolkit_interop import register_as_toolkit_interface

_PLANE_POINT = np.array([0.0, 0.0, 2.0])
_PLANE_NORMAL = np.array([0.0, -0.5, -1.0]) / np.linalg.norm([0.0, -0.5, -1.0])
DEPTH_MODELS = ("plane", "realistic")
# The realistic scene's objects in the left optical frame: spheres (centre, radius, colour) and a box.
_SPHERES = (
    (np.array([-0.35, 0.05, 1.3]), 0.22, np.array([200.0, 60.0, 40.0])),
    (np.array([0.45, -0.15, 2.2]), 0.3, np.array([40.0, 160.0, 210.0])),
)
_BOX = (np.array([-0.1, 0.1, 0.9]), np.array([0.15, 0.35, 1.05]), np.array([230.0, 210.0, 60.0]))
_NOISE_VARIANTS = 4
_DISPARITY_NOISE_PX = (0.08, 0.2)  # per-pixel and spatially smooth parts of the disparity error


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


def _render(
    intrinsics: np.ndarray, width: int, height: int, center: np.ndarray, objects: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Depth (float32, metres along z) and colors seen from a camera at `center` (axes as the left view)."""
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    rays = np.stack(
        [(u - intrinsics[0, 2]) / intrinsics[0, 0], (v - intrinsics[1, 2]) / intrinsics[1, 1], np.ones_like(u)],
        axis=-1,
    )
    offset = _PLANE_NORMAL @ _PLANE_POINT - _PLANE_NORMAL @ center
    t = offset / (rays @ _PLANE_NORMAL)
    points = center + rays * t[..., None]
    colors = _texture(points)
    if objects:
        _render_objects(rays, center, t, colors)
    return t.astype(np.float32), colors


def _render_objects(rays: np.ndarray, center: np.ndarray, t: np.ndarray, colors: np.ndarray) -> None:
    """Draws the spheres and the box in front of the plane: nearer hits replace `t` (ray z = 1) and colors."""
    ray_norm2 = np.einsum("...i,...i->...", rays, rays)
    for sphere_center, radius, color in _SPHERES:
        to_center = sphere_center - center
        along = rays @ to_center
        discriminant = along**2 - ray_norm2 * (to_center @ to_center - radius**2)
        hit = discriminant > 0
        t_hit = np.full(t.shape, np.inf)
        t_hit[hit] = (along[hit] - np.sqrt(discriminant[hit])) / ray_norm2[hit]
        nearer = (t_hit > 0) & (t_hit < t)
        points = center + rays[nearer] * t_hit[nearer][:, None]
        normals = (points - sphere_center) / radius
        shade = 0.35 + 0.65 * np.clip(-normals[:, 2] * 0.8 - normals[:, 1] * 0.3, 0.0, 1.0)
        stripes = 0.85 + 0.15 * np.sign(np.sin(points[:, 1] * 60.0))
        colors[nearer] = np.clip(color * (shade * stripes)[:, None], 0, 255).astype(np.uint8)
        t[nearer] = t_hit[nearer]
    low, high, color = _BOX
    with np.errstate(divide="ignore", invalid="ignore"):
        t_low = (low - center) / rays
        t_high = (high - center) / rays
    t_enter = np.nanmax(np.minimum(t_low, t_high), axis=-1)
    t_exit = np.nanmin(np.maximum(t_low, t_high), axis=-1)
    nearer = (t_enter < t_exit) & (t_enter > 0) & (t_enter < t)
    face = np.argmax(np.minimum(t_low, t_high)[nearer], axis=-1)
    colors[nearer] = (color * np.array([0.7, 0.85, 1.0])[face][:, None]).astype(np.uint8)
    t[nearer] = t_enter[nearer]


def _smooth_field(rng: np.random.Generator, height: int, width: int, cell: int) -> np.ndarray:
    """Zero-mean, unit-variance random field varying over about `cell` pixels (bilinear upsampling)."""
    rows, cols = height // cell + 2, width // cell + 2
    coarse = rng.standard_normal((rows, cols))
    y = np.linspace(0.0, rows - 1.0, height)
    x = np.linspace(0.0, cols - 1.0, width)
    y0, x0 = np.minimum(y.astype(int), rows - 2), np.minimum(x.astype(int), cols - 2)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    top = coarse[y0][:, x0] * (1 - fx) + coarse[y0][:, x0 + 1] * fx
    bottom = coarse[y0 + 1][:, x0] * (1 - fx) + coarse[y0 + 1][:, x0 + 1] * fx
    field = top * (1 - fy) + bottom * fy
    return (field - field.mean()) / max(float(field.std()), 1e-9)


def _realistic_depths(depth: np.ndarray, focal: float, baseline: float, count: int) -> list[np.ndarray]:
    """Noisy depth maps with holes, as a stereo camera measures the exact `depth` (seeded: always the same)."""
    height, width = depth.shape
    rng = np.random.default_rng(20261130)
    scale = max(width / 1280.0, 0.1)
    # Depth edges lose a few pixels on both sides (occlusions, matching windows straddling the edge).
    edges = np.zeros(depth.shape, bool)
    jump = np.abs(np.diff(depth, axis=1)) > 0.05
    edges[:, 1:] |= jump
    edges[:, :-1] |= jump
    jump = np.abs(np.diff(depth, axis=0)) > 0.05
    edges[1:] |= jump
    edges[:-1] |= jump
    grown = edges.copy()
    for shift in range(1, max(int(4 * scale), 1) + 1):
        grown[:, shift:] |= edges[:, :-shift]
        grown[:, :-shift] |= edges[:, shift:]
    blobs = _smooth_field(rng, height, width, max(int(48 * scale), 4))
    fixed_noise = _smooth_field(rng, height, width, max(int(24 * scale), 4))
    disparity = focal * baseline / depth.astype(np.float64)
    maps = []
    for _ in range(count):
        smooth = 0.7 * fixed_noise + 0.3 * _smooth_field(rng, height, width, max(int(12 * scale), 2))
        error = _DISPARITY_NOISE_PX[0] * rng.standard_normal(depth.shape) + _DISPARITY_NOISE_PX[1] * smooth
        noisy = (focal * baseline / np.maximum(disparity + error, 1e-3)).astype(np.float32)
        holes = grown | (blobs + 0.3 * rng.standard_normal(depth.shape) > 1.9)
        holes |= rng.random(depth.shape) < 0.005 + 0.1 * np.clip((depth - 2.2) / 0.4, 0.0, 1.0)  # far: fewer matches
        noisy[holes] = np.nan
        maps.append(noisy)
    return maps


class SyntheticCamera(CameraState):
    """A stereo RGB-D camera without hardware, with the airo-camera-toolkit interface.

    Args:
        resolution: (width, height) in pixels.
        fps: frames per second; `grab_images()` blocks until the next frame time, like a real camera.
        baseline: distance between the left and right views in metres.
        watermark: stamp the frame id into every stream (see `airo_mp_camera.cameras.watermark`).
        depth_model: "plane" (default): a textured tilted plane with exact depth, which compressors love;
            "realistic": objects in front of the plane and a stereo camera's depth: noise growing with the
            square of the depth and NaN holes (see the module docstring). The point cloud follows the depth
            (NaN points at holes); RGB, right view, confidence and depth image stay exact.
        phase: seconds; when given, frames are captured on a wall-clock grid (`k / fps + phase` since the
            epoch) and stamped with that instant, so cameras in several processes have known relative timing
            (see `airo_mp_camera.cameras.frame_clock`). None: the grid starts when the camera opens.
        jitter: seconds (with a phase): each capture moves by up to this much either way, uniformly.

    """

    def __init__(
        self,
        resolution: tuple[int, int] = (1280, 720),
        fps: float = 30.0,
        baseline: float = 0.12,
        watermark: bool = True,
        depth_model: str = "plane",
        phase: float | None = None,
        jitter: float = 0.0,
    ) -> None:
        width, height = int(resolution[0]), int(resolution[1])
        if width < 16 or height < 16:
            raise ValueError(f"resolution must be at least 16x16 pixels, got {resolution}")
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        if depth_model not in DEPTH_MODELS:
            raise ValueError(f"depth_model must be one of {DEPTH_MODELS}, got {depth_model!r}")
        realistic = depth_model == "realistic"
        self._resolution = (width, height)
        self._fps = float(fps)
        self._watermark = watermark
        focal = 0.75 * width
        self._intrinsics = np.array(
            [[focal, 0.0, (width - 1) / 2], [0.0, focal, (height - 1) / 2], [0.0, 0.0, 1.0]], dtype=np.float64
        )
        self._pose_right_in_left = np.eye(4)
        self._pose_right_in_left[0, 3] = baseline
        self._depth, self._rgb = _render(self._intrinsics, width, height, np.zeros(3), realistic)
        _, self._rgb_right = _render(self._intrinsics, width, height, np.array([baseline, 0.0, 0.0]), realistic)
        near, far = float(self._depth.min()), float(self._depth.max())
        gray = (255 * (far - self._depth) / max(far - near, 1e-6)).astype(np.uint8)
        self._depth_image = np.repeat(gray[..., None], 3, axis=-1)
        self._confidence = np.clip(100.0 * (self._depth - near) / max(far - near, 1e-6), 1, 100).astype(np.float32)
        u, v = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        self._ray_x = ((u - self._intrinsics[0, 2]) / self._intrinsics[0, 0]).astype(np.float32)
        self._ray_y = ((v - self._intrinsics[1, 2]) / self._intrinsics[1, 1]).astype(np.float32)
        self._depth_exact = self._depth
        self._noisy_depths = _realistic_depths(self._depth, focal, baseline, _NOISE_VARIANTS) if realistic else []
        self._noisy_points: dict[int, np.ndarray] = {}
        self._points = self._back_project(self._depth)
        self._colors = self._rgb.reshape(-1, 3).copy()
        self._frame_id = 0
        if self._noisy_depths:
            self._select_noisy_depth()
        self._capture_timestamp = 0.0
        self._clock = FrameClock(fps, phase, jitter)

    def _back_project(self, depth: np.ndarray) -> np.ndarray:
        points = np.empty((depth.size, 3), np.float32)
        np.multiply(self._ray_x.reshape(-1), depth.reshape(-1), out=points[:, 0])
        np.multiply(self._ray_y.reshape(-1), depth.reshape(-1), out=points[:, 1])
        points[:, 2] = depth.reshape(-1)
        return points

    def _select_noisy_depth(self) -> None:
        """Points depth and cloud at this frame's noisy depth map (its cloud made on first use, then kept)."""
        variant = self._frame_id % len(self._noisy_depths)
        self._depth = self._noisy_depths[variant]
        if variant not in self._noisy_points:
            self._noisy_points[variant] = self._back_project(self._depth)
        self._points = self._noisy_points[variant]

    def intrinsics_matrix(self, view: str = LEFT_RGB) -> np.ndarray:
        """3x3 pinhole intrinsics (both views share them)."""
        check_view(view)
        return self._intrinsics.copy()

    def grab_images(self) -> None:
        """Waits for the next frame time, then produces the frame."""
        capture_timestamp = self._clock.wait()
        self._frame_id += 1
        self._capture_timestamp = capture_timestamp
        if self._noisy_depths:
            self._select_noisy_depth()
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
