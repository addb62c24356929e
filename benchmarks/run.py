"""`make bench`: every benchmark side by side on the same synthetic 1080p RGB-D frames, with ratios and targets.

Run through tools/isolated (DDS on loopback, the Fast DDS large-data profile):
    tools/isolated .venv/bin/python -m benchmarks.run            # full, a few minutes -> benchmarks/results.json
    tools/isolated .venv/bin/python -m benchmarks.run --quick    # under a minute -> benchmarks/results-quick.json
Sections: memcpy limit, native receivers (latency, delivery, torn frames, publisher rate), plain rclpy,
the ROS bridge (camera_node), the peer (airo-camera-toolkit in .venv-peers, see `make bench-peers`), the
transports users would pick instead (Zenoh SHM and iceoryx2, also in .venv-peers: benchmarks/transport_peer.py),
the 500 Hz control loop, in-place retrieval (benchmarks/inplace.py) and several cameras in one set
(benchmarks/multi_camera.py). A section that cannot run here is recorded with its reason instead of figures.
`--only native,zenoh_shm,iceoryx2` runs just those sections (the others are recorded as not selected).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks import (
    control_loop,
    humble,
    inplace,
    latency,
    multi_camera,
    rclpy_baseline,
    ros_bridge,
    transport_peer,
)
from benchmarks.processes import ProcessGroup, terminate_as_interrupt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER_PYTHON = os.path.join(ROOT, ".venv-peers", "bin", "python")
SHM_DIR = "/dev/shm"
_ONLY: set[str] = set()  # --only: the sections to run (empty: all)


# ---------------------------------------------------------------------------------------------- sections
def run_peer(
    seconds: float, pointcloud: bool, module: str = "benchmarks.peer", camera: str | None = None
) -> dict[str, Any]:
    """A peer (`module`: the toolkit, or a transport peer) in its own venv, as one subprocess (its publisher and
    receiver are its children); `camera`: the toolkit peer's `--camera` (see benchmarks/peer.py)."""
    if not os.path.exists(PEER_PYTHON):
        return {
            "skipped": "no .venv-peers: run `make bench-peers` first"
            " (it installs airo-camera-toolkit, eclipse-zenoh and iceoryx2 there)"
        }
    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "_ROS_WHEELS_BOOTSTRAP_COMPLETE")}
    command = [PEER_PYTHON, "-m", module, "--seconds", str(seconds)]
    if pointcloud:
        command.append("--pointcloud")
    if camera is not None:
        command += ["--camera", camera]
    with ProcessGroup() as group:
        process = group.popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = process.communicate(timeout=seconds + 180)
    for line in reversed(out.decode(errors="replace").splitlines()):
        if line.startswith("{"):
            report = dict(json.loads(line))
            if "error" in report:
                report["stderr_tail"] = err.decode(errors="replace")[-1500:]
            return report
    return {"error": f"the peer printed no report (exit {process.returncode})", "stderr_tail": err.decode()[-1500:]}


def machine() -> dict[str, Any]:
    """What the figures were taken on."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    return {
        "cpu": fields.get("Model name", "").strip(),
        "cores": os.cpu_count(),
        "hypervisor": fields.get("Hypervisor vendor", "").strip(),
        "l3_cache": fields.get("L3 cache", "").strip(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        "note": "2-core VM; load_average_at_start tells how busy it was when the run began",
    }


def _section(results: dict[str, Any], name: str, function: Callable[[], dict[str, Any]]) -> None:
    if _ONLY and name not in _ONLY:
        results[name] = {"skipped": "not selected (--only)"}
        return
    print(f"--- {name} ...", flush=True)
    started = time.monotonic()
    try:
        results[name] = function()
    except KeyboardInterrupt:
        raise
    except Exception as error:  # noqa: BLE001 - one failing section must not lose the others
        results[name] = {"error": f"{type(error).__name__}: {error}"}
    status = results[name].get("skipped") or results[name].get("error") or "done"
    print(f"    {status} in {time.monotonic() - started:.1f} s", flush=True)


# ---------------------------------------------------------------------------------------------- figures
def _get(data: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def figures(sections: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers, flat, under the names the README and the targets use."""
    native, ros, loop = sections.get("native", {}), sections.get("ros_bridge", {}), sections.get("control_loop", {})
    peer, peer_pc, rclpy = sections.get("peer_rgbd", {}), sections.get("peer_rgbd_pc", {}), sections.get("rclpy", {})
    torn = [_get(native, phase, "torn") for phase in ("rgbd_1_receiver", "rgbd_4_receivers", "rgbd_pc_1_receiver")]
    idle, loaded = _get(native, "idle", "publisher_rate_hz"), _get(native, "rgbd_4_receivers", "publisher_rate_hz")
    native_ratio = round(loaded / idle, 3) if idle and loaded else None
    values = {
        "memcpy_ms": _get(sections, "memcpy", "rgbd", "ms"),
        "memcpy_hot_ms": _get(sections, "memcpy", "rgbd", "hot_ms"),
        "memcpy_pc_ms": _get(sections, "memcpy", "rgbd_pc", "ms"),
        "frame_bytes_rgbd_1080p": _get(sections, "memcpy", "rgbd", "bytes"),
        "frame_bytes_rgbd_pc_1080p": _get(sections, "memcpy", "rgbd_pc", "bytes"),
        "shm_rgbd_1080p_p50_ms": _get(native, "rgbd_1_receiver", "latency_p50_ms"),
        "shm_rgbd_1080p_p99_ms": _get(native, "rgbd_1_receiver", "latency_p99_ms"),
        "shm_rgbd_1080p_published_p50_ms": _get(native, "rgbd_1_receiver", "published_p50_ms"),
        "shm_rgbd_1080p_4rx_p50_ms": _get(native, "rgbd_4_receivers", "latency_p50_ms"),
        "shm_rgbd_1080p_4rx_p99_ms": _get(native, "rgbd_4_receivers", "latency_p99_ms"),
        "shm_rgbd_pc_1080p_p50_ms": _get(native, "rgbd_pc_1_receiver", "latency_p50_ms"),
        "shm_rgbd_pc_1080p_p99_ms": _get(native, "rgbd_pc_1_receiver", "latency_p99_ms"),
        "shm_delivered_ratio": min(
            (
                v
                for v in (_get(native, p, "delivered_ratio") for p in ("rgbd_1_receiver", "rgbd_4_receivers"))
                if v is not None
            ),
            default=None,
        ),
        "shm_pc_delivered_ratio": _get(native, "rgbd_pc_1_receiver", "delivered_ratio"),
        "shm_torn_frames": sum(t for t in torn if t is not None) if any(t is not None for t in torn) else None,
        "shm_bytes_rgbd_1080p": _get(native, "shm_bytes_rgbd_1080p"),
        "shm_bytes_rgbd_pc_1080p": _get(native, "shm_bytes_rgbd_pc_1080p"),
        "rclpy_rgb_1080p_p50_ms": _get(rclpy, "latency_ms", "p50"),
        "rclpy_rgb_1080p_p99_ms": _get(rclpy, "latency_ms", "p99"),
        "rclpy_delivered_ratio": _get(rclpy, "delivered_ratio"),
        "ros_rgb_1080p_p50_ms": _get(ros, "rgb", "latency_ms", "p50"),
        "ros_rgb_1080p_p99_ms": _get(ros, "rgb", "latency_ms", "p99"),
        "ros_rgb_delivered_ratio": _get(ros, "rgb", "ratio"),
        "ros_rgb_only_camera_1080p_p50_ms": _get(ros, "rgb_only_camera", "rgb", "latency_ms", "p50"),
        "ros_rgb_only_camera_delivered_ratio": _get(ros, "rgb_only_camera", "rgb", "ratio"),
        **humble_figures(sections.get("humble", {})),
        "ros_points_1080p_p50_ms": _get(ros, "points", "latency_ms", "p50"),
        "ros_points_delivered_ratio": _get(ros, "points", "ratio"),
        "peer_rgbd_1080p_p50_ms": _get(peer, "latency_ms", "p50"),
        "peer_rgbd_1080p_p99_ms": _get(peer, "latency_ms", "p99"),
        "peer_rgbd_1080p_after_copy_p50_ms": _get(peer, "latency_after_copy_ms", "p50"),
        "peer_rgbd_pc_1080p_p50_ms": _get(peer_pc, "latency_ms", "p50"),
        "peer_rgbd_pc_1080p_after_copy_p50_ms": _get(peer_pc, "latency_after_copy_ms", "p50"),
        "peer_delivered_ratio": _get(peer, "delivered_ratio"),
        "peer_torn_frames": _get(peer, "torn"),
        "peer_pc_torn_frames": _get(peer_pc, "torn"),
        "peer_shm_bytes_rgbd_1080p": _get(peer, "shm_bytes"),
        "peer_shm_bytes_rgbd_pc_1080p": _get(peer_pc, "shm_bytes"),
        "publisher_rate_ratio_loaded_native": native_ratio,
        "publisher_rate_ratio_loaded": _get(ros, "publisher_rate_ratio_loaded") or native_ratio,
        "shm_rgbd_pc_1080p_loaded_4rx_p50_ms": _get(ros, "loaded", "native", "latency_p50_ms"),
        "shm_rgbd_pc_1080p_loaded_4rx_p99_ms": _get(ros, "loaded", "native", "latency_p99_ms"),
        "shm_loaded_delivered_ratio": _get(ros, "loaded", "native", "delivered_ratio"),
        "loaded_consumers": _get(ros, "loaded", "consumers"),
        "control_loop_p99_jitter_ms": _get(loop, "receiver", "jitter_ms", "p99"),
        "control_loop_prefetch_p99_jitter_ms": _get(loop, "receiver_prefetch", "jitter_ms", "p99"),
        "inprocess_control_loop_p99_jitter_ms": _get(loop, "inprocess", "jitter_ms", "p99"),
        "nocamera_control_loop_p99_jitter_ms": _get(loop, "nocamera", "jitter_ms", "p99"),
        "rt_control_loop_p99_jitter_ms": _get(loop, "rt_receiver", "jitter_ms", "p99"),
        "rt_control_loop_prefetch_p99_jitter_ms": _get(loop, "rt_receiver_prefetch", "jitter_ms", "p99"),
        "rt_inprocess_control_loop_p99_jitter_ms": _get(loop, "rt_inprocess", "jitter_ms", "p99"),
        "rt_nocamera_control_loop_p99_jitter_ms": _get(loop, "rt_nocamera", "jitter_ms", "p99"),
        **borrow_figures(sections),
        **inplace.figures(sections),
        **multi_camera.figures(sections.get("multi_camera", {})),
        **transport_peer.figures(sections, _get),
    }
    return values


def humble_figures(section: dict[str, Any]) -> dict[str, Any]:
    """The ROS rows measured on ROS 2 Humble itself (benchmarks/humble.py)."""
    return {
        "humble_rclpy_rgb_1080p_p50_ms": _get(section, "rclpy", "latency_ms", "p50"),
        "humble_rclpy_rgb_1080p_p99_ms": _get(section, "rclpy", "latency_ms", "p99"),
        "humble_rclpy_delivered_ratio": _get(section, "rclpy", "delivered_ratio"),
        "humble_ros_rgb_only_camera_1080p_p50_ms": _get(section, "rgb_only_camera", "rgb", "latency_ms", "p50"),
        "humble_ros_rgb_only_camera_1080p_p99_ms": _get(section, "rgb_only_camera", "rgb", "latency_ms", "p99"),
        "humble_ros_rgb_only_camera_delivered_ratio": _get(section, "rgb_only_camera", "rgb", "ratio"),
    }


def borrow_figures(sections: dict[str, Any]) -> dict[str, Any]:
    """Borrowed frames and zero waste (issue 11): borrowing receivers, the cloud enabled but unread, bytes read."""
    native = sections.get("native", {})
    holding = _get(native, "borrow_rgbd_4_receivers_holding") or {}
    idle = _get(native, "idle", "publisher_rate_hz")
    held_rate = holding.get("publisher_rate_hz")
    borrower_cpu = [
        value
        for phase in ("borrow_rgbd_1_receiver", "borrow_rgbd_4_receivers")
        for name, value in (_get(native, phase, "cpu_percent") or {}).items()
        if name.startswith("borrower")
    ]
    torn = [
        _get(native, phase, "torn_or_changed_while_held")
        for phase in ("borrow_rgbd_1_receiver", "borrow_rgbd_4_receivers", "borrow_rgbd_4_receivers_holding")
    ]
    return {
        "memcpy_rgbd_read_ms": _get(sections, "memcpy", "rgbd_read", "ms"),
        "frame_bytes_rgbd_read_1080p": _get(native, "frame_bytes_rgbd_read_1080p"),
        "shm_borrow_rgbd_1080p_p50_ms": _get(native, "borrow_rgbd_1_receiver", "latency_p50_ms"),
        "shm_borrow_rgbd_1080p_p99_ms": _get(native, "borrow_rgbd_1_receiver", "latency_p99_ms"),
        "shm_borrow_rgbd_1080p_4rx_p50_ms": _get(native, "borrow_rgbd_4_receivers", "latency_p50_ms"),
        "shm_borrow_rgbd_1080p_4rx_p99_ms": _get(native, "borrow_rgbd_4_receivers", "latency_p99_ms"),
        "shm_borrow_delivered_ratio": _get(native, "borrow_rgbd_4_receivers", "delivered_ratio"),
        "shm_borrow_receiver_cpu_percent": max(borrower_cpu) if borrower_cpu else None,
        "shm_borrow_torn_or_changed_frames": sum(t for t in torn if t is not None)
        if any(t is not None for t in torn)
        else None,
        "publisher_rate_ratio_borrowers_holding": round(held_rate / idle, 3) if held_rate and idle else None,
        "shm_rgbd_pc_unread_1080p_p50_ms": _get(native, "rgbd_pc_unread_1_receiver", "latency_p50_ms"),
    }


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None:
        return None
    if denominator == 0:
        return None  # below the 0.1 us resolution: no meaningful ratio
    return round(numerator / denominator, 2)


def targets(f: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target: its ratio, the bound, and whether it passed (None: not measured here)."""
    shm, shm_pc = f["shm_rgbd_1080p_p50_ms"], f["shm_rgbd_pc_1080p_p50_ms"]

    def at_most(name: str, value: float | None, bound: float, what: str) -> dict[str, Any]:
        return {
            "target": name,
            "value": value,
            "bound": f"<= {bound}",
            "passed": None if value is None else value <= bound,
            "what": what,
        }

    def at_least(name: str, value: float | None, bound: float, what: str) -> dict[str, Any]:
        return {
            "target": name,
            "value": value,
            "bound": f">= {bound}",
            "passed": None if value is None else value >= bound,
            "what": what,
        }

    ros_ok = f["ros_rgb_delivered_ratio"]
    lines = [
        at_most("shm p50 / memcpy", _ratio(shm, f["memcpy_ms"]), 2.5, "shm_rgbd_1080p_p50_ms / memcpy_ms"),
        at_least("peer p50 / shm p50", _ratio(f["peer_rgbd_1080p_p50_ms"], shm), 2.0, "toolkit at grab return / ours"),
        at_least("peer pc p50 / shm pc p50", _ratio(f["peer_rgbd_pc_1080p_p50_ms"], shm_pc), 3.0, "with point cloud"),
        at_least(
            "rclpy p50 / shm p50", _ratio(f["rclpy_rgb_1080p_p50_ms"], shm), 5.0, "plain rclpy 1080p rgb8 / ours"
        ),
        at_most(
            "ros rgb p50 / rclpy p50",
            _ratio(f["ros_rgb_1080p_p50_ms"], f["rclpy_rgb_1080p_p50_ms"]),
            1.3,
            "camera_node / plain rclpy",
        ),
        at_least("ros rgb delivered", ros_ok, 0.99, "fraction of camera frames the rgb subscriber got"),
        at_most(
            "ros rgb p50 / rclpy p50 (RGB-only camera)",
            _ratio(f["ros_rgb_only_camera_1080p_p50_ms"], f["rclpy_rgb_1080p_p50_ms"]),
            1.3,
            "camera_node with depth and cloud off / plain rclpy (information)",
        ),
        at_most(
            "Humble: ros rgb p50 / rclpy p50 (RGB-only camera)",
            _ratio(f["humble_ros_rgb_only_camera_1080p_p50_ms"], f["humble_rclpy_rgb_1080p_p50_ms"]),
            1.3,
            "both on ROS 2 Humble itself (rclpy 3.3, Fast DDS 2.6)",
        ),
        at_least(
            "publisher rate loaded / idle", f["publisher_rate_ratio_loaded"], 0.95, "4 rx, bridge, recorder, rerun"
        ),
        at_most("torn frames (ours)", f["shm_torn_frames"], 0, "watermark mismatches in every native receiver"),
        *borrow_targets(f, at_most, at_least),
        *inplace.targets(f, at_most, at_least),
        *multi_camera.targets(f),
        *transport_peer.targets(f, at_most, _ratio),
    ]
    for prefix in ("", "rt_"):
        nocamera = f"{prefix}nocamera_control_loop_p99_jitter_ms"
        inprocess = f"{prefix}inprocess_control_loop_p99_jitter_ms"
        for key, label in (
            (f"{prefix}control_loop_p99_jitter_ms", f"{prefix}try_grab"),
            (f"{prefix}control_loop_prefetch_p99_jitter_ms", f"{prefix}prefetch"),
        ):
            lines.append(
                at_most(
                    f"loop p99 jitter ({label}) / no camera", _ratio(f[key], f[nocamera]), 1.5, f"{key} / {nocamera}"
                )
            )
            lines.append(
                at_least(
                    f"in-process / loop p99 jitter ({label})",
                    _ratio(f[inprocess], f[key]),
                    10.0,
                    f"{inprocess} / {key}",
                )
            )
    return lines


def borrow_targets(f: dict[str, Any], at_most: Callable[..., Any], at_least: Callable[..., Any]) -> list[Any]:
    """The targets of issue 11 (borrowed frames, zero waste)."""
    borrow = f["shm_borrow_rgbd_1080p_p50_ms"]
    return [
        at_most(
            "borrow p50 / memcpy of data read",
            _ratio(borrow, f["memcpy_rgbd_read_ms"]),
            1.2,
            "shm_borrow_rgbd_1080p_p50_ms / memcpy_rgbd_read_ms",
        ),
        at_least("peer p50 / borrow p50", _ratio(f["peer_rgbd_1080p_p50_ms"], borrow), 1.5, "toolkit views / ours"),
        at_most(
            "borrow 4 rx p50 / borrow 1 rx p50",
            _ratio(f["shm_borrow_rgbd_1080p_4rx_p50_ms"], borrow),
            1.1,
            "4 borrowing receivers at once",
        ),
        at_most(
            "borrowing receiver CPU % of a core",
            f["shm_borrow_receiver_cpu_percent"],
            1.0,
            "a receiver that borrows every frame and does nothing else (the busiest one)",
        ),
        at_most(
            "cloud unread p50 / no cloud p50",
            _ratio(f["shm_rgbd_pc_unread_1080p_p50_ms"], f["shm_rgbd_1080p_p50_ms"]),
            1.05,
            "publisher with the cloud enabled, RGB-D receiver (copying)",
        ),
        at_most(
            "torn or changed-while-held (borrow)",
            f["shm_borrow_torn_or_changed_frames"],
            0,
            "watermarks, and 4 rows re-read after holding each frame 3 frame periods",
        ),
        at_least(
            "publisher rate, 4 rx holding / idle",
            f["publisher_rate_ratio_borrowers_holding"],
            0.95,
            "4 borrowing receivers each holding every frame 3 frame periods",
        ),
    ]


# ---------------------------------------------------------------------------------------------- report
def _fmt(value: Any, unit: str = "", digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def print_report(f: dict[str, Any], lines: list[dict[str, Any]], sections: dict[str, Any]) -> None:
    """The side-by-side table, then the targets."""
    rows = [
        ("memcpy of one RGB-D frame (21 MB, cold)", f["memcpy_ms"], None, None, None),
        ("memcpy of one RGB-D + cloud frame (52 MB)", f["memcpy_pc_ms"], None, None, None),
        (
            "ours: shm RGB-D, 1 receiver",
            f["shm_rgbd_1080p_p50_ms"],
            f["shm_rgbd_1080p_p99_ms"],
            f["shm_delivered_ratio"],
            f["shm_torn_frames"],
        ),
        ("ours: frame complete in shm (no copy out)", f["shm_rgbd_1080p_published_p50_ms"], None, None, None),
        ("memcpy of what an RGB-D receiver reads", f["memcpy_rgbd_read_ms"], None, None, None),
        (
            "ours: borrowed RGB-D, 1 receiver",
            f["shm_borrow_rgbd_1080p_p50_ms"],
            f["shm_borrow_rgbd_1080p_p99_ms"],
            None,
            f["shm_borrow_torn_or_changed_frames"],
        ),
        (
            "ours: borrowed RGB-D, 4 receivers",
            f["shm_borrow_rgbd_1080p_4rx_p50_ms"],
            f["shm_borrow_rgbd_1080p_4rx_p99_ms"],
            f["shm_borrow_delivered_ratio"],
            None,
        ),
        ("ours: shm RGB-D, cloud enabled but unread", f["shm_rgbd_pc_unread_1080p_p50_ms"], None, None, None),
        ("ours: shm RGB-D, 4 receivers", f["shm_rgbd_1080p_4rx_p50_ms"], f["shm_rgbd_1080p_4rx_p99_ms"], None, None),
        (
            "ours: shm RGB-D + cloud",
            f["shm_rgbd_pc_1080p_p50_ms"],
            f["shm_rgbd_pc_1080p_p99_ms"],
            f["shm_pc_delivered_ratio"],
            None,
        ),
        (
            "ours: 4 rx + bridge + recorder + rerun",
            f["shm_rgbd_pc_1080p_loaded_4rx_p50_ms"],
            f["shm_rgbd_pc_1080p_loaded_4rx_p99_ms"],
            f["shm_loaded_delivered_ratio"],
            None,
        ),
        (
            "toolkit: RGB-D (grab returns views)",
            f["peer_rgbd_1080p_p50_ms"],
            f["peer_rgbd_1080p_p99_ms"],
            f["peer_delivered_ratio"],
            f["peer_torn_frames"],
        ),
        ("toolkit: RGB-D, frame copied out", f["peer_rgbd_1080p_after_copy_p50_ms"], None, None, None),
        ("toolkit: RGB-D + cloud (views)", f["peer_rgbd_pc_1080p_p50_ms"], None, None, f["peer_pc_torn_frames"]),
        (
            "plain rclpy: 1080p rgb8 Image",
            f["rclpy_rgb_1080p_p50_ms"],
            f["rclpy_rgb_1080p_p99_ms"],
            f["rclpy_delivered_ratio"],
            None,
        ),
        (
            "camera_node: /camera/rgb/image_raw",
            f["ros_rgb_1080p_p50_ms"],
            f["ros_rgb_1080p_p99_ms"],
            f["ros_rgb_delivered_ratio"],
            None,
        ),
        (
            "camera_node, RGB only: rgb/image_raw",
            f["ros_rgb_only_camera_1080p_p50_ms"],
            None,
            f["ros_rgb_only_camera_delivered_ratio"],
            None,
        ),
        ("camera_node: /camera/points", f["ros_points_1080p_p50_ms"], None, f["ros_points_delivered_ratio"], None),
        (
            "Humble: plain rclpy 1080p rgb8 Image",
            f["humble_rclpy_rgb_1080p_p50_ms"],
            f["humble_rclpy_rgb_1080p_p99_ms"],
            f["humble_rclpy_delivered_ratio"],
            None,
        ),
        (
            "Humble: camera_node, RGB only",
            f["humble_ros_rgb_only_camera_1080p_p50_ms"],
            f["humble_ros_rgb_only_camera_1080p_p99_ms"],
            f["humble_ros_rgb_only_camera_delivered_ratio"],
            None,
        ),
        *transport_peer.rows(f),
    ]
    print()
    print(f"{'capture -> consumer, 1080p @ 30 fps':<44}{'p50 ms':>9}{'p99 ms':>9}{'delivered':>11}{'torn':>6}")
    for label, p50, p99, delivered, torn in rows:
        print(f"{label:<44}{_fmt(p50):>9}{_fmt(p99):>9}{_fmt(delivered):>11}{_fmt(torn):>6}")
    print()
    print(f"{'500 Hz loop, period deviation p99 (ms)':<44}{'normal':>9}{'SCHED_FIFO':>12}")
    for label, key in (
        ("no camera", "nocamera_control_loop_p99_jitter_ms"),
        ("native receiver, try_grab_images()", "control_loop_p99_jitter_ms"),
        ("native receiver, prefetch=True", "control_loop_prefetch_p99_jitter_ms"),
        ("camera in the loop's process", "inprocess_control_loop_p99_jitter_ms"),
    ):
        print(f"{label:<44}{_fmt(f[key], digits=3):>9}{_fmt(f['rt_' + key], digits=3):>12}")
    inplace.print_rows(f, _fmt)
    print()
    print(
        f"publisher rate loaded / idle: {_fmt(f['publisher_rate_ratio_loaded'])}"
        f" (native only: {_fmt(f['publisher_rate_ratio_loaded_native'])});"
        f" shared memory per camera: {_fmt(f['shm_bytes_rgbd_1080p'])} B RGB-D,"
        f" {_fmt(f['shm_bytes_rgbd_pc_1080p'])} B with cloud (toolkit: {_fmt(f['peer_shm_bytes_rgbd_1080p'])} B)"
    )
    print(f"consumers during the loaded phase: {f['loaded_consumers']}")
    print("\n".join(transport_peer.cpu_lines(f)))
    for name, section in sections.items():
        if isinstance(section, dict) and ("skipped" in section or "error" in section):
            print(f"{name}: {section.get('skipped') or section.get('error')}")
    print()
    multi_camera.print_rows(sections.get("multi_camera", {}))
    print()
    for line in lines:
        verdict = {True: "PASS", False: "FAIL", None: "n/a "}[line["passed"]]
        print(f"{verdict}  {line['target']:<40} {_fmt(line['value']):>8}  (target {line['bound']}; {line['what']})")


# ---------------------------------------------------------------------------------------------- main
def _our_segments() -> set[str]:
    return {name for name in os.listdir(SHM_DIR) if name.startswith(("airo_mp_camera.bench_", "peer_"))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs, fewer configurations (under a minute)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per measurement (default 10; quick 2)")
    parser.add_argument("--output", default=None, help="JSON report path")
    parser.add_argument("--only", default=None, help="comma-separated sections to run (the others: skipped)")
    args = parser.parse_args(argv)
    seconds = args.seconds or (2.0 if args.quick else 10.0)
    _ONLY.update(filter(None, (args.only or "").split(",")))
    output = args.output or os.path.join(ROOT, "benchmarks", "results-quick.json" if args.quick else "results.json")
    before, host = _our_segments(), machine()
    sections: dict[str, Any] = {}
    started = time.monotonic()
    with terminate_as_interrupt():
        try:
            _section(
                sections,
                "memcpy",
                lambda: {
                    "rgbd": latency.memcpy_ms(latency.RESOLUTION_1080P, pointcloud=False),
                    "rgbd_pc": latency.memcpy_ms(latency.RESOLUTION_1080P, pointcloud=True),
                    "rgbd_read": latency.memcpy_ms(latency.RESOLUTION_1080P, False, only=latency.RGBD_READ),
                },
            )
            _section(sections, "native", lambda: latency.run(seconds, args.quick))
            _section(sections, "inplace", lambda: inplace.run(seconds))
            _section(sections, inplace.PEER_SECTION, lambda: run_peer(seconds, False, camera="zed-model"))
            _section(sections, "rclpy", lambda: rclpy_baseline.run(seconds))
            _section(sections, "control_loop", lambda: control_loop.run(seconds, args.quick))
            _section(sections, "peer_rgbd", lambda: run_peer(seconds, pointcloud=False))
            _section(sections, "multi_camera", lambda: multi_camera.run(seconds))
            for name, (_, module) in transport_peer.PEERS.items():  # Zenoh SHM and iceoryx2, in .venv-peers
                _section(sections, name, functools.partial(run_peer, seconds, False, module))
            if args.quick:
                sections["peer_rgbd_pc"] = {"skipped": "not in --quick"}
                sections["ros_bridge"] = {"skipped": "not in --quick"}
                sections["humble"] = {"skipped": "not in --quick"}
            else:
                _section(sections, "peer_rgbd_pc", lambda: run_peer(seconds, pointcloud=True))
                _section(sections, "ros_bridge", lambda: ros_bridge.run(seconds))
                _section(sections, "humble", lambda: humble.run(seconds))
        except KeyboardInterrupt:
            print("\ninterrupted: every process was stopped; no report written", file=sys.stderr)
            raise SystemExit(130) from None
    left = _our_segments() - before
    f = figures(sections)
    lines = targets(f)
    print_report(f, lines, sections)
    wall_seconds = round(time.monotonic() - started, 1)
    report = {
        "machine": host,
        "run": {
            "quick": args.quick,
            "seconds_per_measurement": seconds,
            "wall_seconds": wall_seconds,
            "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "shared_memory_left_behind": sorted(left),
        },
        "figures": f,
        "targets": lines,
        "sections": sections,
    }
    with open(output, "w") as file:
        json.dump(report, file, indent=2)
        file.write("\n")
    print(f"\nwrote {os.path.relpath(output, ROOT)} in {wall_seconds} s")
    from benchmarks.figures import write_figures  # matplotlib: only where figures are drawn

    print(f"wrote {os.path.relpath(write_figures(output), ROOT)} (latency CDF of every path)")


if __name__ == "__main__":
    main()
