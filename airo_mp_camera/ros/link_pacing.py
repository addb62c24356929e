"""The remote bridge's pacing inside Fast DDS: one flow controller for its writers, in `remote.priority` order.

Over plain UDP (`remote.transport:=udp`, the default) nothing slows a DDS writer to the link's rate by itself:
a frame's fragments leave at memory speed, a slow link's queue (a Wi-Fi access point; `tc tbf` in the
benchmark) overflows, every lost fragment is asked for again, and the repairs crowd out new frames. Measured
on a 100 Mbit/s link with the shipped profile alone: 0.5 Hz of rgb for 99 Mbit/s of link use; on 20 Mbit/s,
nothing at all. So camera_node gives its remote bridge a profile written for it from the package's
(`config/fastdds_remote_udp.xml`, or its Fast DDS 2.x twin), which adds:

- asynchronous publication through one flow controller, scheduled `HIGH_PRIORITY`: each remote topic gets the
  priority of its stream's place in `remote.priority` (Fast DDS's `fastdds.sfc.priority`, -10 first), so rgb's
  small frames overtake a depth frame that is being sent;
- a rate limit of `PACE_FACTOR` times `remote.max_mbit_s` or AUTOMATIC_MBIT_S, whichever is higher, handed out a
  period (PERIOD_MS) at a time. The limit is what makes the scheduler order the fragments at all: each period
  it hands the transport the highest-priority fragments queued, so rgb's frames interleave with a depth frame
  in chunks of a period's bytes. It sits above what the streams send because the remote bridge's link estimate
  and share (ros/link_estimate.py, ros/link_share.py) pace them, and Fast DDS 3.x's controller delivered only
  about 60 % of its nominal rate here.

The shipped profile's small UDP send buffer does the rest: the kernel blocks the sending thread while that much
waits in the link's queue, so the link's own rate paces the sender even where the budget is set above it.
rmw_fastrtps applies the profile's publication mode only under `RMW_FASTRTPS_PUBLICATION_MODE=AUTO`
(`PUBLICATION_MODE_ENV`), which the remote bridge's environment carries.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence

from airo_mp_camera.ros.link_share import PRIORITY_NAMES

NAMESPACE = "http://www.eprosima.com"
CONTROLLER = "airo_mp_camera_remote_link"
PERIOD_MS = 1  # the controller hands the transport at most a period's bytes at once: small chunks interleave
AUTOMATIC_MBIT_S = 500.0
"""The least budget the controller is given (remote.max_mbit_s, if higher): the link estimate paces the streams
and keeps to the ceiling; the controller only orders them, in chunks of a period's bytes (125 KB: 10 ms of a
100 Mbit/s link). A controller at a small ceiling would hand out less than a datagram a period."""
PACE_FACTOR = 2.0
PUBLICATION_MODE_ENV = {"RMW_FASTRTPS_PUBLICATION_MODE": "AUTO"}
_Q = f"{{{NAMESPACE}}}"


def stream_priority(stream: str, priority: Sequence[str]) -> int:
    """Fast DDS's writer priority (-10 first, 10 last) of a stream ("raw" for raw topics) at its `priority` place."""
    order = list(priority) + [name for name in PRIORITY_NAMES if name not in priority]
    step = 20 // max(len(order) - 1, 1)
    return -10 + step * order.index(stream)


def remote_topics(node_name: str, streams: Iterable[str]) -> list[tuple[str, str]]:
    """(topic, the priority name it is scheduled under) for every topic the remote bridge `node_name` may publish."""
    topics = []
    for stream in streams:
        if stream == "points":
            topics.append((f"{node_name}/points", "points"))
            continue
        suffix = "compressedDepth" if stream == "depth" else "compressed"
        topics.append((f"{node_name}/{stream}/image_raw/{suffix}", stream))
        topics.append((f"{node_name}/{stream}/camera_info", stream))
        topics.append((f"{node_name}/{stream}/image_raw", "raw"))
    return topics


def paced_profile(
    base_profile: str, budget_mbit_s: float, priority: Sequence[str], topics: Sequence[tuple[str, str]]
) -> str:
    """The XML text of `base_profile` with the flow controller and a writer profile per topic (see the module).

    Raises:
        ValueError: `base_profile` has no participant or no default data_writer profile to extend.

    """
    ET.register_namespace("", NAMESPACE)
    tree = ET.parse(base_profile)
    profiles = tree.getroot().find(f"{_Q}profiles")
    participant = profiles.find(f"{_Q}participant") if profiles is not None else None
    rtps = participant.find(f"{_Q}rtps") if participant is not None else None
    writer = None
    if profiles is not None:
        writer = next((w for w in profiles.findall(f"{_Q}data_writer") if w.get("is_default_profile") == "true"), None)
    if profiles is None or rtps is None or writer is None:
        raise ValueError(f"{base_profile}: no participant with <rtps> and no default <data_writer> profile to pace")
    controllers = ET.SubElement(
        ET.SubElement(rtps, f"{_Q}flow_controller_descriptor_list"), f"{_Q}flow_controller_descriptor"
    )
    bytes_per_period = int(budget_mbit_s * PACE_FACTOR * 1e6 / 8 * PERIOD_MS / 1000)
    for tag, text in (
        ("name", CONTROLLER),
        ("scheduler", "HIGH_PRIORITY"),
        ("max_bytes_per_period", str(max(bytes_per_period, 1))),
        ("period_ms", str(PERIOD_MS)),
    ):
        ET.SubElement(controllers, f"{_Q}{tag}").text = text
    qos = writer.find(f"{_Q}qos")
    if qos is None:
        qos = ET.Element(f"{_Q}qos")
        writer.insert(0, qos)
    mode = ET.SubElement(qos, f"{_Q}publishMode")
    ET.SubElement(mode, f"{_Q}kind").text = "ASYNCHRONOUS"
    ET.SubElement(mode, f"{_Q}flow_controller_name").text = CONTROLLER
    for topic, stream in topics:
        topic_writer = copy.deepcopy(writer)
        topic_writer.attrib = {"profile_name": topic}  # rmw_fastrtps looks a writer's profile up by topic name
        properties = ET.SubElement(ET.SubElement(topic_writer, f"{_Q}propertiesPolicy"), f"{_Q}properties")
        entry = ET.SubElement(properties, f"{_Q}property")
        ET.SubElement(entry, f"{_Q}name").text = "fastdds.sfc.priority"
        ET.SubElement(entry, f"{_Q}value").text = str(stream_priority(stream, priority))
        profiles.append(topic_writer)
    ET.indent(tree)
    return ET.tostring(tree.getroot(), encoding="unicode", xml_declaration=True) + "\n"
