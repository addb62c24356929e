"""The package installs the ament_python way (colcon) and the Python way (pip), with its data files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def tracked_files() -> list[str]:
    result = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        pytest.skip(f"not a git checkout: {result.stderr.strip()}")
    return [line for line in result.stdout.splitlines() if (ROOT / line).is_file()]


def copy_tracked(destination: Path) -> None:
    for name in tracked_files():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


@pytest.mark.slow
def test_colcon_build_installs_entry_points_launch_config_and_index_marker(tmp_path: Path) -> None:
    colcon = Path(sys.executable).with_name("colcon")
    if not colcon.exists():
        pytest.skip("colcon is not installed in this environment (make venv installs colcon-common-extensions)")
    copy_tracked(tmp_path / "src" / "airo_mp_camera")
    result = subprocess.run(
        [str(colcon), "--log-base", "log", "build", "--base-paths", "src", "--event-handlers", "console_direct-"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    share = tmp_path / "install" / "airo_mp_camera" / "share"
    assert (share / "ament_index" / "resource_index" / "packages" / "airo_mp_camera").is_file()
    assert (share / "airo_mp_camera" / "package.xml").is_file()
    assert (share / "airo_mp_camera" / "launch" / "zed.launch.py").is_file()
    assert (share / "airo_mp_camera" / "launch" / "camera.launch.py").is_file()
    assert (share / "airo_mp_camera" / "config" / "fastdds_large_data.xml").is_file()
    for script in ("camera_node", "bridge_node"):  # where `ros2 run airo_mp_camera <script>` looks
        assert (tmp_path / "install" / "airo_mp_camera" / "lib" / "airo_mp_camera" / script).is_file()
    codec = list(
        (tmp_path / "install" / "airo_mp_camera").glob("lib/python3*/site-packages/airo_mp_camera/codecs/_rvl*.so")
    )
    assert codec, "colcon did not build the RVL codec's C extension"


def has_bdist_wheel() -> bool:
    """Whether setuptools can build a wheel without build isolation: its own bdist_wheel (setuptools >= 70.1) or
    the `wheel` package's (older setuptools, e.g. pyenv 3.10's 65.5)."""
    return any(command.name == "bdist_wheel" for command in entry_points(group="distutils.commands"))


@pytest.mark.slow
def test_pip_builds_a_wheel_with_the_data_files_and_console_scripts(tmp_path: Path) -> None:
    if not has_bdist_wheel():
        pytest.skip(
            "setuptools here has no bdist_wheel command (setuptools < 70.1 without the `wheel` package): "
            "`pip wheel --no-build-isolation` cannot build (make venv and make test-compat install `wheel`)"
        )
    source = tmp_path / "source"
    copy_tracked(source)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = tmp_path.glob("airo_mp_camera-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    data = [name.split(".data/data/", 1)[1] for name in names if ".data/data/" in name]
    assert "share/ament_index/resource_index/packages/airo_mp_camera" in data
    assert "share/airo_mp_camera/launch/zed.launch.py" in data
    assert "share/airo_mp_camera/launch/camera.launch.py" in data
    assert "airo_mp_camera/pipeline/receiver.py" in names
    assert any(name.startswith("airo_mp_camera/codecs/_rvl.") and name.endswith(".so") for name in names), names
    assert "airo_mp_camera/codecs/_rvl.pyi" in names
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "camera_node = airo_mp_camera.ros.camera_node:main" in text
    metadata = zipfile.ZipFile(wheel).read(next(name for name in names if name.endswith("METADATA"))).decode()
    # The platform matrix of the README: Humble's Python and numpy are the floor; Rerun needs numpy 2.
    assert "Requires-Python: >=3.10" in metadata
    assert "Requires-Dist: numpy>=1.21" in metadata
    assert 'Requires-Dist: numpy>=2; extra == "rerun"' in metadata
    assert 'Requires-Dist: rerun-sdk>=0.23; extra == "rerun"' in metadata
