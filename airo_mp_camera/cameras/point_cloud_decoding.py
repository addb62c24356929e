"""Point clouds of recorded messages: sensor_msgs/PointCloud2 layouts of the drivers, and clouds from depth.

Accepted layouts (float32 x, y, z at any offsets, any point_step, padded rows):
- this package's and realsense-ros's: a FLOAT32 field `rgb` whose four bytes, read as a little-endian
  uint32, are 0x00RRGGBB (realsense-ros writes B, G, R at the field's first three bytes);
- zed-ros2-wrapper's: the same `rgb` field filled from the ZED SDK's XYZBGRA measure, so the fourth byte is
  alpha (0xAARRGGBB); alpha is dropped. A field named `rgba` (or of type UINT32) is read the same way.
A cloud without a colour field has no colors (realsense-ros' `intensity` texture is not a colour).

Clouds are handed out in the left optical frame (x right, y down, z forward), as `PointCloud` promises.
zed-ros2-wrapper publishes its cloud in `<camera>_left_camera_frame` (REP-103: x forward, y left, z up);
`optical_from_body` turns such points around.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from airo_mp_camera.cameras.interface import PointCloud

_FLOAT32 = 7  # sensor_msgs/PointField datatypes
_UINT32 = 6
_COLOR_FIELDS = ("rgb", "rgba")


def decode_point_cloud(message: Any) -> PointCloud:
    """Points (N, 3) float32 and colors (N, 3) uint8 RGB (or None) of a PointCloud2, in the message's frame."""
    fields = {item.name: item for item in message.fields}
    missing = [name for name in ("x", "y", "z") if name not in fields]
    if missing:
        raise ValueError(f"PointCloud2 lacks fields {missing}; has {sorted(fields)}")
    endian = ">" if message.is_bigendian else "<"
    names, formats, offsets = [], [], []
    for name in ("x", "y", "z"):
        if fields[name].datatype != _FLOAT32:
            raise ValueError(f"PointCloud2 field {name!r} must be FLOAT32, got datatype {fields[name].datatype}")
        names.append(name)
        formats.append(endian + "f4")
        offsets.append(int(fields[name].offset))
    color = next((name for name in _COLOR_FIELDS if name in fields), None)
    if color is not None:
        if fields[color].datatype not in (_FLOAT32, _UINT32):
            raise ValueError(f"PointCloud2 field {color!r} must be FLOAT32 or UINT32, got {fields[color].datatype}")
        names.append("color")
        formats.append(endian + "u4")  # the float's bytes are the packed colour
        offsets.append(int(fields[color].offset))
    point_step, width, height = int(message.point_step), int(message.width), int(message.height)
    dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": point_step})
    data = np.frombuffer(message.data, dtype=np.uint8)
    row_step, row_bytes = int(message.row_step), width * point_step
    if len(data) < row_step * (height - 1) + row_bytes or row_step < row_bytes:
        raise ValueError(f"PointCloud2 of {width}x{height} points, row_step {row_step}, has only {len(data)} bytes")
    if row_step != row_bytes:  # padded rows: drop the padding (a compact copy, which numpy < 1.23 needs)
        data = np.ascontiguousarray(data[: row_step * height].reshape(height, row_step)[:, :row_bytes])
    cloud = data[: width * height * point_step].view(dtype)
    points = np.empty((len(cloud), 3), dtype=np.float32)
    points[:, 0], points[:, 1], points[:, 2] = cloud["x"], cloud["y"], cloud["z"]
    if color is None:
        return PointCloud(points, None)
    packed = cloud["color"].astype(np.uint32)
    colors = np.empty((len(cloud), 3), dtype=np.uint8)
    colors[:, 0] = (packed >> 16) & 0xFF
    colors[:, 1] = (packed >> 8) & 0xFF
    colors[:, 2] = packed & 0xFF
    return PointCloud(points, colors)


def is_optical_frame(frame_id: str) -> bool:
    """Whether a frame id names an optical frame (z forward): "..._optical_frame" or ZED 5.x's "..._frame_optical"."""
    return "optical" in frame_id.rsplit("/", 1)[-1]


def optical_from_body(points: np.ndarray) -> np.ndarray:
    """Points of a REP-103 body frame (x forward, y left, z up) in the optical frame at the same origin."""
    optical = np.empty_like(points)
    optical[:, 0] = -points[:, 1]
    optical[:, 1] = -points[:, 2]
    optical[:, 2] = points[:, 0]
    return optical


def depth_to_point_cloud(depth: np.ndarray, intrinsics: np.ndarray, rgb: np.ndarray | None) -> PointCloud:
    """Organised point cloud (H*W points) of a depth map in metres through pinhole intrinsics."""
    height, width = depth.shape
    u = (np.arange(width, dtype=np.float32) - np.float32(intrinsics[0, 2])) / np.float32(intrinsics[0, 0])
    v = (np.arange(height, dtype=np.float32) - np.float32(intrinsics[1, 2])) / np.float32(intrinsics[1, 1])
    points = np.empty((height, width, 3), dtype=np.float32)
    np.multiply(u[None, :], depth, out=points[..., 0])
    np.multiply(v[:, None], depth, out=points[..., 1])
    points[..., 2] = depth
    colors = None if rgb is None or rgb.shape[:2] != depth.shape else rgb.reshape(-1, 3)
    return PointCloud(points.reshape(-1, 3), colors)
