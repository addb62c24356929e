"""Soak test of the shared-memory pipeline, not run in CI: `make soak`, or `tools/isolated python tools/soak.py`.

For `--minutes` (default 10) a synthetic 1280x720 stereo RGB-D camera publishes at 30 fps to 4 native
receivers in separate processes (two plain, two prefetching), and, when the ROS side of the package is
installed, to the ROS bridge (`bridge_node`) with an rclpy subscriber on its rgb and depth topics. Every
`--interval` seconds and at the end it prints frames published, the delivered ratio of each receiver,
torn frames returned (must be 0) and reads the sequence lock retried, the RSS of every process, and the
/dev/shm usage; at the end it writes a JSON report. It exits non-zero when a criterion fails:

- the publisher keeps its rate (at least `--min-rate` of the nominal fps);
- every native receiver gets at least `--min-delivered` of the frames published while it ran, none torn,
  with no error and no reconnect (a receiver returns the newest frame: one descheduled for more than a
  frame time skips frames, so on 2 busy cores a few percent are missed; a stuck receiver gets none);
- the ROS subscriber (when attached) gets messages, none torn, at least `--min-ros-delivered` of the frames;
- no process's anonymous RSS (RssAnon: its own heap, where a leak shows) grows by more than
  `--rss-tolerance-mib` between the end of the settling time and the end (VmRSS is shown too; it also
  counts shared-memory pages, ours and Fast DDS's, which a process touches gradually after it starts);
- every process exits cleanly, and the camera's segment is gone from /dev/shm afterwards.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import queue
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from airo_mp_camera import (
    FrameTimeoutError,
    MultiprocessStereoRGBDPublisher,
    MultiprocessStereoRGBDReceiver,
    SharedMemoryCameraError,
    SyntheticCamera,
)
from airo_mp_camera.cameras import watermark
from airo_mp_camera.pipeline.frame_ring import SHM_DIR, segment_path
from airo_mp_camera.pipeline.namespace import SEGMENT_PREFIX
from airo_mp_camera.pipeline.reader_table import READERS_SUFFIX

SPAWN = multiprocessing.get_context("spawn")
RESOLUTION = (1280, 720)
FPS = 30.0
N_RECEIVERS = 4
BRIDGE_NODE_NAME = "camera_bridge"
ROS_TOPICS = (f"/{BRIDGE_NODE_NAME}/rgb/image_raw", f"/{BRIDGE_NODE_NAME}/depth/image_raw")
REPORT_PERIOD_S = 1.0
START_TIMEOUT_S = 90.0


# ---------------------------------------------------------------------------------- measurements
def memory_kib(pid: int) -> dict[str, int] | None:
    """VmRSS and RssAnon of a process in KiB, or None when it is gone."""
    fields = {"VmRSS:": "rss", "RssAnon:": "anon"}
    memory: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                name = line.split(maxsplit=1)[0] if line.strip() else ""
                if name in fields:
                    memory[fields[name]] = int(line.split()[1])
    except OSError:
        return None
    return memory if len(memory) == len(fields) else None


def shm_usage() -> dict[str, Any]:
    """Bytes used in /dev/shm and the segments of this package there."""
    info = os.statvfs(SHM_DIR)
    segments = {}
    for entry in os.scandir(SHM_DIR):
        if entry.name.startswith(SEGMENT_PREFIX):
            try:
                segments[entry.name] = entry.stat().st_size
            except FileNotFoundError:
                continue
    return {"used_bytes": (info.f_blocks - info.f_bfree) * info.f_frsize, "segments": segments}


def frame_is_whole(receiver: MultiprocessStereoRGBDReceiver) -> bool:
    """Whether every stream of the receiver's current frame carries its frame id (see `watermark`)."""
    frame_id = receiver.frame_id
    streams = (
        receiver.retrieve_rgb_image_as_int(),
        receiver.retrieve_rgb_image_as_int("right"),
        receiver.retrieve_depth_map(),
        receiver.retrieve_depth_image(),
    )
    return all(watermark.matches(stream, frame_id) for stream in streams)


# ---------------------------------------------------------------------------------- child processes
def native_receiver(index: int, namespace: str, prefetch: bool, stop: Any, reports: Any) -> None:
    """Grabs every frame until `stop` is set; sends a snapshot of its counts every second and at the end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the soak stops its children itself
    receiver = MultiprocessStereoRGBDReceiver(namespace, timeout=10.0, prefetch=prefetch, enable_depth_image=True)
    counts: dict[str, Any] = {
        "name": f"receiver{index}{' (prefetch)' if prefetch else ''}",
        "pid": os.getpid(),
        "frames": 0,
        "first_id": 0,
        "last_id": 0,
        "missed": 0,
        "torn": 0,
        "errors": [],
    }
    last_report = 0.0
    while not stop.is_set():
        try:
            receiver.grab_images(timeout=2.0)
        except FrameTimeoutError as error:
            counts["errors"].append(f"{type(error).__name__}: {error}")
            continue
        except SharedMemoryCameraError as error:
            counts["errors"].append(f"{type(error).__name__}: {error}")
            break
        frame_id = receiver.frame_id
        if counts["first_id"] == 0:
            counts["first_id"] = frame_id
        elif frame_id > counts["last_id"] + 1:
            counts["missed"] += frame_id - counts["last_id"] - 1
        counts["last_id"] = frame_id
        counts["frames"] += 1
        counts["torn"] += not frame_is_whole(receiver)
        now = time.monotonic()
        if now - last_report >= REPORT_PERIOD_S:
            last_report = now
            reports.put({**counts, "torn_reads": receiver.torn_reads, "restarts": receiver.restarts})
    reports.put({**counts, "torn_reads": receiver.torn_reads, "restarts": receiver.restarts, "final": True})
    receiver.close()


def ros_subscriber(topics: tuple[str, ...], stop: Any, reports: Any) -> None:
    """An rclpy subscriber on the bridge's image topics: counts messages and checks their watermarks."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import rclpy
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    rclpy.init()
    node = rclpy.create_node("soak_subscriber")
    counts: dict[str, Any] = {"name": "ros subscriber", "pid": os.getpid(), "topics": {}, "errors": []}
    for topic in topics:
        counts["topics"][topic] = {"messages": 0, "first_id": 0, "last_id": 0, "torn": 0}

    def on_image(topic: str, message: Any) -> None:
        stats = counts["topics"][topic]
        dtype = np.float32 if message.encoding == "32FC1" else np.uint8
        head, tail = watermark.read(np.frombuffer(message.data, dtype=dtype))  # a view: no copy of the image
        stats["messages"] += 1
        if head != tail:
            stats["torn"] += 1
        frame_id = int(head)  # float watermarks carry the id modulo 2**24: exact for 6 days at 30 fps
        stats["first_id"] = stats["first_id"] or frame_id
        stats["last_id"] = max(stats["last_id"], frame_id)

    qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=2, reliability=ReliabilityPolicy.RELIABLE)
    for topic in topics:
        node.create_subscription(Image, topic, lambda message, t=topic: on_image(t, message), qos)
    last_report = 0.0
    try:
        while not stop.is_set():
            rclpy.spin_once(node, timeout_sec=0.1)
            now = time.monotonic()
            if now - last_report >= REPORT_PERIOD_S:
                last_report = now
                reports.put(json.loads(json.dumps(counts)))
    except Exception as error:  # reported, then the soak fails on it
        counts["errors"].append(f"{type(error).__name__}: {error}")
    finally:
        counts["final"] = True
        reports.put(counts)
        node.destroy_node()
        rclpy.try_shutdown()


# ---------------------------------------------------------------------------------- the ROS side
def ros_bridge_unavailable() -> str | None:
    """Why the ROS bridge cannot be attached, or None when it can."""
    probe = subprocess.run(
        [sys.executable, "-c", "import airo_mp_camera.ros.camera_node, airo_mp_camera.ros.bridge_node"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["import failed"])[-1]
        return f"airo_mp_camera.ros is not importable here ({last})"
    if not (Path(sys.executable).parent / "bridge_node").exists():
        return f"no bridge_node console script beside {sys.executable} (reinstall the package)"
    return None


# ---------------------------------------------------------------------------------- the soak
@dataclass
class Process:
    """A process the soak watches: its RSS after settling and at the end, and its latest counts."""

    name: str
    pid: int
    memory_start: dict[str, int] | None = None
    memory_end: dict[str, int] | None = None
    counts: dict[str, Any] = field(default_factory=dict)


class Soak:
    """Starts the camera, receivers and (optionally) the ROS bridge, watches them, and judges the run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.namespace = f"soak_{uuid.uuid4().hex[:8]}"
        self.stop = SPAWN.Event()
        self.reports = SPAWN.Queue()
        self.publisher: MultiprocessStereoRGBDPublisher | None = None
        self.children: list[Any] = []
        self.bridge: subprocess.Popen[bytes] | None = None
        self.bridge_log = tempfile.TemporaryFile()
        self.ros_note = "not attached"
        self.processes: dict[int, Process] = {}
        self.failures: list[str] = []
        self.shm_start = shm_usage()
        self.shm_end: dict[str, Any] = {}
        self.started = 0.0
        self.elapsed = 0.0
        self.published_start = 0
        self.samples: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ start and stop
    def start(self) -> None:
        self.publisher = MultiprocessStereoRGBDPublisher(
            SyntheticCamera, {"resolution": RESOLUTION, "fps": FPS}, self.namespace
        )
        self.publisher.start()
        self.processes[self.publisher.pid] = Process("publisher", self.publisher.pid)
        for index in range(N_RECEIVERS):
            prefetch = index >= N_RECEIVERS // 2
            child = SPAWN.Process(
                target=native_receiver, args=(index, self.namespace, prefetch, self.stop, self.reports), daemon=True
            )
            child.start()
            self.children.append(child)
        if self.args.no_ros:
            self.ros_note = "not attached (--no-ros)"
        elif (reason := ros_bridge_unavailable()) is not None:
            self.ros_note = f"not attached: {reason}"
        else:
            bridge_node = str(Path(sys.executable).parent / "bridge_node")
            command = [bridge_node, "--ros-args", "-p", f"namespace:={self.namespace}"]
            self.bridge = subprocess.Popen(command, stdout=self.bridge_log, stderr=subprocess.STDOUT)
            self.processes[self.bridge.pid] = Process("ros bridge_node", self.bridge.pid)
            subscriber = SPAWN.Process(target=ros_subscriber, args=(ROS_TOPICS, self.stop, self.reports), daemon=True)
            subscriber.start()
            self.children.append(subscriber)
            self.ros_note = f"attached: bridge_node pid {self.bridge.pid}, subscriber on {', '.join(ROS_TOPICS)}"
        print(f"soak of namespace '{self.namespace}' for {self.args.minutes:g} min; ROS bridge {self.ros_note}")
        self._wait_until_everyone_reports()

    def _wait_until_everyone_reports(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while len(self.processes) < 1 + len(self.children) + (self.bridge is not None):
            self._drain(0.2)
            if time.monotonic() > deadline:
                raise RuntimeError(f"not every receiver reported a frame within {START_TIMEOUT_S:g} s")
        self.started = time.monotonic()
        assert self.publisher is not None
        self.published_start = self.publisher.frames_published

    def shutdown(self) -> None:
        """Stops every process by pid, receivers before the publisher; records how each one ended."""
        self.stop.set()
        if self.bridge is not None and self.bridge.poll() is None:
            self.bridge.send_signal(signal.SIGINT)
        for child in self.children:
            child.join(15)
        self._drain(0.5)
        if self.bridge is not None:
            try:
                self.bridge.wait(15)
            except subprocess.TimeoutExpired:
                self.failures.append("the ROS bridge did not stop within 15 s of SIGINT; killed")
                self.bridge.kill()
                self.bridge.wait(10)
        for child in self.children:
            if child.is_alive():
                self.failures.append(f"child pid {child.pid} did not stop within 15 s; killed")
                child.kill()
                child.join(10)
            elif child.exitcode != 0:
                self.failures.append(f"child pid {child.pid} exited with code {child.exitcode}")
        if self.publisher is not None:
            self.publisher.stop()
            if self.publisher.exitcode != 0:
                self.failures.append(f"the publisher exited with code {self.publisher.exitcode}")
        self.shm_end = shm_usage()
        for path in (segment_path(self.namespace), segment_path(self.namespace) + READERS_SUFFIX):
            if os.path.exists(path):
                self.failures.append(f"the camera's segment {path} is still in /dev/shm")

    # ------------------------------------------------------------------ watching
    def _drain(self, timeout: float) -> None:
        """Takes every report that arrives within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                report = self.reports.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return
            process = self.processes.setdefault(report["pid"], Process(report["name"], report["pid"]))
            process.counts = report

    def run(self) -> None:
        duration = 60.0 * self.args.minutes
        settle = min(self.args.settle, duration / 4)
        next_print = self.args.interval
        rss_taken = False
        while True:
            elapsed = time.monotonic() - self.started
            if elapsed >= duration:
                break
            self._drain(min(0.5, duration - elapsed))
            if not rss_taken and elapsed >= settle:
                for process in self.processes.values():
                    process.memory_start = memory_kib(process.pid)
                rss_taken = True
            if elapsed >= next_print:
                next_print += self.args.interval
                self._print_status(elapsed)
            if self.publisher is not None and not self.publisher.is_alive():
                self.failures.append(f"the publisher died after {elapsed:.0f} s")
                break
            if self.bridge is not None and self.bridge.poll() is not None:
                self.failures.append(f"the ROS bridge exited with code {self.bridge.returncode}")
                break
        self._drain(0.2)
        for process in self.processes.values():
            process.memory_end = memory_kib(process.pid)
        self.elapsed = time.monotonic() - self.started
        self._print_status(self.elapsed)

    def _published(self) -> int:
        return self.publisher.frames_published - self.published_start if self.publisher is not None else 0

    def _print_status(self, elapsed: float) -> None:
        published = self._published()
        sample: dict[str, Any] = {"seconds": round(elapsed, 1), "published": published, "processes": {}}
        total = self.publisher.frames_published if self.publisher is not None else 0
        rate = published / max(elapsed, 1e-9)
        print(f"[{elapsed:6.0f} s] published {total} frames, {rate:.1f} fps since every process started")
        for process in self.processes.values():
            memory = memory_kib(process.pid)
            line = f"    {process.name:<24} pid {process.pid:<7} rss {_memory(memory)}"
            counts = process.counts
            if "frames" in counts:
                line += (
                    f"  frames {counts['frames']}  delivered {_native_ratio(counts):.4f}  torn {counts['torn']}"
                    f"  retried reads {counts['torn_reads']}  errors {len(counts['errors'])}"
                )
            for topic, stats in counts.get("topics", {}).items():
                line += f"\n        {topic}: {stats['messages']} messages, torn {stats['torn']}"
            print(line)
            sample["processes"][process.name] = {
                "memory_kib": memory,
                **{k: v for k, v in counts.items() if k != "pid"},
            }
        shm = shm_usage()
        name = os.path.basename(segment_path(self.namespace))
        ours = shm["segments"].get(name)
        others = len(set(shm["segments"]) - {name, name + READERS_SUFFIX})  # its reader table goes with it
        print(
            f"    /dev/shm used {shm['used_bytes'] / 2**20:.1f} MiB; this camera's segment "
            f"{'absent' if ours is None else f'{ours / 2**20:.1f} MiB'}; {others} other segments of this package"
        )
        self.samples.append(sample)

    # ------------------------------------------------------------------ judging
    def judge(self) -> dict[str, Any]:
        args = self.args
        published = self._published()
        rate = published / self.elapsed if self.elapsed else 0.0
        if rate < args.min_rate * FPS:
            self.failures.append(f"publisher rate {rate:.1f} fps < {args.min_rate:.0%} of {FPS:g} fps")
        natives = [p for p in self.processes.values() if "frames" in p.counts]
        if len(natives) != N_RECEIVERS:
            self.failures.append(f"only {len(natives)} of {N_RECEIVERS} native receivers reported")
        for process in natives:
            counts = process.counts
            ratio = _native_ratio(counts)
            if ratio < args.min_delivered:
                self.failures.append(f"{process.name}: delivered {ratio:.4f} < {args.min_delivered}")
            if counts["torn"]:
                self.failures.append(f"{process.name}: {counts['torn']} torn frames returned")
            if counts["errors"] or counts["restarts"]:
                self.failures.append(f"{process.name}: errors {counts['errors'][:3]}, reconnects {counts['restarts']}")
        ros = next((p for p in self.processes.values() if "topics" in p.counts), None)
        if self.bridge is not None:
            if ros is None:
                self.failures.append("the ROS subscriber never reported")
            else:
                for topic, stats in ros.counts["topics"].items():
                    if stats["messages"] == 0 or stats["torn"]:
                        self.failures.append(f"ROS {topic}: {stats['messages']} messages, {stats['torn']} torn")
                rgb = ros.counts["topics"][ROS_TOPICS[0]]
                ratio = _ros_ratio(rgb)
                if ratio < args.min_ros_delivered:
                    self.failures.append(f"ROS {ROS_TOPICS[0]}: delivered {ratio:.3f} < {args.min_ros_delivered}")
                if ros.counts["errors"]:
                    self.failures.append(f"ROS subscriber errors: {ros.counts['errors'][:3]}")
        for process in self.processes.values():
            start, end = process.memory_start, process.memory_end
            if start is not None and end is not None and end["anon"] - start["anon"] > args.rss_tolerance_mib * 1024:
                self.failures.append(
                    f"{process.name}: anonymous RSS grew from {_mib(start['anon'])} to {_mib(end['anon'])} "
                    f"(tolerance {args.rss_tolerance_mib} MiB)"
                )
        return {
            "namespace": self.namespace,
            "minutes": args.minutes,
            "seconds": round(self.elapsed, 1),
            "camera": {"type": "synthetic stereo RGB-D", "resolution": list(RESOLUTION), "fps": FPS},
            "published": published,
            "publisher_fps": round(rate, 2),
            "ros_bridge": self.ros_note,
            "receivers": {
                p.name: {
                    "pid": p.pid,
                    "frames": p.counts.get("frames"),
                    "delivered_ratio": round(_native_ratio(p.counts), 5),
                    "missed": p.counts.get("missed"),
                    "torn_returned": p.counts.get("torn"),
                    "torn_reads_retried": p.counts.get("torn_reads"),
                    "reconnects": p.counts.get("restarts"),
                    "errors": p.counts.get("errors"),
                }
                for p in natives
            },
            "ros_subscriber": None
            if ros is None
            else {
                topic: {**stats, "delivered_ratio": round(_ros_ratio(stats), 5) if stats["first_id"] else None}
                for topic, stats in ros.counts["topics"].items()
            },
            "memory_kib": {p.name: {"start": p.memory_start, "end": p.memory_end} for p in self.processes.values()},
            "dev_shm": {"start": self.shm_start, "end": self.shm_end},
            "samples": self.samples,
            "failures": self.failures,
            "passed": not self.failures,
        }


def _native_ratio(counts: dict[str, Any]) -> float:
    span = counts["last_id"] - counts["first_id"] + 1 if counts.get("first_id") else 0
    return counts["frames"] / span if span > 0 else 0.0


def _ros_ratio(stats: dict[str, Any]) -> float:
    span = stats["last_id"] - stats["first_id"] + 1 if stats["first_id"] else 0
    return stats["messages"] / span if span > 0 else 0.0


def _mib(kib: int | None) -> str:
    return "gone" if kib is None else f"{kib / 1024:.1f} MiB"


def _memory(memory: dict[str, int] | None) -> str:
    return "gone" if memory is None else f"{_mib(memory['rss'])} (anon {_mib(memory['anon'])})"


def main(argv: list[str] | None = None) -> int:
    """Runs the soak; returns the exit code (0: every criterion held)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the run (default 10)")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between status lines (default 30)")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds before the RSS baseline (default 10)")
    parser.add_argument("--report", default="build/soak-report.json", help="where the JSON report goes")
    parser.add_argument("--no-ros", action="store_true", help="do not attach the ROS bridge even if installed")
    parser.add_argument("--min-rate", type=float, default=0.95, help="publisher fps / nominal (default 0.95)")
    parser.add_argument("--min-delivered", type=float, default=0.95, help="per native receiver (default 0.95)")
    parser.add_argument("--min-ros-delivered", type=float, default=0.5, help="ROS rgb topic (default 0.5)")
    parser.add_argument("--rss-tolerance-mib", type=float, default=16.0, help="RssAnon growth allowed (default 16)")
    args = parser.parse_args(argv)
    if not (args.minutes > 0 and math.isfinite(args.minutes)):
        parser.error("--minutes must be a positive number")

    soak = Soak(args)
    interrupted = False
    try:
        soak.start()
        soak.run()
    except KeyboardInterrupt:
        interrupted = True
        soak.failures.append("interrupted")
        soak.elapsed = time.monotonic() - soak.started if soak.started else 0.0
    except Exception as error:  # a start failure is a soak failure: still stop everything and report
        soak.failures.append(f"{type(error).__name__}: {error}")
        soak.elapsed = time.monotonic() - soak.started if soak.started else 0.0
    finally:
        soak.shutdown()
    report = soak.judge()
    if soak.bridge is not None and soak.failures:
        soak.bridge_log.seek(0)
        tail = soak.bridge_log.read().decode(errors="replace").splitlines()[-20:]
        report["bridge_log_tail"] = tail
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    _print_summary(report, args.report)
    return 130 if interrupted else (0 if report["passed"] else 1)


def _print_summary(report: dict[str, Any], path: str) -> None:
    print("\n=== soak summary ===")
    print(
        f"{report['seconds']:.0f} s, {report['published']} frames published ({report['publisher_fps']} fps); "
        f"ROS bridge {report['ros_bridge']}"
    )
    for name, receiver in report["receivers"].items():
        print(
            f"  {name:<22} delivered {receiver['delivered_ratio']:.4f} ({receiver['frames']} frames, "
            f"{receiver['missed']} missed)  torn returned {receiver['torn_returned']}  "
            f"retried reads {receiver['torn_reads_retried']}"
        )
    for topic, stats in (report["ros_subscriber"] or {}).items():
        ratio = "n/a" if stats["delivered_ratio"] is None else f"{stats['delivered_ratio']:.3f}"
        print(f"  ROS {topic}: {stats['messages']} messages, delivered {ratio}, torn {stats['torn']}")
    for name, memory in report["memory_kib"].items():
        print(f"  RSS {name:<24} {_memory(memory['start'])} -> {_memory(memory['end'])}")
    shm, name = report["dev_shm"], os.path.basename(segment_path(report["namespace"]))
    print(
        f"  /dev/shm used {shm['start']['used_bytes'] / 2**20:.1f} MiB at start, "
        f"{shm['end']['used_bytes'] / 2**20:.1f} MiB at end (other sessions count too); this camera's segment "
        f"{'left behind' if {name, name + READERS_SUFFIX} & set(shm['end']['segments']) else 'removed'}"
    )
    verdict = "PASSED" if report["passed"] else "FAILED: " + "; ".join(report["failures"])
    print(f"{verdict}\nreport: {path}")


if __name__ == "__main__":
    sys.exit(main())
