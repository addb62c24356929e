"""The remote bridge's generated Fast DDS profile (ros/link_pacing.py): what it adds to the shipped one.

That Fast DDS really loads it and paces the writers is shown by the two-host tests (test/ros/test_remote.py) and
`make bench-remote`'s slow-link cases; here the text itself is checked, for both Fast DDS generations' files.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from airo_mp_camera.ros.link_pacing import (
    CONTROLLER,
    NAMESPACE,
    PACE_FACTOR,
    PERIOD_MS,
    paced_profile,
    remote_topics,
    stream_priority,
)
from airo_mp_camera.ros.link_share import DEFAULT_PRIORITY, parse_priority

CONFIG = Path(__file__).resolve().parents[2] / "config"
Q = f"{{{NAMESPACE}}}"


@pytest.mark.parametrize("base", ["fastdds_remote_udp.xml", "fastdds_remote_udp_fastdds2.xml"])
def test_the_paced_profile_adds_a_priority_flow_controller_at_twice_the_budget(base: str, tmp_path: Path) -> None:
    topics = remote_topics("/cell/wrist/remote", ("rgb", "depth", "points"))
    text = paced_profile(str(CONFIG / base), 90.0, DEFAULT_PRIORITY, topics)
    root = ET.fromstring(text)
    descriptor = root.find(
        f".//{Q}participant/{Q}rtps/{Q}flow_controller_descriptor_list/{Q}flow_controller_descriptor"
    )
    assert descriptor is not None
    assert descriptor.findtext(f"{Q}scheduler") == "HIGH_PRIORITY"
    assert descriptor.findtext(f"{Q}name") == CONTROLLER
    nominal_mbit_s = int(descriptor.findtext(f"{Q}max_bytes_per_period") or 0) * 8 / (PERIOD_MS / 1000) / 1e6
    assert nominal_mbit_s == pytest.approx(90.0 * PACE_FACTOR)
    writers = {w.get("profile_name"): w for w in root.iter(f"{Q}data_writer")}
    default = [w for w in writers.values() if w.get("is_default_profile") == "true"]
    assert len(default) == 1, "the shipped default writer profile stays the default"
    for writer in writers.values():  # every writer, the default one too, is asynchronous through the controller
        assert writer.findtext(f"{Q}qos/{Q}publishMode/{Q}kind") == "ASYNCHRONOUS"
        assert writer.findtext(f"{Q}qos/{Q}publishMode/{Q}flow_controller_name") == CONTROLLER
        assert writer.find(f"{Q}times") is not None, "the shipped heartbeat period is kept (either element name)"
        # Piggybacked heartbeats doubled the datagrams host B received and made a quarter of the fragments repeats
        assert writer.findtext(f"{Q}qos/{Q}disable_heartbeat_piggyback") == "true"
    priority = {
        name: int(w.findtext(f".//{Q}property[{Q}name='fastdds.sfc.priority']/{Q}value") or 99)
        for name, w in writers.items()
        if w.get("is_default_profile") != "true"
    }
    assert set(priority) == {topic for topic, _ in topics}
    rgb = priority["/cell/wrist/remote/rgb/image_raw/compressed"]
    depth = priority["/cell/wrist/remote/depth/image_raw/compressedDepth"]
    assert rgb < depth < priority["/cell/wrist/remote/points"] < priority["/cell/wrist/remote/rgb/image_raw"]
    assert rgb == priority["/cell/wrist/remote/rgb/camera_info"] == -10
    path = tmp_path / "paced.xml"
    path.write_text(text)
    ET.parse(path)  # what the child is given parses as a file


def test_the_priority_order_is_the_users_remote_priority() -> None:
    order = parse_priority("depth,rgb")
    assert stream_priority("depth", order) < stream_priority("rgb", order) < stream_priority("points", order)
    assert [stream_priority(name, DEFAULT_PRIORITY) for name in DEFAULT_PRIORITY] == [-10, -5, 0, 5, 10]


def test_a_profile_without_a_default_writer_cannot_be_paced(tmp_path: Path) -> None:
    bare = tmp_path / "bare.xml"
    bare.write_text(
        f'<dds xmlns="{NAMESPACE}"><profiles><participant profile_name="p"><rtps/></participant></profiles></dds>'
    )
    with pytest.raises(ValueError, match="no default <data_writer>"):
        paced_profile(str(bare), 90.0, DEFAULT_PRIORITY, [])
