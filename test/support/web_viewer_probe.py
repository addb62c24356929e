"""Seen from inside a simulated host (benchmarks/two_hosts.py): does the web viewer answer, and what is left there.

Used by the two-hosts tests of the web viewer: camera_node started directly (test_rerun_web.py) and through
`ros2 launch ... web:=true` (test_ros2_launch.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

PROBE = """
import socket, sys, urllib.parse, urllib.request
host, port, grpc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    answer = urllib.request.urlopen(f"http://{host}:{port}/", timeout=5)  # the bare address, redirects followed
    page = answer.read().decode(errors="replace")
    data = urllib.parse.parse_qs(urllib.parse.urlsplit(answer.geturl()).query).get("url")
    result = {"page": "Rerun" in page and data == [f"rerun+http://{host}:{grpc}/proxy"]}
except OSError as error:
    result = {"page": f"{type(error).__name__}: {error}"}
try:
    socket.create_connection((host, grpc), timeout=5).close()
    result["grpc"] = True
except OSError as error:
    result["grpc"] = f"{type(error).__name__}: {error}"
print(__import__("json").dumps(result))
"""


def probe(host: object, address: str, port: int, grpc_port: int) -> dict[str, object]:
    """From inside `host`: does the bare page address lead to the viewer told where its data is (under the address
    used), and does the data port accept a connection?"""
    command = host.enter([sys.executable, "-c", PROBE, address, str(port), str(grpc_port)])  # type: ignore[attr-defined]
    done = subprocess.run(command, capture_output=True, timeout=60)
    return dict(json.loads(done.stdout.decode().strip().splitlines()[-1]))


def probe_both(hosts: object, port: int, grpc_port: int) -> dict[str, dict[str, object]]:
    """`probe` from host B at host A's address on the link, and from host A on its loopback."""
    a, b = hosts.a, hosts.b  # type: ignore[attr-defined]
    return {"b": probe(b, a.address, port, grpc_port), "a": probe(a, "127.0.0.1", port, grpc_port)}


def check_reached_only_when_bound_to_the_network(seen: dict[str, dict[str, dict[str, object]]]) -> None:
    """`seen` (probe_both per bind address): bound to 127.0.0.1, A gets the viewer and B is refused on both ports;
    bound to 0.0.0.0, B gets the viewer."""
    local, network = seen["127.0.0.1"], seen["0.0.0.0"]
    assert local["a"] == {"page": True, "grpc": True}, seen
    assert all("refused" in str(local["b"][what]).lower() for what in ("page", "grpc")), seen
    assert network["b"] == {"page": True, "grpc": True}, seen


def wait_until_served(
    host: object, process: subprocess.Popen[bytes], port: int, grpc_port: int, what: str, timeout: float = 90.0
) -> None:
    """Waits until the viewer answers inside `host` on its loopback; fails if `process` exits or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while probe(host, "127.0.0.1", port, grpc_port).get("page") is not True:
        assert process.poll() is None, f"{what} exited with {process.returncode}"
        assert time.monotonic() < deadline, f"the web viewer never answered on host A ({what})"
        time.sleep(1.0)


def processes_in(host: object) -> list[str]:
    """Command lines of the processes in `host`'s network namespace, its holder process aside."""
    holder = host.pid  # type: ignore[attr-defined]
    namespace = os.readlink(f"/proc/{holder}/ns/net")
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == holder:
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/net") != namespace:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                found.append(cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip() or entry)
        except OSError:  # exited meanwhile
            continue
    return found


def shared_memory_in(host: object) -> list[str]:
    """The entries of `host`'s own /dev/shm (a tmpfs of its mount namespace)."""
    done = subprocess.run(host.enter(["ls", "-A", "/dev/shm"]), capture_output=True, timeout=20, check=True)  # type: ignore[attr-defined]
    return done.stdout.decode().split()
