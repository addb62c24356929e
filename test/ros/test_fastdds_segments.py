"""Fast DDS segments of dead processes (airo_mp_camera.ros.fastdds_segments): removed when nobody holds their
lock, left alone while their owner lives or while they are new. First with lock files held by real processes
in a directory of the test's, then with a real rclpy participant in /dev/shm, killed by SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airo_mp_camera.ros.fastdds_profiles import with_profile
from airo_mp_camera.ros.fastdds_segments import SEGMENT_PREFIXES, remove_dead_segments

ROOT = Path(__file__).resolve().parents[2]
HOLD_LOCK = (  # as a living Fast DDS participant holds its segment's lock file
    "import fcntl, sys, time; f = open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_SH); print('held', flush=True); "
    "time.sleep(60)"
)


def make_segment(directory: Path, name: str, size: int, age_s: float) -> tuple[Path, Path]:
    segment, lock = directory / name, directory / f"{name}_el"
    segment.write_bytes(b"\0" * size)
    lock.write_bytes(b"")
    then = time.time() - age_s
    os.utime(lock, (then, then))
    return segment, lock


def test_only_segments_whose_lock_nobody_holds_are_removed(tmp_path: Path, processes: object) -> None:
    dead = make_segment(tmp_path, "fastdds_0123456789abcdef", 4096, age_s=60)
    fastdds2 = make_segment(tmp_path, "fastrtps_00000000deadbeef", 1000, age_s=60)  # Fast DDS 2.x (Humble, Jazzy)
    alive = make_segment(tmp_path, "fastdds_aaaaaaaaaaaaaaaa", 4096, age_s=60)
    new = make_segment(tmp_path, "fastdds_bbbbbbbbbbbbbbbb", 4096, age_s=0)
    other = make_segment(tmp_path, "fastdds_port7411", 10, age_s=60)  # ports: Fast DDS collects them itself
    holder = processes.popen([sys.executable, "-c", HOLD_LOCK, str(alive[1])], stdout=subprocess.PIPE)  # type: ignore[attr-defined]
    assert holder.stdout is not None and holder.stdout.readline() == b"held\n"

    removed = remove_dead_segments(str(tmp_path))

    assert (removed.segments, removed.bytes) == (2, 4096 + 1000)
    assert not any(path.exists() for path in dead + fastdds2)
    assert all(path.exists() for path in alive + new + other)
    holder.kill()
    holder.wait(10)
    assert remove_dead_segments(str(tmp_path)).segments == 1  # its owner is gone now
    assert not alive[0].exists() and new[0].exists()
    assert remove_dead_segments(str(tmp_path), min_age_s=0).segments == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in other)


def test_a_missing_directory_removes_nothing(tmp_path: Path) -> None:
    assert remove_dead_segments(str(tmp_path / "absent")).segments == 0


PARTICIPANT = """
import rclpy, sys, time
from std_msgs.msg import String
rclpy.init()
node = rclpy.create_node("fastdds_segment_probe")
node.create_publisher(String, "/fastdds_segment_probe", 1)
print("up", flush=True)
time.sleep(120)
"""


def fastdds_segments() -> set[str]:
    """Participant segments in /dev/shm: `fastdds_<id>` (Fast DDS 3.x) or `fastrtps_<id>` (2.x, Jazzy's 2.14)."""
    return {name for name in os.listdir("/dev/shm") if name.startswith(SEGMENT_PREFIXES) and "port" not in name}


def segments_of(pid: int) -> set[str]:
    """The participant segments (and lock files) that process `pid` has mapped or open: its own, not a neighbour's
    that appeared meanwhile (the machine is shared)."""
    names = set()
    with open(f"/proc/{pid}/maps") as maps:
        names |= {line.split()[-1] for line in maps if "/dev/shm/" in line}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            names.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return {Path(name).name for name in names if name.startswith("/dev/shm/")} & fastdds_segments()


@pytest.mark.ros
def test_a_sigkilled_rclpy_participant_leaves_a_segment_that_is_removed_once_it_is_dead(processes: object) -> None:
    pytest.importorskip("rclpy", reason="rclpy is not installed (make venv installs ROS 2 from PyPI)")
    env = with_profile(os.environ, str(ROOT / "config" / "fastdds_large_data.xml"))
    participant = processes.popen(  # type: ignore[attr-defined]
        [sys.executable, "-c", PARTICIPANT], stdout=subprocess.PIPE, env=env
    )
    assert participant.stdout is not None and participant.stdout.readline() == b"up\n"
    created = segments_of(participant.pid)
    assert created, "the participant created no shared-memory segment: is the SHM transport in the profile?"
    remove_dead_segments(min_age_s=0)  # while it lives
    assert created <= fastdds_segments(), "a living participant's segment was removed"
    os.kill(participant.pid, signal.SIGKILL)
    participant.wait(10)
    assert created <= fastdds_segments(), "SIGKILL left nothing: Fast DDS cleaned up after all?"
    removed = remove_dead_segments(min_age_s=0)
    assert removed.segments >= 1 and not created & fastdds_segments()
