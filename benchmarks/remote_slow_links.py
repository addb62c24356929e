"""Benchmark cases of issue 17: links that cannot carry every stream (100 Mbit/s Wi-Fi, 20 Mbit/s weak Wi-Fi).

Run by `make bench-remote` (benchmarks/remote.py) after its 1 Gbit cases, on the same two simulated hosts:
the veth pair is shaped anew with `tc qdisc change ... tbf rate <rate> burst 512kb latency 50ms` (rate only: no
loss or jitter, netem is not available). Host A runs `camera_node` (synthetic 720p RGB-D at 30 fps, realistic
depth) with the default remote streams (jpeg rgb, rvl compressedDepth, points decimated by 4 at 10 Hz) and
`remote.max_mbit_s` a little under the link's rate, the one parameter a user sets for a slow link. Host B is a
stock install (no FASTDDS_DEFAULT_PROFILES_FILE) subscribing to every default remote stream (rgb, compressedDepth,
points: at 20 Mbit too, so that the others are there to starve rgb) and to /diagnostics (the
remote bridge's link share: what each stream gets and why frames were skipped); host A's local subscriber and
native receiver run at the same time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from benchmarks.two_hosts import LINK_RATE

CHECK = tuple[str, str, str, float]


@dataclass(frozen=True)
class SlowLink:
    """One case: the link's rate, the remote bridge's budget, how long, and the targets."""

    rate: str
    mbit: float
    budget_mbit_s: float
    seconds: float
    checks: tuple[CHECK, ...]


def slow_link_cases(remote: str, camera: str) -> tuple[SlowLink, ...]:
    """The cases with their targets (issue 17's acceptance), topics under `remote` (/<camera>/remote)."""
    rgb, depth, points = (
        f"{remote}/rgb/image_raw/compressed",
        f"{remote}/depth/image_raw/compressedDepth",
        f"{remote}/points",
    )
    host_a = (
        ("a_local", f"/{camera}/rgb/image_raw", "rate_ratio", 0.95),
        ("a_local", f"/{camera}/rgb/image_raw/compressed", "rate_ratio", 0.95),
        ("a_native", "", "missed", 0.0),
    )
    return (
        SlowLink(
            "100mbit",
            100.0,
            90.0,
            60.0,
            (
                ("b", rgb, "rate_hz", 29.0),
                ("b", rgb, "p99_ms", 100.0),
                ("b", depth, "rate_hz", 10.0),
                ("b", depth, "p99_ms", 250.0),
                ("b", points, "paused_or_p99_ms", 250.0),
                ("b", rgb, "latency_change_ms", 20.0),
                ("b", depth, "latency_change_ms", 20.0),
                ("b", "", "link_use", 0.7),
                *host_a,
            ),
        ),
        SlowLink(
            "20mbit",
            20.0,
            18.0,
            30.0,
            (("b", rgb, "rate_hz", 20.0), ("b", rgb, "p99_ms", 200.0), ("b", rgb, "latency_change_ms", 20.0), *host_a),
        ),
    )


def slow_link_figure(result: dict[str, Any], topic: str, figure: str, link_mbit: float) -> float | None:
    """The figures only these cases check: p99, latency change from the first to the last 10 s, link use."""
    stats = (result.get("b") or {}).get(topic) or {}
    if figure == "link_use":
        return round(result["link_mbit_per_s"] / link_mbit, 3)
    if figure == "latency_change_ms":
        first, last = stats.get("p50_first_10s_ms"), stats.get("p50_last_10s_ms")
        return round(abs(last - first), 1) if first is not None and last is not None else None
    p99 = (stats.get("latency_ms") or {}).get("p99") if stats.get("received") else None
    if figure == "paused_or_p99_ms" and p99 is None:  # nothing received: passes only if the bridge says paused
        stream = topic.rsplit("/remote/", 1)[-1].split("/")[0]
        share = remote_status(result).get(f"{stream} link share", "")
        return 0.0 if share.startswith("paused") else None
    return p99


def remote_status(result: dict[str, Any]) -> dict[str, str]:
    """The remote bridge's last /diagnostics values as host B saw them."""
    status: dict[str, str] = ((result.get("b") or {}).get("/diagnostics") or {}).get("remote bridge") or {}
    return status


def run_slow_links(run: Any, remote: str, camera: str, start_camera: Any, quick: bool) -> None:
    """Runs each slow-link case on `run`'s hosts (benchmarks.remote.Run), then shapes the link back to 1 Gbit."""
    hosts, env = run.hosts, run.env
    try:
        for link in slow_link_cases(remote, camera):
            extra = {"remote.max_mbit_s": link.budget_mbit_s, **run.extra}  # (--set may change the budget)
            name = f"{link.rate}: default remote streams, remote.max_mbit_s {extra['remote.max_mbit_s']}"
            if run.only and run.only not in name:
                continue
            hosts.shape(link.rate)
            run.link_mbit = link.mbit
            start_camera(hosts.a, env["node"], 1280, 720, run.realistic, run.log, remote_raw=False, extra=extra)
            topics = [
                f"{remote}/rgb/image_raw/compressed",
                f"{remote}/depth/image_raw/compressedDepth",
                f"{remote}/points",
            ]
            run.measure(topics[:1], with_host_a=False, seconds=3.0, b_env="stock")  # discovery, first frames
            run.baseline = run.measure([], with_host_a=True)
            seconds = min(link.seconds, 12.0) if quick else link.seconds
            run.case(name, [*topics, "/diagnostics"], list(link.checks), True, seconds, "stock")
            status = remote_status(run.cases.get(name, {}))
            shares = {
                key: value
                for key, value in status.items()
                if any(w in key for w in ("link", "skipped", "rate", "dropped"))
            }
            print(f"    remote bridge /diagnostics: {json.dumps(shares)}", flush=True)
            hosts.a.stop_processes()
    finally:
        hosts.shape(LINK_RATE)
