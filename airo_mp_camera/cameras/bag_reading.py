"""Reading a bag for replay: where it is, what it holds (from its index), and its frames in stamp order.

Bags are rosbag2 directories (MCAP or sqlite3) and ROS 1 `.bag` files, read with `rosbags`, imported only
when a bag is opened. A frame is the messages of one header stamp that has an RGB image; a message at a
stamp without one (a camera_info recorded once, depth stamped apart) joins the next frame.
"""

from __future__ import annotations

import heapq
import struct
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from airo_mp_camera.cameras.bag_layouts import BagCamera, find_camera, find_cameras

ROSBAGS_MISSING = "ReplayCamera needs the `rosbags` package to read bags: `pip install rosbags`."
# A frame waits for slower streams at most this many frames before it is handed out as it is.
MAX_PENDING_FRAMES = 32


def import_rosbags() -> ModuleType:
    """`rosbags.highlevel`, or an ImportError that says how to install it."""
    try:
        import rosbags.highlevel as highlevel
    except ImportError as error:
        raise ImportError(ROSBAGS_MISSING) from error
    return highlevel


def _default_typestore() -> Any:
    """ROS 2 message types for rosbag2 bags that do not embed their definitions (older sqlite3 bags)."""
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.LATEST)


def bag_location(bag_path: str) -> Path:
    """What rosbags opens: a ROS 1 `.bag` file, or a rosbag2 directory (also given as its storage file).

    Raises:
        FileNotFoundError: nothing at `bag_path`.
        ValueError: neither a `.bag` file nor a rosbag2 directory.
    """
    path = Path(bag_path)
    if not path.exists():
        raise FileNotFoundError(f"bag not found: {bag_path}")
    if path.is_file() and path.suffix == ".bag":
        return path
    if path.is_file():  # a rosbag2 storage file: its directory holds metadata.yaml
        path = path.parent
    if not (path / "metadata.yaml").is_file():
        raise ValueError(
            f"cannot read bag {bag_path}: neither a ROS 1 .bag file nor a rosbag2 directory (it has no metadata.yaml)"
        )
    return path


@dataclass(frozen=True)
class BagContents:
    """What a bag holds: topic -> message type, topic -> message count, and its duration."""

    msgtypes: Mapping[str, str]
    counts: Mapping[str, int]
    duration_ns: int
    start_ns: int = 0


def read_contents(highlevel: ModuleType, path: Path) -> BagContents:
    """The bag's topics, types, counts and duration, from its index (no message is read)."""
    try:
        with highlevel.AnyReader([path], default_typestore=_default_typestore()) as reader:
            msgtypes = {connection.topic: connection.msgtype for connection in reader.connections}
            counts = dict.fromkeys(msgtypes, 0)
            for connection in reader.connections:
                counts[connection.topic] += connection.msgcount
            # end_time is "after the latest message": latest + 1 ns
            duration_ns = int(reader.end_time) - 1 - int(reader.start_time) if reader.message_count else 0
            start_ns = int(reader.start_time) if reader.message_count else 0
    except highlevel.AnyReaderError as error:
        raise ValueError(f"cannot read bag {path}: {error}") from error
    return BagContents(msgtypes, counts, duration_ns, start_ns)


def camera_prefixes(bag_path: str) -> list[str]:
    """The topic prefixes of the cameras of known layouts in a bag (one ReplayCamera each; cheap: the index)."""
    contents = read_contents(import_rosbags(), bag_location(bag_path))
    return sorted({camera.prefix for camera in find_cameras(contents.msgtypes)})


def inspect_bag(bag_path: str, topic_prefix: str | None = None, topics: Mapping[str, str] | None = None) -> BagCamera:
    """The camera a `ReplayCamera` with these arguments would replay (cheap: reads the bag's index only).

    Raises:
        FileNotFoundError, ValueError: the bag cannot be read.
        BagLayoutError: no camera, several, or a mapping that does not fit (the message says how to choose).
    """
    path = bag_location(bag_path)
    contents = read_contents(import_rosbags(), path)
    return find_camera(contents.msgtypes, topic_prefix, topics, bag_name=f"bag {bag_path}")


@dataclass
class Message:
    """A serialised message, deserialised on first use (a frame's unused streams are never deserialised)."""

    raw: bytes
    msgtype: str
    deserialize: Callable[[bytes, str], Any]
    _value: Any = None

    def get(self) -> Any:
        if self._value is None:
            self._value = self.deserialize(self.raw, self.msgtype)
        return self._value


@dataclass
class BagFrame:
    """The messages of one header stamp, by stream name."""

    stamp_ns: int
    messages: dict[str, Message] = field(default_factory=dict)


def raw_stamp_ns(raw: bytes, ros2: bool) -> int:
    """Header stamp of a serialised message whose first field is a std_msgs/Header.

    ROS 2 (CDR): after the 4-byte encapsulation header (byte 1: 1 little-endian, 0 big-endian) come
    stamp.sec (int32) and stamp.nanosec (uint32). ROS 1: uint32 seq, then uint32 sec and nsec, little-endian.
    """
    if ros2:
        sec, nanosec = struct.unpack_from("<iI" if raw[1] == 1 else ">iI", raw, 4)
    else:
        sec, nanosec = struct.unpack_from("<II", raw, 4)
    return int(sec) * 1_000_000_000 + int(nanosec)


def read_frames(highlevel: ModuleType, path: Path, topics: Mapping[str, str]) -> Generator[BagFrame, None, None]:
    """Frames of one pass over the bag, in stamp order, each once every stream has moved past its stamp."""
    with highlevel.AnyReader([path], default_typestore=_default_typestore()) as reader:
        stream_of = {topic: stream for stream, topic in topics.items()}
        connections = [connection for connection in reader.connections if connection.topic in stream_of]
        present = {stream_of[connection.topic] for connection in connections}
        pending: dict[int, BagFrame] = {}
        order: list[int] = []  # heap of pending stamps
        latest: dict[str, int] = {}
        carried: dict[str, Message] = {}  # messages of stamps without an RGB image, for the next frame
        # Bound to the bag's own type store, which the messages keep: the reader empties its store when it closes,
        # and the last frame of a pass is still decoded (lazily) after that.
        typestore = reader.typestore
        deserialize = typestore.deserialize_cdr if reader.is2 else typestore.deserialize_ros1

        def complete(frame: BagFrame) -> BagFrame | None:
            if "rgb" not in frame.messages:  # e.g. a camera_info recorded once, or at its own stamps
                carried.update(frame.messages)
                return None
            for name, message in carried.items():
                frame.messages.setdefault(name, message)
            carried.clear()
            return frame

        for connection, _, raw in reader.messages(connections=connections):
            stream = stream_of[connection.topic]
            message = Message(raw, connection.msgtype, deserialize)
            stamp = raw_stamp_ns(raw, reader.is2)
            if stamp not in pending:
                pending[stamp] = BagFrame(stamp)
                heapq.heappush(order, stamp)
            pending[stamp].messages[stream] = message
            latest[stream] = max(stamp, latest.get(stream, stamp))
            horizon = min(latest.get(name, -1) for name in present)
            while order and (order[0] <= horizon or len(order) > MAX_PENDING_FRAMES):
                frame = complete(pending.pop(heapq.heappop(order)))
                if frame is not None:
                    yield frame
        while order:
            frame = complete(pending.pop(heapq.heappop(order)))
            if frame is not None:
                yield frame


def pass_seconds(contents: BagContents) -> float:
    """One pass of a looping replay: the bag's duration plus the shortest frame period of its cameras."""
    periods = [
        contents.duration_ns / 1e9 / (contents.counts.get(camera.topics["rgb"], 0) - 1)
        for camera in find_cameras(contents.msgtypes)
        if contents.counts.get(camera.topics["rgb"], 0) > 1
    ]
    return contents.duration_ns / 1e9 + (min(periods) if periods else 0.0)
