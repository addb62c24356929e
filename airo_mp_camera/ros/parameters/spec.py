"""One parameter's entry (`ParameterSpec`) and what is derived from it: checks, ROS descriptors, declaration.

An entry holds the name, the default (which fixes the type), the description, what is allowed (choices or a
range), the deprecated names still accepted (`aliases`), the launch argument that sets it (`launch`), and the
config field it fills (`field`). `check` validates a value; `parameter_descriptor` turns the entry into the
`rcl_interfaces/ParameterDescriptor` that `ros2 param describe` prints (type, description, read-only, ROS's own
`IntegerRange` / `FloatingPointRange`); `declare_parameters` declares a node's parameters from entries.

rclpy and rcl_interfaces are imported only by the two functions that need them, so the launch files and tests
use the entries without ROS.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

Value = bool | int | float | str

# Parameters every rclpy node accepts; never reported as unknown.
RCLPY_PARAMETERS = frozenset({"use_sim_time", "start_type_description_service"})
_INT64 = (-(2**63), 2**63 - 1)
_KINDS = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}


class ParameterError(ValueError):
    """A parameter has a wrong type or value, or is unknown; the message names it and what is allowed."""


@dataclass(frozen=True)
class LaunchExposure:
    """The launch argument of `launch/camera.launch.py` that sets a parameter.

    Attributes:
        name: the argument's name (`name:=value`); several parameters may share one argument.
        default: the argument's default where it differs from the parameter's; None: the parameter's.
        kind: a string argument's extra check: "name" (a ROS node name), "file" (empty, or an existing file),
            "path" (empty, or an existing file or directory); empty: from the parameter's type and choices.
        description: what `ros2 launch ... --show-args` prints; empty: the parameter's description.
    """

    name: str
    default: Value | None = None
    kind: str = ""
    description: str = ""


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter: its name, default (which fixes its type), description and allowed values.

    Attributes:
        aliases: deprecated names still accepted; a value given under one is used, with a warning naming `name`.
        launch: the launch argument that sets this parameter; None: set only by a parameters file or `-p`.
        field: the config attribute this parameter fills (`BridgeConfig.jpeg_quality` is "jpeg_quality", a
            stream's `StreamConfig.enabled` is "streams.rgb.enabled"); empty: read by name where it is used.
    """

    name: str
    default: Value
    description: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    aliases: tuple[str, ...] = ()
    launch: LaunchExposure | None = None
    field: str = ""

    @property
    def type(self) -> type:
        """The Python type of every value: bool, int, float or str."""
        return type(self.default)

    @property
    def allowed(self) -> str:
        """What is allowed, in words."""
        kind = _KINDS[self.type]
        if self.choices:
            return f"one of {', '.join(self.choices)}"
        if self.minimum is not None and self.maximum is not None:
            if self.exclusive_minimum:
                return f"{kind} > {self.minimum:g} and <= {self.maximum:g}"
            return f"{kind} from {self.minimum:g} to {self.maximum:g}"
        if self.minimum is not None:
            return f"{kind} {'>' if self.exclusive_minimum else '>='} {self.minimum:g}"
        if self.maximum is not None:
            return f"{kind} <= {self.maximum:g}"
        return kind

    def check(self, value: Any) -> Value:
        """The value converted to the spec's type, or a ParameterError naming the parameter."""
        expected = self.type
        if expected is float and type(value) is int:
            value = float(value)  # `fps: 30` in YAML is an integer; accept it for a number
        if type(value) is not expected:
            raise ParameterError(
                f"parameter '{self.name}' must be {self.allowed}, got {type(value).__name__} {value!r}"
            )
        if self.choices and value not in self.choices:
            raise ParameterError(f"parameter '{self.name}' must be {self.allowed}, got {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            too_small = self.minimum is not None and (
                value <= self.minimum if self.exclusive_minimum else value < self.minimum
            )
            too_large = self.maximum is not None and value > self.maximum
            if too_small or too_large or (isinstance(value, float) and not math.isfinite(value)):
                raise ParameterError(f"parameter '{self.name}' must be {self.allowed}, got {value!r}")
        return cast(Value, value)  # its type was checked above


def resolve_aliases(
    values: Mapping[str, Any], specs: Iterable[ParameterSpec], warn: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """`values` with every deprecated name replaced by its parameter's name, each with a warning.

    `warn` receives the message (a node's logger); by default it is a DeprecationWarning. Where both names are
    given, the parameter's own name wins.
    """
    resolved = dict(values)
    for spec in specs:
        for alias in spec.aliases:
            if alias not in resolved:
                continue
            value = resolved.pop(alias)
            message = f"parameter '{alias}' is deprecated: use '{spec.name}'"
            if spec.name in resolved:
                message += f" (both are set: '{spec.name}' is used)"
            else:
                resolved[spec.name] = value
            if warn is None:
                warnings.warn(message, DeprecationWarning, stacklevel=3)
            else:
                warn(message)
    return resolved


def check_all(specs: Iterable[ParameterSpec], values: Mapping[str, Any]) -> dict[str, Value]:
    """Every spec's value, checked (defaults for those absent; deprecated names accepted with a warning)."""
    specs = tuple(specs)
    values = resolve_aliases(values, specs)
    return {spec.name: spec.check(values.get(spec.name, spec.default)) for spec in specs}


def check_unknown(given: Iterable[str], specs: Iterable[ParameterSpec]) -> None:
    """Raises ParameterError for a given parameter that no spec declares (a typo in a YAML file, say)."""
    specs = tuple(specs)
    declared = {spec.name for spec in specs}
    known = declared | {alias for spec in specs for alias in spec.aliases} | RCLPY_PARAMETERS
    unknown = sorted(set(given) - known)
    if unknown:
        raise ParameterError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(repr(n) for n in unknown)}; "
            f"known: {', '.join(sorted(declared))}"
        )


def config_fields(specs: Iterable[ParameterSpec], checked: Mapping[str, Value], prefix: str = "") -> dict[str, Any]:
    """The config attributes `specs` fill directly under `prefix`, with their checked values.

    `config_fields(specs, checked, "depth_view.")` gives `{"colormap": ..., ...}` for the fields
    "depth_view.colormap" and so on; with no prefix, only the fields without a dot.
    """
    fields: dict[str, Any] = {}
    for spec in specs:
        if spec.field.startswith(prefix) and spec.field[len(prefix) :] and "." not in spec.field[len(prefix) :]:
            fields[spec.field[len(prefix) :]] = checked[spec.name]
    return fields


def parameter_descriptor(spec: ParameterSpec) -> Any:
    """The `rcl_interfaces/ParameterDescriptor` of a spec: its type, description, constraints and range.

    The parameter is read-only: it is read once, at start, and `ros2 param set` says so instead of doing
    nothing. A range is ROS's `IntegerRange` (step 1) for an integer and `FloatingPointRange` (step 0: any value
    between the bounds) for a number; ROS ranges are inclusive, so an exclusive lower bound (`> 0`) is given as
    its inclusive one and stated in `additional_constraints`, which `check` enforces.
    """
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType

    types = {
        bool: ParameterType.PARAMETER_BOOL,
        int: ParameterType.PARAMETER_INTEGER,
        float: ParameterType.PARAMETER_DOUBLE,
        str: ParameterType.PARAMETER_STRING,
    }
    descriptor = ParameterDescriptor(
        name=spec.name,
        type=types[spec.type],
        description=spec.description,
        additional_constraints=f"Allowed: {spec.allowed}.",
        read_only=True,
    )
    if spec.minimum is None and spec.maximum is None:
        return descriptor
    if spec.type is int:
        low = int(spec.minimum) if spec.minimum is not None else _INT64[0]
        high = int(spec.maximum) if spec.maximum is not None else _INT64[1]
        descriptor.integer_range = [IntegerRange(from_value=low, to_value=high, step=1)]
    elif spec.type is float:
        low_f = float(spec.minimum) if spec.minimum is not None else -math.inf
        high_f = float(spec.maximum) if spec.maximum is not None else math.inf
        descriptor.floating_point_range = [FloatingPointRange(from_value=low_f, to_value=high_f, step=0.0)]
    return descriptor


def declare_parameters(node: Any, specs: Sequence[ParameterSpec]) -> dict[str, Any]:
    """Declares `specs` on an rclpy node, each with its descriptor, and returns their checked values.

    The values given to the node (parameters file, launch, `-p`) are checked here, before rclpy sees them, so
    a wrong one raises ParameterError naming the parameter and what is allowed; a value given under a
    deprecated name is used, and the node logs a warning naming the parameter's name. Unknown names are
    `check_unknown`'s business.
    """
    overrides = getattr(node, "_parameter_overrides", {})
    given = resolve_aliases(
        {name: parameter.value for name, parameter in overrides.items()}, specs, node.get_logger().warning
    )
    values: dict[str, Any] = {}
    for spec in specs:
        value = spec.check(given.get(spec.name, spec.default))
        declared = node.declare_parameter(spec.name, value, parameter_descriptor(spec), ignore_override=True)
        values[spec.name] = declared.value
    return values
