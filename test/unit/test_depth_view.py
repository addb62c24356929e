"""The depth view (depth/image_vis): its colour mapping and its parameters, without ROS or a display."""

from __future__ import annotations

import array
from pathlib import Path

import numpy as np
import pytest
import yaml

cv2 = pytest.importorskip("cv2", reason="OpenCV (opencv-python-headless) is not installed")

from airo_mp_camera.ros.depth_view import COLORMAPS, UNKNOWN, DepthColouring, check_range, colormap_table  # noqa: E402
from airo_mp_camera.ros.parameters import (  # noqa: E402
    BRIDGE_SPECS,
    CAMERA_SPECS,
    CONSUMER_SPECS,
    REMOTE_SPECS,
    ParameterError,
    bridge_config,
    check_unknown,
    remote_bridge_config,
)

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------ colour mapping
@pytest.mark.parametrize("colormap", COLORMAPS)
def test_every_colour_map_has_black_for_unknown_depth_then_its_colours_low_to_high(colormap: str) -> None:
    table = colormap_table(colormap)
    assert table.shape == (256, 3) and table.dtype == np.uint8
    assert (table[UNKNOWN] == 0).all()
    if colormap == "gray":
        np.testing.assert_array_equal(table[1:], np.repeat(np.arange(1, 256)[:, None], 3, axis=1))
        return
    # OpenCV's own colours, as RGB: its lowest at index 1, its highest at 255.
    ramp = cv2.applyColorMap(
        np.arange(256, dtype=np.uint8).reshape(-1, 1), getattr(cv2, f"COLORMAP_{colormap.upper()}")
    )
    rgb = ramp.reshape(-1, 3)[:, ::-1]
    np.testing.assert_array_equal(table[1], rgb[0])
    np.testing.assert_array_equal(table[255], rgb[255])
    assert len(np.unique(table[1:], axis=0)) > 100, "the colour map's range is sampled, not a few colours"


def test_turbo_is_red_near_and_blue_far() -> None:
    near, far = colormap_table("turbo")[[255, 1]].astype(int)
    assert near[0] > near[2] and far[2] > far[0]


def test_depths_map_linearly_from_the_far_end_to_the_near_end_and_unknown_depth_is_black() -> None:
    colouring = DepthColouring(1.0, 3.0, "turbo")
    depth = np.array([[1.0, 3.0, 2.0, 0.5, 9.0], [np.nan, np.inf, -np.inf, 0.0, -1.0]], np.float32)
    indices = colouring.indices(depth)
    # 1 + 254 (3 - d) / 2: 255 at 1 m and nearer, 1 at 3 m and farther, 128 half-way.
    np.testing.assert_array_equal(indices, [[255, 1, 128, 255, 1], [0, 0, 0, 0, 0]])
    rgb = colouring.apply(depth)
    assert rgb.shape == (2, 5, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb, colouring.table[indices])
    assert (rgb[1] == 0).all()


def test_nearer_is_never_lower_in_the_colour_map() -> None:
    colouring = DepthColouring(0.3, 10.0, "gray")
    depth = np.linspace(0.01, 12.0, 5000, dtype=np.float32).reshape(50, 100)
    indices = colouring.indices(depth).astype(int).ravel()
    assert (np.diff(indices) <= 0).all()
    assert indices[0] == 255 and indices[-1] == 1
    gray = colouring.apply(depth)
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()


def test_the_view_is_written_into_the_storage_it_is_given() -> None:
    """The bridge colours straight into an array.array that the message then takes as its data (no copy)."""
    colouring = DepthColouring(0.5, 3.0, "viridis")
    depth = np.random.default_rng(1).uniform(0.2, 4.0, (48, 64)).astype(np.float32)
    storage = array.array("B", bytes(48 * 64 * 3))
    out = np.frombuffer(storage, np.uint8).reshape(48, 64, 3)
    assert colouring.apply(depth, out=out) is out
    np.testing.assert_array_equal(np.frombuffer(storage, np.uint8).reshape(48, 64, 3), colouring.apply(depth))
    # Reused for the next frame, also at another size.
    assert colouring.apply(depth[:10, :20]).shape == (10, 20, 3)


def test_wrong_shapes_and_ranges_are_refused() -> None:
    colouring = DepthColouring(0.5, 3.0)
    with pytest.raises(ValueError, match="HxW"):
        colouring.apply(np.ones((4, 4, 1), np.float32))
    with pytest.raises(ValueError, match="out must be"):
        colouring.apply(np.ones((4, 4), np.float32), out=np.empty((4, 5, 3), np.uint8))
    for low, high in ((2.0, 1.0), (1.0, 1.0), (-0.5, 1.0), (0.0, float("inf")), (float("nan"), 1.0)):
        with pytest.raises(ValueError, match="depth_min < depth_max"):
            check_range(low, high)
    with pytest.raises(ValueError, match="colormap must be one of"):
        colormap_table("rainbowz")


def test_the_synthetic_cameras_depth_is_spread_over_the_colour_map_by_its_configured_range() -> None:
    from airo_mp_camera import SyntheticCamera

    vis = _parameters("synthetic")["depth"]["vis"]
    camera = SyntheticCamera(resolution=(320, 180), watermark=False)
    camera.grab_images()
    indices = DepthColouring(vis["depth_min"], vis["depth_max"], vis["colormap"]).indices(camera.retrieve_depth_map())
    assert (indices > 0).all()
    assert int(indices.max()) - int(indices.min()) > 50, "the tilted plane should span much of the colour map"


# ------------------------------------------------------------------------------ parameters
def test_the_depth_view_parameters_default_to_a_turbo_view_of_zed_range() -> None:
    view = bridge_config({}, "camera").depth_view
    assert (view.enabled, view.max_rate, view.depth_min, view.depth_max) == (True, 0.0, 0.3, 10.0)
    assert view.colormap == "turbo"
    values = {"depth.vis.depth_min": 1, "depth.vis.depth_max": 4, "depth.vis.colormap": "gray"}  # ints, as YAML
    view = bridge_config({**values, "depth.vis.enable": False, "depth.vis.max_rate": 5.0}, "camera").depth_view
    assert (view.enabled, view.max_rate, view.depth_min, view.depth_max) == (False, 5.0, 1.0, 4.0)
    assert view.colormap == "gray"


@pytest.mark.parametrize(
    ("values", "named", "allowed"),
    [
        ({"depth.vis.colormap": "rainbowz"}, "depth.vis.colormap", "one of turbo, jet"),
        ({"depth.vis.depth_max": 0.0}, "depth.vis.depth_max", "> 0"),
        ({"depth.vis.depth_min": -0.1}, "depth.vis.depth_min", ">= 0"),
        ({"depth.vis.depth_min": float("nan")}, "depth.vis.depth_min", ">= 0"),
        ({"depth.vis.max_rate": -1.0}, "depth.vis.max_rate", ">= 0"),
        ({"depth.vis.enable": "yes"}, "depth.vis.enable", "a boolean"),
        ({"depth.vis.depth_min": 12.0}, "depth.vis.depth_min' (12) must be below 'depth.vis.depth_max' (10)", ""),
        ({"depth.vis.depth_min": 2.0, "depth.vis.depth_max": 2.0}, "'depth.vis.depth_max' (2)", "colour map"),
    ],
)
def test_bad_depth_view_parameters_are_refused_naming_the_parameter(values, named: str, allowed: str) -> None:
    with pytest.raises(ParameterError) as error:
        bridge_config(values, "camera")
    assert named in str(error.value) and allowed in str(error.value), str(error.value)


def test_the_remote_bridge_sends_no_depth_view() -> None:
    assert not remote_bridge_config({}, "camera").depth_view.enabled


def _parameters(name: str) -> dict:
    """config/<name>.yaml's parameters, nested as written."""
    return yaml.safe_load((ROOT / "config" / f"{name}.yaml").read_text())["/**"]["ros__parameters"]


def _flatten(values: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@pytest.mark.parametrize("name", ["synthetic", "zed"])
def test_the_shipped_parameter_files_give_a_valid_depth_view(name: str) -> None:
    flat = _flatten(_parameters(name))
    check_unknown(flat, BRIDGE_SPECS + REMOTE_SPECS + CONSUMER_SPECS + CAMERA_SPECS)
    view = bridge_config(flat, "camera").depth_view
    assert view.enabled and view.colormap in COLORMAPS and 0 <= view.depth_min < view.depth_max
