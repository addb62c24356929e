"""Two simulated hosts on this machine: network + mount namespaces joined by a veth pair shaped to 1 Gbit/s.

Each host is a holder process (`unshare -n -m`, then a private tmpfs on /dev/shm, then `sleep`) whose
namespaces the host's commands enter with `nsenter`. The veth pair gets addresses from 198.18.0.0/15 (the
benchmarking block), exists only inside the two namespaces, and has no route out: only a /30 between the
two ends and the multicast route DDS discovery needs. The link is shaped with `tc ... tbf rate 1gbit`.
Nothing needs /run/netns, so it also works inside `tools/isolated`'s private network namespace.

Teardown (on every path: `close()`, the context manager, and the caller's signal handlers) stops every
process started in a host by pid, then the holders; the namespaces, and the veth pair with them, vanish
when their last process exits. Needs root, `ip`, `tc`, `unshare`, `nsenter`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from typing import Any

SUBNET_A = "198.18.0.1"
SUBNET_B = "198.18.0.2"
LINK_RATE = "1gbit"
TOOLS = ("ip", "tc", "unshare", "nsenter")


def missing_requirements() -> str | None:
    """Why two hosts cannot be built here, or None."""
    if os.geteuid() != 0:
        return "needs root (network and mount namespaces)"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)} (apt install iproute2 util-linux)"
    probe = subprocess.run(["unshare", "-n", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        return f"unshare -n -m fails here: {probe.stderr.decode().strip()}"
    return None


class Host:
    """One simulated host: its holder process and the processes started in it."""

    def __init__(self, name: str, address: str) -> None:
        self.name = name
        self.address = address
        self.holder = subprocess.Popen(
            [
                "unshare",
                "-n",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                "mount -t tmpfs -o size=1g tmpfs /dev/shm && ip link set lo up && exec sleep 100000",
            ],
            stdin=subprocess.DEVNULL,
        )
        self.processes: list[subprocess.Popen[bytes]] = []
        deadline = time.monotonic() + 10
        while not self._ready():
            if self.holder.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"host {name}: namespace holder failed (exit {self.holder.poll()})")
            time.sleep(0.02)

    def _ready(self) -> bool:
        try:
            with open(f"/proc/{self.holder.pid}/comm") as comm:
                return comm.read().strip() == "sleep"
        except OSError:
            return False

    @property
    def pid(self) -> int:
        return self.holder.pid

    def enter(self, command: Sequence[str]) -> list[str]:
        """`command` run inside this host's network and mount namespaces."""
        return ["nsenter", "-t", str(self.pid), "-n", "-m", "--", *command]

    def run(self, command: Sequence[str]) -> None:
        """Runs a setup command inside the host; raises with its stderr if it fails."""
        done = subprocess.run(self.enter(command), capture_output=True, timeout=20)
        if done.returncode != 0:
            raise RuntimeError(f"host {self.name}: {' '.join(command)}: {done.stderr.decode().strip()}")

    def popen(
        self, command: Sequence[str], env: dict[str, str] | None = None, **kwargs: Any
    ) -> subprocess.Popen[bytes]:
        """Starts a process inside the host (stopped by `close()`)."""
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        process = subprocess.Popen(self.enter(command), env=env, **kwargs)
        self.processes.append(process)
        return process

    def stop_processes(self, timeout: float = 10.0) -> None:
        """Stops the processes started in this host by pid (SIGINT, then SIGTERM, then SIGKILL)."""
        for process in reversed(self.processes):
            stop(process, timeout)
        self.processes.clear()

    def close(self, timeout: float = 10.0) -> None:
        """Stops this host's processes, then its holder (the namespaces go with it)."""
        self.stop_processes(timeout)
        stop(self.holder, 2.0, first=signal.SIGKILL)


def stop(process: subprocess.Popen[bytes], timeout: float, first: int = signal.SIGINT) -> None:
    """Signals a process by pid (nsenter passes signals on to its child), escalating to SIGKILL."""
    if process.poll() is not None:
        return
    for sig in (first, signal.SIGTERM, signal.SIGKILL):
        try:
            process.send_signal(sig)
            process.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return


def tbf(verb: str, link: str, rate: str) -> list[str]:
    """The tc command that adds or changes (`verb`) the tbf shaping of `link`: burst 512 KB, latency 50 ms."""
    return ["tc", "qdisc", verb, "dev", link, "root", "tbf", "rate", rate, "burst", "512kb", "latency", "50ms"]


class TwoHosts:
    """Hosts A and B joined by a 1 Gbit/s veth pair; use as a context manager."""

    def __init__(self, rate: str = LINK_RATE) -> None:
        tag = f"{os.getpid() % 100000}"
        self.link_a, self.link_b = f"va{tag}", f"vb{tag}"
        self.a = Host("A", SUBNET_A)
        self.b: Host | None = None
        try:
            self.b = Host("B", SUBNET_B)
            subprocess.run(
                [
                    "ip",
                    "link",
                    "add",
                    self.link_a,
                    "netns",
                    str(self.a.pid),
                    "type",
                    "veth",
                    "peer",
                    "name",
                    self.link_b,
                    "netns",
                    str(self.b.pid),
                ],
                check=True,
                capture_output=True,
            )
            for host, link in ((self.a, self.link_a), (self.b, self.link_b)):
                host.run(["ip", "addr", "add", f"{host.address}/30", "dev", link])
                host.run(["ip", "link", "set", link, "up", "multicast", "on"])
                host.run(tbf("add", link, rate))
                host.run(["ip", "route", "add", "224.0.0.0/4", "dev", link])
        except BaseException:
            self.close()
            raise

    def shape(self, rate: str) -> None:
        """Shapes both ends of the link anew: `tc qdisc change ... tbf rate <rate>` (e.g. "100mbit", "20mbit")."""
        for host, link in ((self.a, self.link_a), (self.b, self.link_b)):
            if host is not None:
                host.run(tbf("change", link, rate))

    def link_bytes(self) -> int:
        """Bytes host A has sent over the link so far."""
        return sent_bytes(self.a, self.link_a)

    def shaped_ends(self) -> list[tuple[Host, str]]:
        """(host, interface) of each shaped end of the link: where loss is added too."""
        return [(self.a, self.link_a)] + ([(self.b, self.link_b)] if self.b is not None else [])

    def close(self) -> None:
        """Stops every process of both hosts by pid; the namespaces and the veth pair go with them."""
        for host in (self.b, self.a):
            if host is not None:
                host.close()

    def __enter__(self) -> TwoHosts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SwitchedHosts:
    """Host A and one or more other hosts on a switch: the bottleneck is the switch's port, as an access point's is.

    The switch is a Linux bridge in a namespace of its own; every host has a veth pair to one of its ports, all
    in one /24 of 198.18.0.0/15. Host A's link runs at 1 Gbit/s; each other host's link is shaped on both of its
    ends: the switch's port towards it (what host A's traffic queues in, and is dropped from when that queue is
    full) and the host's own. Unlike `TwoHosts`, where the queue in front of the slow link is host A's own
    (whose socket buffers then block its sender), nothing here tells host A's kernel that the link is slow: only
    what the subscribers acknowledge. Use as a context manager; `b` is the first other host.
    """

    def __init__(self, others: Sequence[str] = ("B",), rate: str = LINK_RATE) -> None:
        tag = f"{os.getpid() % 100000}"
        self.switch = Host("switch", "")
        try:
            self.a = Host("A", SUBNET_A)
        except BaseException:
            self.switch.close()
            raise
        self.others: dict[str, Host] = {}
        self.ports: dict[str, tuple[str, str]] = {}  # host name: (the switch's port, the host's interface)
        try:
            self.switch.run(["ip", "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"])
            self.switch.run(["ip", "link", "set", "br0", "up"])
            for index, name in enumerate(others):
                self.others[name] = Host(name, f"198.18.0.{index + 2}")
            for name, host in {"A": self.a, **self.others}.items():
                port, link = f"s{name}{tag}", f"v{name}{tag}"
                self.ports[name] = (port, link)
                subprocess.run(
                    ["ip", "link", "add", port, "netns", str(self.switch.pid), "type", "veth", "peer", "name", link]
                    + ["netns", str(host.pid)],
                    check=True,
                    capture_output=True,
                )
                self.switch.run(["ip", "link", "set", port, "master", "br0", "up"])
                host.run(["ip", "addr", "add", f"{host.address}/24", "dev", link])
                host.run(["ip", "link", "set", link, "up", "multicast", "on"])
                host.run(["ip", "route", "add", "224.0.0.0/4", "dev", link])
                for end_host, end in ((self.switch, port), (host, link)):
                    end_host.run(tbf("add", end, LINK_RATE if name == "A" else rate))
        except BaseException:
            self.close()
            raise

    @property
    def b(self) -> Host:
        return next(iter(self.others.values()))

    @property
    def link_a(self) -> str:
        return self.ports["A"][1]

    @property
    def link_b(self) -> str:
        return self.shaped_ends()[1][1]

    def shape(self, rate: str, name: str | None = None) -> None:
        """Shapes the link of host `name` (default: B) anew on both of its ends."""
        for host, end in self.shaped_ends(name):
            host.run(tbf("change", end, rate))

    def link_bytes(self, name: str | None = None) -> int:
        """Bytes the switch has passed on to host `name` (default: B) so far: what crossed its slow link."""
        return sent_bytes(*self.shaped_ends(name)[0])

    def shaped_ends(self, name: str | None = None) -> list[tuple[Host, str]]:
        """(host, interface) of both ends of host `name`'s (default: B's) link, the switch's port first: where it
        is shaped and where loss is added."""
        key = name or next(iter(self.others))
        port, link = self.ports[key]
        return [(self.switch, port), (self.others[key], link)]

    def close(self) -> None:
        """Stops every process of every host by pid, then the switch; the namespaces and veth pairs go with them."""
        for host in [*self.others.values(), self.a, self.switch]:
            host.close()

    def __enter__(self) -> SwitchedHosts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sent_bytes(host: Host, link: str) -> int:
    """Bytes `host` has sent out of its interface `link` so far (its network namespace's /proc/net/dev)."""
    done = subprocess.run(host.enter(["cat", "/proc/net/dev"]), capture_output=True)
    for line in done.stdout.decode().splitlines():
        name, _, counters = line.partition(":")
        if name.strip() == link:
            return int(counters.split()[8])  # receive: 8 fields, then transmit bytes
    return 0


def namespaces_gone(hosts: TwoHosts | SwitchedHosts) -> bool:
    """Whether every holder exited (their network namespaces, and the veth pairs, are then gone)."""
    every = [hosts.a, hosts.b] if isinstance(hosts, TwoHosts) else [hosts.a, hosts.switch, *hosts.others.values()]
    hosts_alive = [h for h in every if h is not None and h.holder.poll() is None]
    link = subprocess.run(["ip", "link", "show", hosts.link_a], capture_output=True)
    return not hosts_alive and link.returncode != 0
