import numpy as np
import pytest

from airo_mp_camera import SyntheticCamera
from airo_mp_camera.cameras import watermark


def make_camera() -> SyntheticCamera:
    camera = SyntheticCamera(resolution=(320, 240), fps=200, watermark=False)
    camera.grab_images()
    return camera


def test_point_cloud_is_the_depth_back_projected_through_the_intrinsics() -> None:
    camera = make_camera()
    k = camera.intrinsics_matrix()
    depth = camera.retrieve_depth_map()
    points = camera.retrieve_colored_point_cloud().points.reshape(240, 320, 3)
    v, u = 100, 250
    expected = depth[v, u] * np.array([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], 1.0])
    np.testing.assert_allclose(points[v, u], expected, rtol=1e-5)
    assert np.all(depth > 0.5) and np.all(depth < 5.0)


def test_right_view_matches_left_view_shifted_by_disparity() -> None:
    camera = make_camera()
    k = camera.intrinsics_matrix()
    baseline = camera.pose_of_right_view_in_left_view[0, 3]
    depth = camera.retrieve_depth_map()
    left, right = camera.retrieve_rgb_image_as_int(), camera.retrieve_rgb_image_as_int("right")
    errors = []
    for v in range(20, 220, 10):
        for u in range(120, 300, 10):
            disparity = k[0, 0] * baseline / depth[v, u]
            u_right = int(round(u - disparity))
            errors.append(np.abs(left[v, u].astype(int) - right[v, u_right].astype(int)).max())
    assert np.median(errors) <= 8, "the right view is not the left view seen from the baseline"


def assert_every_stream_carries(camera: SyntheticCamera, frame_id: int) -> None:
    """Every stream of the camera's current frame carries `frame_id`'s watermark."""
    for stream in (
        camera.retrieve_rgb_image_as_int(),
        camera.retrieve_depth_map(),
        camera.retrieve_depth_image(),
        camera.retrieve_confidence_map(),
        camera.retrieve_colored_point_cloud().points,
    ):
        assert watermark.matches(stream, frame_id)


def test_each_grab_stamps_the_frame_id_into_every_stream() -> None:
    camera = SyntheticCamera(resolution=(64, 48), fps=500)
    for expected in (1, 2, 3):
        camera.grab_images()
        assert camera.frame_id == expected
        assert_every_stream_carries(camera, expected)


def test_grab_paces_frames_at_the_configured_rate() -> None:
    camera = SyntheticCamera(resolution=(64, 48), fps=50)
    camera.grab_images()
    first = camera.capture_timestamp
    for _ in range(10):
        camera.grab_images()
    assert 10 / 50 * 0.8 < camera.capture_timestamp - first < 10 / 50 * 3


# depth_model="realistic": objects, stereo-like noise and holes, deterministic per frame id.
REALISTIC_SIZE = (320, 240)


def realistic_camera(watermarked: bool = False) -> SyntheticCamera:
    return SyntheticCamera(resolution=REALISTIC_SIZE, fps=1000, watermark=watermarked, depth_model="realistic")


def depth_of_frames(camera: SyntheticCamera, count: int) -> list[np.ndarray]:
    frames = []
    for _ in range(count):
        camera.grab_images()
        frames.append(camera.retrieve_depth_map().copy())
    return frames


def test_unknown_depth_model_is_rejected_with_the_choices() -> None:
    with pytest.raises(ValueError, match="depth_model must be one of"):
        SyntheticCamera(resolution=(64, 48), depth_model="noisy")


def test_plane_depth_model_is_the_default_and_has_no_holes() -> None:
    camera = SyntheticCamera(resolution=(64, 48), fps=1000, watermark=False)
    camera.grab_images()
    assert np.isfinite(camera.retrieve_depth_map()).all()


def test_realistic_depth_has_holes_in_blobs_at_edges_and_scattered() -> None:
    depth = depth_of_frames(realistic_camera(), 1)[0]
    holes = np.isnan(depth)
    assert 0.01 < holes.mean() < 0.2
    # a blob: some 4x4 window is entirely invalid
    windows = holes[:-3, :-3] & holes[3:, :-3] & holes[:-3, 3:] & holes[3:, 3:] & holes[1:-2, 1:-2]
    assert windows.any()
    # depth edges (object outlines in the exact scene) are invalid far more often than the image on average
    exact = SyntheticCamera(resolution=REALISTIC_SIZE, fps=1000, watermark=False, depth_model="realistic")
    clean = exact._depth_exact  # the noise-free render the noisy maps are made from
    edge = np.zeros(clean.shape, bool)
    edge[:, 1:] |= np.abs(np.diff(clean, axis=1)) > 0.05
    assert edge.any()
    assert holes[edge].mean() > 0.9 > 5 * holes.mean()


def test_realistic_depth_noise_grows_with_the_square_of_depth() -> None:
    first, second = depth_of_frames(realistic_camera(), 2)
    both = np.isfinite(first) & np.isfinite(second)
    difference, depth = (first - second)[both], first[both]
    near = np.std(difference[(depth > 1.0) & (depth < 1.4)])
    far = np.std(difference[(depth > 2.6) & (depth < 3.4)])
    assert near > 0.0
    ratio_of_squares = (3.0 / 1.2) ** 2
    assert 0.5 * ratio_of_squares < far / near < 2.0 * ratio_of_squares
    assert far < 0.05 * 3.0  # within a few percent at 3 m, as a stereo camera


def test_realistic_depth_is_the_same_for_the_same_frame_id() -> None:
    frames = depth_of_frames(realistic_camera(), 6)
    again = depth_of_frames(realistic_camera(), 6)
    for frame, repeated in zip(frames, again, strict=True):
        np.testing.assert_array_equal(frame, repeated)
    assert not np.array_equal(frames[0], frames[1], equal_nan=True)


def test_realistic_point_cloud_is_its_depth_back_projected_with_nan_at_holes() -> None:
    camera = realistic_camera()
    for _ in range(3):
        camera.grab_images()
        k = camera.intrinsics_matrix()
        depth = camera.retrieve_depth_map()
        points = camera.retrieve_colored_point_cloud().points.reshape(*depth.shape, 3)
        v, u = np.mgrid[0 : depth.shape[0], 0 : depth.shape[1]]
        np.testing.assert_array_equal(points[..., 2], depth)
        np.testing.assert_allclose(points[..., 0], (u - k[0, 2]) / k[0, 0] * depth, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(points[..., 1], (v - k[1, 2]) / k[1, 1] * depth, rtol=1e-5, atol=1e-6)
        assert np.isnan(points[np.isnan(depth)]).all()


def test_realistic_right_view_sees_the_objects_at_the_depths_of_the_left_view() -> None:
    camera = realistic_camera()
    camera.grab_images()
    k = camera.intrinsics_matrix()
    baseline = camera.pose_of_right_view_in_left_view[0, 3]
    depth = camera.retrieve_depth_map()
    left, right = camera.retrieve_rgb_image_as_int(), camera.retrieve_rgb_image_as_int("right")
    errors = []
    for v in range(10, 230, 6):
        for u in range(60, 310, 6):
            if np.isfinite(depth[v, u]):
                u_right = int(round(u - k[0, 0] * baseline / depth[v, u]))
                if u_right >= 0:
                    errors.append(np.abs(left[v, u].astype(int) - right[v, u_right].astype(int)).max())
    assert len(errors) > 500 and np.median(errors) <= 12


def test_realistic_grabs_keep_watermarks_in_every_stream() -> None:
    camera = realistic_camera(watermarked=True)
    for expected in range(1, 7):
        camera.grab_images()
        assert_every_stream_carries(camera, expected)
