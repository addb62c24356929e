"""Smaller forms for a slow link: images scaled down, and camera_info scaled as image_proc's resize does."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sensor_msgs", reason="sensor_msgs is not installed (make venv installs ROS 2 from PyPI)")

from sensor_msgs.msg import CameraInfo  # noqa: E402

from airo_mp_camera.ros.image_scaling import ImageScaler, scale_camera_info, scaled_size  # noqa: E402
from airo_mp_camera.ros.messages import camera_info, header  # noqa: E402


def test_a_colour_image_is_averaged_down_to_the_truncated_size() -> None:
    rgb = np.zeros((720, 1280, 3), np.uint8)
    rgb[:, 1::2] = 200  # alternating columns: averaged, not sampled
    small = ImageScaler(0.5).scale_image(rgb)
    assert small.shape == (360, 640, 3) and small.dtype == np.uint8
    assert np.all(small == 100)
    assert ImageScaler(0.3).scale_image(rgb).shape == (216, 384, 3)
    assert scaled_size(1281, 721, 0.5) == (640, 360)  # truncated, as image_proc


def test_depth_takes_the_nearest_pixel_so_no_depth_is_a_mix() -> None:
    depth = np.full((720, 1280), 4.0, np.float32)
    depth[:, 1::2] = 1.0  # a foreground in every other column
    small = ImageScaler(0.5, nearest=True).scale_image(depth)
    assert small.shape == (360, 640) and small.dtype == np.float32
    assert set(np.unique(small)) <= {1.0, 4.0}


def test_scale_one_returns_the_image_itself() -> None:
    rgb = np.zeros((4, 4, 3), np.uint8)
    assert ImageScaler(1.0).scale_image(rgb) is rgb
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        ImageScaler(1.5)


def test_camera_info_scales_k_p_size_and_roi_and_keeps_the_rest() -> None:
    k = np.array([[700.0, 0.0, 640.0], [0.0, 710.0, 360.0], [0.0, 0.0, 1.0]])
    info = camera_info(k, np.array([0.1, -0.2, 0.0, 0.0, 0.0]), 1280, 720, header(1.0, "f"), baseline_x=0.12)
    info.roi.x_offset, info.roi.y_offset, info.roi.width, info.roi.height = 100, 50, 640, 360
    info.binning_x = info.binning_y = 1
    scaled = scale_camera_info(info, 640, 360)
    assert (scaled.width, scaled.height) == (640, 360)
    assert list(scaled.k) == pytest.approx([350.0, 0.0, 320.0, 0.0, 355.0, 180.0, 0.0, 0.0, 1.0])
    assert list(scaled.p) == pytest.approx([350.0, 0.0, 320.0, -0.12 * 350.0, 0.0, 355.0, 180.0, 0, 0, 0, 1.0, 0])
    assert (scaled.roi.x_offset, scaled.roi.y_offset, scaled.roi.width, scaled.roi.height) == (50, 25, 320, 180)
    assert (scaled.binning_x, scaled.binning_y) == (1, 1)  # image_proc leaves binning alone
    assert list(scaled.d) == pytest.approx([0.1, -0.2, 0.0, 0.0, 0.0])
    assert isinstance(scaled, CameraInfo)


def test_a_scaled_pixel_projects_where_the_scaled_camera_info_says() -> None:
    """A point's pixel in the full image, halved, is where the scaled K projects it (up to image_proc's rounding)."""
    k = np.array([[700.0, 0.0, 640.0], [0.0, 700.0, 360.0], [0.0, 0.0, 1.0]])
    info = scale_camera_info(camera_info(k, np.zeros(5), 1280, 720, header(0.0, "f")), 640, 360)
    point = np.array([0.3, -0.1, 2.0])
    full = k @ point / point[2]
    small = np.array(info.k).reshape(3, 3) @ point / point[2]
    assert small[:2] == pytest.approx(full[:2] * 0.5)
