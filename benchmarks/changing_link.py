"""A link that changes during one run, with nothing set: the remote bridge finds what it carries by itself.

Two simulated hosts (benchmarks/two_hosts.py). Host A runs `camera_node` (synthetic 720p RGB-D at 30 fps,
realistic depth, the default remote streams: jpeg rgb, rvl compressedDepth, the decimated cloud at 10 Hz) with
`remote.enable` and no budget (`remote.max_mbit_s` unset). Host B is a stock install (no profile file) that
subscribes to every default remote stream (with ROS's default QoS, HOST_B_DEPTH) and to /diagnostics for the
whole run, recording each arrival. The link is 1 Gbit/s, then 100 Mbit/s, 20 Mbit/s and 100 Mbit/s again
(`tc qdisc change ... tbf rate`), as a Wi-Fi link's rate changes. With `--loss`, both ends of the link also drop
that fraction of IP packets at random (an eBPF classifier on each veth's egress, built from `benchmarks/loss.ll`
with LLVM's `llc`).

Per phase, from SETTLE_S after the change: each stream's rate and latency (p50, p99), the link's use (bytes host
A sent over it against its rate; beside it payload use, what host B received of the messages), and after the
return to 100 Mbit/s how long depth took to get back to DEPTH_BACK_HZ. Host A's own rgb subscriber and a native
receiver run throughout. Delay and jitter cannot be added here (no netem in this kernel): the round trip stays
that of a veth pair. `--switch` puts the slow link behind a simulated switch (`SwitchedHosts`), whose port queues
and drops as an access point does, instead of host A's own queue.

    tools/isolated .venv/bin/python -m benchmarks.changing_link [--loss 0.01] [--quick]

Writes benchmarks/results-remote-changing[-loss].json and its figure (benchmarks/figures.py).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.remote import CAMERA, REMOTE, ROOT, collect, environments, probe, start_camera
from benchmarks.two_hosts import Host, SwitchedHosts, TwoHosts, missing_requirements, namespaces_gone

SETTLE_S = 3.0
HOST_B_DEPTH = 10
"""Host B's subscriptions keep this many messages: ROS's default QoS (reliable, keep last 10), what
`create_subscription(type, topic, callback, 10)` and image_transport's subscribers ask for. A subscriber that keeps
1 loses a frame whenever a repair holds one up behind the next (docs/remote.md, Loss)."""
DEPTH_BACK_HZ = 8.0
RGB = f"{REMOTE}/rgb/image_raw/compressed"
DEPTH = f"{REMOTE}/depth/image_raw/compressedDepth"
POINTS = f"{REMOTE}/points"
LOCAL_RGB = f"/{CAMERA}/rgb/image_raw"
LOSS_SOURCE = Path(__file__).with_name("loss.ll")


@dataclass(frozen=True)
class Phase:
    """One stretch of the run: the link's rate and how long it lasts."""

    rate: str
    mbit: float
    seconds: float


SCHEDULE = (Phase("1gbit", 1000.0, 15.0), Phase("100mbit", 100.0, 20.0), Phase("20mbit", 20.0, 20.0))
SCHEDULE += (Phase("100mbit", 100.0, 20.0),)


def targets(loss: float) -> list[tuple[int, str, str, float]]:
    """(phase index, stream, figure, bound) of issue 28's acceptance; with loss, the rates only."""
    if loss > 0:
        return [(1, "rgb", "rate_hz", 25.0), (2, "rgb", "rate_hz", 15.0), (3, "rgb", "rate_hz", 25.0)]
    return [
        (1, "rgb", "rate_hz", 28.0),
        (1, "rgb", "p99_ms", 100.0),
        (1, "depth", "rate_hz", 8.0),
        (1, "link", "use", 0.8),
        (2, "rgb", "rate_hz", 20.0),
        (2, "rgb", "p99_ms", 200.0),
        (2, "link", "use", 0.8),
        (3, "rgb", "rate_hz", 28.0),
        (3, "depth", "back_within_s", 5.0),
    ]


def attach_loss(host: Host, link: str, fraction: float, build: Path) -> None:
    """Drops `fraction` (to the per mille) of the IP packets leaving `link`, at random."""
    llc = shutil.which("llc") or shutil.which("llc-14")
    if llc is None:
        raise RuntimeError("no llc (apt install llvm): needed to build the packet-loss classifier")
    per_mille = round(fraction * 1000)
    variant = build / f"loss-{per_mille}.ll"
    variant.write_text(LOSS_SOURCE.read_text().replace("LOSS_PER_MILLE", str(per_mille)))
    program = variant.with_suffix(".o")
    subprocess.run([llc, "-march=bpf", "-filetype=obj", "-O2", str(variant), "-o", str(program)], check=True)
    host.run(["tc", "qdisc", "add", "dev", link, "clsact"])
    host.run(["tc", "filter", "add", "dev", link, "egress", "bpf", "da", "obj", str(program), "sec", "classifier"])


def _window(samples: list[list[float]], begin: float, end: float) -> list[list[float]]:
    return [sample for sample in samples if begin <= sample[0] < end]


def phase_figures(
    arrivals: dict[str, list[list[float]]], begin: float, end: float, link_bytes: int, mbit: float
) -> dict[str, Any]:
    """Rates and latencies of each stream between `begin` and `end`, and the link's use."""
    figures: dict[str, Any] = {}
    for name, topic in (("rgb", RGB), ("depth", DEPTH), ("points", POINTS), ("local_rgb", LOCAL_RGB)):
        window = _window(arrivals.get(topic, []), begin, end)
        latencies = [sample[1] for sample in window]
        figures[name] = {
            "rate_hz": round(len(window) / (end - begin), 2),
            "p50_ms": round(float(np.percentile(latencies, 50)), 1) if latencies else None,
            "p99_ms": round(float(np.percentile(latencies, 99)), 1) if latencies else None,
            "mbit_s": round(sum(sample[2] for sample in window) * 8e-6 / (end - begin), 2),
        }
    # Use: the bytes that crossed the link (Ethernet frames, as tc counts them against its rate) against its
    # rate. Payload use, what host B received of the remote streams' messages, is reported beside it: RTPS over
    # 1400-byte datagrams carries at most about 87 % of the wire as payload (docs/benchmarks.md).
    payload = sum(figures[name]["mbit_s"] for name in ("rgb", "depth", "points"))
    wire = link_bytes * 8e-6 / (end - begin)
    figures["link"] = {"payload_mbit_s": round(payload, 2), "wire_mbit_s": round(wire, 2)}
    figures["link"] |= {"use": round(wire / mbit, 3), "payload_use": round(payload / mbit, 3)}
    return figures


def back_within(arrivals: list[list[float]], start: float, end: float, rate_hz: float) -> float | None:
    """Seconds from `start` until a stream had `rate_hz` messages within one second (None: not before `end`)."""
    times = sorted(sample[0] for sample in arrivals if start <= sample[0] < end)
    need = max(int(np.ceil(rate_hz)), 1)
    for index in range(need - 1, len(times)):
        if times[index] - times[index - need + 1] <= 1.0:
            return round(times[index] - start, 2)
    return None


def run(
    loss: float = 0.0,
    quick: bool = False,
    extra: dict[str, object] | None = None,
    schedule: tuple[Phase, ...] = SCHEDULE,
    checks: bool = True,
    switched: bool = False,
    probe_depth: int = HOST_B_DEPTH,
) -> dict[str, Any]:
    """The schedule on fresh hosts; returns the phases' figures, the checks (of SCHEDULE) and the timeline."""
    reason = missing_requirements()
    if reason is not None:
        return {"skipped": f"two simulated hosts: {reason}"}
    if quick:
        schedule = tuple(Phase(p.rate, p.mbit, min(p.seconds, 10.0)) for p in schedule)
    build = ROOT / "build"
    env = environments()
    log_path = build / f"bench-remote-changing{'-loss' if loss else ''}.log"
    build.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"loss": loss, "schedule": [p.__dict__ for p in schedule], "settle_s": SETTLE_S}
    result["slow link behind"] = "a switch" if switched else "host A"
    result["host B history depth"] = probe_depth
    with log_path.open("wb") as log, SwitchedHosts() if switched else TwoHosts() as hosts:
        assert hosts.b is not None
        if loss > 0:
            for host, link in hosts.shaped_ends():
                attach_loss(host, link, loss, build)
        start_camera(hosts.a, env["node"], 1280, 720, True, log, remote_raw=False, extra=dict(extra or {}))
        total = sum(p.seconds for p in schedule) + 2.0
        topics, stock = [RGB, DEPTH, POINTS, "/diagnostics"], env["stock"]
        b = probe(hosts.b, stock, total, topics, warmup=0.0, connect_timeout=40, timeline=True, depth=probe_depth)
        a = probe(hosts.a, env["local"], total, [LOCAL_RGB], warmup=0.0, connect_timeout=40, timeline=True)
        native = probe(hosts.a, env["local"], total, [], native=True, warmup=0.0, connect_timeout=40)
        time.sleep(4.0)  # discovery and the first frames, at 1 Gbit/s
        changes = run_schedule(hosts, schedule)
        b_report, a_report = collect(b, total + 120), collect(a, total + 120)
        native_report = collect(native, total + 120)
        hosts.a.stop_processes()
    result["namespaces_gone"] = namespaces_gone(hosts)
    arrivals = {**b_report.get("timeline", {}).get("arrivals", {}), **a_report.get("timeline", {}).get("arrivals", {})}
    result["phases"] = []
    for index, (phase, (begin, end, sent)) in enumerate(zip(schedule, changes, strict=True)):
        figures = phase_figures(arrivals, begin + SETTLE_S, end, sent, phase.mbit)
        figures["rate"] = phase.rate
        if index == len(schedule) - 1:
            figures["depth"]["back_within_s"] = back_within(arrivals.get(DEPTH, []), begin, end, DEPTH_BACK_HZ)
        result["phases"].append(figures)
    result["native"] = native_report.get("native", native_report)
    result["statuses"] = b_report.get("timeline", {}).get("statuses", [])
    result["arrivals"] = {topic: samples for topic, samples in arrivals.items()}
    result["phase_times"] = changes
    result["checks"] = []
    for index, stream, figure, bound in targets(loss) if checks else []:
        value = result["phases"][index].get(stream, {}).get(figure)
        at_most = figure.endswith("_ms") or figure.endswith("_s")
        ok = value is not None and (value <= bound if at_most else value >= bound)
        result["checks"].append(
            {"phase": index, "rate": schedule[index].rate, "stream": stream, "figure": figure, "value": value}
            | {"bound": f"{'<=' if at_most else '>='} {bound}", "pass": ok}
        )
    result["pass"] = all(check["pass"] for check in result["checks"])
    return result


def run_schedule(hosts: TwoHosts | SwitchedHosts, schedule: tuple[Phase, ...]) -> list[tuple[float, float, int]]:
    """Shapes the link phase by phase; returns (begin, end, bytes host A sent over the link from SETTLE_S after
    begin) of each (wall-clock times)."""
    changes = []
    for phase in schedule:
        hosts.shape(phase.rate)
        begin = time.time()
        time.sleep(min(SETTLE_S, phase.seconds))
        before = hosts.link_bytes()  # the figures are from SETTLE_S after the change: the bytes too
        time.sleep(max(phase.seconds - SETTLE_S, 0.0))
        changes.append((begin, time.time(), hosts.link_bytes() - before))
    return changes


def print_report(result: dict[str, Any]) -> None:
    if "skipped" in result:
        print(f"changing link: skipped ({result['skipped']})")
        return
    loss = f", loss {result['loss']}" if result["loss"] else ""
    loss += ", behind a switch" if result.get("slow link behind") == "a switch" else ""
    print(f"\nchanging link{loss} (from {SETTLE_S} s after each change):")
    for figures in result["phases"]:
        row = {name: figures[name] for name in ("rgb", "depth", "points", "local_rgb", "link")}
        print(f"  {figures['rate']:8s} {json.dumps(row)}")
    for check in result["checks"]:
        mark = "ok  " if check["pass"] else "FAIL"
        print(f"  {mark} {check['rate']:8s} {check['stream']} {check['figure']} = {check['value']} ({check['bound']})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loss", type=float, default=0.0, help="fraction of IP packets dropped on each end")
    parser.add_argument("--quick", action="store_true", help="10 s phases")
    parser.add_argument("--switch", action="store_true", help="the slow link behind a simulated switch")
    parser.add_argument("--depth", type=int, default=HOST_B_DEPTH, help="host B's subscriptions' history depth")
    parser.add_argument("--set", action="append", default=[], help="camera_node parameter name=value")
    parser.add_argument(
        "--output", default=None, help="JSON report (default benchmarks/results-remote-changing*.json)"
    )
    args = parser.parse_args(argv)
    extra = dict(item.split("=", 1) for item in args.set)
    result = run(args.loss, args.quick, extra, switched=args.switch, probe_depth=args.depth)
    print_report(result)
    tags = ("-switch" if args.switch else "") + ("-loss" if args.loss else "") + ("-quick" if args.quick else "")
    default = f"results-remote-changing{tags}.json"
    Path(args.output or Path(__file__).with_name(default)).write_text(json.dumps(result, indent=1) + "\n")
    sys.exit(0 if result.get("pass", True) else 1)


if __name__ == "__main__":
    main()
