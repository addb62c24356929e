"""Writes test/support/data/synthetic_bag: a small rosbag2 (MCAP) recording of SyntheticCamera frames on our topics.

The topics, encodings and frame ids are those of the package's ROS bridge (see
`airo_mp_camera/cameras/bag_layouts.py`), so `ReplayCamera` tests read what the bridge would have recorded.
Messages are serialised with the rosbags typestore for ROS 2 (CDR); stamps are fixed (10 fps from
1.7e9 s) so that running this again gives the same messages. The point cloud is recorded on some frames
only, like a bridge that rate-limits it; the others exercise the replay's cloud-from-depth path.

Run: `.venv/bin/python tools/make_test_bag.py [--output test/support/data/synthetic_bag]`.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from airo_mp_camera.cameras import SyntheticCamera

RESOLUTION = (320, 240)
FRAMES = 10
FPS = 10
CAMERA = "camera"
PREFIX = "/camera"
START_NS = 1_700_000_000_000_000_000
POINTS_EVERY = 5  # the point cloud is recorded on frames 0 and 5 only
COMPRESS = True  # zstd chunks: keeps the shipped bag under 3 MB
TYPESTORE = get_typestore(Stores.ROS2_HUMBLE)

IMAGE = "sensor_msgs/msg/Image"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
POINT_CLOUD = "sensor_msgs/msg/PointCloud2"
TOPICS = {
    "rgb/image_raw": IMAGE,
    "rgb/camera_info": CAMERA_INFO,
    "depth/image_raw": IMAGE,
    "depth/camera_info": CAMERA_INFO,
    "right/image_raw": IMAGE,
    "right/camera_info": CAMERA_INFO,
    "confidence/image_raw": IMAGE,
    "points": POINT_CLOUD,
}


def header(stamp_ns: int, frame_id: str) -> Any:
    """std_msgs/Header of a stamp in nanoseconds."""
    types = TYPESTORE.types
    stamp = types["builtin_interfaces/msg/Time"](sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
    return types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)


def image(array: np.ndarray, encoding: str, stamp_ns: int, frame_id: str) -> Any:
    """sensor_msgs/Image of an array, rows unpadded."""
    height, width = array.shape[:2]
    data = np.ascontiguousarray(array).view(np.uint8).reshape(-1)
    return TYPESTORE.types[IMAGE](
        header=header(stamp_ns, frame_id),
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=len(data) // height,
        data=data,
    )


def camera_info(intrinsics: np.ndarray, baseline: float, stamp_ns: int, frame_id: str) -> Any:
    """sensor_msgs/CameraInfo of a rectified view; P[0, 3] = -fx * baseline (0 for the left view)."""
    types = TYPESTORE.types
    projection = np.zeros((3, 4))
    projection[:, :3] = intrinsics
    projection[0, 3] = -intrinsics[0, 0] * baseline
    roi = types["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
    return types[CAMERA_INFO](
        header=header(stamp_ns, frame_id),
        height=RESOLUTION[1],
        width=RESOLUTION[0],
        distortion_model="plumb_bob",
        d=np.zeros(5),
        k=intrinsics.reshape(9).astype(np.float64),
        r=np.eye(3).reshape(9),
        p=projection.reshape(12),
        binning_x=0,
        binning_y=0,
        roi=roi,
    )


def point_cloud(points: np.ndarray, colors: np.ndarray, stamp_ns: int, frame_id: str) -> Any:
    """Organised sensor_msgs/PointCloud2 with float32 x, y, z, rgb (0x00RRGGBB)."""
    field_type = TYPESTORE.types["sensor_msgs/msg/PointField"]
    fields = [field_type(name=name, offset=4 * i, datatype=7, count=1) for i, name in enumerate("x y z rgb".split())]
    width, height = RESOLUTION
    cloud = np.zeros((len(points), 16), dtype=np.uint8)
    cloud[:, :12] = points.astype("<f4").view(np.uint8).reshape(-1, 12)
    cloud[:, 12], cloud[:, 13], cloud[:, 14] = colors[:, 2], colors[:, 1], colors[:, 0]  # 0x00RRGGBB little-endian
    return TYPESTORE.types[POINT_CLOUD](
        header=header(stamp_ns, frame_id),
        height=height,
        width=width,
        fields=fields,
        is_bigendian=False,
        point_step=16,
        row_step=16 * width,
        data=cloud.reshape(-1),
        is_dense=True,
    )


def write_bag(output: Path) -> None:
    """Writes the bag to `output`, replacing it."""
    if output.exists():
        shutil.rmtree(output)
    camera = SyntheticCamera(resolution=RESOLUTION, fps=1000.0)
    left, right = f"{CAMERA}_left_camera_optical_frame", f"{CAMERA}_right_camera_optical_frame"
    baseline = float(camera.pose_of_right_view_in_left_view[0, 3])
    writer = Writer(output, version=9, storage_plugin=StoragePlugin.MCAP)
    if COMPRESS:
        writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
    with writer:
        connections = {
            suffix: writer.add_connection(f"{PREFIX}/{suffix}", msgtype, typestore=TYPESTORE)
            for suffix, msgtype in TOPICS.items()
        }
        for index in range(FRAMES):
            camera.grab_images()
            stamp = START_NS + index * 10**9 // FPS
            intrinsics = camera.intrinsics_matrix()
            messages = {
                "rgb/image_raw": image(camera.retrieve_rgb_image_as_int(), "rgb8", stamp, left),
                "rgb/camera_info": camera_info(intrinsics, 0.0, stamp, left),
                "depth/image_raw": image(camera.retrieve_depth_map(), "32FC1", stamp, left),
                "depth/camera_info": camera_info(intrinsics, 0.0, stamp, left),
                "right/image_raw": image(camera.retrieve_rgb_image_as_int("right"), "rgb8", stamp, right),
                "right/camera_info": camera_info(camera.intrinsics_matrix("right"), baseline, stamp, right),
                "confidence/image_raw": image(camera.retrieve_confidence_map(), "32FC1", stamp, left),
            }
            if index % POINTS_EVERY == 0:
                cloud = camera.retrieve_colored_point_cloud()
                assert cloud.colors is not None
                messages["points"] = point_cloud(cloud.points, cloud.colors, stamp, left)
            for suffix, message in messages.items():
                data = TYPESTORE.serialize_cdr(message, TOPICS[suffix])
                writer.write(connections[suffix], stamp, data)


def main() -> None:
    """Command line: writes the bag and prints its size."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = Path(__file__).resolve().parent.parent / "test" / "support" / "data" / "synthetic_bag"
    parser.add_argument("--output", type=Path, default=default)
    arguments = parser.parse_args()
    write_bag(arguments.output)
    size = sum(path.stat().st_size for path in arguments.output.iterdir())
    print(f"wrote {arguments.output} ({size / 1e6:.2f} MB, {FRAMES} frames at {FPS} fps)")


if __name__ == "__main__":
    main()
