"""A launch file whose Python modules are not all installed stops with one line: the module and how to install it.

The guard at the top of each launch file that imports `airo_mp_camera` imports what camera_node needs before
anything else does; `synthetic.launch.py` imports nothing of the package and gets the guard through the
`camera.launch.py` it includes. Here `airo_ipc` is hidden by a package of that name earlier on PYTHONPATH whose import
fails as a missing module's does. The launch files run with this interpreter (the guard fires before ROS's `launch`
is imported), and through `ros2 launch` where a ROS 2 install with this package built by colcon is sourced.
"""

from __future__ import annotations

import ast
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALL_COMMAND = "python3 -m pip install -r src/airo_mp_camera/requirements-ros.txt"
HIDE = "raise ModuleNotFoundError(\"No module named 'airo_ipc'\", name='airo_ipc')\n"


def _imports_the_package(tree: ast.Module) -> list[int]:
    """Line numbers of the module-level statements that import `airo_mp_camera` (in a `try` or not)."""
    lines = []
    for statement in tree.body:
        nodes = [statement, *ast.walk(statement)] if isinstance(statement, ast.Try) else [statement]
        for node in nodes:
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(name.split(".")[0] == "airo_mp_camera" for name in names):
                lines.append(statement.lineno)
    return lines


def _guarded_launch_files() -> list[str]:
    return sorted(
        path.name
        for path in (ROOT / "launch").glob("*.launch.py")
        if _imports_the_package(ast.parse(path.read_text()))
    )


@pytest.fixture
def without_airo_ipc(tmp_path: Path) -> dict[str, str]:
    """An environment in which `import airo_ipc` fails as it does where airo-ipc is not installed."""
    hidden = tmp_path / "hidden" / "airo_ipc"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text(HIDE)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hidden.parent), env.get("PYTHONPATH")]))
    return env


def _assert_one_line_naming_airo_ipc(code: int | None, output: str) -> None:
    assert code == 1, output
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if "airo_ipc" in line]
    assert len(lines) == 1, output
    assert "the Python module 'airo_ipc' is not installed" in lines[0], output
    assert INSTALL_COMMAND in lines[0], output


def test_every_launch_file_that_imports_the_package_checks_first_and_synthetic_includes_one() -> None:
    guarded = _guarded_launch_files()
    assert {"camera.launch.py", "multi_camera.launch.py"} <= set(guarded)
    for name in guarded:
        tree = ast.parse((ROOT / "launch" / name).read_text())
        guards = [
            statement.lineno
            for statement in tree.body
            if isinstance(statement, ast.Try)
            and any(
                isinstance(handler.type, ast.Name) and handler.type.id == "ModuleNotFoundError"
                for handler in statement.handlers
            )
        ]
        assert guards and guards[0] == min(_imports_the_package(tree)), f"{name}: the guard is not the first import"
    for name in ("synthetic.launch.py", "zed.launch.py"):  # they import nothing of ours: camera.launch.py checks
        including = (ROOT / "launch" / name).read_text()
        assert not _imports_the_package(ast.parse(including)) and '"camera.launch.py"' in including, name


def test_the_install_command_installs_the_module_it_names() -> None:
    requirements = (ROOT / "requirements-ros.txt").read_text().splitlines()
    assert any(line.startswith("airo-ipc") for line in requirements)


@pytest.mark.parametrize("name", _guarded_launch_files())
def test_a_launch_file_stops_with_one_line_naming_the_missing_module(
    processes, without_airo_ipc: dict[str, str], name: str
) -> None:
    process = processes.popen(
        [sys.executable, "-c", "import runpy, sys; runpy.run_path(sys.argv[1])", str(ROOT / "launch" / name)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=without_airo_ipc,
    )
    output, _ = process.communicate(timeout=60)
    _assert_one_line_naming_airo_ipc(process.returncode, output.decode())


def test_a_missing_module_of_the_package_itself_is_not_taken_for_an_install_step(processes) -> None:
    hide = "import runpy, sys; sys.modules['airo_mp_camera.pipeline.errors'] = None; runpy.run_path(sys.argv[1])"
    process = processes.popen(
        [sys.executable, "-c", hide, str(ROOT / "launch" / "camera.launch.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 1, output
    assert "ModuleNotFoundError" in output and "airo_mp_camera.pipeline.errors" in output, output
    assert INSTALL_COMMAND not in output, output


def _ros2_launch_skip_reason() -> str | None:
    if shutil.which("ros2") is None:
        return "no `ros2` command (ros2cli is part of a ROS 2 install; not on PyPI)"
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    except ImportError:
        return "ament_index_python is not installed (a ROS 2 install)"
    try:
        prefix = Path(get_package_prefix("airo_mp_camera"))
    except PackageNotFoundError:
        return "airo_mp_camera is not in the ament index: build it with colcon and source install/setup.bash"
    if not (prefix / "share" / "airo_mp_camera" / "launch" / "synthetic.launch.py").exists():
        return "airo_mp_camera was not installed by colcon (no share/airo_mp_camera/launch)"
    return None


@pytest.mark.parametrize("name", ["synthetic.launch.py", "multi_camera.launch.py"])
def test_ros2_launch_stops_with_one_line_naming_the_missing_module(
    processes, without_airo_ipc: dict[str, str], name: str
) -> None:
    reason = _ros2_launch_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    process = processes.popen(
        ["ros2", "launch", "airo_mp_camera", name],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=without_airo_ipc,
        start_new_session=True,  # its own process group, as in a terminal
    )
    try:
        output, _ = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate(timeout=10)
        raise AssertionError(f"ros2 launch still running after 90 s: {output.decode()[-3000:]}") from None
    text = output.decode()
    _assert_one_line_naming_airo_ipc(process.returncode, text)
    assert "process started" not in text, text
