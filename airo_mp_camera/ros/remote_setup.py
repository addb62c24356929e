"""What the remote bridge process runs with, for whoever starts it: the camera node's child or the launch files.

The remote bridge (ros/remote_bridge_node.py) gets its own Fast DDS profile (the package's for
`remote.transport`, or `remote.fastdds_profile`), paced for the link over plain UDP (ros/link_pacing.py), and its
own discovery range (`remote.discovery_range`). `RemoteBridgeSetup` holds those; the camera node started alone
gives them to its child process (`RemoteBridgeProcess`), the launch files to the sibling node they start.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from airo_mp_camera.ros.discovery import discovery_environment
from airo_mp_camera.ros.fastdds_profiles import fastdds_version, has_builtin_large_data, profile_environment
from airo_mp_camera.ros.link_pacing import AUTOMATIC_MBIT_S, PUBLICATION_MODE_ENV, paced_profile, remote_topics
from airo_mp_camera.ros.parameters import (
    ALL_SPECS,
    BRIDGE_SPECS,
    REMOTE_SPECS,
    REMOTE_STREAMS,
    BridgeConfig,
    ParameterError,
    resolve_aliases,
)
from airo_mp_camera.ros.remote import RemoteBridgeProcess, remote_profile, socket_buffer_warnings

REMOTE_NODE_NAME = "remote"
"""The remote bridge's node name, in the camera node's namespace: its topics are /<camera>/remote/..."""
_NODE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def bridge_names(text: str) -> tuple[str, ...]:
    """`remote.bridges` as a tuple of node names; ParameterError for an empty list, a bad or repeated name."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    bad = [name for name in names if not _NODE_NAME.fullmatch(name)]
    if not names or bad:
        what = f"{', '.join(map(repr, bad))} is not a ROS node name" if bad else "no name given"
        raise ParameterError(
            f"parameter 'remote.bridges': {what}; expected node names (letters, digits, _), comma-separated, "
            f"e.g. {REMOTE_NODE_NAME},{REMOTE_NODE_NAME}_wifi; got {text!r}"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ParameterError(f"parameter 'remote.bridges': {', '.join(map(repr, repeated))} named twice; got {text!r}")
    return names


class Logger(Protocol):
    """What is logged to: a node's logger (rclpy) or the launch file's."""

    def warning(self, message: str) -> Any: ...


@dataclass(frozen=True)
class RemoteBridgeSetup:
    """The remote bridge process's Fast DDS profile and discovery range.

    Attributes:
        profile: the Fast DDS profile file (the package's for `remote.transport`, or `remote.fastdds_profile`).
        discovery_range: `remote.discovery_range` (SYSTEM_DEFAULT: the distro's).
        paced_profile: XML text of `profile` with the flow controller (ros/link_pacing.py), to be written to a
            file the process reads instead of `profile`; None: `profile` as it is.
        node_name: the remote bridge's node name (its topics: /<camera>/<node_name>/...).
    """

    profile: str
    discovery_range: str
    paced_profile: str | None = None
    node_name: str = REMOTE_NODE_NAME

    def environment(self, profile_file: str | None = None) -> dict[str, str]:
        """The variables the process gets, each named as this distro reads it.

        Its profile (`profile_file`, where the paced one was written), the publication mode that makes
        rmw_fastrtps apply the pacing, and its discovery range.
        """
        env = profile_environment(profile_file or self.profile)
        if self.paced_profile is not None:
            env.update(PUBLICATION_MODE_ENV)
        env.update(discovery_environment(self.discovery_range))
        return env

    def write_paced_profile(self, name: str) -> str | None:
        """Writes the paced profile to a file of camera `name`'s; its path (None: no paced profile).

        The file is `<tmp>/airo_mp_camera_<name>_<node name>.xml`, one per camera and remote bridge, replaced by each
        launch.
        """
        if self.paced_profile is None:
            return None
        path = os.path.join(tempfile.gettempdir(), f"airo_mp_camera_{name}_{self.node_name}.xml")
        with open(path, "w") as file:
            file.write(self.paced_profile)
        return path


def remote_bridge_setup(
    remote_values: Mapping[str, Any],
    remote_config: BridgeConfig,
    camera_node: str,
    node_name: str = REMOTE_NODE_NAME,
) -> RemoteBridgeSetup:
    """The setup of the remote bridge `node_name` of the camera node `camera_node` (its fully qualified name).

    Raises:
        ParameterError: remote.transport is large_data where this Fast DDS has no LARGE_DATA transport.
    """
    transport = str(remote_values["remote.transport"])
    if transport == "large_data" and not has_builtin_large_data():
        major, minor = fastdds_version()
        raise ParameterError(
            f"remote.transport: large_data needs Fast DDS's builtin LARGE_DATA transport (Fast DDS 2.13 or "
            f"later); this ROS 2 has Fast DDS {major}.{minor} (Humble: 2.6), which has none. Use "
            "remote.transport:=udp, which any subscriber receives."
        )
    profile = remote_profile(transport, str(remote_values["remote.fastdds_profile"]))
    paced = None
    if transport == "udp" and not remote_values["remote.fastdds_profile"]:
        topics = remote_topics(f"{camera_node.rstrip('/')}/{node_name}", REMOTE_STREAMS)
        budget = max(remote_config.link_budget_mbit_s, AUTOMATIC_MBIT_S)
        paced = paced_profile(profile, budget, remote_config.link_priority, topics)
    return RemoteBridgeSetup(profile, str(remote_values["remote.discovery_range"]), paced, node_name)


def warn_socket_buffers(setups: Sequence[RemoteBridgeSetup], logger: Logger) -> None:
    """Warns on `logger` when the kernel caps the socket buffers the bridges' profiles ask for.

    Once per profile: a camera's remote bridges all have the same, and one warning says it.
    """
    for profile in dict.fromkeys(setup.profile for setup in setups):
        for warning in socket_buffer_warnings(profile):
            logger.warning(warning)


def remote_bridge_process(
    parameters: Mapping[str, Any], camera_node: str, setup: RemoteBridgeSetup
) -> RemoteBridgeProcess:
    """The camera node `camera_node`'s remote bridge child (not started yet), set up as `setup` says."""
    return RemoteBridgeProcess(
        parameters,
        camera_node,
        setup.profile,
        setup.discovery_range,
        paced_profile=setup.paced_profile,
        node_name=setup.node_name,
    )


def remote_bridge_parameters(
    parameters_files: Sequence[str], overrides: Mapping[str, Any], camera_node: str
) -> dict[str, Any]:
    """The remote bridge's parameters, taken from those the launch file gives the camera node `camera_node`.

    The sections of each YAML file that apply to that node (`/**`, its name) and then `overrides`, nested keys
    joined with dots as ROS joins them, deprecated names replaced; only the bridge and `remote.*` parameters are
    kept, with the namespace and camera name the camera node bridges.
    """
    import yaml

    given: dict[str, Any] = {}
    for path in parameters_files:
        with open(path) as file:
            document = yaml.safe_load(file) or {}
        for section, content in document.items():
            if section in ("/**", camera_node, f"/{camera_node}") or str(section).endswith(f"/{camera_node}"):
                given.update(_flattened((content or {}).get("ros__parameters", {})))
    given.update(overrides)
    values = resolve_aliases(given, ALL_SPECS)
    kept = {spec.name for spec in (*BRIDGE_SPECS, *REMOTE_SPECS)}
    parameters = {name: value for name, value in values.items() if name in kept}
    parameters["namespace"] = str(values.get("namespace") or camera_node)
    parameters["camera_name"] = str(values.get("camera_name") or camera_node)
    return parameters


def _flattened(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested YAML mappings as ROS reads them: `{"rgb": {"enable": true}}` is `rgb.enable`."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flattened(value, f"{name}."))
        else:
            flat[name] = value
    return flat
