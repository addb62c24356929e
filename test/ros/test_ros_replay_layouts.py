"""camera_node replaying the drivers' bags (written in tmp dirs by test/support/driver_bags.py): real node process,
real rclpy subscribers here; images decoded independently (rosbags-image) and compared with what was written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed (make venv installs ROS 2 from PyPI)")

from sensor_msgs.msg import CameraInfo, Image, PointCloud2  # noqa: E402

from support.driver_bags import (
    FRAMES,
    WrittenBag,
    write_custom,
    write_own,
    write_realsense,
    write_two_cameras,
    write_zed,
)
from support.ros_decoding import decode_independently
from support.ros_support import ROOT, START_TIMEOUT, node_name, start_node, stop_node, subscriber


def written_frame(bag: WrittenBag, message: object) -> int:
    """Index of the written frame whose stamp the message carries (capture times travel as float64 seconds)."""
    stamp = message.header.stamp  # type: ignore[attr-defined]
    stamp_ns = stamp.sec * 10**9 + stamp.nanosec
    index = min(range(len(bag.frames)), key=lambda i: abs(bag.frames[i].stamp_ns - stamp_ns))
    assert abs(bag.frames[index].stamp_ns - stamp_ns) < 1000, f"stamp {stamp_ns} ns is not in the bag"
    return index


def replay_params(bag: WrittenBag, namespace: str, **extra: object) -> dict[str, object]:
    return {
        "camera_type": "replay",
        "replay.bag_path": str(bag.path),
        "replay.restamp": False,
        "namespace": namespace,
        **extra,
    }


def check_rgb_depth_and_info(bag: WrittenBag, name: str, probe: object, topics: dict[str, str]) -> None:
    messages = probe.messages  # type: ignore[attr-defined]
    for image in messages[topics["rgb"]]:
        written = bag.frames[written_frame(bag, image)]
        np.testing.assert_array_equal(decode_independently(image, "sensor_msgs/msg/Image"), written.rgb)
    for depth in messages[topics["depth"]]:
        written = bag.frames[written_frame(bag, depth)]
        assert depth.encoding == "32FC1"
        decoded = decode_independently(depth, "sensor_msgs/msg/Image")
        np.testing.assert_array_equal(np.isnan(decoded), np.isnan(written.depth))
        np.testing.assert_array_equal(decoded[~np.isnan(decoded)], written.depth[~np.isnan(written.depth)])
    info = messages[topics["rgb_info"]][-1]
    np.testing.assert_allclose(np.asarray(info.k).reshape(3, 3), bag.intrinsics)
    assert (info.width, info.height) == (64, 48)


def subscribe_and_wait(probe: object, name: str, extra: dict[str, type] | None = None) -> dict[str, str]:
    topics = {
        "rgb": f"/{name}/rgb/image_raw",
        "rgb_info": f"/{name}/rgb/camera_info",
        "depth": f"/{name}/depth/image_raw",
    }
    types = {"rgb": Image, "rgb_info": CameraInfo, "depth": Image}
    for stream, msg_type in (extra or {}).items():
        topics[stream] = f"/{name}/{stream}" if stream == "points" else f"/{name}/{stream}/image_raw"
        types[stream] = msg_type
    for stream, topic in topics.items():
        probe.subscribe(types[stream], topic)  # type: ignore[attr-defined]

    def enough() -> bool:
        return all(probe.count(topic) >= FRAMES + 1 for topic in topics.values())  # type: ignore[attr-defined]

    probe.wait_for(enough, START_TIMEOUT, "more than a pass of the bag on every topic")  # type: ignore[attr-defined]
    return topics


def test_a_zed_bag_replays_through_camera_node(tmp_path: Path, namespace: str, processes) -> None:
    bag = write_zed(tmp_path / "zed", 4)
    name = node_name()
    params = replay_params(bag, namespace, **{"right.enable": True, "points.enable": True, "points.max_rate": 0.0})
    node = start_node(processes, "camera_node", name, params)
    with subscriber() as probe:
        topics = subscribe_and_wait(probe, name, {"right": Image, "points": PointCloud2})
        check_rgb_depth_and_info(bag, name, probe, topics)
        for right in probe.messages[topics["right"]]:
            written = bag.frames[written_frame(bag, right)]
            np.testing.assert_array_equal(decode_independently(right, "sensor_msgs/msg/Image"), written.right)
        cloud = probe.messages[topics["points"]][-1]
        assert (cloud.width, cloud.height) == (64, 48)
    code, output = stop_node(node)
    assert code == 0, output


def test_a_realsense_ros1_bag_replays_through_camera_node(tmp_path: Path, namespace: str, processes) -> None:
    bag = write_realsense(tmp_path / "realsense.bag", ros1=True)
    name = node_name()
    node = start_node(processes, "camera_node", name, replay_params(bag, namespace))
    with subscriber() as probe:
        topics = subscribe_and_wait(probe, name)
        check_rgb_depth_and_info(bag, name, probe, topics)
    code, output = stop_node(node)
    assert code == 0, output


def test_an_explicit_mapping_by_parameters_replays_through_camera_node(
    tmp_path: Path, namespace: str, processes
) -> None:
    bag = write_custom(tmp_path / "custom")
    name = node_name()
    mapping = {f"replay.topics.{stream}": topic for stream, topic in bag.topics.items()}
    node = start_node(processes, "camera_node", name, replay_params(bag, namespace, **mapping))
    with subscriber() as probe:
        topics = subscribe_and_wait(probe, name)
        check_rgb_depth_and_info(bag, name, probe, topics)
    code, output = stop_node(node)
    assert code == 0, output


def test_a_bag_without_aligned_depth_replays_rgb_only_and_says_why(tmp_path: Path, namespace: str, processes) -> None:
    bag = write_realsense(tmp_path / "unaligned", aligned=False)
    name = node_name()
    node = start_node(processes, "camera_node", name, replay_params(bag, namespace, **{"points.enable": False}))
    topic = f"/{name}/rgb/image_raw"
    with subscriber() as probe:
        probe.subscribe(Image, topic)
        probe.wait_for(lambda: probe.count(topic) >= FRAMES + 1, START_TIMEOUT, "more than a pass of the bag")
        for image in probe.messages[topic]:
            written = bag.frames[written_frame(bag, image)]
            np.testing.assert_array_equal(decode_independently(image, "sensor_msgs/msg/Image"), written.rgb)
        assert probe.node.get_publishers_info_by_topic(f"/{name}/depth/image_raw") == []
    code, output = stop_node(node)
    assert code == 0, output
    assert "'depth.enable' is true but camera '/camera/camera' (realsense-ros 4.x)" in output
    assert "depth/image_rect_raw is not replayed" in output
    assert "Traceback" not in output


def test_a_bag_with_two_cameras_stops_camera_node_naming_them(tmp_path: Path, namespace: str, processes) -> None:
    write_two_cameras(tmp_path / "two")
    name = node_name()
    params = {"camera_type": "replay", "replay.bag_path": str(tmp_path / "two"), "namespace": namespace}
    node = start_node(processes, "camera_node", name, params)
    out, err = node.communicate(timeout=60)
    output = (out + err).decode()
    assert node.returncode == 2, output
    assert "holds 2 cameras" in output and "'/zed/zed_node'" in output and "'/camera/camera'" in output
    assert "replay.topic_prefix" in output
    node = start_node(processes, "camera_node", name, {**params, "replay.topic_prefix": "/zed/zed_node"})
    topic = f"/{name}/rgb/image_raw"
    with subscriber() as probe:
        probe.subscribe(Image, topic)
        probe.wait_for(lambda: probe.count(topic) >= 1, START_TIMEOUT, "images of the chosen camera")
    code, output = stop_node(node)
    assert code == 0, output


def test_a_zed_bag_replays_with_the_zed_config_that_zed_launch_loads(
    tmp_path: Path, namespace: str, processes
) -> None:
    """`ros2 launch airo_mp_camera zed.launch.py camera_type:=replay bag_path:=...` runs camera_node with
    config/zed.yaml and these overrides (launch itself is not installed here, so camera_node is started as
    the launch file would start it)."""
    bag = write_zed(tmp_path / "zed5.bag", 5, ros1=True)
    name = node_name()
    overrides = {
        "camera_type": "replay",
        "camera_name": name,
        "replay.bag_path": str(bag.path),
        "replay.restamp": False,
        "namespace": namespace,
    }
    config = ["--params-file", str(ROOT / "config" / "zed.yaml")]
    node = start_node(processes, "camera_node", name, overrides, config)
    with subscriber() as probe:
        topics = subscribe_and_wait(probe, name)
        check_rgb_depth_and_info(bag, name, probe, topics)
    code, output = stop_node(node)
    assert code == 0, output


def test_replay_topic_parameters_are_checked_before_the_camera_starts() -> None:
    from airo_mp_camera.ros.parameters import ParameterError, camera_config

    base = {"camera_type": "replay", "replay.bag_path": "/data/bag"}
    config = camera_config({**base, "replay.topics.rgb": "/a/image", "replay.topics.rgb_info": "/a/info"})
    assert config.camera_kwargs["topics"] == {"rgb": "/a/image", "rgb_info": "/a/info"}
    assert "topic_prefix" not in config.camera_kwargs
    assert camera_config({**base, "replay.topic_prefix": "/zed/zed_node"}).camera_kwargs["topic_prefix"] == (
        "/zed/zed_node"
    )
    with pytest.raises(ParameterError, match="'replay.topics.rgb_info' must be set"):
        camera_config({**base, "replay.topics.rgb": "/a/image"})
    with pytest.raises(ParameterError, match="'replay.topics.depth' must be an absolute topic name"):
        camera_config({**base, "replay.topics.depth": "depth"})
    with pytest.raises(ParameterError, match="'replay.topics.rgb' must be a string"):
        camera_config({**base, "replay.topics.rgb": 3})


def test_a_missing_bag_stops_camera_node_naming_it(tmp_path: Path, namespace: str, processes) -> None:
    params = {"camera_type": "replay", "replay.bag_path": str(tmp_path / "absent"), "namespace": namespace}
    node = start_node(processes, "camera_node", node_name(), params)
    out, err = node.communicate(timeout=60)
    assert node.returncode == 2, (out + err).decode()
    assert f"bag not found: {tmp_path / 'absent'}" in err.decode()


def test_a_bag_of_only_compressed_topics_replays_through_camera_node(
    tmp_path: Path, namespace: str, processes
) -> None:
    bag = write_own(tmp_path / "compressed", colour_codec="png", depth_codec="rvl")
    name = node_name()
    node = start_node(processes, "camera_node", name, replay_params(bag, namespace))
    with subscriber() as probe:
        topics = subscribe_and_wait(probe, name)
        for image in probe.messages[topics["rgb"]]:  # PNG: exact
            written = bag.frames[written_frame(bag, image)]
            np.testing.assert_array_equal(decode_independently(image, "sensor_msgs/msg/Image"), written.rgb)
        for message in probe.messages[topics["depth"]]:  # compressedDepth 32FC1: d <= d' < d + d^2 / (A - d)
            expected = bag.frames[written_frame(bag, message)].depth
            depth = decode_independently(message, "sensor_msgs/msg/Image")
            np.testing.assert_array_equal(np.isnan(depth), np.isnan(expected))
            valid = ~np.isnan(expected)
            error = depth[valid] - expected[valid]
            bound = expected[valid] ** 2 / (100.0 * 101.0 - expected[valid])
            assert (error >= -1e-6 * expected[valid]).all() and (error <= bound * (1 + 1e-3) + 1e-6).all()
    code, output = stop_node(node)
    assert code == 0, output
