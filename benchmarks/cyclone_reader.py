"""A Cyclone DDS subscriber of sensor_msgs/CompressedImage, standing for rmw_cyclonedds_cpp on another machine.

There is no rmw_cyclonedds_cpp wheel here, but the `cyclonedds` Python package (installed with airo-ipc) is a
plain Cyclone DDS participant: what it receives from the remote bridge's Fast DDS writers, a ROS 2 node on
rmw_cyclonedds_cpp receives too. It reads the way rmw_cyclonedds_cpp does:
- topic `rt/<ROS topic>` (ROS 2's DDS topic-name mangling), type name
  `sensor_msgs::msg::dds_::CompressedImage_` (and `std_msgs::msg::dds_::Header_`,
  `builtin_interfaces::msg::dds_::Time_` inside it), final (XCDR1) structs with the ROS field names;
- QoS as a ROS subscription's: reliable, keep last 1, volatile;
- matched by type: rmw_cyclonedds_cpp registers its types without XTypes type information, so Cyclone
  matches it to a writer on the type name alone. A cyclonedds-python type always carries type information,
  and Cyclone then compares XTypes type identifiers. Its builder flags sequence elements TRY_CONSTRUCT1
  where Fast DDS sets no flag, so its identifiers differ from the Fast DDS writer's and the writer is refused
  (requested-incompatible-QoS, policy 24). `FastDdsTypeInformation` builds the identifiers with element
  flags as Fast DDS sets them; they are then equal to the writer's (checked: without it nothing arrives), so
  the match rests on the same type as rmw_cyclonedds_cpp's name match.
`data` is read as bytes (one copy, no list of ints); on the wire and in the type information it is
`sequence<uint8>`, as in the ROS message.

Host B's participant is confined to host B's interface by the caller (CYCLONEDDS_URI, `cyclone_config`);
its socket buffers and everything else are Cyclone's stock settings. (No `from __future__ import annotations`:
cyclonedds-python resolves the field annotations at run time.)
"""

import time
from dataclasses import dataclass
from typing import Any, get_args

from cyclonedds.idl import IdlStruct, types
from cyclonedds.idl import annotations as annotate
from cyclonedds.idl._support import Endianness
from cyclonedds.idl._xt_builder import XTBuilder, xt


@dataclass
@annotate.final
class Time_(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):  # noqa: N801 (the DDS type name)
    sec: types.int32
    nanosec: types.uint32


@dataclass
@annotate.final
class Header_(IdlStruct, typename="std_msgs::msg::dds_::Header_"):  # noqa: N801
    stamp: Time_
    frame_id: str


@dataclass
@annotate.final
class CompressedImage_(IdlStruct, typename="sensor_msgs::msg::dds_::CompressedImage_"):  # noqa: N801
    header: Header_
    format: str
    data: bytes


_UINT8_SEQUENCE = get_args(types.sequence[types.uint8])[1]  # the builder's form of the annotation


class FastDdsTypeInformation(XTBuilder):
    """cyclonedds-python's XTypes builder with collection element flags as Fast DDS sets them (none)."""

    _type_hash_db: dict[Any, Any] = {}  # its own cache: the base class's holds hashes with the other flags

    @classmethod
    def _xt_type_identifier(cls, name: str, entity: Any, minimal: bool) -> Any:
        if entity is bytes:  # CompressedImage.data: uint8[] in ROS
            entity = _UINT8_SEQUENCE
        identifier = super()._xt_type_identifier(name, entity, minimal)
        header = getattr(identifier.value, "header", None)
        if header is not None and hasattr(header, "element_flags"):
            header.element_flags = xt.MemberFlag()
        return identifier

    @classmethod
    def _xt_common_collection_element(cls, _type: Any, minimal: bool, flags: Any) -> Any:
        return super()._xt_common_collection_element(_type, minimal, type(flags)())


def with_fast_dds_type_information(datatype: Any) -> Any:
    """`datatype` carrying the type information a Fast DDS writer of the same ROS type announces."""
    idl = datatype.__idl__
    idl.populate()
    idl._xt_data = FastDdsTypeInformation.process_type(datatype)
    idl._xt_bytedata = tuple(
        part.serialize(endianness=Endianness.Little, use_version_2=True)[4:] for part in idl._xt_data
    )
    return datatype


def cyclone_config(interface: str) -> str:
    """A CYCLONEDDS_URI that puts the participant on `interface` only (stock settings otherwise)."""
    return (
        f'<CycloneDDS><Domain><General><Interfaces><NetworkInterface name="{interface}"/></Interfaces>'
        "</General></Domain></CycloneDDS>"
    )


def cyclone_probe(topics: "list[str]", seconds: float, connect_timeout: float, warmup: float) -> "dict[str, Any]":
    """Reads `topics` (CompressedImage) for `seconds` after the first message; the report of remote_probe."""
    from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState, WaitSet
    from cyclonedds.domain import DomainParticipant
    from cyclonedds.qos import Policy, Qos
    from cyclonedds.sub import DataReader
    from cyclonedds.topic import Topic

    from benchmarks.remote_probe import decoded_topic, decodes, report_of

    datatype = with_fast_dds_type_information(CompressedImage_)
    participant = DomainParticipant(0)
    qos = Qos(Policy.Reliability.Reliable(max_blocking_time=100_000_000), Policy.History.KeepLast(1))
    waitset = WaitSet(participant)
    readers = {}
    for topic in topics:
        reader = DataReader(participant, Topic(participant, "rt" + topic, datatype), qos=qos)
        waitset.attach(ReadCondition(reader, SampleState.Any | ViewState.Any | InstanceState.Any))
        readers[topic] = reader
    arrivals: dict[str, list[tuple[float, float, int]]] = {topic: [] for topic in topics}
    decoded: dict[str, list[bool]] = {topic: [] for topic in topics}

    def spin(until: float) -> None:
        while time.monotonic() < until:
            waitset.wait(50_000_000)  # ns
            for topic, reader in readers.items():
                for message in reader.take(8):
                    now = time.time()
                    stamp = message.header.stamp.sec + message.header.stamp.nanosec * 1e-9
                    arrivals[topic].append((now, stamp, len(message.data)))
                    if decoded_topic(topic) and len(decoded[topic]) < 3:
                        decoded[topic].append(decodes(topic, message))

    deadline = time.monotonic() + connect_timeout
    while time.monotonic() < deadline and not any(arrivals.values()):
        spin(time.monotonic() + 0.05)
    spin(time.monotonic() + warmup)
    begin = time.time()
    spin(time.monotonic() + seconds)
    return report_of(arrivals, decoded, begin, time.time())
