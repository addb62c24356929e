"""Benchmark: camera topics to another machine over a 1 Gbit/s link, and what that costs the camera's host.

    make bench-remote                                  # full run, writes benchmarks/results-remote.json
    tools/isolated .venv/bin/python -m benchmarks.remote --quick

Builds two simulated hosts (benchmarks/two_hosts.py). Host A runs `camera_node` (synthetic 720p RGB-D at
30 fps, realistic depth) with `remote.enable:=true`, under config/fastdds_host_only.xml and
ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, so its local topics stay on host A; its remote bridge child runs
under config/fastdds_remote_udp.xml (remote.transport udp, the default). A second remote bridge started by
hand (`remote_bridge_node`, node `remote_png`) serves compressedDepth as PNG. Host B is a stock
install for the compressed streams (no profile file: rclpy, then a Cyclone DDS reader,
benchmarks/cyclone_reader.py); the raw cases restart the camera with the TCP opt-in
(remote.transport large_data) and run host B's probes under config/fastdds_multi_host.xml. Each
case prints its figures and PASS/FAIL against issue #10's targets. Then, on hosts of their own: the changing
link (benchmarks/changing_link.py; without and with loss against issue #28's targets, and behind a simulated
switch, measured only) and several subscribers on different links (benchmarks/several_subscribers.py, measured
only). Timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from airo_mp_camera.ros.discovery import LOCALHOST_ONLY_VARIABLE, RANGE_VARIABLE, with_discovery_range
from airo_mp_camera.ros.fastdds_profiles import PROFILE_VARIABLES, versioned_profile, with_profile
from airo_mp_camera.ros.host_isolation import RESTARTED_ENV
from benchmarks.processes import terminate_as_interrupt
from benchmarks.remote_slow_links import run_slow_links, slow_link_figure
from benchmarks.two_hosts import Host, TwoHosts, missing_requirements, namespaces_gone

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config"
BIN = Path(sys.executable).parent
CAMERA = "camera"
REMOTE = f"/{CAMERA}/remote"
LOG = ROOT / "build" / "bench-remote.log"
CASE_WARMUP_S = 3.0
"""Host B's probe measures a case from this long after its first message: the remote bridge's link estimate starts
at START_BIT_S (ros/link_estimate.py) and grows while the streams use it, so a stream asking for more reaches its
full rate a second or three after its first subscriber (reported per topic as full_rate_after_s); the cases
measure the rate after that."""
SHOWN = ("rate_hz", "received", "mbit_per_s", "decodes", "grabbed", "missed", "full_rate_after_s")
"""The figures a case prints per topic."""
STOCK_UNSET = (*PROFILE_VARIABLES, "FASTDDS_BUILTIN_TRANSPORTS", RANGE_VARIABLE, LOCALHOST_ONLY_VARIABLE)
"""What tools/isolated sets and a stock ROS install on the other machine does not have."""


def python_path() -> str:
    """This clone first, then the PYTHONPATH there is (a ROS install's, e.g. Humble's rclpy, comes that way)."""
    return os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH", ""))))


def _arranged(base: dict[str, str], profile: str, discovery_range: str) -> dict[str, str]:
    """`base` with `profile` and `discovery_range`, each named as this distro reads it (Humble differs)."""
    return with_discovery_range(with_profile(base, profile), discovery_range)


def environments() -> dict[str, dict[str, str]]:
    """Per role: the camera node (host-only), local subscribers on A, and everything facing the network."""
    base = dict(os.environ, PYTHONPATH=python_path(), PYTHONUNBUFFERED="1")
    large_data = str(CONFIG / "fastdds_large_data.xml")
    return {
        "node": _arranged(base, str(CONFIG / "fastdds_host_only.xml"), "LOCALHOST"),
        "local": _arranged(base, large_data, "LOCALHOST"),
        "network": _arranged(base, versioned_profile(str(CONFIG / "fastdds_multi_host.xml")), "SUBNET"),
        # a stock ROS install on the other machine: no profile file, no transport settings, the default range
        "stock": {key: value for key, value in base.items() if key not in STOCK_UNSET},
        # a remote bridge started by hand with the profile camera_node gives its child (remote.transport udp)
        "remote_udp": _arranged(base, versioned_profile(str(CONFIG / "fastdds_remote_udp.xml")), "SUBNET"),
        # the package's single-host profile with discovery on the subnet: what a node with a remote bridge would be
        # if it did not keep its own topics on its host (host_isolation.py's restart is marked as done)
        "visible": {**_arranged(base, large_data, "SUBNET"), RESTARTED_ENV: "1"},
    }


def cyclone_environment(hosts: TwoHosts) -> dict[str, str]:
    """A Cyclone DDS reader's environment on host B: its participant on B's end of the link only, stock otherwise."""
    from benchmarks.cyclone_reader import cyclone_config

    base = {key: value for key, value in os.environ.items() if key not in STOCK_UNSET}
    return dict(base, PYTHONPATH=python_path(), PYTHONUNBUFFERED="1", CYCLONEDDS_URI=cyclone_config(hosts.link_b))


def ros_args(params: dict[str, object]) -> list[str]:
    args = []
    for key, value in params.items():
        args += ["-p", f"{key}:={str(value).lower() if isinstance(value, bool) else value}"]
    return args


def start_camera(
    host: Host,
    env: dict[str, str],
    width: int,
    height: int,
    realistic: bool,
    log: Any,
    remote_raw: bool = True,
    rgb_only: bool = False,
    transport: str = "udp",
    extra: dict[str, str] | None = None,
) -> None:
    """camera_node on host A with its remote bridge (raw remote topics allowed, for the raw cases).

    `transport` is remote.transport: udp (the default, for stock subscribers) or large_data (Fast DDS's TCP mode,
    the opt-in for raw streams; host B's probe then needs the multi-host profile: environment "network").
    """
    params: dict[str, object] = {
        "width": width,
        "height": height,
        "fps": 30.0,
        "points.enable": not rgb_only,
        "points.max_rate": 10.0,
        "depth.enable": not rgb_only,
        "remote.points.enable": not rgb_only,
        "remote.depth.enable": not rgb_only,
        "remote.enable": True,
        "remote.rgb.raw": remote_raw,
        "remote.depth.raw": remote_raw,
        "remote.transport": transport,
        "diagnostics_period": 1.0,
    }
    if realistic:
        params["synthetic.depth_model"] = "realistic"
    params.update(extra or {})
    command = [str(BIN / "camera_node"), "--ros-args", "-r", f"__node:={CAMERA}", *ros_args(params)]
    host.popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def start_png_bridge(host: Host, env: dict[str, str], log: Any) -> None:
    """A second remote bridge, started by hand as a user would: compressedDepth as PNG only."""
    params: dict[str, object] = {
        "namespace": CAMERA,
        "camera_name": CAMERA,
        "remote.rgb.enable": False,
        "remote.points.enable": False,
        "remote.depth.format": "png",
    }
    command = [str(BIN / "remote_bridge_node"), "--ros-args", "-r", f"__ns:=/{CAMERA}", "-r", "__node:=remote_png"]
    host.popen(command + ros_args(params), env=env, stdout=log, stderr=subprocess.STDOUT)


def probe(
    host: Host,
    env: dict[str, str],
    seconds: float,
    topics: list[str],
    native: bool = False,
    warmup: float = 1.0,
    connect_timeout: float = 15.0,
    cyclone: bool = False,
    timeline: bool = False,
    best_effort: bool = False,
    depth: int = 1,
) -> subprocess.Popen[bytes]:
    """A probe process (benchmarks/remote_probe.py) in `host`; `collect()` reads its report (`timeline`: with every
    arrival and status, timed; `best_effort`: a best-effort subscriber, else reliable; `depth`: its history depth).

    cyclone: a Cyclone DDS reader (benchmarks/cyclone_reader.py) instead of rclpy; `env` must then pin it to
    the host's interface (CYCLONEDDS_URI, `cyclone_environment`).
    """
    mode = ["native", "--namespace", CAMERA] if native else ["cyclone" if cyclone else "ros", *topics]
    timing = ["--seconds", str(seconds), "--warmup", str(warmup), "--connect-timeout", str(connect_timeout)]
    timing += ["--timeline"] if timeline else []
    timing += ["--best-effort"] if best_effort else []
    timing += ["--depth", str(depth)] if depth != 1 else []
    return host.popen(
        [sys.executable, "-m", "benchmarks.remote_probe", *mode, *timing], env=env, stdout=subprocess.PIPE
    )


def collect(process: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate(timeout=10)
        return {"error": "probe timed out"}
    lines = out.decode().strip().splitlines()
    return json.loads(lines[-1]) if lines else {"error": f"probe exited with {process.returncode}, no report"}


class Run:
    """The cases, run in order on one topology."""

    def __init__(self, hosts: TwoHosts, seconds: float, long_seconds: float, realistic: bool, log: Any) -> None:
        self.hosts = hosts
        self.log = log
        self.seconds = seconds
        self.long_seconds = long_seconds
        self.realistic = realistic
        self.env = environments()
        self.cases: dict[str, Any] = {}
        self.first_subscriber: dict[str, float | None] = {}  # full_rate_after_s of each camera start's first stream
        self.only = ""  # run only the cases whose name contains this (debugging)
        self.extra: dict[str, str] = {}  # camera_node parameters over the defaults (experiments)
        self.baseline: dict[str, Any] = {}
        self.link_mbit = 1000.0  # the link's rate now (the slow-link cases shape it anew)

    def measure(
        self, b_topics: list[str], with_host_a: bool, seconds: float | None = None, b_env: str = "network"
    ) -> dict[str, Any]:
        """B's probe (b_env "cyclone": a Cyclone DDS reader), with A's local subscriber and native receiver."""
        seconds = seconds or self.seconds
        hosts, env = self.hosts, self.env
        assert hosts.b is not None
        # Host B subscribing to the camera node's own topics is expected to get nothing: do not wait long.
        remote = any(topic.startswith(f"/{CAMERA}/remote") for topic in b_topics) or b_env != "network"
        connect = 15.0 if remote else 3.0
        cyclone = b_env == "cyclone"
        b_environment = cyclone_environment(self.hosts) if cyclone else env[b_env]
        started: list[tuple[str, subprocess.Popen[bytes]]] = []
        if b_topics:
            b = probe(
                hosts.b,
                b_environment,
                seconds,
                b_topics,
                warmup=CASE_WARMUP_S,
                connect_timeout=connect,
                cyclone=cyclone,
            )
            started.append(("b", b))
        if with_host_a:
            local = [f"/{CAMERA}/rgb/image_raw", f"/{CAMERA}/rgb/image_raw/compressed"]
            started.append(("a_local", probe(hosts.a, env["local"], seconds, local)))
            started.append(("a_native", probe(hosts.a, env["local"], seconds, [], native=True)))
        link_before, time_before = hosts.link_bytes(), time.monotonic()
        results = {name: collect(process, seconds + 60) for name, process in started}
        results["link_mbit_per_s"] = round(
            (hosts.link_bytes() - link_before) * 8e-6 / (time.monotonic() - time_before), 1
        )
        return results

    def warm_up(self, camera: str, topic: str, b_env: str = "network") -> None:
        """The first subscriber of a camera just started: discovery, first frames, and how long until its full rate.

        `camera`: which camera set-up, the key of its figure.
        """
        result = self.measure([topic], with_host_a=False, seconds=2.0, b_env=b_env)
        after = (result.get("b") or {}).get(topic, {}).get("full_rate_after_s")
        self.first_subscriber[f"{camera}: {topic}"] = after
        print(f"\n{camera}, first subscriber of {topic}: full rate after {after} s", flush=True)

    def case(
        self,
        name: str,
        b_topics: list[str],
        checks: list[tuple[str, str, str, float]],
        with_host_a: bool = False,
        seconds: float | None = None,
        b_env: str = "network",
    ) -> None:
        """Measures a case; each check is (probe, topic or "", figure, bound): rate_hz >=, p50 <=, ..."""
        if self.only and self.only not in name:
            return
        result = self.measure(b_topics, with_host_a, seconds, b_env)
        verdicts = []
        for who, topic, figure, bound in checks:
            value = self.figure(result, who, topic, figure)
            ok = value is not None and (
                value <= bound if figure.endswith("ms") or figure == "missed" else value >= bound
            )
            verdicts.append(
                {"probe": who, "topic": topic, "figure": figure, "value": value, "bound": bound, "pass": ok}
            )
        result["checks"] = verdicts
        result["pass"] = all(v["pass"] for v in verdicts)
        self.cases[name] = result
        print(
            f"\n[{'PASS' if result['pass'] else 'FAIL'}] {name}  (link {result['link_mbit_per_s']} Mbit/s)", flush=True
        )
        for who in ("b", "a_local", "a_native"):
            for topic, stats in (result.get(who) or {}).items():
                if isinstance(stats, dict):
                    shown = {k: stats.get(k) for k in SHOWN}
                    p50 = (stats.get("latency_ms") or {}).get("p50")
                    figures = json.dumps({k: v for k, v in shown.items() if v is not None})
                    print(f"    {who:8s} {topic:48s} {figures} p50 {p50} ms")
        for verdict in verdicts:
            mark = "ok  " if verdict["pass"] else "FAIL"
            print(
                f"    {mark} {verdict['probe']} {verdict['topic']} {verdict['figure']} "
                f"= {verdict['value']} (bound {verdict['bound']})"
            )

    def figure(self, result: dict[str, Any], who: str, topic: str, figure: str) -> float | None:
        stats = (result.get(who) or {}).get(topic or "native") or {}
        if figure in ("p99_ms", "paused_or_p99_ms", "latency_change_ms", "link_use"):  # the slow-link cases'
            return slow_link_figure(result, topic, figure, self.link_mbit)
        if figure == "p50_ms":
            return (stats.get("latency_ms") or {}).get("p50")
        if figure == "rate_ratio":  # of A's baseline
            base = self.figure(self.baseline, who, topic, "rate_hz")
            rate = stats.get("rate_hz")
            return round(rate / base, 3) if rate is not None and base else None
        if figure == "latency_growth_ms":
            first, last = stats.get("p50_first_third_ms"), stats.get("p50_last_third_ms")
            return round(last - first, 1) if first is not None and last is not None else None
        value = stats.get(figure)
        return float(value) if value is not None else None

    def run_720p(self) -> None:
        """The compressed streams to a stock host B (remote.transport udp), then the raw ones (large_data)."""
        a, env = self.hosts.a, self.env
        start_camera(a, env["node"], 1280, 720, self.realistic, self.log, remote_raw=False, extra=self.extra)
        start_png_bridge(a, env["remote_udp"], self.log)
        rgb, depth = f"{REMOTE}/rgb/image_raw/compressed", f"{REMOTE}/depth/image_raw/compressedDepth"
        png, points = f"/{CAMERA}/remote_png/depth/image_raw/compressedDepth", f"{REMOTE}/points"
        self.warm_up("720p", rgb, b_env="stock")
        self.baseline = self.measure([], with_host_a=True)
        self.cases["host_a_alone"] = self.baseline
        print(
            f"\nhost A alone: {json.dumps({k: v for k, v in self.baseline.items() if k != 'link_mbit_per_s'})[:400]}"
        )
        stock = "stock"  # host B: a stock ROS install (no profile file), the remote topics over plain UDP
        self.case(
            "remote compressed rgb",
            [rgb, f"{REMOTE}/rgb/camera_info"],
            [("b", rgb, "rate_hz", 29.0), ("b", rgb, "p50_ms", 30.0)],
            b_env=stock,
        )
        self.case(
            "remote compressedDepth rvl",
            [depth],
            [("b", depth, "rate_hz", 29.0), ("b", depth, "decodes", 1.0)],
            b_env=stock,
        )
        self.case(
            "remote compressedDepth png",
            [png],
            [("b", png, "rate_hz", 10.0), ("b", png, "decodes", 1.0)],
            b_env=stock,
        )
        self.case("remote decimated points", [points], [("b", points, "rate_hz", 9.5)], b_env=stock)
        self.case(
            "remote all at once",
            [rgb, depth, points],
            [("b", rgb, "rate_hz", 29.0), ("b", depth, "rate_hz", 29.0), ("b", points, "rate_hz", 9.5)],
            b_env=stock,
        )
        self.case(
            "Cyclone DDS reader: remote compressed rgb and compressedDepth",
            [rgb, depth],
            [("b", rgb, "rate_hz", 29.0), ("b", depth, "rate_hz", 29.0)]
            + [("b", rgb, "decodes", 1.0), ("b", depth, "decodes", 1.0)],
            b_env="cyclone",
        )
        self.hosts.a.stop_processes()
        if self.only and "raw" not in self.only:
            return
        # The raw remote topics need the TCP opt-in (remote.transport large_data) and a host B speaking it.
        start_camera(a, env["node"], 1280, 720, self.realistic, self.log, transport="large_data", extra=self.extra)
        self.warm_up("720p, raw topics over TCP", f"{REMOTE}/rgb/image_raw")
        self.case(
            "remote raw rgb 720p",
            [f"{REMOTE}/rgb/image_raw"],
            [("b", f"{REMOTE}/rgb/image_raw", "rate_hz", 29.0), ("b", f"{REMOTE}/rgb/image_raw", "p50_ms", 60.0)],
        )
        host_a_checks = [
            ("a_local", f"/{CAMERA}/rgb/image_raw", "rate_ratio", 0.95),
            ("a_local", f"/{CAMERA}/rgb/image_raw/compressed", "rate_ratio", 0.95),
            ("a_native", "", "missed", 0.0),
        ]
        self.case(
            "B saturates the link via remote raw topics",
            [f"{REMOTE}/rgb/image_raw", f"{REMOTE}/depth/image_raw"],
            host_a_checks,
            with_host_a=True,
        )
        self.case(
            "B subscribes to the local raw topics",
            [f"/{CAMERA}/rgb/image_raw", f"/{CAMERA}/depth/image_raw"],
            host_a_checks,
            with_host_a=True,
        )
        self.hosts.a.stop_processes()  # the camera and both bridges; the topology stays

    def run_1080p(self) -> None:
        a, env = self.hosts.a, self.env
        start_camera(
            a, env["node"], 1920, 1080, False, self.log, rgb_only=True, transport="large_data", extra=self.extra
        )
        raw = f"{REMOTE}/rgb/image_raw"
        self.warm_up("1080p rgb, raw topics over TCP", raw)
        self.baseline = self.measure([], with_host_a=True)
        self.cases["host_a_alone_1080p"] = self.baseline
        self.case(
            "remote raw rgb 1080p (cannot fit)",
            [raw],
            [("b", raw, "rate_hz", 1.0), ("b", raw, "latency_growth_ms", 100.0)]
            + [
                ("a_local", f"/{CAMERA}/rgb/image_raw", "rate_ratio", 0.95),
                ("a_local", f"/{CAMERA}/rgb/image_raw/compressed", "rate_ratio", 0.95),
                ("a_native", "", "missed", 0.0),
            ],
            with_host_a=True,
            seconds=self.long_seconds,
        )
        if "remote raw rgb 1080p (cannot fit)" in self.cases:
            growth = self.figure(self.cases["remote raw rgb 1080p (cannot fit)"], "b", raw, "latency_growth_ms")
            print(f"    latency growth over the run (p50 last third - first third): {growth} ms (target: none)")
        self.hosts.a.stop_processes()

    def run_visible(self) -> None:
        """For comparison, not a target: the camera node visible off-host, as without remote:=true.

        Its participant runs under the large-data profile with discovery on the subnet, so host B's
        subscriber of the raw topics shares their writers with host A's local subscriber.
        """
        a, env = self.hosts.a, self.env
        start_camera(a, env["visible"], 1280, 720, self.realistic, self.log, extra=self.extra)
        local = [f"/{CAMERA}/rgb/image_raw", f"/{CAMERA}/depth/image_raw"]
        self.warm_up("720p, node visible off-host", f"{REMOTE}/rgb/image_raw/compressed", b_env="stock")
        self.baseline = self.measure([], with_host_a=True)
        self.cases["host_a_alone_visible"] = self.baseline
        self.case(
            "for comparison: camera node visible off-host, B subscribes to its raw topics",
            local,
            [],  # no target: it shows what host B gets, and what that costs host A's subscriber
            with_host_a=True,
            b_env="visible",
        )
        self.hosts.a.stop_processes()


def markdown_table(cases: dict[str, Any]) -> str:
    """The cases as a README table: host B's topics (rate, p50, Mbit/s), host A's rates and native misses."""
    lines = [
        "| case | host B: topic, rate, p50, Mbit/s | host A: local rgb Hz, native missed | verdict |",
        "|---|---|---|---|",
    ]
    for name, case in cases.items():
        if "checks" not in case:
            continue
        b = "; ".join(
            f"`{topic.replace(f'/{CAMERA}/', '')}` {stats['rate_hz']} Hz, "
            f"{(stats.get('latency_ms') or {}).get('p50', float('nan')):.0f} ms, {stats['mbit_per_s']}"
            for topic, stats in (case.get("b") or {}).items()
            if isinstance(stats, dict) and "rate_hz" in stats and not topic.endswith("camera_info")
        )
        local = (case.get("a_local") or {}).get(f"/{CAMERA}/rgb/image_raw") or {}
        native = (case.get("a_native") or {}).get("native") or {}
        a = f"{local.get('rate_hz', '')} Hz, {native.get('missed', '')} missed" if local else ""
        verdict = "PASS" if case["pass"] else "FAIL"
        lines.append(f"| {name} | {b} | {a} | {verdict if case['checks'] else 'no target'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 s cases, an 8 s 1080p run")
    parser.add_argument("--output", default="", help="default: benchmarks/results-remote[-quick].json")
    parser.add_argument("--no-realistic-depth", action="store_true")
    parser.add_argument(
        "--only", default="", help="run only the cases whose name contains this text (and only their camera set-up)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME:=VALUE",
        help="a camera_node parameter over the benchmark's (repeatable), e.g. --set remote.rgb.qos_depth:=2",
    )
    args = parser.parse_args(argv)
    reason = missing_requirements()
    if reason is not None:
        print(f"bench-remote: cannot build two hosts: {reason}", file=sys.stderr)
        return 2
    seconds, long_seconds = (3.0, 8.0) if args.quick else (8.0, 60.0)
    output = args.output or str(ROOT / "benchmarks" / f"results-remote{'-quick' if args.quick else ''}.json")
    started = time.time()
    hosts = None
    code = 1
    with terminate_as_interrupt(), contextlib.ExitStack() as stack:
        try:
            hosts = TwoHosts()
            LOG.parent.mkdir(parents=True, exist_ok=True)
            log = stack.enter_context(LOG.open("wb"))
            print(f"bench-remote: node output in {LOG}", flush=True)
            run = Run(hosts, seconds, long_seconds, not args.no_realistic_depth, log)
            run.only = args.only
            run.extra = dict(item.split(":=", 1) for item in args.set)
            if not args.only or all(word not in args.only for word in ("1080p", "visible", "mbit")):
                run.run_720p()
            if not args.only or "1080p" in args.only:
                run.run_1080p()
            if not args.only or "visible" in args.only:
                run.run_visible()
            if not args.only or "mbit" in args.only:
                run_slow_links(run, REMOTE, CAMERA, start_camera, args.quick)
            changing: dict[str, Any] = {}
            if not args.only or "changing" in args.only:
                hosts.close()  # the changing-link runs build hosts of their own, with the same link names
                from benchmarks import changing_link

                for name, loss in (("no loss", 0.0), ("1 % loss", 0.01)):
                    changing[name] = changing_link.run(loss=loss, quick=args.quick, extra=run.extra)
                    changing_link.print_report(changing[name])
                # measured, no target: the slow link's queue at a switch's port (an access point's), not host A's
                switched = changing_link.run(quick=args.quick, extra=run.extra, checks=False, switched=True)
                changing["no loss, behind a switch"] = switched
                changing_link.print_report(switched)
            several: dict[str, Any] = {}
            if not args.only or "several" in args.only:
                hosts.close()
                from benchmarks import several_subscribers

                several = several_subscribers.run(args.quick)
                several_subscribers.print_report(several)
            passed = all(case.get("pass", True) for case in [*run.cases.values(), *changing.values()])
            report = {
                "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
                "load_average_at_start": os.getloadavg(),
                "quick": args.quick,
                "link": "veth pair, tc tbf rate 1gbit burst 512kb latency 50ms; two network + mount namespaces",
                "camera": "synthetic 720p RGB-D @30 fps" + (", realistic depth" if run.realistic else ""),
                "seconds_per_case": seconds,
                "parameters_set": run.extra,
                "cases": run.cases,
                "first_subscriber_full_rate_after_s": run.first_subscriber,
                "changing_link": changing,
                "several_subscribers": several,
                "pass": passed,
                "duration_s": round(time.time() - started, 1),
            }
            Path(output).write_text(json.dumps(report, indent=1) + "\n")
            cases = [*run.cases.values(), *changing.values()]
            print(
                f"\n{'PASS' if passed else 'FAIL'}: {sum(c.get('pass', True) for c in cases)}/"
                f"{len(cases)} cases; report in {output} ({report['duration_s']} s)"
            )
            print("\n" + markdown_table(run.cases))
            from benchmarks.figures import write_figures  # matplotlib: only where figures are drawn

            print(f"figure: {write_figures(output)} (rate of each remote stream at each link rate)")
            code = 0 if passed else 1
        finally:
            if hosts is not None:
                hosts.close()
                if not namespaces_gone(hosts):
                    print("bench-remote: a namespace or the veth pair outlived the run", file=sys.stderr)
                    code = 1
    return code


if __name__ == "__main__":
    sys.exit(main())
