"""A camera node with a remote bridge keeps its own topics on its host, however it was started.

With `remote.enable`, other machines get the camera from the remote bridge's `/<camera>/remote/...` topics (its own
process, participant and link share). The camera node's own raw topics must then stay invisible off-host: a
subscriber on another machine to `/<camera>/rgb/image_raw` would share its writers with the local subscribers
and drag them down to the link's rate (measured: local rgb from 30 to 10 Hz). The launch files arrange that
with the host-only Fast DDS profile and the LOCALHOST discovery range; `ros2 run` and a bare start do not. So a
camera node that finds `remote.enable` set in an arrangement that is not host-only restarts itself in place
(same pid, same arguments, `os.execve`) with that profile and range added to its environment, each named as
its distro reads it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

import rclpy

from airo_mp_camera.ros.discovery import is_host_only, with_discovery_range
from airo_mp_camera.ros.fastdds_profiles import profile_from_environment, with_profile
from airo_mp_camera.ros.remote import package_config

HOST_ONLY_PROFILE = "fastdds_host_only.xml"
RESTARTED_ENV = "AIRO_MP_CAMERA_HOST_ONLY_RESTART"  # set on the restarted process: never restart twice


def is_isolated(environ: Mapping[str, str] | None = None) -> bool:
    """Whether a process with `environ` (default: this one's) keeps its topics on this host."""
    env = os.environ if environ is None else environ
    return is_host_only(env) and Path(profile_from_environment(env)).name == HOST_ONLY_PROFILE


def isolated_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of `environ` with the host-only profile and the LOCALHOST discovery range, marked as restarted.

    Each is named as the distro reads it (`with_profile`, `with_discovery_range`).
    """
    env = with_discovery_range(with_profile(environ, package_config(HOST_ONLY_PROFILE)), "LOCALHOST")
    env[RESTARTED_ENV] = "1"
    return env


def remote_enabled(node_name: str) -> bool:
    """`remote.enable` as the node `node_name` will see it (from `-p`, a parameters file or the launch file).

    rclpy must be initialised with the process's arguments; a short-lived node reads the overrides.
    """
    probe = rclpy.create_node(node_name, automatically_declare_parameters_from_overrides=True)
    try:
        return probe.has_parameter("remote.enable") and probe.get_parameter("remote.enable").value is True
    finally:
        probe.destroy_node()


def must_restart_isolated(node_name: str) -> bool:
    """Whether this camera node has to restart itself host-only (`restart_isolated`) before it starts."""
    return not is_isolated() and RESTARTED_ENV not in os.environ and remote_enabled(node_name)


def restart_isolated(node_name: str) -> NoReturn:
    """Replaces this process (same pid and arguments) by itself with the host-only arrangement.

    rclpy must be shut down first: the new process starts its own participant.
    """
    print(
        f"[{node_name}] remote.enable: keeping this node's own topics on this host ({HOST_ONLY_PROFILE}, discovery "
        "LOCALHOST); other machines get the camera from its remote bridge. Restarting in place to apply them.",
        file=sys.stderr,
        flush=True,
    )
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], isolated_environment(os.environ))
