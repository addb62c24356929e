"""What each remote bridge runs with (ros/remote_setup.py): `remote.bridges`, and a setup per bridge.

That camera_node and the launch files start a process per name, each serving its own topics, is shown by
test/ros/test_remote.py and test/launch/test_ros2_launch.py; here the names and the generated profiles.
"""

from __future__ import annotations

import logging
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from airo_mp_camera.ros.link_pacing import NAMESPACE
from airo_mp_camera.ros.parameters import REMOTE_SPECS, ParameterError, check_all, remote_bridge_config
from airo_mp_camera.ros.remote import socket_buffer_limits
from airo_mp_camera.ros.remote_setup import REMOTE_NODE_NAME, bridge_names, remote_bridge_setup, warn_socket_buffers


def test_bridge_names_default_to_the_one_remote_bridge() -> None:
    default = check_all(REMOTE_SPECS, {})["remote.bridges"]
    assert bridge_names(str(default)) == (REMOTE_NODE_NAME,)
    assert bridge_names(" remote , remote_wifi ") == ("remote", "remote_wifi")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no name given"),
        (" , ", "no name given"),
        ("remote,wi-fi", "'wi-fi' is not a ROS node name"),
        ("remote,2nd", "'2nd' is not a ROS node name"),
        ("remote,wifi,remote", "'remote' named twice"),
    ],
)
def test_a_bad_bridge_list_is_refused_naming_the_parameter(text: str, message: str) -> None:
    with pytest.raises(ParameterError, match="remote.bridges") as error:
        bridge_names(text)
    assert message in str(error.value)


def test_each_bridge_gets_a_paced_profile_for_its_own_topics_in_a_file_of_its_own() -> None:
    values = {"remote.enable": True}
    config = remote_bridge_config(values, "cam")
    remote_values = check_all(REMOTE_SPECS, values)
    setups = [remote_bridge_setup(remote_values, config, "/cam", name) for name in ("remote", "remote_wifi")]
    for setup in setups:
        assert setup.paced_profile is not None
        writers = {
            writer.get("profile_name")
            for writer in ET.fromstring(setup.paced_profile).iter(f"{{{NAMESPACE}}}data_writer")
            if writer.get("is_default_profile") != "true"
        }
        assert f"/cam/{setup.node_name}/rgb/image_raw/compressed" in writers
        assert not any(topic.startswith("/cam/") and f"/cam/{setup.node_name}/" not in topic for topic in writers)
    paths = [setup.write_paced_profile("cam_test_remote_setup") for setup in setups]
    try:
        assert paths[0] != paths[1]
        assert paths[0] == os.path.join(tempfile.gettempdir(), "airo_mp_camera_cam_test_remote_setup_remote.xml")
    finally:
        for path in paths:
            if path is not None:
                os.remove(path)


def test_a_capped_socket_buffer_is_warned_of_once_for_all_bridges(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    limits = socket_buffer_limits()
    if "net.core.wmem_max" not in limits:
        pytest.skip("/proc/sys/net/core/wmem_max is not readable here")
    profile = tmp_path / "profile.xml"
    asked = max(limits.values()) + 1  # more than the kernel allows: a warning per capped sysctl
    profile.write_text(
        '<dds xmlns="http://www.eprosima.com"><profiles><participant profile_name="p"><rtps>'
        f"<sendSocketBufferSize>{asked}</sendSocketBufferSize><listenSocketBufferSize>{asked}</listenSocketBufferSize>"
        "</rtps></participant></profiles></dds>"
    )
    values = {"remote.enable": True, "remote.fastdds_profile": str(profile)}
    config = remote_bridge_config(values, "cam")
    remote_values = check_all(REMOTE_SPECS, values)
    setups = [remote_bridge_setup(remote_values, config, "/cam", name) for name in ("remote", "remote_wifi")]
    with caplog.at_level(logging.WARNING):
        warn_socket_buffers(setups, logging.getLogger("cam"))
    warned = [record.getMessage() for record in caplog.records]
    capped = {"net.core.wmem_max", "net.core.rmem_max"} & limits.keys()
    assert len(warned) == len(capped), warned  # once per capped sysctl, though two bridges use the profile
    assert any("net.core.wmem_max" in message and str(asked) in message for message in warned)
