"""How far a process's ROS 2 discovery reaches, set the way each distro reads it.

Iron and later read `ROS_AUTOMATIC_DISCOVERY_RANGE` (LOCALHOST, SUBNET, OFF, SYSTEM_DEFAULT). Humble's rcl (5.3)
knows only `ROS_LOCALHOST_ONLY` (1: this host only) and ignores the other name without a word, so a range set
by name alone leaves a Humble process visible to the whole subnet, or, with a `ROS_LOCALHOST_ONLY=1` inherited
from the user's shell, hides a process meant for other machines. Jazzy still honours `ROS_LOCALHOST_ONLY=1` (as
LOCALHOST, with a deprecation warning; Kilted no longer reads it), so a process whose range is set here never
keeps the other variable.
The distro is the one its setup script names (`ROS_DISTRO`); the PyPI wheels set none and are Jazzy or later.
No rclpy here: the launch files use it too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

RANGE_VARIABLE = "ROS_AUTOMATIC_DISCOVERY_RANGE"  # Iron and later
LOCALHOST_ONLY_VARIABLE = "ROS_LOCALHOST_ONLY"  # Humble (and older)
DISCOVERY_RANGES = ("LOCALHOST", "SUBNET", "SYSTEM_DEFAULT")
_LOCALHOST_ONLY_DISTROS = ("foxy", "galactic", "humble")
_HONOURS_LOCALHOST_ONLY = (*_LOCALHOST_ONLY_DISTROS, "iron", "jazzy")


def reads_discovery_range(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this ROS 2 reads `ROS_AUTOMATIC_DISCOVERY_RANGE` (Iron and later) rather than `ROS_LOCALHOST_ONLY`."""
    return (os.environ if environ is None else environ).get("ROS_DISTRO", "") not in _LOCALHOST_ONLY_DISTROS


def discovery_environment(discovery_range: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables (names and values) that give a process `discovery_range` on this distro.

    SYSTEM_DEFAULT gives none: the process then takes the distro's default (SUBNET).
    """
    if discovery_range not in DISCOVERY_RANGES:
        raise ValueError(f"discovery range must be one of {', '.join(DISCOVERY_RANGES)}, not {discovery_range!r}")
    if discovery_range == "SYSTEM_DEFAULT":
        return {}
    if reads_discovery_range(environ):
        return {RANGE_VARIABLE: discovery_range}
    return {LOCALHOST_ONLY_VARIABLE: "1"} if discovery_range == "LOCALHOST" else {}


def with_discovery_range(environ: Mapping[str, str], discovery_range: str) -> dict[str, str]:
    """A copy of `environ` whose discovery reaches `discovery_range`, whatever range it named before."""
    env = {key: value for key, value in environ.items() if key not in (RANGE_VARIABLE, LOCALHOST_ONLY_VARIABLE)}
    env.update(discovery_environment(discovery_range, environ))
    return env


def is_host_only(environ: Mapping[str, str] | None = None) -> bool:
    """Whether a process started with `environ` (default: this one's) is discovered on this host only."""
    env = os.environ if environ is None else environ
    if env.get(LOCALHOST_ONLY_VARIABLE, "") == "1" and env.get("ROS_DISTRO", "") in _HONOURS_LOCALHOST_ONLY:
        return True
    return reads_discovery_range(env) and env.get(RANGE_VARIABLE, "") == "LOCALHOST"
