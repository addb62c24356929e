"""The synthetic camera delivered as a ZED delivers it, retrieving in place (cameras/in_place.py).

A ZED's frames live in GPU memory; each `retrieve_*` copies one stream to the host (BGRA images, XYZRGBA
clouds). `InPlaceSyntheticCamera` models that: when it opens it prepares the synthetic scene in the ZED's
layouts as its "device" memory, and every frame each stream read is copied once from there to host memory,
which stands for the SDK's device-to-host copy:

- `in_place=True`: into the publisher's shared-memory slot (`retrieve_into`), so the publisher copies
  nothing (what a ZED on SDK >= 5.3.1 does with `Mat.init_mat_cpu` over the slot);
- `in_place=False`: into the camera's own buffers, which `retrieve_*` return as views and the publisher then
  copies into the slot (what any ZED did before: two copies per stream).

Both are the same camera, so the benchmark (benchmarks/inplace.py) and CI measure the in-place path against
the copying one on the same frames. The device copy is a host memcpy here; on a real ZED it is a GPU-to-host
transfer whose speed into shared memory only hardware can tell (see the README).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from airo_mp_camera.cameras import watermark
from airo_mp_camera.cameras.interface import LEFT_RGB, PointCloud, check_view
from airo_mp_camera.cameras.synthetic import SyntheticCamera

# The layout this camera writes each schema in (schema name -> layout, see pipeline/schemas.py).
SLOT_LAYOUTS = {
    "rgb": "bgra8",
    "stereo": "bgra8",
    "depth": "32FC1",
    "depth_image": "bgra8",
    "confidence": "32FC1",
    "point_cloud": "xyzrgba",
}
# The field of each schema's buffer (in the layout above) that holds the stream.
_SLOT_FIELDS = {
    "rgb": "bgra",
    "stereo": "bgra_right",
    "depth": "depth_map",
    "depth_image": "depth_image_bgra",
    "confidence": "confidence_map",
    "point_cloud": "xyzrgba",
}


def _bgra(rgb: np.ndarray) -> np.ndarray:
    """An opaque BGRA copy of an RGB image."""
    bgra = np.empty((*rgb.shape[:2], 4), np.uint8)
    bgra[..., 2::-1] = rgb
    bgra[..., 3] = 255
    return bgra


def _xyzrgba(points: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """An (N, 4) float32 cloud: x, y, z and the color's bytes R, G, B, A (255) in the 4th float, as the ZED SDK's."""
    cloud = np.empty((len(points), 4), np.float32)
    cloud[:, :3] = points
    as_bytes = cloud.view(np.uint8)
    as_bytes[:, 12:15] = colors
    as_bytes[:, 15] = 255
    return cloud


class InPlaceSyntheticCamera(SyntheticCamera):
    """A synthetic camera with a ZED's layouts and device-to-host copy, retrieving in place (see the module).

    Args:
        resolution, fps, baseline, watermark, depth_model, phase, jitter: as `SyntheticCamera`.
        in_place: write into the publisher's slots (True) or into its own buffers, which the publisher copies.

    """

    def __init__(
        self,
        resolution: tuple[int, int] = (1280, 720),
        fps: float = 30.0,
        baseline: float = 0.12,
        watermark: bool = True,
        depth_model: str = "plane",
        in_place: bool = True,
        phase: float | None = None,
        jitter: float = 0.0,
    ) -> None:
        super().__init__(resolution, fps, baseline, watermark, depth_model, phase, jitter)
        self.in_place = bool(in_place)
        self._device_images = {
            "rgb": _bgra(self._rgb),
            "stereo": _bgra(self._rgb_right),
            "depth_image": _bgra(self._depth_image),
        }
        self._device_clouds: dict[int, np.ndarray] = {}  # by the id of the points array of the frame's depth
        self._host: dict[str, np.ndarray] = {}  # the camera's own buffers (in_place=False, or retrieve_*)
        self._host_frame: dict[str, int] = {}  # which frame each holds
        self.device_copies = 0  # streams copied from "device" to host memory, wherever they went

    # ------------------------------------------------------------------------------ in-place retrieval
    def slot_layouts(self) -> Mapping[str, str]:
        """The layouts this camera writes in place ({} with `in_place=False`: the publisher copies)."""
        return dict(SLOT_LAYOUTS) if self.in_place else {}

    def retrieve_into(self, buffers: Mapping[str, Any]) -> Collection[str]:
        """Copies each stream of the grabbed frame from "device" memory straight into its slot buffer."""
        for name, buffer in buffers.items():
            self._deliver(name, getattr(buffer, _SLOT_FIELDS[name]))
            if name == "stereo":
                buffer.intrinsics_right[:] = self._intrinsics
                buffer.pose_right_in_left[:] = self._pose_right_in_left
            elif name == "point_cloud":
                buffer.point_count[0] = len(buffer.xyzrgba)
        return list(buffers)

    def _device(self, name: str) -> np.ndarray:
        """The stream's frame in "device" memory, in the camera's layout."""
        if name in self._device_images:
            return self._device_images[name]
        if name == "depth":
            return self._depth
        if name == "confidence":
            return self._confidence
        cloud = self._device_clouds.get(id(self._points))
        if cloud is None:  # one per noisy depth variant, made on first use (the base keeps its points alive)
            cloud = self._device_clouds[id(self._points)] = _xyzrgba(self._points, self._colors)
        return cloud

    def _deliver(self, name: str, destination: np.ndarray) -> None:
        """The device-to-host copy of one stream into `destination`, then its watermark (in the familiar views)."""
        np.copyto(destination, self._device(name))
        self.device_copies += 1
        if not self._watermark:
            return
        if destination.ndim == 3:  # BGRA: stamp the RGB view receivers read
            watermark.stamp(destination[..., 2::-1], self._frame_id)
        elif name == "point_cloud":
            watermark.stamp(destination[:, :3], self._frame_id)
            watermark.stamp(destination.view(np.uint8)[:, 12:15], self._frame_id)
        # depth and confidence come from arrays the base camera stamped on grab

    def _retrieve(self, name: str) -> np.ndarray:
        """The stream in the camera's own host buffer, copied from the device once per frame (like a ZED's Mat)."""
        if self._frame_id == 0:
            raise RuntimeError("call grab_images() before retrieving data")
        host = self._host.get(name)
        if host is None:
            host = self._host[name] = np.empty_like(self._device(name))
        if self._host_frame.get(name) != self._frame_id:
            self._deliver(name, host)
            self._host_frame[name] = self._frame_id
        return host

    def retrieve_bgra(self, name: str = "rgb") -> np.ndarray:
        """The HxWx4 BGRA host buffer of an image stream ("rgb", "stereo", "depth_image"), as a ZED's Mat holds it.

        What `get_data()` of a ZED's image Mat gives; the `retrieve_*` methods below return RGB views of it.
        """
        if name not in self._device_images:
            raise ValueError(f"no BGRA image stream {name!r}; one of {sorted(self._device_images)}")
        return self._retrieve(name)

    # ------------------------------------------------------------------------------ camera interface
    def retrieve_rgb_image_as_int(self, view: str = LEFT_RGB) -> np.ndarray:
        """HxWx3 uint8 RGB view of the frame's BGRA image (copied to the host on first call per frame)."""
        check_view(view)
        return self._retrieve("rgb" if view == LEFT_RGB else "stereo")[..., 2::-1]

    def retrieve_depth_map(self) -> np.ndarray:
        """HxW float32 depth in metres (copied to the host on first call per frame)."""
        return self._retrieve("depth")

    def retrieve_depth_image(self) -> np.ndarray:
        """HxWx3 uint8 RGB view of the BGRA depth visualisation."""
        return self._retrieve("depth_image")[..., 2::-1]

    def retrieve_confidence_map(self) -> np.ndarray:
        """HxW float32 confidence (ZED convention)."""
        return self._retrieve("confidence")

    def retrieve_colored_point_cloud(self) -> PointCloud:
        """Views of the XYZRGBA cloud: points and the RGB bytes of the 4th float."""
        cloud = self._retrieve("point_cloud")
        return PointCloud(cloud[:, :3], cloud.view(np.uint8)[:, 12:15])
