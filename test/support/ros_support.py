"""Test support for the ROS side: start our nodes as real processes, subscribe to them with real rclpy.

The subscriber side runs in the test process in its own rclpy Context, so every test starts and ends
its DDS participant; the nodes under test are separate processes started through the `processes` guard.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy", reason="rclpy is not installed (make venv installs ROS 2 from PyPI)")

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402

BIN = Path(sys.executable).parent
START_TIMEOUT = 30.0  # seconds for a node to start and publish its first messages (2 busy cores)
ROOT = Path(__file__).resolve().parents[2]


def node_name() -> str:
    """A node name no other test uses (its topics are /<name>/...)."""
    return f"cam_{uuid.uuid4().hex[:10]}"


def start_node(
    processes: Any,
    executable: str,
    name: str,
    params: dict[str, object],
    extra: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Starts `camera_node` or `bridge_node` as its console script, with `-p` parameters (and `env`, if given)."""
    args = [str(BIN / executable), "--ros-args", "-r", f"__node:={name}", *(extra or [])]
    for key, value in params.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        args += ["-p", f"{key}:={text}"]
    return processes.popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def stop_node(process: subprocess.Popen[bytes], sig: int | None = None, timeout: float = 15.0) -> tuple[int, str]:
    """Sends SIGINT (or `sig`), waits, and returns the exit code and everything the node printed."""
    import signal

    process.send_signal(signal.SIGINT if sig is None else sig)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate(timeout=10)
        raise AssertionError(f"node did not stop within {timeout} s: {err.decode()[-2000:]}") from None
    return process.returncode, (out + err).decode()


class Subscriber:
    """A real rclpy subscriber in its own context, spun by a background thread."""

    def __init__(self) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(f"probe_{uuid.uuid4().hex[:8]}", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.messages: dict[str, list[Any]] = defaultdict(list)
        self.arrival: dict[str, list[float]] = defaultdict(list)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while not self._stop.is_set() and self.context.ok():
            self.executor.spin_once(timeout_sec=0.05)

    def subscribe(self, msg_type: Any, topic: str, raw: bool = False, keep: bool = True) -> Any:
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)

        def received(message: Any) -> None:
            with self._lock:
                self.arrival[topic].append(time.time())
                if keep or not self.messages[topic]:
                    self.messages[topic].append(message)
                else:
                    self.messages[topic][0] = message

        return self.node.create_subscription(msg_type, topic, received, qos, raw=raw)

    def count(self, topic: str) -> int:
        with self._lock:
            return len(self.arrival[topic])

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}; got {self.summary()}")
            time.sleep(0.02)

    def summary(self) -> dict[str, int]:
        with self._lock:
            return {topic: len(times) for topic, times in self.arrival.items()}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


@contextmanager
def subscriber() -> Iterator[Subscriber]:
    probe = Subscriber()
    try:
        yield probe
    finally:
        probe.close()


def stamp_seconds(message: Any) -> float:
    return message.header.stamp.sec + message.header.stamp.nanosec * 1e-9


def diagnostic_values(message: Any) -> dict[str, str]:
    return {kv.key: kv.value for kv in message.status[0].values}


def cloud_arrays(message: Any) -> tuple[np.ndarray, np.ndarray]:
    """(points (N, 3) float32, colors (N, 3) uint8) decoded from a PointCloud2 by its declared fields."""
    offsets = {field.name: field.offset for field in message.fields}
    dtype = np.dtype(
        {
            "names": ["x", "y", "z", "rgb"],
            "formats": ["<f4", "<f4", "<f4", "<u4"],
            "offsets": [offsets["x"], offsets["y"], offsets["z"], offsets["rgb"]],
            "itemsize": message.point_step,
        }
    )
    cloud = np.frombuffer(bytes(message.data), dtype=dtype)
    points = np.stack([cloud["x"], cloud["y"], cloud["z"]], axis=1)
    packed = cloud["rgb"]
    colors = np.stack([(packed >> 16) & 255, (packed >> 8) & 255, packed & 255], axis=1).astype(np.uint8)
    return points, colors
