"""The discovery range is set by the variable each distro reads: Iron and later a range, Humble localhost-only."""

from __future__ import annotations

import pytest

from airo_mp_camera.ros.discovery import discovery_environment, is_host_only, with_discovery_range

HUMBLE = {"ROS_DISTRO": "humble"}
JAZZY = {"ROS_DISTRO": "jazzy"}
WHEELS: dict[str, str] = {}  # the PyPI wheels set no ROS_DISTRO (kilted, Jazzy's)


@pytest.mark.parametrize("environ", [JAZZY, WHEELS, {"ROS_DISTRO": "kilted"}])
def test_iron_and_later_get_the_range_by_name(environ: dict[str, str]) -> None:
    assert discovery_environment("LOCALHOST", environ) == {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
    assert discovery_environment("SUBNET", environ) == {"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"}


def test_humble_gets_localhost_only_for_this_host_and_nothing_for_the_subnet() -> None:
    assert discovery_environment("LOCALHOST", HUMBLE) == {"ROS_LOCALHOST_ONLY": "1"}
    assert discovery_environment("SUBNET", HUMBLE) == {}


def test_a_process_meant_for_other_machines_drops_an_inherited_localhost_only() -> None:
    inherited = {**HUMBLE, "ROS_LOCALHOST_ONLY": "1", "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "PATH": "/bin"}
    assert with_discovery_range(inherited, "SUBNET") == {**HUMBLE, "PATH": "/bin"}
    jazzy = {**JAZZY, "ROS_LOCALHOST_ONLY": "1"}  # Jazzy still honours it over the range
    assert with_discovery_range(jazzy, "SUBNET") == {**JAZZY, "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"}
    assert with_discovery_range(inherited, "SYSTEM_DEFAULT") == {**HUMBLE, "PATH": "/bin"}


def test_host_only_is_judged_by_what_the_distro_reads() -> None:
    assert is_host_only({**HUMBLE, "ROS_LOCALHOST_ONLY": "1"})
    assert not is_host_only({**HUMBLE, "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"})  # Humble ignores it
    assert is_host_only({**JAZZY, "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"})
    assert is_host_only({**JAZZY, "ROS_LOCALHOST_ONLY": "1"})
    assert not is_host_only({"ROS_DISTRO": "kilted", "ROS_LOCALHOST_ONLY": "1"})  # kilted no longer reads it


def test_an_unknown_range_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="LOCALHOST, SUBNET, SYSTEM_DEFAULT"):
        discovery_environment("LAN")
