"""Which Fast DDS runs here (2.x on Humble and Jazzy, 3.x from kilted on), and how each finds our XML profiles.

Fast DDS 3.x reads the profile file named by FASTDDS_DEFAULT_PROFILES_FILE; Fast DDS 2.x (Humble's 2.6, Jazzy's
2.14) only by FASTRTPS_DEFAULT_PROFILES_FILE, and ignores the other name without a word: measured here with
Jazzy's wheels (Fast DDS 2.14.5), a profile named only by FASTDDS_DEFAULT_PROFILES_FILE left every participant
on the defaults (a 0.5 MB shared-memory segment instead of 128 MB). Setting both is no way out: kilted's
rmw_fastrtps warns at every start that FASTRTPS_DEFAULT_PROFILES_FILE is deprecated. So wherever the package
hands a profile to a process it sets the one name its Fast DDS reads (`profile_environment`, `with_profile`).

The two versions also spell some XML elements differently: 3.x `heartbeat_period`, 2.x `heartbeatPeriod`, and
a file with an element the parser does not know is rejected whole. Profiles that use such elements come in two
files, `<name>.xml` (3.x) and `<name>_fastdds2.xml` (2.x); `versioned_profile` picks the one for this Fast DDS.
No rclpy here: the launch files and benchmarks use it too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

PROFILE_VARIABLES = ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")  # Fast DDS 3.x, 2.x
FASTDDS2_SUFFIX = "_fastdds2"
_FASTDDS2_DISTROS = ("humble", "iron", "jazzy")
_FASTDDS2_MINOR = {"humble": 6, "iron": 10, "jazzy": 14}  # the Fast DDS each distro ships
LARGE_DATA_SINCE = (2, 13)


def profile_variable() -> str:
    """The environment variable by which this Fast DDS finds its profile file."""
    fastdds3, fastdds2 = PROFILE_VARIABLES
    return fastdds2 if fastdds_major_version() == 2 else fastdds3


def profile_environment(profile: str) -> dict[str, str]:
    """The environment variable (name and value) that makes this Fast DDS load `profile`."""
    return {profile_variable(): profile}


def with_profile(environ: Mapping[str, str], profile: str) -> dict[str, str]:
    """A copy of `environ` in which only `profile` is named, by the variable this Fast DDS reads."""
    env = {key: value for key, value in environ.items() if key not in PROFILE_VARIABLES}
    env.update(profile_environment(profile))
    return env


def profile_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The profile file this process's Fast DDS loads ('' for none)."""
    return (os.environ if environ is None else environ).get(profile_variable(), "")


def fastdds_major_version() -> int:
    """2 or 3: the Fast DDS major version of this process.

    The library it has loaded (once rclpy is initialised), else the one its ROS distro or installed wheels bring;
    3 when nothing says.
    """
    try:
        with open("/proc/self/maps") as maps:
            libraries = maps.read()
        if "libfastrtps.so.2" in libraries:
            return 2
        if "libfastdds.so.3" in libraries:
            return 3
    except OSError:
        pass
    distro = os.environ.get("ROS_DISTRO", "")
    if distro:
        return 2 if distro in _FASTDDS2_DISTROS else 3
    for distribution, major in (("ros-fastdds", 3), ("ros-fastrtps", 2)):
        try:
            metadata.version(distribution)
            return major
        except metadata.PackageNotFoundError:
            continue
    return 3


def fastdds_version() -> tuple[int, int]:
    """(major, minor) of this process's Fast DDS: the library it has loaded, else its distro's; (3, 0) if unknown."""
    try:
        with open("/proc/self/maps") as maps:
            found = re.search(r"lib(?:fastrtps|fastdds)\.so\.(\d+)\.(\d+)", maps.read())
        if found:
            return int(found.group(1)), int(found.group(2))
    except OSError:
        pass
    distro = os.environ.get("ROS_DISTRO", "")
    if distro in _FASTDDS2_MINOR:
        return 2, _FASTDDS2_MINOR[distro]
    return fastdds_major_version(), 0 if fastdds_major_version() == 3 else 14


def has_builtin_large_data() -> bool:
    """Whether this Fast DDS has the builtin LARGE_DATA transport (2.13 and later; Humble's 2.6 has none)."""
    return fastdds_version() >= LARGE_DATA_SINCE


def versioned_profile(path: str) -> str:
    """`path`, or its Fast DDS 2.x twin (`<name>_fastdds2.xml` beside it) where Fast DDS 2.x runs and one exists."""
    if fastdds_major_version() != 2:
        return path
    candidate = Path(path)
    twin = candidate.with_name(f"{candidate.stem}{FASTDDS2_SUFFIX}{candidate.suffix}")
    return str(twin) if twin.is_file() else path
