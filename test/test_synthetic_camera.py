import numpy as np

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


def test_each_grab_stamps_the_frame_id_into_every_stream() -> None:
    camera = SyntheticCamera(resolution=(64, 48), fps=500)
    for expected in (1, 2, 3):
        camera.grab_images()
        assert camera.frame_id == expected
        for stream in (
            camera.retrieve_rgb_image_as_int(),
            camera.retrieve_depth_map(),
            camera.retrieve_depth_image(),
            camera.retrieve_confidence_map(),
            camera.retrieve_colored_point_cloud().points,
        ):
            assert watermark.matches(stream, expected)


def test_grab_paces_frames_at_the_configured_rate() -> None:
    camera = SyntheticCamera(resolution=(64, 48), fps=50)
    camera.grab_images()
    first = camera.capture_timestamp
    for _ in range(10):
        camera.grab_images()
    assert 10 / 50 * 0.8 < camera.capture_timestamp - first < 10 / 50 * 3
