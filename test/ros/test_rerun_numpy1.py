"""Rerun under numpy 1 (ROS 2 Humble's 1.21.5, Jazzy's 1.26): one clear error at once, and the way that works.

rerun-sdk >= 0.23 needs numpy 2, so a Rerun logger cannot run in ROS's own Python there. Constructing one raises
`MissingDependencyError` saying so (not "pip install rerun-sdk", which would replace ROS's numpy), and camera_node
with `rerun.enable` or `rerun.web.enable` exits non-zero with that one line and no traceback, leaving no shared
memory. What the message advises is checked too where a Python with numpy 2 and rerun-sdk is at hand (this
checkout's `.venv`, or AIRO_MP_CAMERA_RERUN_PYTHON): a logger there records a namespace camera_node publishes from
numpy 1. On numpy 2 these tests skip: the logger's own tests (test_rerun_logger.py) run there.

    tools/humble python -m pytest -q test/ros/test_rerun_numpy1.py      # ROS 2 Humble itself
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from airo_mp_camera.consumers import MissingDependencyError, MultiprocessRGBDRerunLogger, MultiprocessRGBRerunLogger

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"width": 320, "height": 240, "fps": 30.0}
NEEDS = f"rerun-sdk >= 0.23 with numpy >= 2; this Python has numpy {np.__version__}"

pytestmark = pytest.mark.skipif(
    int(np.__version__.split(".")[0]) >= 2, reason="numpy 2 runs the Rerun logger (test_rerun_logger.py)"
)

LOGGER_SCRIPT = """
import sys, time
from airo_mp_camera import MultiprocessRGBDRerunLogger

if __name__ == "__main__":
    logger = MultiprocessRGBDRerunLogger(sys.argv[1], rrd_path=sys.argv[2])
    logger.start()
    deadline = time.monotonic() + 30.0
    while logger.frames_logged < 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    logger.stop()
    print("frames_logged", logger.frames_logged)
"""


def test_a_logger_under_numpy_1_says_at_once_what_works(namespace: str, tmp_path: Path) -> None:
    for cls in (MultiprocessRGBRerunLogger, MultiprocessRGBDRerunLogger):
        with pytest.raises(MissingDependencyError) as raised:
            cls(namespace, rrd_path=tmp_path / "camera.rrd")
        message = str(raised.value)
        assert NEEDS in message and "\n" not in message
        assert f"{cls.__name__}({namespace!r})" in message, message
        assert "pip install 'rerun-sdk" not in message, "installing rerun-sdk would replace this Python's numpy"


@pytest.mark.parametrize("parameter", ["rerun.enable", "rerun.web.enable"])
def test_camera_node_with_rerun_stops_with_one_line_saying_what_to_install(
    namespace: str, processes, parameter: str
) -> None:
    from support.ros_support import node_name, start_node

    name = node_name()
    node = start_node(processes, "camera_node", name, {**SMALL, "namespace": namespace, parameter: True})
    try:
        out, err = node.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        node.kill()
        out, err = node.communicate(timeout=10)
        raise AssertionError(f"camera_node still running 90 s after start: {err.decode()[-3000:]}") from None
    errors = err.decode()
    assert node.returncode not in (0, None), errors
    assert "Traceback" not in out.decode() + errors, errors
    lines = [line for line in errors.splitlines() if "rerun" in line]
    assert len(lines) == 1, errors
    assert f"{parameter}: the Rerun logger needs {NEEDS}" in lines[0], errors
    assert f"MultiprocessRGBDRerunLogger({namespace!r})" in lines[0], errors


def _numpy2_python_with_rerun() -> str | None:
    candidates = [os.environ.get("AIRO_MP_CAMERA_RERUN_PYTHON", ""), str(ROOT / ".venv" / "bin" / "python")]
    check = "import numpy, rerun, airo_mp_camera; assert int(numpy.__version__.split('.')[0]) >= 2"
    for python in filter(None, candidates):
        if Path(python).exists():
            result = subprocess.run([python, "-c", check], env=_plain_env(), capture_output=True, timeout=120)
            if result.returncode == 0:
                return python
    return None


def _plain_env() -> dict[str, str]:
    """This environment without the Python paths of this interpreter's ROS install (another Python's own)."""
    return {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


def test_a_python_with_numpy_2_logs_the_namespace_camera_node_publishes(
    namespace: str, processes, tmp_path: Path
) -> None:
    from support.ros_support import node_name, start_node, stop_node

    python = _numpy2_python_with_rerun()
    if python is None:
        pytest.skip("no Python with numpy 2 and rerun-sdk (make venv builds .venv; or AIRO_MP_CAMERA_RERUN_PYTHON)")
    node = start_node(processes, "camera_node", node_name(), {**SMALL, "namespace": namespace})
    script = tmp_path / "log_namespace.py"
    script.write_text(LOGGER_SCRIPT)
    rrd = tmp_path / "camera.rrd"
    logger = processes.popen(
        [python, str(script), namespace, str(rrd)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=_plain_env(),
    )
    output = logger.communicate(timeout=120)[0].decode()
    code, node_output = stop_node(node)
    assert logger.returncode == 0, output
    logged = int(output.split("frames_logged", 1)[1].split()[0])
    assert logged >= 10, output
    assert rrd.stat().st_size > 0
    assert code == 0, node_output
