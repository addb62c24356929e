"""The Fast DDS profiles in config/ take effect on the Fast DDS this venv has (3.x with kilted, 2.14 with Jazzy).

Fast DDS rejects a profile file whole, without a word at the default log level, when it finds an element it
does not know, and 2.x reads the file only by FASTRTPS_DEFAULT_PROFILES_FILE: a profile that silently does
nothing leaves the participant on the defaults. So each check looks at what a real rclpy participant (its own
process) built: its shared-memory segment in /dev/shm, and its sockets in /proc.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_fastdds_segments import PARTICIPANT, segments_of

from airo_mp_camera.ros.fastdds_profiles import (
    PROFILE_VARIABLES,
    fastdds_major_version,
    fastdds_version,
    has_builtin_large_data,
    versioned_profile,
    with_profile,
)

pytestmark = pytest.mark.ros
pytest.importorskip("rclpy", reason="rclpy is not installed (make venv installs ROS 2 from PyPI)")

CONFIG = Path(__file__).resolve().parents[2] / "config"
SEGMENT_SIZE = 134217728  # the profiles' <segment_size>
TCP_LISTEN, UDP = "0A", "07"


class Participant:
    """What a participant process started with `profile` built: its new segments, its sockets, its Fast DDS."""

    def __init__(self, pid: int, segments: dict[str, int]) -> None:
        self.pid = pid
        self.segments = segments

    def sockets(self, proto: str) -> list[tuple[str, int, str]]:
        """(address in hex, port, state) of this process's `proto` ("tcp" or "udp") sockets."""
        inodes = set()
        for fd in os.listdir(f"/proc/{self.pid}/fd"):
            try:
                target = os.readlink(f"/proc/{self.pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
        found = []
        with open(f"/proc/{self.pid}/net/{proto}") as table:
            for line in table.read().splitlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    address, port = fields[1].split(":")
                    found.append((address, int(port, 16), fields[3]))
        return found

    def multicast_devices(self, group: str) -> set[str]:
        """The interfaces on which this process's network namespace joined the multicast `group` (hex, as in
        /proc/net/udp)."""
        devices, device = set(), ""
        with open(f"/proc/{self.pid}/net/igmp") as table:
            for line in table.read().splitlines()[1:]:
                if not line.startswith("\t"):
                    device = line.split()[1]
                elif line.split()[0] == group:
                    devices.add(device)
        return devices

    def fastdds_major(self) -> int:
        with open(f"/proc/{self.pid}/maps") as maps:
            libraries = maps.read()
        return 2 if "libfastrtps.so.2" in libraries else 3 if "libfastdds.so.3" in libraries else 0


@contextmanager
def participant(processes: object, profile: str | None) -> Iterator[Participant]:
    env = with_profile(os.environ, profile or "")
    if profile is None:
        env = {key: value for key, value in env.items() if key not in PROFILE_VARIABLES}
    process = processes.popen([sys.executable, "-c", PARTICIPANT], stdout=subprocess.PIPE, env=env)  # type: ignore[attr-defined]
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line == b"up\n", f"the participant did not start (Fast DDS said: {line!r})"
        yield Participant(
            process.pid, {name: os.stat(f"/dev/shm/{name}").st_size for name in segments_of(process.pid)}
        )
    finally:
        process.kill()
        process.wait(10)


def is_multicast(address: str) -> bool:
    """Whether a /proc/net/udp address (hex of the address in network order, read little-endian) is 224.0.0.0/4."""
    return 224 <= int(address, 16) & 0xFF <= 239


def has_large_segment(segments: dict[str, int]) -> bool:
    return any(size >= SEGMENT_SIZE for size in segments.values())


def discovery_ports() -> range:
    """The UDP ports of this ROS domain's RTPS traffic (7400 + 250 * domain, 250 of them)."""
    base = 7400 + 250 * int(os.environ.get("ROS_DOMAIN_ID", "0") or 0)
    return range(base, base + 250)


def test_without_a_profile_the_participant_is_on_fast_dds_defaults(processes: object) -> None:
    with participant(processes, None) as probe:
        assert probe.fastdds_major() == fastdds_major_version(), "versioned_profile would pick the wrong file"
        assert not has_large_segment(probe.segments), probe.segments
        assert not [s for s in probe.sockets("tcp") if s[2] == TCP_LISTEN]


def test_large_data_profile_gives_a_128_mb_segment(processes: object) -> None:
    with participant(processes, str(CONFIG / "fastdds_large_data.xml")) as probe:
        assert has_large_segment(probe.segments), f"no 128 MB segment: the profile was not loaded ({probe.segments})"


def test_host_only_profile_binds_rtps_to_loopback(processes: object) -> None:
    with participant(processes, str(CONFIG / "fastdds_host_only.xml")) as probe:
        assert has_large_segment(probe.segments), f"no 128 MB segment: the profile was not loaded ({probe.segments})"
        rtps = [s for s in probe.sockets("udp") if s[1] in discovery_ports()]
        # 127.0.0.1, or (Fast DDS 2.6) the discovery multicast group itself, joined on the loopback interface only
        assert rtps and all(
            address == "0100007F" or (is_multicast(address) and probe.multicast_devices(address) == {"lo"})
            for address, _, _ in rtps
        ), rtps


def test_the_fast_dds_version_is_the_one_a_participant_loads(processes: object) -> None:
    with participant(processes, None) as probe:
        with open(f"/proc/{probe.pid}/maps") as maps:
            loaded = maps.read()
    major, minor = fastdds_version()
    assert f"libfastrtps.so.{major}.{minor}" in loaded or f"libfastdds.so.{major}.{minor}" in loaded, (major, minor)


def test_multi_host_profile_of_this_fast_dds_opens_large_data_tcp(processes: object) -> None:
    if not has_builtin_large_data():
        pytest.skip(
            f"Fast DDS {fastdds_version()} has no builtin LARGE_DATA (2.13 and later): the node declines "
            "remote.transport:=large_data instead (test_remote.py)"
        )
    profile = versioned_profile(str(CONFIG / "fastdds_multi_host.xml"))
    with participant(processes, profile) as probe:
        listening = [s for s in probe.sockets("tcp") if s[2] == TCP_LISTEN]
        assert listening, f"no TCP listener: {Path(profile).name} was not loaded (LARGE_DATA uses TCP for data)"
