"""The ROS rows on ROS 2 Humble itself: plain rclpy and `camera_node` (1080p rgb8), both on Humble's rclpy 3.3 and
Fast DDS 2.6, run by `make bench` beside the same rows on kilted's wheels.

`run()` is called in the kilted benchmark process; it starts this module again through `tools/humble` (Humble's
tree from ../shared/ros-humble, `.venv-humble`: Python 3.10, numpy 1.21.5), with an environment of its own so
that nothing of the kilted venv leaks in, and reads the JSON it prints. Both rows use the same synthetic 1080p
camera, profile (config/fastdds_large_data.xml) and subscriber process as kilted's: `benchmarks.rclpy_baseline`
and `benchmarks.ros_bridge.run_rgb_only`.

Run alone: `tools/humble python -m benchmarks.humble --seconds 10`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HUMBLE_TARBALL = ROOT.parent / "shared" / "ros-humble" / "humble-py310.tar.zst"
# What the Humble child keeps of this process's environment: nothing ROS, nothing of the kilted venv.
_KEPT = ("HOME", "USER", "LANG", "TERM", "TMPDIR", "XDG_CACHE_HOME", "AIRO_MP_CAMERA_NETNS", "CYCLONEDDS_URI")


def run(seconds: float) -> dict[str, Any]:
    """The Humble rows, or {"skipped": why} where Humble's tree is not there."""
    if not any(HUMBLE_TARBALL.parent.glob("humble-py310*.tar.zst")):
        return {"skipped": f"no ROS 2 Humble tree ({HUMBLE_TARBALL.parent}/humble-py310*.tar.zst)"}
    env = {key: os.environ[key] for key in _KEPT if key in os.environ}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" + (
        f":{Path.home()}/.pyenv/bin" if (Path.home() / ".pyenv" / "bin").is_dir() else ""
    )
    result = subprocess.run(
        [str(ROOT / "tools" / "humble"), "python", "-m", "benchmarks.humble", "--seconds", str(seconds)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=6 * seconds + 600,  # set-up on a fresh machine (unpack, venv, colcon) plus both rows
    )
    if result.returncode != 0:
        error = result.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"tools/humble failed ({result.returncode}): {error}")
    for line in reversed(result.stdout.decode(errors="replace").splitlines()):
        if line.startswith("{"):
            return dict(json.loads(line))
    raise RuntimeError(f"no JSON report from the Humble run: {result.stdout[-2000:]!r}")


def measure(seconds: float) -> dict[str, Any]:
    """Both rows in this (Humble) process tree."""
    from benchmarks import rclpy_baseline, ros_bridge

    return {
        "ros_distro": os.environ.get("ROS_DISTRO", ""),
        "rclpy": rclpy_baseline.run(seconds),
        "rgb_only_camera": ros_bridge.run_rgb_only(seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(json.dumps(measure(args.seconds)), flush=True)


if __name__ == "__main__":
    main()
