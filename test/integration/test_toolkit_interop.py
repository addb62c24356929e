"""Drop-in for airo-camera-toolkit code: our receivers pass its interface checks and its own camera tests.

Two levels:
- everywhere: a stand-in for `airo_camera_toolkit.interfaces` (a few ABCs of the same names, written here) shows
  the registration mechanism (imported before or after this package; the toolkit is never imported by us);
- where `make bench-peers` made `.venv-peers` (the real airo-camera-toolkit 2026.10.1, Python 3.11): the
  toolkit's own `manual_test_hw` functions run against our receivers on the synthetic camera, in that venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"

STAND_IN = """
import abc
class Camera(abc.ABC): pass
class RGBCamera(Camera): pass
class DepthCamera(Camera): pass
class RGBDCamera(RGBCamera, DepthCamera): pass
class StereoRGBDCamera(RGBDCamera):
    LEFT_RGB = "left"
    RIGHT_RGB = "right"
"""

CHECK = """
import sys
order = sys.argv[1]
if order == "toolkit-first":
    import airo_camera_toolkit.interfaces as toolkit
import airo_mp_camera
from airo_mp_camera import MultiprocessRGBDReceiver, MultiprocessRGBReceiver, MultiprocessStereoRGBDReceiver
from airo_mp_camera.cameras import SyntheticCamera
assert "airo_camera_toolkit" in sys.modules or order == "ours-first"
untouched = "airo_camera_toolkit" not in sys.modules
import airo_camera_toolkit.interfaces as toolkit
print(untouched,
      issubclass(MultiprocessStereoRGBDReceiver, toolkit.StereoRGBDCamera),
      issubclass(MultiprocessRGBDReceiver, toolkit.RGBDCamera),
      issubclass(MultiprocessRGBDReceiver, toolkit.StereoRGBDCamera),
      issubclass(MultiprocessRGBReceiver, toolkit.RGBCamera),
      issubclass(MultiprocessRGBReceiver, toolkit.DepthCamera),
      issubclass(SyntheticCamera, toolkit.StereoRGBDCamera),
      MultiprocessStereoRGBDReceiver.RIGHT_RGB == toolkit.StereoRGBDCamera.RIGHT_RGB,
      SyntheticCamera.LEFT_RGB == toolkit.StereoRGBDCamera.LEFT_RGB)
"""


def test_stereo_receivers_and_cameras_carry_the_toolkit_view_attributes() -> None:
    from airo_mp_camera import LEFT_RGB, RIGHT_RGB, MultiprocessStereoRGBDReceiver, SyntheticCamera

    for cls in (MultiprocessStereoRGBDReceiver, SyntheticCamera):
        assert (cls.LEFT_RGB, cls.RIGHT_RGB) == (LEFT_RGB, RIGHT_RGB) == ("left", "right")


@pytest.mark.parametrize("order", ["ours-first", "toolkit-first"])
def test_receivers_pass_the_toolkit_interface_checks_whichever_is_imported_first(tmp_path: Path, order: str) -> None:
    package = tmp_path / "airo_camera_toolkit"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "interfaces.py").write_text(STAND_IN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    result = subprocess.run(
        [sys.executable, "-c", CHECK, order], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    untouched, *checks = result.stdout.split()
    if order == "ours-first":
        assert untouched == "True", "importing airo_mp_camera imported the toolkit"
    assert checks == ["True", "True", "False", "True", "False", "True", "True", "True"], result.stdout


@pytest.mark.skipif(
    not PEERS_PYTHON.exists(),
    reason="no .venv-peers with airo-camera-toolkit 2026.10.1 (run `make bench-peers` once; ~2.4 GB)",
)
@pytest.mark.parametrize("order", ["ours-first", "toolkit-first"])
@pytest.mark.timeout(240)
def test_the_toolkits_own_camera_tests_pass_on_our_receivers(namespace: str, processes, order: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    env.pop("VIRTUAL_ENV", None)
    process = processes.popen(
        [str(PEERS_PYTHON), str(ROOT / "test" / "support" / "toolkit_manual_tests.py"), namespace, order],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    out, err = process.communicate(input=b"\n" * 20, timeout=200)  # answers every "press a key" prompt
    lines = [line for line in out.decode().splitlines() if line.startswith("REPORT ")]
    assert process.returncode == 0 and lines, err.decode()[-3000:]
    report = json.loads(lines[0][len("REPORT ") :])
    assert report["package"].startswith(str(ROOT)), report["package"]
    assert not report["toolkit_imported_by_us"]
    assert all(report["isinstance"].values()), report["isinstance"]
    assert report["attributes"] == ["left", "right"]
    assert len(report["results"]) == 7
    failed = {name: outcome for name, outcome in report["results"].items() if outcome != "passed"}
    assert not failed, failed
