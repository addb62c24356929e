import pytest

from airo_mp_camera import InvalidNamespaceError
from airo_mp_camera.pipeline.namespace import segment_name


@pytest.mark.parametrize(
    "bad",
    ["", "/", "//", "..", "a/../b", "a b", "a-b", "a.b", "1camera", "a//b", "a__b", "caméra", "x" * 101, None],
)
def test_invalid_namespaces_are_rejected_before_touching_shared_memory(bad: object) -> None:
    with pytest.raises(InvalidNamespaceError):
        segment_name(bad)  # type: ignore[arg-type]


def test_ros_style_namespaces_map_to_distinct_safe_segment_names() -> None:
    assert segment_name("camera") == "airo_mp_camera.camera"
    assert segment_name("/robot/zed_left") == "airo_mp_camera.robot__zed_left"
    assert segment_name("robot/zed_left") != segment_name("robot_zed/left")
