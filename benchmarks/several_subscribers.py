"""Several subscribers on different links: one wired, one behind a slow link (as Wi-Fi), nothing set.

Hosts A, B and C on one simulated switch (benchmarks/two_hosts.py, `SwitchedHosts`): B's link runs at 1 Gbit/s,
C's at SLOW_RATE, shaped at the switch's port (the queue a slow link's traffic waits in, as an access point's).
Host A runs `camera_node` (synthetic 720p RGB-D at 30 fps, realistic depth, the default remote streams, no
budget). B and C are stock installs subscribing to remote rgb and compressedDepth (B also to /diagnostics, for
the remote bridge's link estimate). Each case runs on fresh hosts:

- `wired alone`: B only, reliable (what the wired subscriber gets by itself);
- `slow alone`: C only, reliable;
- `both reliable`: B and C, both reliable;
- `slow best effort`: B reliable, C best effort;
- `bridge per link`: B reliable on the remote bridge, C reliable on a second one (`remote.bridges`).

Per host and stream: rate and latency p99, from WARMUP_S after the subscribers connected, for SECONDS.

    tools/isolated .venv/bin/python -m benchmarks.several_subscribers [--quick]

Writes benchmarks/results-remote-several.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.remote import CAMERA, REMOTE, ROOT, collect, environments, probe, start_camera
from benchmarks.two_hosts import SwitchedHosts, missing_requirements, namespaces_gone

SLOW_RATE = "20mbit"
SECONDS = 25.0
WARMUP_S = 8.0
RGB = f"{REMOTE}/rgb/image_raw/compressed"
DEPTH = f"{REMOTE}/depth/image_raw/compressedDepth"
CASES: dict[str, dict[str, str]] = {  # case: {host: "reliable", "best effort" or "own bridge"}
    "wired alone": {"B": "reliable"},
    "slow alone": {"C": "reliable"},
    "both reliable": {"B": "reliable", "C": "reliable"},
    "slow best effort": {"B": "reliable", "C": "best effort"},
    "bridge per link": {"B": "reliable", "C": "own bridge"},
}
SECOND_BRIDGE = "remote_slow"


def stream_figures(report: dict[str, Any], topic: str) -> dict[str, Any]:
    """Rate and latency of `topic` in a probe's report."""
    figures = report.get(topic, {})
    latency = figures.get("latency_ms") or {}
    p99 = latency.get("p99")
    return {"rate_hz": figures.get("rate_hz"), "p99_ms": round(p99, 1) if p99 is not None else None}


def own(topic: str, reliability: str) -> str:
    """`topic` as a subscriber of `reliability` gets it: from the second bridge for "own bridge"."""
    return topic.replace(REMOTE, f"/{CAMERA}/{SECOND_BRIDGE}") if reliability == "own bridge" else topic


def estimate_mbit_s(report: dict[str, Any]) -> float | None:
    """The median of the remote bridge's (not the second one's) link estimate over a probe's run (/diagnostics)."""
    values = [
        float(status["link estimate (Mbit/s)"])
        for _, status in report.get("timeline", {}).get("statuses", [])
        if "link estimate (Mbit/s)" in status and status.get("status name") == f"{CAMERA}/remote: remote bridge"
    ]
    return round(statistics.median(values), 1) if values else None


def run_case(subscribers: dict[str, str], seconds: float) -> dict[str, Any]:
    """One case on fresh hosts: the figures per subscribing host."""
    env = environments()
    build = ROOT / "build"
    build.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"subscribers": subscribers}
    with (build / "bench-remote-several.log").open("ab") as log, SwitchedHosts(("B", "C")) as hosts:
        hosts.shape(SLOW_RATE, "C")
        bridges = {"remote.bridges": f"remote,{SECOND_BRIDGE}"} if "own bridge" in subscribers.values() else {}
        start_camera(hosts.a, env["node"], 1280, 720, True, log, remote_raw=False, extra=bridges)
        probes = {}
        for name, reliability in subscribers.items():
            topics = [own(RGB, reliability), own(DEPTH, reliability)] + (["/diagnostics"] if name == "B" else [])
            probes[name] = probe(
                hosts.others[name],
                env["stock"],
                seconds,
                topics,
                warmup=WARMUP_S,
                connect_timeout=40,
                timeline=name == "B",
                best_effort=reliability == "best effort",
            )
        reports = {name: collect(process, seconds + WARMUP_S + 120) for name, process in probes.items()}
        hosts.a.stop_processes()
    result["namespaces_gone"] = namespaces_gone(hosts)
    for name, report in reports.items():
        result[name] = {
            "link": "1 Gbit/s" if name == "B" else SLOW_RATE.replace("mbit", " Mbit/s"),
            "reliability": subscribers[name],
            "rgb": stream_figures(report, own(RGB, subscribers[name])),
            "depth": stream_figures(report, own(DEPTH, subscribers[name])),
        }
        if "error" in report:
            result[name]["error"] = report["error"]
        if name == "B":
            result[name]["estimate_mbit_s"] = estimate_mbit_s(report)
    return result


def run(quick: bool = False) -> dict[str, Any]:
    reason = missing_requirements()
    if reason is not None:
        return {"skipped": f"three simulated hosts: {reason}"}
    seconds = 12.0 if quick else SECONDS
    return {name: run_case(subscribers, seconds) for name, subscribers in CASES.items()} | {"seconds": seconds}


def print_report(result: dict[str, Any]) -> None:
    if "skipped" in result:
        print(f"several subscribers: skipped ({result['skipped']})")
        return
    print(f"\nseveral subscribers (B on 1 Gbit/s, C on {SLOW_RATE}, at the switch):")
    for case in CASES:
        for name in CASES[case]:
            figures = result[case][name]
            estimate = f", estimate {figures['estimate_mbit_s']} Mbit/s" if "estimate_mbit_s" in figures else ""
            print(
                f"  {case:18s} {name} ({figures['reliability']:11s}) rgb {figures['rgb']['rate_hz']} Hz"
                f" p99 {figures['rgb']['p99_ms']} ms, depth {figures['depth']['rate_hz']} Hz{estimate}"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"{12.0:.0f} s per case")
    parser.add_argument("--output", default=str(Path(__file__).with_name("results-remote-several.json")))
    args = parser.parse_args(argv)
    started = time.monotonic()
    result = run(args.quick)
    result["duration_s"] = round(time.monotonic() - started)
    print_report(result)
    Path(args.output).write_text(json.dumps(result, indent=1) + "\n")
    sys.exit(0)


if __name__ == "__main__":
    main()
