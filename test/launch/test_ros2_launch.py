"""`ros2 launch` itself, as a user runs it: argument errors, a failing camera, Ctrl-C (exit codes and logs); each
launch file with synthetic cameras delivering every topic and static transform, then Ctrl-C leaving nothing running.

Needs `ros2` with ros2launch (ros2cli, launch, launch_ros: a ROS 2 install, not on PyPI) and this package built
with colcon and sourced; skipped with the reason where they are missing, as in `make test`'s venv. Static
transforms are started only where tf2_ros is installed. The web view's two-hosts test also needs root (network
namespaces: benchmarks/two_hosts.py) and rerun-sdk.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from airo_mp_camera.pipeline.frame_ring import segment_path
from support.launch_output import launch_stopped_on_ctrl_c


def _skip_reason() -> str | None:
    if shutil.which("ros2") is None:
        return "no `ros2` command (ros2cli is part of a ROS 2 install; not on PyPI)"
    if importlib.util.find_spec("ros2launch") is None or importlib.util.find_spec("launch_ros") is None:
        return "ros2launch/launch_ros are not installed (a ROS 2 install; not on PyPI)"
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    try:
        prefix = Path(get_package_prefix("airo_mp_camera"))
    except PackageNotFoundError:
        return "airo_mp_camera is not in the ament index: build it with colcon and source install/setup.bash"
    if not (prefix / "lib" / "airo_mp_camera" / "camera_node").exists():
        return "airo_mp_camera was not installed by colcon (no lib/airo_mp_camera/camera_node)"
    return None


ROOT = Path(__file__).resolve().parents[2]
SKIP_REASON = _skip_reason()
pytestmark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")


def _tf_available() -> bool:
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    try:
        get_package_prefix("tf2_ros")
    except PackageNotFoundError:
        return False
    return True


def camera() -> str:
    return f"test_launch_{uuid.uuid4().hex[:8]}"  # test_: the shared-memory check knows it as a test's


def launch_command(*arguments: str) -> list[str]:
    """`ros2 launch airo_mp_camera <arguments>`, with static transforms only where tf2_ros is installed."""
    tf = "true" if _tf_available() else "false"
    return ["ros2", "launch", "airo_mp_camera", *arguments, f"publish_tf:={tf}"]


def terminal() -> int:
    """The far end of a new pseudo-terminal, for a launch's stdin (its near end stays open while tests run).

    `ros2 launch` takes a run whose stdin is no terminal as non-interactive, and on Ctrl-C then sends SIGINT again
    to each process it started, on top of the one the terminal sent the whole group: Humble's C++
    static_transform_publisher, interrupted twice, dies with -2, logged as an error. A user's terminal is a tty.
    """
    near, far = os.openpty()
    _TERMINALS.append(near)
    return far


_TERMINALS: list[int] = []


def launch(processes, *arguments: str) -> subprocess.Popen[bytes]:
    far = terminal()
    try:
        return processes.popen(
            launch_command(*arguments),
            stdin=far,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as in a terminal
        )
    finally:
        os.close(far)


def finish(process: subprocess.Popen[bytes], timeout: float = 60.0, log: Path | None = None) -> str:
    """Waits for the launch to end and returns its output (piped, or written to `log`); SIGKILLs its group on
    timeout."""

    def text(output: bytes | None) -> str:
        return output.decode() if output is not None else log.read_text() if log is not None else ""

    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate(timeout=10)
        raise AssertionError(f"ros2 launch still running after {timeout} s: {text(output)[-3000:]}") from None
    return text(output)


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("enable_pointcloud:=ture", "launch argument enable_pointcloud:='ture' is invalid: expected true or false"),
        ("baseline:=abc", "launch argument baseline:='abc' is invalid: expected a number"),
        ("camera_type:=webcam", "launch argument camera_type:='webcam' is invalid: expected one of zed"),
        ("config_file:=/nonexistent.yaml", "config_file:=/nonexistent.yaml: no such parameters file"),
    ],
)
def test_a_wrong_argument_stops_the_launch_naming_it_before_anything_starts(
    processes, argument: str, message: str
) -> None:
    name = camera()
    process = launch(processes, "zed.launch.py", "camera_type:=synthetic", f"camera_name:={name}", argument)
    output = finish(process)
    assert process.returncode != 0, output
    assert message in output, output
    assert "process started" not in output, "a process was started before the arguments were checked"


def test_a_failing_camera_node_ends_the_launch_with_a_non_zero_code(processes) -> None:
    name = camera()  # serial_number is fine for the launch but the ZED is absent (no pyzed here)
    process = launch(processes, "zed.launch.py", "camera_type:=zed", f"camera_name:={name}")
    output = finish(process, timeout=90)
    assert process.returncode != 0, output
    assert f"camera_node '{name}' exited with code" in output, output
    assert not Path(segment_path(name)).exists()


def test_ctrl_c_stops_the_launch_cleanly_without_an_error(processes) -> None:
    name = camera()
    process = launch(processes, "synthetic.launch.py", f"camera_name:={name}")
    deadline = time.monotonic() + 60
    while not Path(segment_path(name)).exists():  # the camera runs
        assert process.poll() is None and time.monotonic() < deadline, finish(process, 10)
        time.sleep(0.2)
    time.sleep(3.0)  # the bridge is reading
    os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole foreground process group
    output = finish(process, timeout=30)
    assert process.returncode == 0, output
    assert "[ERROR]" not in output, output
    assert not Path(segment_path(name)).exists()


def test_web_view_from_ros2_launch_reaches_a_second_host_only_when_bound_to_the_network(tmp_path: Path) -> None:
    """`ros2 launch airo_mp_camera synthetic.launch.py web:=true web_bind:=<bind>` on simulated host A, probed from
    host B over the veth pair (benchmarks/two_hosts.py): bound to 127.0.0.1, B is refused on both of the viewer's
    ports while A gets the viewer; bound to 0.0.0.0, B gets it. Each time Ctrl-C (SIGINT to the launch's process
    group) ends the launch with 0 and no error, of ROS or of rerun (the logger flushes before its server stops),
    leaves no process in A's network namespace and no segment in A's /dev/shm; the namespaces are gone at the end.
    """
    sys.path.insert(0, str(ROOT))
    from benchmarks.two_hosts import TwoHosts, missing_requirements, namespaces_gone
    from support.web_viewer_probe import (
        check_reached_only_when_bound_to_the_network,
        probe_both,
        processes_in,
        shared_memory_in,
        wait_until_served,
    )

    reason = missing_requirements()
    if reason is not None:
        pytest.skip(f"two simulated hosts: {reason}")
    if importlib.util.find_spec("rerun") is None:
        pytest.skip("rerun-sdk is not installed (pip install rerun-sdk; it needs numpy >= 2)")
    port, grpc_port = 9191, 9876  # web_port:=9191; rerun.web.grpc_port's default (each host has its own ports)
    seen: dict[str, dict[str, dict[str, object]]] = {}
    ended: dict[str, tuple[int | None, str, list[str], list[str]]] = {}
    hosts = TwoHosts()
    try:
        assert hosts.b is not None
        for bind in ("127.0.0.1", "0.0.0.0"):
            log = tmp_path / f"launch-{bind}.log"
            arguments = (f"camera_name:={camera()}", "web:=true", f"web_bind:={bind}", f"web_port:={port}")
            far = terminal()
            with log.open("wb") as output:  # a file, not a pipe: nothing blocks on a full pipe while it runs
                process = hosts.a.popen(
                    launch_command("synthetic.launch.py", *arguments),
                    stdin=far,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group, as in a terminal
                )
            os.close(far)
            try:
                wait_until_served(hosts.a, process, port, grpc_port, f"ros2 launch (web_bind:={bind})")
                seen[bind] = probe_both(hosts, port, grpc_port)
            except AssertionError as error:
                raise AssertionError(f"{error}\n{log.read_text()[-3000:]}") from None
            finally:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole foreground group
                text = finish(process, timeout=30, log=log)
            deadline = time.monotonic() + 10.0  # the launch waited for its nodes; their children may lag a moment
            while processes_in(hosts.a) and time.monotonic() < deadline:
                time.sleep(0.2)
            ended[bind] = (process.returncode, text, processes_in(hosts.a), shared_memory_in(hosts.a))
    finally:
        hosts.close()
    assert namespaces_gone(hosts), "a namespace or the veth pair outlived the test"
    check_reached_only_when_bound_to_the_network(seen)
    for bind, (code, text, left, shm) in ended.items():
        assert code == 0, f"web_bind:={bind}: exit {code}\n{text[-3000:]}"
        assert "ERROR" not in text, f"web_bind:={bind}:\n{text[-3000:]}"  # ROS's [ERROR] and rerun's own
        assert "took not all frames" not in text, f"web_bind:={bind}: the server went before the logger\n{text}"
        assert "to the web viewer (open http://" in text, f"web_bind:={bind}: no web viewer line\n{text[-3000:]}"
        assert not left, f"web_bind:={bind}: still running in host A after Ctrl-C: {left}"
        assert not [name for name in shm if name.startswith("airo_mp_camera.")], f"web_bind:={bind}: {shm}"


# ------------------------------------------------------------------------------ every topic, then Ctrl-C

TOPIC_TIMEOUT = 90.0  # seconds until every topic of every camera carried messages (2 busy cores, 2 cameras)
STOP_TIMEOUT = 30.0  # seconds for `ros2 launch` to end after Ctrl-C
SMALL = {"width": 320, "height": 240, "fps": 15.0}  # where the launch takes a parameters file: light on 2 cores
CAMERA_TOPICS = ("rgb/image_raw", "rgb/camera_info", "depth/image_raw", "depth/camera_info", "points")
WIFI = "remote_wifi"
REMOTE_TOPICS = ("remote/rgb/image_raw/compressed", "remote/depth/image_raw/compressedDepth")
REMOTE_TOPICS += (f"{WIFI}/rgb/image_raw/compressed",)


def small_parameters(path: Path) -> Path:
    """config/synthetic.yaml at SMALL's resolution and rate."""
    import yaml

    parameters = yaml.safe_load((ROOT / "config" / "synthetic.yaml").read_text())
    parameters["/**"]["ros__parameters"].update(SMALL)
    path.write_text(yaml.safe_dump(parameters, sort_keys=False))
    return path


def proc_stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat's fields after the command (state, ppid, pgrp, ...; [19]: start time); None: no process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def all_processes() -> dict[int, list[str]]:
    stats = {int(entry): proc_stat(int(entry)) for entry in os.listdir("/proc") if entry.isdigit()}
    return {pid: stat for pid, stat in stats.items() if stat is not None}


def descendants(root: int) -> dict[tuple[int, str], str]:
    """Every living process below `root` (by parent pid): (pid, start time) -> its command line."""
    table = all_processes()
    found: dict[tuple[int, str], str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, stat in table.items():
            if int(stat[1]) == parent and (pid, stat[19]) not in found:
                found[(pid, stat[19])] = command_line(pid)
                frontier.append(pid)
    return found


def still_running(seen: dict[tuple[int, str], str], group: int) -> list[str]:
    """The processes of `seen` still running (zombies do not), and any other living member of process `group`."""
    return [
        f"{pid} {command_line(pid)}"
        for pid, stat in all_processes().items()
        if stat[0] != "Z" and ((pid, stat[19]) in seen or int(stat[2]) == group)
    ]


def kill_what_is_left(seen: dict[tuple[int, str], str], group: int) -> None:
    """SIGKILL to the recorded processes (by pid and start time) and to the members of the launch's group."""
    for pid, stat in all_processes().items():
        if (pid, stat[19]) in seen or int(stat[2]) == group:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


LAUNCHES = {
    # id: (launch file, its arguments given the camera names and a small parameters file, number of cameras)
    "zed": ("zed.launch.py", lambda names, small: ["camera_type:=synthetic", f"camera_name:={names[0]}", small], 1),
    "multi_camera": (
        "multi_camera.launch.py",
        lambda names, small: ["camera_type:=synthetic", f"first_name:={names[0]}", f"second_name:={names[1]}", small],
        2,
    ),
    # synthetic.launch.py sets config_file itself (config/synthetic.yaml, 1280x720 at 30 fps): no small size there
    # with a second remote bridge (remote_bridges): each is a sibling node with topics of its own
    "synthetic_remote": (
        "synthetic.launch.py",
        lambda names, small: ["remote:=true", f"remote_bridges:=remote,{WIFI}", f"camera_name:={names[0]}"],
        1,
    ),
}


@pytest.mark.parametrize("case", list(LAUNCHES))
def test_every_topic_and_static_transform_arrive_then_ctrl_c_leaves_nothing(processes, tmp_path: Path, case: str):
    """`ros2 launch` of each launch file with synthetic cameras, as a user runs it: every topic of each camera
    (and with remote:=true the remote bridge's compressed rgb and depth) reaches a subscriber in this process, and
    /tf_static holds both optical frames of each camera; then Ctrl-C to the launch's process group ends it with 0,
    no error and no traceback, every process it started finished cleanly and is gone, its process group is empty,
    and no camera's shared-memory segment is left."""
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

    from support.ros_support import subscriber

    launch_file, arguments, count = LAUNCHES[case]
    remote = case == "synthetic_remote"
    names = [camera() for _ in range(count)]
    small = f"config_file:={small_parameters(tmp_path / 'parameters.yaml')}"
    tf = _tf_available()
    kinds = {"image_raw": Image, "camera_info": CameraInfo, "points": PointCloud2}
    topics = {
        f"/{name}/{topic}": CompressedImage if topic.startswith("remote") else kinds[topic.rsplit("/", 1)[-1]]
        for name in names
        for topic in (*CAMERA_TOPICS, *(REMOTE_TOPICS if remote else ()))
    }
    optical = {name: {f"{name}_left_camera_optical_frame", f"{name}_right_camera_optical_frame"} for name in names}
    frames: dict[str, set[str]] = {f"{name}_camera_link": set() for name in names}

    def collect(message) -> None:
        for transform in message.transforms:
            if transform.header.frame_id in frames:
                frames[transform.header.frame_id].add(transform.child_frame_id)

    def transforms_complete() -> bool:
        return all(optical[name] <= frames[f"{name}_camera_link"] for name in names)

    log = tmp_path / "launch.log"
    seen: dict[tuple[int, str], str] = {}  # every process the launch started: (pid, start time) -> command
    far = terminal()
    try:
        with log.open("wb") as output:  # a file, not a pipe: nothing blocks on a full pipe
            start = time.monotonic()
            process = processes.popen(
                launch_command(launch_file, *arguments(names, small)),
                stdin=far,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, as in a terminal
            )
    finally:
        os.close(far)
    try:
        with subscriber() as probe:
            for topic, kind in topics.items():
                probe.subscribe(kind, topic, raw=True, keep=False)  # raw: no decoding of 1280x720 clouds in Python
            if tf:
                from tf2_msgs.msg import TFMessage

                latched = QoSProfile(
                    depth=10, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
                )
                probe.node.create_subscription(TFMessage, "/tf_static", collect, latched)
            deadline = time.monotonic() + TOPIC_TIMEOUT
            while not (all(probe.count(topic) >= 2 for topic in topics) and (transforms_complete() or not tf)):
                assert process.poll() is None, f"ros2 launch exited with {process.returncode}:\n{log.read_text()}"
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"after {TOPIC_TIMEOUT} s: messages {probe.summary()} of {sorted(topics)}; static transforms "
                        f"{ {parent: sorted(children) for parent, children in frames.items()} }\n{log.read_text()}"
                    )
                time.sleep(0.1)
            topics_after = time.monotonic() - start
            last = {topic: probe.messages[topic][-1] for topic in topics}
            seen.update(descendants(process.pid))
        for name in names:
            rgb = deserialize_message(last[f"/{name}/rgb/image_raw"], Image)
            depth = deserialize_message(last[f"/{name}/depth/image_raw"], Image)
            points = deserialize_message(last[f"/{name}/points"], PointCloud2)
            size = (1280, 720) if case == "synthetic_remote" else (SMALL["width"], SMALL["height"])
            assert (rgb.width, rgb.height, depth.width, depth.height) == (*size, *size), f"{name}: {rgb} {depth}"
            frame = f"{name}_left_camera_optical_frame"
            assert [rgb.header.frame_id, depth.header.frame_id, points.header.frame_id] == [frame] * 3
            if remote:
                compressed = deserialize_message(
                    last[f"/{name}/remote/depth/image_raw/compressedDepth"], CompressedImage
                )
                assert "compressedDepth" in compressed.format, compressed.format
        programs = {
            program: [pid for (pid, _), line in seen.items() if program in line]
            for program in ("/camera_node ", "/static_transform_publisher ", "/remote_bridge_node ")
        }
        expected = [count, 2 * count if tf else 0, 2 if remote else 0]
        bridge = " ".join(line for line in seen.values() if "/remote_bridge_node " in line)
        assert [len(pids) for pids in programs.values()] == expected, f"the launch's processes: {seen}"
        segments = [Path(segment_path(name)) for name in names]
        assert all(segment.exists() for segment in segments), segments

        ctrl_c_at = log.stat().st_size
        os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole foreground process group
        stopping = time.monotonic()
        output = finish(process, timeout=STOP_TIMEOUT, log=log)
        stop_took = time.monotonic() - stopping
        deadline = time.monotonic() + 10.0  # the launch waited for its nodes; a child of theirs may lag a moment
        while still_running(seen, process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = still_running(seen, process.pid)
    finally:  # on every path: nothing of the launch outlives the test
        if process.poll() is None:  # a failure before Ctrl-C: Ctrl-C now (the cameras remove their segments)
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        kill_what_is_left(seen, process.pid)
    after = log.read_bytes()[ctrl_c_at:].decode(errors="replace")
    print(
        f"{case}: every topic and transform {topics_after:.1f} s after the start; Ctrl-C ended it in {stop_took:.1f} s"
    )
    print(f"processes: { {pid: line for (pid, _), line in seen.items()} }\nafter Ctrl-C:\n{after}")
    assert process.returncode == 0, f"ros2 launch exited with {process.returncode} after Ctrl-C:\n{output}"
    assert "[ERROR]" not in output, output
    assert "Traceback" not in output, output
    assert launch_stopped_on_ctrl_c(after), after
    started = [int(pid) for pid in re.findall(r"process started with pid \[(\d+)\]", output)]
    assert len(started) == count + (2 * count if tf else 0) + (2 if remote else 0), output
    for pid in started:
        assert f"process has finished cleanly [pid {pid}]" in after, f"pid {pid}:\n{after}"
    assert not left, f"still running after Ctrl-C (recorded or in the launch's process group {process.pid}): {left}"
    assert [segment for segment in segments if segment.exists()] == [], "a camera's shared memory was left"
    if remote:  # the launch's sibling nodes: /<camera>/remote and the second, no child of camera_node
        assert "__node:=remote " in bridge and f"__node:={WIFI}" in bridge and f"__ns:=/{names[0]}" in bridge, bridge
        camera_children = [line for line in seen.values() if "airo_mp_camera.ros.remote_bridge_node" in line]
        assert camera_children == [], f"camera_node started a remote bridge of its own: {camera_children}"
    if not tf:
        pytest.skip("all else passed; /tf_static not checked: tf2_ros is not installed (run with publish_tf:=false)")


def test_launch_restarts_a_remote_bridge_that_dies(processes, tmp_path: Path) -> None:
    """`synthetic.launch.py remote:=true`: the remote bridge is a sibling node that launch respawns. SIGKILLed, a new
    `remote_bridge_node` process (another pid) starts within the respawn delay and a few seconds, and the remote
    topics carry messages again; the camera node's process is the same one throughout; Ctrl-C then leaves nothing."""
    from sensor_msgs.msg import CompressedImage

    from support.ros_support import subscriber

    name = camera()
    topic = f"/{name}/{REMOTE_TOPICS[0]}"
    log = tmp_path / "launch.log"
    seen: dict[tuple[int, str], str] = {}
    far = terminal()
    try:
        with log.open("wb") as output:
            process = processes.popen(
                launch_command("synthetic.launch.py", "remote:=true", f"camera_name:={name}"),
                stdin=far,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    finally:
        os.close(far)

    def bridges() -> dict[int, str]:
        found = descendants(process.pid)
        seen.update(found)
        return {pid: line for (pid, _), line in found.items() if "/remote_bridge_node " in line}

    def cameras() -> set[int]:
        return {pid for (pid, _), line in descendants(process.pid).items() if "/camera_node " in line}

    def wait_for_messages(probe, count: int, what: str) -> None:
        deadline = time.monotonic() + TOPIC_TIMEOUT
        while probe.count(topic) < count:
            assert process.poll() is None, f"ros2 launch exited with {process.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"{what}: {probe.summary()}\n{log.read_text()}"
            time.sleep(0.1)

    try:
        with subscriber() as probe:
            probe.subscribe(CompressedImage, topic, raw=True, keep=False)
            wait_for_messages(probe, 2, "no remote rgb before the kill")
            first = bridges()
            camera_pids = cameras()
            assert len(first) == 1 and len(camera_pids) == 1, f"the launch's processes: {seen}"
            (killed,) = first
            os.kill(killed, signal.SIGKILL)
            killed_at = time.monotonic()
            deadline = killed_at + 30.0
            while not (set(bridges()) - {killed}):
                assert time.monotonic() < deadline, (
                    f"no new remote_bridge_node 30 s after the kill:\n{log.read_text()}"
                )
                time.sleep(0.2)
            respawned_after = time.monotonic() - killed_at
            before = probe.count(topic)
            wait_for_messages(probe, before + 5, "no remote rgb after the respawn")
            assert cameras() == camera_pids, "the camera node was restarted with its remote bridge"
        print(f"remote bridge respawned {respawned_after:.1f} s after SIGKILL")
        os.killpg(process.pid, signal.SIGINT)
        finish(process, timeout=STOP_TIMEOUT, log=log)
        deadline = time.monotonic() + 10.0
        while still_running(seen, process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = still_running(seen, process.pid)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        kill_what_is_left(seen, process.pid)
    assert respawned_after >= 1.5, f"respawned {respawned_after:.1f} s after the kill, before launch's delay"
    assert not left, f"still running after Ctrl-C: {left}"
    assert not Path(segment_path(name)).exists(), "the camera's shared memory was left"
