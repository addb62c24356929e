"""The transport peers of the benchmark (Zenoh SHM, iceoryx2; benchmarks/transport_peer.py).

The frame layout and its torn-frame check run everywhere. The peers themselves run for real, a publisher and a
subscriber process each, only where `make bench-peers` made `.venv-peers` with the transport installed; there
they must deliver frames, see no torn ones, and leave /dev/shm and the iceoryx2 root directory as found.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from airo_mp_camera import SyntheticCamera
from benchmarks import transport_peer
from benchmarks.transport_peer import FrameLayout

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEER_PYTHON = os.path.join(ROOT, ".venv-peers", "bin", "python")


def _written(layout: FrameLayout, camera: SyntheticCamera) -> np.ndarray:
    buffer = np.zeros(layout.nbytes, np.uint8)
    camera.grab_images()
    layout.write(buffer, camera)
    return buffer


def test_layout_round_trip_carries_the_frame_and_its_watermarks() -> None:
    layout = FrameLayout(64, 48)
    camera = SyntheticCamera(resolution=(64, 48), fps=1000.0)
    buffer = _written(layout, camera)
    frame_id, stamp, rgb, depth = layout.read(buffer)
    assert (frame_id, stamp) == (camera.frame_id, camera.capture_timestamp)
    assert np.array_equal(rgb, camera.retrieve_rgb_image_as_int())
    assert np.array_equal(depth, camera.retrieve_depth_map())
    assert np.shares_memory(rgb, buffer) and np.shares_memory(depth, buffer)  # views, not copies
    assert transport_peer._whole(frame_id, rgb, depth)


def test_a_frame_mixed_with_the_next_one_counts_as_torn() -> None:
    layout = FrameLayout(64, 48)
    camera = SyntheticCamera(resolution=(64, 48), fps=1000.0)
    first = _written(layout, camera)
    second = _written(layout, camera)
    mixed = first.copy()
    mixed[-100:] = second[-100:]  # the tail of the depth map from the next frame
    frame_id, _, rgb, depth = layout.read(mixed)
    assert not transport_peer._whole(frame_id, rgb, depth)


def test_a_peer_without_its_package_reports_skipped_with_the_reason() -> None:
    try:
        import zenoh  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("eclipse-zenoh is installed in this venv: the skip path cannot be shown here")
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.zenoh_peer", "--seconds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "make bench-peers" in report["skipped"] and "eclipse-zenoh" in report["skipped"]


def _iceoryx2_files() -> set[str]:
    return {name for name in os.listdir("/dev/shm") if name.startswith("iox2_airo_bench_")} | {
        name for name in os.listdir("/tmp") if name.startswith("airo_mp_camera.iox2_")
    }


@pytest.mark.parametrize("module", ["benchmarks.zenoh_peer", "benchmarks.iceoryx2_peer"])
def test_a_transport_peer_delivers_untorn_frames_and_leaves_the_machine_as_found(module: str) -> None:
    if not os.path.exists(PEER_PYTHON):
        pytest.skip("no .venv-peers: run `make bench-peers` to run the transport peers")
    iox2_before = _iceoryx2_files()
    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "_ROS_WHEELS_BOOTSTRAP_COMPLETE")}
    result = subprocess.run(
        [PEER_PYTHON, "-m", module, "--seconds", "1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    if "skipped" in report:
        pytest.skip(report["skipped"])
    assert result.returncode == 0 and "error" not in report, (report, result.stderr[-2000:])
    for phase in transport_peer.PHASES:
        assert report[phase]["delivered"] >= 10, report[phase]
        assert report[phase]["torn_or_changed"] == 0
    assert report["shm_bytes"] >= report["frame_bytes"]  # the frames really went through shared memory
    assert _iceoryx2_files() == iox2_before
    assert report["shm_files"] and not [path for path in report["shm_files"] if os.path.exists(path)]


def test_without_the_peers_venv_the_rows_are_skipped_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import run

    monkeypatch.setattr(run, "PEER_PYTHON", os.path.join(ROOT, "no-such-venv", "bin", "python"))
    report = run.run_peer(1.0, False, "benchmarks.iceoryx2_peer")
    assert "make bench-peers" in report["skipped"] and "iceoryx2" in report["skipped"]
    figures = transport_peer.figures({"iceoryx2": report}, run._get)
    assert figures["iceoryx2_rgbd_1080p_p50_ms"] is None and figures["iceoryx2_copied_rgbd_1080p_p50_ms"] is None
