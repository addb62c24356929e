"""What the launch files check and decide, importable (and unit-tested) without ROS 2's `launch` package.

The launch files in `launch/` declare their arguments from one table (`CAMERA_ARGUMENTS`: name, type, default,
description), derived from the parameter declaration (`airo_mp_camera.ros.parameters`: a parameter marked with
a `LaunchExposure` is an argument, and `node_parameters` gives the values it sets on camera_node), plus the few
arguments that set no parameter (`LAUNCH_ONLY_ARGUMENTS`). They check every value before any process starts
(`parse_arguments`: a wrong value stops the launch with a message naming the argument), resolve the parameters
file (`parameters_file`: a missing file is an error naming it), and end the whole launch when `camera_node`
exits (`camera_exit_outcome`): with an error (non-zero `ros2 launch` exit code) when it failed, cleanly when it
finished (a recording's end). A normal Ctrl-C is left to launch. `rviz_config` writes the rviz config for a
camera's name.

Only the functions at the end (`declare_arguments`, `argument_values`, `shutdown_when_camera_exits`) import
`launch`, when called from a launch file.

`ros2 launch` returns non-zero only when an exception reaches its event loop (launch's `LaunchService.run`
returns 1 then, after shutting every process down; a `Shutdown` action ends it with 0), so a failed camera
raises `CameraNodeFailed` from the process-exit handler, and an invalid argument raises `LaunchArgumentError`
from the function that builds the nodes.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import yaml

from airo_mp_camera.ros.parameters import ALL_SPECS, ParameterSpec, Value
from airo_mp_camera.ros.parameters import CAMERA_TYPES as CAMERA_TYPES  # the launch files' choices, re-exported
from airo_mp_camera.ros.parameters import REMOTE_TRANSPORTS as REMOTE_TRANSPORTS

_TRUE = ("true", "1")
_FALSE = ("false", "0")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")  # a ROS node name, usable as topic prefix and tf prefix


class LaunchArgumentError(ValueError):
    """A launch argument has a value of the wrong type or range, or names a file that does not exist."""


class CameraNodeFailed(RuntimeError):
    """`camera_node` exited with an error; raised in launch's event loop, it makes `ros2 launch` exit with 1."""


@dataclass(frozen=True)
class LaunchArgument:
    """One declared launch argument: its type decides how its text is checked.

    Attributes:
        name: the argument's name (`name:=value`).
        default: the default text.
        description: what `ros2 launch ... --show-args` prints.
        kind: "bool" (true/false, 1/0), "float", "int", "name" (a ROS node name), "file" (empty, or an existing
            file), "path" (empty, or an existing file or directory), "choice" (one of `choices`) or "string"
            (anything).
        choices: the allowed values of a "choice".
        minimum: the smallest allowed value of an "int" or "float".
        maximum: the largest allowed value of an "int" or "float".
        positive: a "float" must be greater than 0.
    """

    name: str
    default: str
    description: str
    kind: str = "string"
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False

    def parse(self, text: str) -> Any:
        """The typed value of `text`, or `LaunchArgumentError` naming this argument and what was expected."""
        value = text.strip()
        if self.kind == "bool":
            if value.lower() in _TRUE:
                return True
            if value.lower() in _FALSE:
                return False
            raise self._error(text, "true or false")
        if self.kind in ("float", "int"):
            try:
                number: float = float(value) if self.kind == "float" else int(value)
            except ValueError:
                raise self._error(text, "an integer" if self.kind == "int" else "a number") from None
            if not math.isfinite(number):
                raise self._error(text, "a finite number")
            if self.positive and number <= 0:
                raise self._error(text, "a number greater than 0")
            if self.minimum is not None and number < self.minimum:
                raise self._error(text, f"at least {self.minimum:g}")
            if self.maximum is not None and number > self.maximum:
                raise self._error(text, f"at most {self.maximum:g}")
            return number
        if self.kind == "name":
            if not _NAME.match(value):
                raise self._error(text, "a ROS name: a letter, then letters, digits or '_'")
            return value
        if self.kind == "choice":
            if value not in self.choices:
                raise self._error(text, f"one of {', '.join(self.choices)}")
            return value
        if self.kind == "file":
            if value and not os.path.isfile(value):
                raise LaunchArgumentError(f"launch argument {self.name}:={text}: no such file")
            return value
        if self.kind == "path":
            if value and not os.path.exists(value):
                raise LaunchArgumentError(f"launch argument {self.name}:={text}: no such file or directory")
            return value
        return text

    def _error(self, text: str, expected: str) -> LaunchArgumentError:
        return LaunchArgumentError(f"launch argument {self.name}:={text!r} is invalid: expected {expected}")


# Arguments of launch/camera.launch.py that set no node parameter: they choose files and start other processes.
LAUNCH_ONLY_ARGUMENTS: tuple[LaunchArgument, ...] = (
    LaunchArgument(
        "config_file",
        "",
        "Parameters file; empty: config/zed.yaml (config/synthetic.yaml for camera_type synthetic).",
    ),  # checked by `parameters_file`, which names it as a parameters file
    LaunchArgument(
        "baseline",
        "0.12",
        "Stereo baseline in metres for the static transforms (ZED 2/2i: 0.12, ZED Mini: 0.063).",
        kind="float",
        positive=True,
    ),
    LaunchArgument(
        "publish_tf", "true", "Publish camera_link -> left/right optical frames (static_transform_publisher).", "bool"
    ),
    LaunchArgument("rviz", "false", "Also open rviz2 on this camera's topics and frames.", kind="bool"),
    LaunchArgument(
        "fastdds_profile",
        "",
        "Fast DDS profile for large images, applied to every process started here; empty: the shipped "
        "config/fastdds_large_data.xml.",
        kind="file",
    ),
)


def _argument_text(value: Value) -> str:
    """A parameter value as launch argument text (`true`, `0.12`, `zed`)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def launch_argument(spec: ParameterSpec) -> LaunchArgument:
    """The launch argument of a parameter marked as exposed to launch (`spec.launch`), with the parameter's checks."""
    exposure = spec.launch
    if exposure is None:
        raise ValueError(f"parameter '{spec.name}' is not exposed to launch")
    kind = {bool: "bool", int: "int", float: "float"}.get(spec.type) or (
        "choice" if spec.choices else exposure.kind or "string"
    )
    positive = spec.exclusive_minimum and spec.minimum == 0
    return LaunchArgument(
        exposure.name,
        _argument_text(spec.default if exposure.default is None else exposure.default),
        exposure.description or spec.description,
        kind=kind,
        choices=spec.choices,
        minimum=None if positive else spec.minimum,
        maximum=spec.maximum,
        positive=positive,
    )


def _parameter_arguments(specs: Iterable[ParameterSpec]) -> tuple[LaunchArgument, ...]:
    """One launch argument per exposed name (several parameters may share one), in declaration order."""
    arguments: dict[str, LaunchArgument] = {}
    for spec in specs:
        if spec.launch is not None and spec.launch.name not in arguments:
            arguments[spec.launch.name] = launch_argument(spec)
    return tuple(arguments.values())


PARAMETER_ARGUMENTS = _parameter_arguments(ALL_SPECS)
"""The arguments of launch/camera.launch.py that set camera_node parameters, derived from their declaration."""
CAMERA_ARGUMENTS: tuple[LaunchArgument, ...] = (*PARAMETER_ARGUMENTS, *LAUNCH_ONLY_ARGUMENTS)
"""Every argument of launch/camera.launch.py (synthetic.launch.py and multi_camera.launch.py pass theirs on)."""


def node_parameters(arguments: Mapping[str, Any], specs: Iterable[ParameterSpec] = ALL_SPECS) -> dict[str, Any]:
    """The camera_node parameters that the checked launch `arguments` set: each exposed parameter's value."""
    return {spec.name: arguments[spec.launch.name] for spec in specs if spec.launch is not None}


def parse_arguments(values: Mapping[str, str], specs: Iterable[LaunchArgument] = CAMERA_ARGUMENTS) -> dict[str, Any]:
    """Typed values of every argument in `specs` (defaults for those absent from `values`).

    Raises:
        LaunchArgumentError: naming every invalid argument and what it expects.
    """
    parsed: dict[str, Any] = {}
    errors: list[str] = []
    for spec in specs:
        try:
            parsed[spec.name] = spec.parse(values.get(spec.name, spec.default))
        except LaunchArgumentError as error:
            errors.append(str(error))
    if errors:
        raise LaunchArgumentError("; ".join(errors))
    return parsed


def parameters_file(config_file: str, share: str, camera_type: str) -> str:
    """The parameters file to give camera_node: `config_file`, or the shipped one for the camera type.

    Raises:
        LaunchArgumentError: `config_file` (or the shipped file) does not exist.
    """
    if config_file:
        path = os.path.abspath(os.path.expanduser(config_file))
        if not os.path.isfile(path):
            raise LaunchArgumentError(f"launch argument config_file:={config_file}: no such parameters file")
        return path
    path = os.path.join(share, "config", "synthetic.yaml" if camera_type == "synthetic" else "zed.yaml")
    if not os.path.isfile(path):
        raise LaunchArgumentError(f"the shipped parameters file {path} is missing: reinstall airo_mp_camera")
    return path


def camera_link(camera_name: str) -> str:
    """The camera's body frame, parent of its optical frames."""
    return f"{camera_name}_camera_link"


def optical_frame(camera_name: str, view: str) -> str:
    """REP-103 optical frame of a view ("left" or "right"), as camera_node stamps its messages."""
    return f"{camera_name}_{view}_camera_optical_frame"


class CameraExit(Enum):
    """What the launch does when camera_node exits."""

    IGNORE = "ignore"  # launch is already shutting down (Ctrl-C, another process failed)
    SHUTDOWN = "shutdown"  # it finished (a recording without loop reached its end): end the launch cleanly
    FAIL = "fail"  # it failed: end the launch with a non-zero exit code


def camera_exit_outcome(returncode: int | None, launch_is_shutting_down: bool) -> CameraExit:
    """The launch's reaction to camera_node exiting with `returncode`."""
    if launch_is_shutting_down:
        return CameraExit.IGNORE
    return CameraExit.SHUTDOWN if returncode == 0 else CameraExit.FAIL


def camera_failure_message(node_name: str, returncode: int | None) -> str:
    """What the launch reports when camera_node failed (its own log says why, above)."""
    how = (
        f"was killed by signal {-returncode}"
        if returncode is not None and returncode < 0
        else f"exited with code {returncode}"
    )
    hint = " (invalid parameters: see its message above)" if returncode == 2 else ""
    return f"camera_node '{node_name}' {how}{hint}; shutting the launch down"


def rviz_config(template: str, camera_name: str) -> str:
    """The rviz config `template` (config/airo_mp_camera.rviz) rewritten for a camera's topics and frames.

    Every display topic `/<prefix>/...` moves to `/<camera_name>/...`, and the fixed frame becomes the camera's
    `<camera_name>_camera_link`.
    """
    config = yaml.safe_load(template)
    manager = config["Visualization Manager"]
    for display in manager["Displays"]:
        topic = display.get("Topic")
        if isinstance(topic, dict) and isinstance(topic.get("Value"), str):
            parts = topic["Value"].split("/")  # ["", prefix, stream, ...]
            topic["Value"] = "/".join(["", camera_name, *parts[2:]])
    manager["Global Options"]["Fixed Frame"] = camera_link(camera_name)
    return str(yaml.safe_dump(config, sort_keys=False))


# ------------------------------------------------------------------------------ launch adapters (need `launch`)
def declare_arguments(specs: Iterable[LaunchArgument] = CAMERA_ARGUMENTS) -> list[Any]:
    """`DeclareLaunchArgument`s of `specs` (launch file use)."""
    from launch.actions import DeclareLaunchArgument

    return [
        DeclareLaunchArgument(spec.name, default_value=spec.default, description=spec.description) for spec in specs
    ]


def argument_values(context: Any, specs: Iterable[LaunchArgument] = CAMERA_ARGUMENTS) -> dict[str, Any]:
    """The checked, typed values of `specs` in a launch context (launch file use).

    Raises:
        LaunchArgumentError: naming every invalid argument; launch then stops and `ros2 launch` exits with 1.
    """
    from launch.substitutions import LaunchConfiguration

    specs = tuple(specs)
    return parse_arguments({spec.name: LaunchConfiguration(spec.name).perform(context) for spec in specs}, specs)


def shutdown_when_camera_exits(camera_node: Any, node_name: str) -> Any:
    """An event handler that ends the launch when `camera_node` exits (launch file use).

    A failure raises `CameraNodeFailed` in launch's loop: every other process (static transform publishers,
    rviz) is stopped and `ros2 launch` exits with 1. A clean end shuts the launch down with 0.
    """
    from launch.actions import RegisterEventHandler, Shutdown
    from launch.event_handlers import OnProcessExit

    def on_exit(event: Any, context: Any) -> list[Any] | None:
        outcome = camera_exit_outcome(event.returncode, context.is_shutdown)
        if outcome is CameraExit.FAIL:
            raise CameraNodeFailed(camera_failure_message(node_name, event.returncode))
        if outcome is CameraExit.SHUTDOWN:
            return [Shutdown(reason=f"camera_node '{node_name}' finished")]
        return None

    return RegisterEventHandler(OnProcessExit(target_action=camera_node, on_exit=on_exit))
