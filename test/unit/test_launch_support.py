"""The launch files' argument checks, exit decisions and rviz config, without ROS 2's `launch` installed.

`shutdown_when_camera_exits` is exercised with a stand-in for the three `launch` classes it uses (recording
what they are given): it shows our wiring, not launch's behaviour, which the `ros2 launch` tests check where
launch is installed (test_ros2_launch.py).
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

from airo_mp_camera import launch_support
from airo_mp_camera.launch_support import (
    CAMERA_ARGUMENTS,
    CameraExit,
    CameraNodeFailed,
    LaunchArgument,
    LaunchArgumentError,
    camera_exit_outcome,
    node_parameters,
    parameters_file,
    parse_arguments,
    rviz_config,
)
from airo_mp_camera.ros.parameters import BRIDGE_SPECS, CAMERA_SPECS, CONSUMER_SPECS, REMOTE_SPECS, bridge_config

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_of_every_camera_argument_are_valid() -> None:
    values = parse_arguments({})
    assert values["enable_pointcloud"] is True and values["rviz"] is False
    assert values["baseline"] == pytest.approx(0.12) and values["serial_number"] == 0
    assert values["camera_name"] == "zed" and values["camera_type"] == "zed"


@pytest.mark.parametrize(
    ("argument", "value", "expected"),
    [
        ("enable_pointcloud", "ture", "true or false"),
        ("publish_tf", "yes please", "true or false"),
        ("baseline", "abc", "a number"),
        ("baseline", "-0.1", "a number greater than 0"),
        ("baseline", "nan", "a finite number"),
        ("serial_number", "abc", "an integer"),
        ("serial_number", "-3", "at least 0"),
        ("camera_type", "webcam", "one of zed, synthetic, replay"),
        ("camera_name", "zed/left", "a ROS name"),
        ("camera_name", "", "a ROS name"),
    ],
)
def test_a_wrong_value_is_an_error_naming_the_argument_and_what_it_expects(
    argument: str, value: str, expected: str
) -> None:
    with pytest.raises(LaunchArgumentError, match=rf"launch argument {argument}:=.*expected {expected}"):
        parse_arguments({argument: value})


def test_booleans_accept_what_launch_conditions_accept() -> None:
    flag = LaunchArgument("flag", "false", "a flag", "bool")
    assert [flag.parse(text) for text in ("true", "True", "1", "false", "FALSE", "0")] == [True] * 3 + [False] * 3


def test_every_invalid_argument_is_named_at_once() -> None:
    with pytest.raises(LaunchArgumentError) as error:
        parse_arguments({"enable_pointcloud": "ture", "baseline": "abc"})
    assert "enable_pointcloud:='ture'" in str(error.value) and "baseline:='abc'" in str(error.value)


def test_a_missing_parameters_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(LaunchArgumentError, match=r"config_file:=/nonexistent.yaml: no such parameters file"):
        parameters_file("/nonexistent.yaml", str(ROOT), "zed")
    with pytest.raises(LaunchArgumentError, match=r"svo_file:=.*no such file"):
        parse_arguments({"svo_file": str(tmp_path / "missing.svo2")})
    with pytest.raises(LaunchArgumentError, match=r"bag_path:=.*no such file or directory"):
        parse_arguments({"bag_path": str(tmp_path / "missing_bag")})
    assert parse_arguments({"bag_path": str(tmp_path)})["bag_path"] == str(tmp_path)  # a rosbag2 directory
    given = tmp_path / "mine.yaml"
    given.write_text("{}")
    assert parameters_file(str(given), str(ROOT), "zed") == str(given)
    assert parameters_file("", str(ROOT), "synthetic") == str(ROOT / "config" / "synthetic.yaml")
    assert parameters_file("", str(ROOT), "zed") == str(ROOT / "config" / "zed.yaml")


def test_launch_frame_names_are_the_nodes_and_never_double_the_view() -> None:
    for name in ("zed1", "wrist", "camera"):
        config = bridge_config({"camera_name": name}, name)
        assert launch_support.optical_frame(name, "left") == config.left_frame == f"{name}_left_camera_optical_frame"
        assert launch_support.optical_frame(name, "right") == config.right_frame
    multi = (ROOT / "launch" / "multi_camera.launch.py").read_text()
    assert '"zed1"' in multi and '"zed2"' in multi and "zed_left" not in multi


def test_camera_node_exit_ends_the_launch_and_only_a_failure_is_an_error() -> None:
    assert camera_exit_outcome(1, launch_is_shutting_down=False) is CameraExit.FAIL
    assert camera_exit_outcome(2, launch_is_shutting_down=False) is CameraExit.FAIL
    assert camera_exit_outcome(-9, launch_is_shutting_down=False) is CameraExit.FAIL
    assert camera_exit_outcome(0, launch_is_shutting_down=False) is CameraExit.SHUTDOWN  # a recording ended
    for code in (0, 1, -2, -15):  # Ctrl-C, or another process failed first: launch is already stopping
        assert camera_exit_outcome(code, launch_is_shutting_down=True) is CameraExit.IGNORE


class _Recorded:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs


@pytest.fixture
def launch_stand_in(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """Stand-ins for launch.actions.{RegisterEventHandler, Shutdown} and launch.event_handlers.OnProcessExit."""
    classes = types.SimpleNamespace(
        RegisterEventHandler=type("RegisterEventHandler", (_Recorded,), {}),
        Shutdown=type("Shutdown", (_Recorded,), {}),
        OnProcessExit=type("OnProcessExit", (_Recorded,), {}),
    )
    launch = types.ModuleType("launch")
    actions = types.ModuleType("launch.actions")
    handlers = types.ModuleType("launch.event_handlers")
    actions.RegisterEventHandler = classes.RegisterEventHandler  # type: ignore[attr-defined]
    actions.Shutdown = classes.Shutdown  # type: ignore[attr-defined]
    handlers.OnProcessExit = classes.OnProcessExit  # type: ignore[attr-defined]
    for name, module in (("launch", launch), ("launch.actions", actions), ("launch.event_handlers", handlers)):
        monkeypatch.setitem(sys.modules, name, module)
    return classes


def test_exit_handler_raises_on_failure_shuts_down_on_a_clean_end_and_ignores_exits_during_shutdown(
    launch_stand_in: types.SimpleNamespace,
) -> None:
    camera = object()
    registered = launch_support.shutdown_when_camera_exits(camera, "zed")
    assert isinstance(registered, launch_stand_in.RegisterEventHandler)
    (handler,) = registered.args
    assert isinstance(handler, launch_stand_in.OnProcessExit) and handler.kwargs["target_action"] is camera
    on_exit = handler.kwargs["on_exit"]

    def event(code: int) -> types.SimpleNamespace:
        return types.SimpleNamespace(returncode=code)

    running, stopping = types.SimpleNamespace(is_shutdown=False), types.SimpleNamespace(is_shutdown=True)
    with pytest.raises(CameraNodeFailed, match=r"camera_node 'zed' exited with code 1"):
        on_exit(event(1), running)
    with pytest.raises(CameraNodeFailed, match=r"camera_node 'zed' was killed by signal 9"):
        on_exit(event(-9), running)
    (shutdown,) = on_exit(event(0), running)
    assert isinstance(shutdown, launch_stand_in.Shutdown) and "finished" in shutdown.kwargs["reason"]
    assert on_exit(event(-2), stopping) is None


def test_rviz_config_is_rewritten_for_the_camera_name() -> None:
    template = (ROOT / "config" / "airo_mp_camera.rviz").read_text()
    config = yaml.safe_load(rviz_config(template, "zed"))
    manager = config["Visualization Manager"]
    topics = sorted(d["Topic"]["Value"] for d in manager["Displays"] if "Topic" in d)
    assert topics == ["/zed/depth/image_vis", "/zed/points", "/zed/rgb/image_raw"]
    assert manager["Global Options"]["Fixed Frame"] == "zed_camera_link"
    # Everything else is kept: the rewritten config still has the template's panels and views.
    assert config["Panels"] == yaml.safe_load(template)["Panels"]


def test_the_shipped_rviz_config_matches_synthetic_launch_default_camera() -> None:
    template = (ROOT / "config" / "airo_mp_camera.rviz").read_text()
    assert rviz_config(template, "camera") == rviz_config(rviz_config(template, "other"), "camera")
    synthetic = (ROOT / "launch" / "synthetic.launch.py").read_text()
    assert 'default_value="camera"' in synthetic


def test_launch_argument_table_declares_each_name_once_and_the_launch_sets_only_node_parameters() -> None:
    names = [spec.name for spec in CAMERA_ARGUMENTS]
    assert len(names) == len(set(names))
    overrides = node_parameters(parse_arguments({}))
    assert {"camera_type", "points.enable", "zed.serial_number", "namespace", "camera_name"} <= set(overrides)
    known = {spec.name for spec in (*BRIDGE_SPECS, *CAMERA_SPECS, *CONSUMER_SPECS, *REMOTE_SPECS)}
    assert set(overrides) <= known, f"camera.launch.py sets parameters camera_node does not declare: {overrides}"
    launch_file = (ROOT / "launch" / "camera.launch.py").read_text()
    assert "node_parameters(args)" in launch_file, (
        "camera.launch.py sets the parameters its arguments are declared for"
    )
    used = set(re.findall(r'args\["([a-z_]+)"\]', launch_file))
    assert used <= set(names), f"camera.launch.py reads undeclared arguments: {used - set(names)}"


def test_one_argument_sets_every_parameter_exposed_under_its_name() -> None:
    overrides = node_parameters(parse_arguments({"camera_name": "wrist", "enable_pointcloud": "false"}))
    assert overrides["namespace"] == overrides["camera_name"] == "wrist"
    assert overrides["points.enable"] is False


def test_an_argument_keeps_its_parameters_range() -> None:
    with pytest.raises(LaunchArgumentError, match=r"web_port:='70000' is invalid: expected at most 65535"):
        parse_arguments({"web_port": "70000"})


def test_remote_transport_argument_accepts_what_the_parameter_accepts() -> None:
    (argument,) = [spec for spec in CAMERA_ARGUMENTS if spec.name == "remote_transport"]
    (parameter,) = [spec for spec in REMOTE_SPECS if spec.name == "remote.transport"]
    assert argument.choices == parameter.choices and argument.default == parameter.default
    assert parse_arguments({"remote_transport": "large_data"})["remote_transport"] == "large_data"
    with pytest.raises(LaunchArgumentError, match="remote_transport"):
        parse_arguments({"remote_transport": "tcp"})
