"""PointCloud2 messages that fit a link: decimated organized clouds and xyz-only clouds, built as real rclpy
messages, serialized to CDR by rclpy and read back by rosbags (no code of ours) and numpy over the bytes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed (make venv installs ROS 2 from PyPI)")

from rclpy.serialization import serialize_message  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from airo_mp_camera.ros.messages import (  # noqa: E402
    ImageBuilder,
    PointCloudBuilder,
    message_backed_array,
    storage_of,
)

typesys = pytest.importorskip("rosbags.typesys", reason="rosbags is not installed (make venv installs it)")
TYPESTORE = typesys.get_typestore(typesys.Stores.ROS2_KILTED)
HEIGHT, WIDTH = 7, 11  # odd sizes: decimation leaves partial steps at the ends
FLOAT32 = 7  # sensor_msgs/PointField FLOAT32


def grid(height: int = HEIGHT, width: int = WIDTH) -> tuple[np.ndarray, np.ndarray]:
    """Points whose x, y encode their pixel (column, row) and z = 1 + row, with NaN at one pixel; colors from
    the pixel too."""
    v, u = np.mgrid[0:height, 0:width]
    points = np.stack([u, v, 1.0 + v], axis=-1).astype(np.float32).reshape(-1, 3)
    points[width + 2] = np.nan  # row 1, column 2
    colors = np.stack([u * 10, v * 20, (u + v) % 256], axis=-1).astype(np.uint8).reshape(-1, 3)
    return points, colors


def read_back(message: Any) -> tuple[Any, np.ndarray]:
    """(rosbags message, structured array of its points) from the message's CDR bytes."""
    cloud = TYPESTORE.deserialize_cdr(serialize_message(message), "sensor_msgs/msg/PointCloud2")
    for field in cloud.fields:
        assert field.datatype == FLOAT32 and field.count == 1
    dtype = np.dtype(
        {
            "names": [f.name for f in cloud.fields],
            "formats": ["<f4" if f.name != "rgb" else "<u4" for f in cloud.fields],
            "offsets": [f.offset for f in cloud.fields],
            "itemsize": cloud.point_step,
        }
    )
    assert cloud.row_step == cloud.width * cloud.point_step
    assert len(cloud.data) == cloud.row_step * cloud.height
    return cloud, np.frombuffer(cloud.data.tobytes(), dtype=dtype).reshape(cloud.height, cloud.width)


@pytest.mark.parametrize("decimation", [1, 2, 3, 4, 20])
def test_decimated_organized_cloud_keeps_every_nth_row_and_column(decimation: int) -> None:
    points, colors = grid()
    message = PointCloudBuilder().build(points, colors, Header(frame_id="cam"), (HEIGHT, WIDTH), decimation=decimation)
    cloud, decoded = read_back(message)
    rows, cols = -(-HEIGHT // decimation), -(-WIDTH // decimation)
    assert (cloud.height, cloud.width, cloud.point_step) == (rows, cols, 16)
    assert not cloud.is_dense and cloud.header.frame_id == "cam"
    expected = points.reshape(HEIGHT, WIDTH, 3)[::decimation, ::decimation]
    got = np.stack([decoded["x"], decoded["y"], decoded["z"]], axis=-1)
    np.testing.assert_array_equal(got, expected)
    rgb = colors.reshape(HEIGHT, WIDTH, 3)[::decimation, ::decimation].astype(np.uint32)
    np.testing.assert_array_equal(decoded["rgb"], (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2])


@pytest.mark.parametrize("decimation", [1, 2, 3])
def test_xyz_only_cloud_has_three_float_fields_and_twelve_byte_points(decimation: int) -> None:
    points, colors = grid()
    builder = PointCloudBuilder(xyz_only=True)
    message = builder.build(points, colors, Header(), (HEIGHT, WIDTH), decimation=decimation)
    cloud, decoded = read_back(message)
    assert [(f.name, f.offset) for f in cloud.fields] == [("x", 0), ("y", 4), ("z", 8)]
    assert cloud.point_step == 12 and cloud.row_step == 12 * cloud.width
    expected = points.reshape(HEIGHT, WIDTH, 3)[::decimation, ::decimation]
    np.testing.assert_array_equal(np.stack([decoded["x"], decoded["y"], decoded["z"]], axis=-1), expected)


def test_unorganized_decimated_cloud_keeps_finite_points_of_the_decimated_grid() -> None:
    points, colors = grid()
    message = PointCloudBuilder().build(points, colors, Header(), None, decimation=2, grid_shape=(HEIGHT, WIDTH))
    cloud, decoded = read_back(message)
    expected = points.reshape(HEIGHT, WIDTH, 3)[::2, ::2].reshape(-1, 3)
    expected = expected[np.isfinite(expected).all(axis=1)]
    assert cloud.height == 1 and cloud.width == len(expected) and cloud.is_dense
    np.testing.assert_array_equal(np.stack([decoded["x"], decoded["y"], decoded["z"]], axis=-1)[0], expected)


def test_unorganized_cloud_drops_the_nan_point() -> None:
    points, colors = grid()
    cloud, decoded = read_back(PointCloudBuilder(xyz_only=True).build(points, colors, Header(), None))
    assert (cloud.height, cloud.width) == (1, HEIGHT * WIDTH - 1)
    assert np.isfinite(decoded["z"]).all()


def test_xyz_only_full_cloud_takes_the_receivers_storage_without_a_copy() -> None:
    points = message_backed_array((HEIGHT * WIDTH, 3), np.dtype(np.float32))
    points[...] = grid()[0]
    message = PointCloudBuilder(xyz_only=True).build(points, grid()[1], Header(), (HEIGHT, WIDTH))
    assert message.data is storage_of(points)
    assert np.shares_memory(np.frombuffer(message.data, np.uint8), points)
    _, decoded = read_back(message)
    np.testing.assert_array_equal(decoded["z"].reshape(-1), points[:, 2])


def test_builder_reuses_its_storage_across_frames_of_the_same_size() -> None:
    builder = PointCloudBuilder()
    points, colors = grid()
    first = builder.build(points, colors, Header(), (HEIGHT, WIDTH), decimation=2).data
    second = builder.build(points + 1, colors, Header(), (HEIGHT, WIDTH), decimation=2).data
    assert first is second
    _, decoded = read_back(builder.message)
    assert decoded["z"][0, 0] == points[0, 2] + 1


@pytest.mark.parametrize(
    ("organized", "decimation", "grid_shape", "message"),
    [
        ((HEIGHT, WIDTH), 0, None, "at least 1"),
        (None, 2, None, "grid"),
        ((HEIGHT, WIDTH + 1), 2, None, "grid"),
    ],
)
def test_bad_decimation_requests_name_the_problem(organized, decimation: int, grid_shape, message: str) -> None:
    points, colors = grid()
    with pytest.raises(ValueError, match=message):
        PointCloudBuilder().build(points, colors, Header(), organized, decimation=decimation, grid_shape=grid_shape)


def test_image_builder_takes_the_receivers_storage_without_a_copy() -> None:
    pixels = message_backed_array((4, 6, 3), np.dtype(np.uint8))
    pixels[...] = 7
    message = ImageBuilder().build(pixels, Header())
    assert message.data is storage_of(pixels)  # the very buffer, on Humble's rosidl_python and on Jazzy's/Kilted's
    assert np.shares_memory(np.frombuffer(message.data, np.uint8), pixels)
