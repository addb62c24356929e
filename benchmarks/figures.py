"""Pictures of the benchmark reports (PNG, matplotlib): the latency CDF of every path of a `make bench` run, the rate
each default remote stream gets at each link rate of a `make bench-remote` run, the timeline of a changing-link run
(benchmarks/changing_link.py: each stream's rate, the link's rate and the bridge's estimate of it, the latency), and
the demo's picture of one frame.

Redraw from a committed report (the PNG is written beside it, its name from the report's: `results-latency.png`,
`results-remote-rates.png` and, for the changing-link runs a remote report holds, `results-remote-changing.png`
and `results-remote-changing-loss.png`; a `results-remote-changing*.json` -> `results-remote-changing*.png`):
    .venv/bin/python -m benchmarks.figures benchmarks/results.json benchmarks/results-remote.json
`benchmarks.run` and `benchmarks.remote` call `write_figures` themselves at the end of a run.

The plotting is generic over what a report holds, so that a new benchmark row appears without a change here:
- a latency path is any dict in `sections` with `latency_p50_ms` (a phase of several receivers; its
  `latency_cdf_ms`, when there, is their pooled distribution), or any `latency*_ms` dict with `p50`
  (`benchmarks.stats.percentiles`: `cdf_ms` holds the value at every percent). Reports written before the
  distributions were stored have p50, p99 and max only: those paths are drawn as three marked points.
- a remote stream is a topic host B received in a case; the case's link rate is read from its `link_rate`
  or `link` entry, else from its name ("... 100mbit", "20 Mbit/s"), else from the report's `link` text. The
  rates figure shows the default remote streams (rgb, depth, points: by their topics' endings) and host A's own
  rgb, per link rate from the case with the most of them (`default_streams_by_link`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

CDF_LEVELS = np.linspace(0.0, 1.0, 101)  # the levels of a stored `cdf_ms` (benchmarks.stats.CDF_PERCENTS / 100)
CAMERA_HZ = 30.0  # every benchmark camera runs at 30 fps


@dataclass
class LatencyCurve:
    """One path's capture-to-consumer latency: its whole distribution, or only the quantiles a report kept."""

    label: str
    cdf_ms: list[float] | None
    points: list[tuple[float, float]]  # (ms, fraction) pairs: p50, p99, max when `cdf_ms` is missing


def latency_curves(sections: Mapping[str, Any], prefix: str = "") -> Iterator[LatencyCurve]:
    """Every latency path in a benchmark report's `sections`, labelled by where it sits ("native / rgbd_1")."""
    for name, node in sections.items():
        if not isinstance(node, dict):
            continue
        label = f"{prefix} / {name}" if prefix else name
        if "latency_p50_ms" in node:  # a phase: its receivers pooled (do not also draw each receiver)
            points = [(node["latency_p50_ms"], 0.5), (node.get("latency_p99_ms"), 0.99)]
            yield _curve(label, node.get("latency_cdf_ms"), points)
            continue
        if "p50" in node and name.startswith("latency") and name.endswith("_ms"):
            what = name[len("latency") : -len("_ms")].strip("_").replace("_", " ")
            points = [(node["p50"], 0.5), (node.get("p99"), 0.99), (node.get("max"), 1.0)]
            yield _curve(f"{prefix} ({what})" if what else prefix, node.get("cdf_ms"), points)
            continue
        yield from latency_curves(node, label)


def _curve(label: str, cdf: Any, points: list[tuple[Any, float]]) -> LatencyCurve:
    valid = [(float(ms), level) for ms, level in points if isinstance(ms, (int, float)) and np.isfinite(ms)]
    return LatencyCurve(label, list(cdf) if cdf else None, valid)


def draw_cdf(axes: Axes, curves: Sequence[LatencyCurve], title: str) -> None:
    """Latency CDFs on a log time axis; paths with only p50/p99/max as marked points joined by a dotted line."""
    colours = [matplotlib.colormaps["tab20"](i % 20) for i in range(len(curves))]
    for curve, colour in zip(curves, colours, strict=True):
        if curve.cdf_ms:
            axes.step(np.maximum(curve.cdf_ms, 1e-3), CDF_LEVELS, where="post", color=colour, label=curve.label)
        elif curve.points:
            ms, levels = zip(*curve.points, strict=True)
            axes.plot(ms, levels, ":o", color=colour, markersize=4, label=f"{curve.label} (quantiles only)")
    axes.set_xscale("log")
    axes.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda ms, _: f"{ms:g}"))
    axes.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # 2x10^0, 3x10^0 ... overlapped
    axes.set_xlabel("capture -> consumer latency (ms, log scale)")
    axes.set_ylabel("fraction of frames")
    axes.set_ylim(0, 1.02)
    axes.grid(True, which="both", alpha=0.3)
    axes.set_title(title, fontsize=10)
    if curves:
        axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def benchmark_figure(report: Mapping[str, Any], path: Path) -> Path:
    """The latency CDF of every path of one `make bench` run."""
    curves = [curve for curve in latency_curves(report.get("sections", {})) if curve.cdf_ms or curve.points]
    run, host = report.get("run", {}), report.get("machine", {})
    figure = Figure(figsize=(12, 6), dpi=100, layout="constrained")
    title = (
        f"make bench{' --quick' if run.get('quick') else ''}, {run.get('date_utc', '?')}: synthetic 1080p RGB-D"
        f" @ 30 fps; {host.get('cores', '?')} cores, load {host.get('load_average_at_start', '?')} at start"
    )
    draw_cdf(figure.add_subplot(), curves, title)
    figure.savefig(path)
    return path


def link_rate_mbit(case_name: str, case: Mapping[str, Any], default: str) -> float | None:
    """A case's link rate in Mbit/s: its own `link_rate`/`link` entry, else its name, else the report's `link`."""
    for text in (case.get("link_rate"), case.get("link"), case_name, default):
        if isinstance(text, (int, float)):
            return float(text)
        match = re.search(r"(\d+(?:\.\d+)?)\s*([mg])\s*bit", str(text or ""), re.IGNORECASE)
        if match:
            return float(match.group(1)) * (1000.0 if match.group(2).lower() == "g" else 1.0)
    return None


def remote_rates(report: Mapping[str, Any]) -> dict[str, dict[float, float]]:
    """Per remote stream ("topic, case" without the link rate), the rate host B got at each link rate."""
    rates: dict[str, dict[float, float]] = {}
    for name, case in report.get("cases", {}).items():
        received = case.get("b") if isinstance(case, dict) else None
        if not isinstance(received, dict):
            continue
        link = link_rate_mbit(name, case, str(report.get("link", "")))
        case_label = re.sub(r"[\s,@(]*\d+(?:\.\d+)?\s*[mg]\s*bit(?:/s)?\)?", "", name, flags=re.IGNORECASE).strip()
        for topic, stats in received.items():
            if isinstance(stats, dict) and "rate_hz" in stats and "camera_info" not in topic and link is not None:
                rates.setdefault(f"{topic}\n({case_label})", {})[link] = float(stats["rate_hz"])
    return rates


LOCAL_RGB = "host A local rgb"
STREAM_COLOURS = {"rgb": "tab:blue", "depth": "tab:orange", "points": "tab:green", LOCAL_RGB: "dimgrey"}
REMOTE_ENDINGS = (("rgb", "/rgb/image_raw/compressed"), ("depth", "/depth/image_raw/compressedDepth"))
REMOTE_ENDINGS += (("points", "/points"),)


def stream_of(probe: str, topic: str) -> str | None:
    """A benchmark topic's short name: host B's default remote streams (rgb, depth, points), host A's raw rgb."""
    if probe == "b" and "/remote/" in topic:
        return next((name for name, ending in REMOTE_ENDINGS if topic.endswith(ending)), None)
    if probe == "a_local" and topic.endswith("/rgb/image_raw"):
        return LOCAL_RGB
    return None


def link_label(mbit: float) -> str:
    return f"{mbit / 1000:g} Gbit/s" if mbit >= 1000 else f"{mbit:g} Mbit/s"


@dataclass
class LinkStreams:
    """What each default stream got at one link rate: from the case with the most remote streams at that rate."""

    mbit: float
    case: str
    streams: dict[str, Mapping[str, Any]]  # short name -> the probe's figures (rate_hz, mbit_per_s ...)
    local_from: str | None = None  # the case host A's rgb is from when `case` did not record it


def _case_streams(case: Mapping[str, Any], probe: str) -> dict[str, Mapping[str, Any]]:
    topics = case.get(probe)
    if not isinstance(topics, dict):
        return {}
    found = {stream_of(probe, topic): stats for topic, stats in topics.items() if isinstance(stats, dict)}
    return {name: stats for name, stats in found.items() if name is not None and "rate_hz" in stats}


def default_streams_by_link(report: Mapping[str, Any]) -> list[LinkStreams]:
    """Per link rate (fastest first), the default remote streams host B got and host A's own rgb meanwhile.

    A link rate's case is the one with the most of rgb, depth and points (the first of equals). When it did not
    record host A's rgb, that is the slowest host A got in a case of the same link rate with remote topics flowing.
    """
    chosen: dict[float, LinkStreams] = {}
    local: dict[float, list[tuple[float, str, Mapping[str, Any]]]] = {}
    for name, case in report.get("cases", {}).items():
        if not isinstance(case, dict):
            continue
        mbit = link_rate_mbit(name, case, str(report.get("link", "")))
        remote, own = _case_streams(case, "b"), _case_streams(case, "a_local")
        remote_topics = isinstance(case.get("b"), dict) and any("/remote/" in topic for topic in case["b"])
        if mbit is None or not remote_topics:
            continue
        if LOCAL_RGB in own:
            local.setdefault(mbit, []).append((float(own[LOCAL_RGB]["rate_hz"]), name, own[LOCAL_RGB]))
        if remote and (mbit not in chosen or len(remote) > len(chosen[mbit].streams)):
            chosen[mbit] = LinkStreams(mbit, name, {**remote, **own})
    for mbit, streams in chosen.items():
        if LOCAL_RGB not in streams.streams and local.get(mbit):
            _, name, stats = min(local[mbit], key=lambda entry: entry[0])
            streams.streams[LOCAL_RGB], streams.local_from = stats, name
    return [chosen[mbit] for mbit in sorted(chosen, reverse=True)]


def _case_caption(name: str) -> str:
    """A case's name without its link rate ("100mbit: default remote streams, ..." -> "default remote streams, ..")."""
    caption = re.sub(r"\b\d+(?:\.\d+)?\s*[mg]\s*bit(?:/s)?", "", name, flags=re.IGNORECASE)
    return textwrap.fill(caption.strip(" :,-()"), 34)


def remote_figure(report: Mapping[str, Any], path: Path) -> Path:
    """Grouped bars: per link rate, the rate host B received of rgb, depth and points, and host A's own rgb."""
    links = default_streams_by_link(report)
    names = [name for name in STREAM_COLOURS if any(name in link.streams for link in links)]
    figure = Figure(figsize=(13, 6.5), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    width = 0.8 / max(1, len(names))
    for index, name in enumerate(names):
        positions = np.arange(len(links)) + (index - (len(names) - 1) / 2) * width
        stats = [link.streams.get(name) for link in links]
        values = [float(entry["rate_hz"]) if entry else np.nan for entry in stats]
        label = f"{name} (B's subscriber)" if name != LOCAL_RGB else "host A's own rgb subscriber (raw, local)"
        bars = axes.bar(positions, values, width * 0.92, color=STREAM_COLOURS[name], label=label)
        texts = []
        for entry, value in zip(stats, values, strict=True):
            if entry is None:
                texts.append("")
                continue
            mbit = entry.get("mbit_per_s")
            carried = f"\n{mbit:.3g} Mbit/s" if name != LOCAL_RGB and isinstance(mbit, (int, float)) else ""
            texts.append(f"{_hz(value)} Hz{carried}")
        for text in axes.bar_label(bars, texts, fontsize=8, padding=4):
            text.set_bbox({"facecolor": "white", "edgecolor": "none", "pad": 2.0})  # over the 30 fps line
        for position, value in zip(positions, values, strict=True):
            if np.isnan(value):
                axes.text(position, 0.5, "not\nrun", ha="center", va="bottom", fontsize=7, color="grey")
    axes.axhline(CAMERA_HZ, color="black", linestyle="--", linewidth=1, zorder=0.5, label="the camera's 30 fps")
    axes.set_xticks(range(len(links)), [f"link {link_label(link.mbit)}\n{_case_caption(link.case)}" for link in links])
    axes.set_ylabel("messages received per second (Hz)")
    axes.set_ylim(0, CAMERA_HZ * 1.25)
    axes.set_xlim(-0.5, len(links) - 0.5)
    axes.grid(True, axis="y", alpha=0.3)
    axes.legend(fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(names) + 1, frameon=False)
    title = f"make bench-remote{' --quick' if report.get('quick') else ''}: what host B receives of each default"
    figure.suptitle(f"{title} remote stream on each link ({report.get('camera', '?')})", fontsize=11)
    notes = [
        f"host A's rgb at {link_label(link.mbit)}: from case '{link.local_from}'" for link in links if link.local_from
    ]
    if notes:
        axes.text(0.0, -0.16, "; ".join(notes), transform=axes.transAxes, fontsize=8, color="dimgrey", va="top")
    figure.savefig(path)
    return path


def _hz(value: float) -> str:
    return "0" if value == 0 else f"{value:.1f}" if value >= 1 else f"{value:.2g}"


def _per_second(
    samples: Sequence[Sequence[float]], start: float, bins: int, last: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Messages, bytes, p50 and max latency of each 1 s bin from `start`; NaN in bins ending after `last`."""
    times = np.array([sample[0] - start for sample in samples], dtype=float)
    latency = np.array([sample[1] for sample in samples], dtype=float)
    size = np.array([sample[2] if len(sample) > 2 else 0 for sample in samples], dtype=float)
    index = np.floor(times).astype(int)
    inside = (index >= 0) & (index < bins)
    counts = np.bincount(index[inside], minlength=bins).astype(float)
    payload = np.bincount(index[inside], weights=size[inside], minlength=bins)
    p50, peak = np.full(bins, np.nan), np.full(bins, np.nan)
    for where in np.unique(index[inside]):
        in_bin = latency[index == where]
        p50[where], peak[where] = np.median(in_bin), in_bin.max()
    unseen = np.arange(1, bins + 1) > last  # after that probe stopped recording
    counts[unseen], payload[unseen] = np.nan, np.nan
    return counts, payload, p50, peak


def _form_label(text: str, what: str) -> str:
    """ "jpeg quality 60, scale 0.75 (chosen: ...)" -> "q60 ×0.75"; "0.5 (a frame ...)" -> "×0.5"."""
    form = text.split(" (", 1)[0].strip()
    if what == "depth scale":
        return f"×{form}"
    quality, scale = re.search(r"quality\s+(\d+)", form), re.search(r"scale\s+([\d.]+)", form)
    if quality is None and scale is None:
        return form
    label = f"q{quality.group(1)}" if quality else ""
    label = f"{label} ×{scale.group(1)}".strip() if scale and float(scale.group(1)) != 1.0 else label
    return label or form


def _mark_forms(
    axes: Axes, statuses: Sequence[Any], start: float, what: str, levels: tuple[float, float], per_px: float
) -> None:
    """A marker and a short label where the bridge's `what` ("rgb form", "depth scale") changed; a label that would
    run into the one before it goes on the second row (`per_px`: seconds per pixel of the time axis)."""
    colour = STREAM_COLOURS["rgb" if what.startswith("rgb") else "depth"]
    previous, free_from = None, [-np.inf, -np.inf]  # where each row's last label ends (s)
    times, heights = [], []
    for when, status in statuses:
        if not isinstance(status, dict) or what not in status:
            continue
        label = _form_label(str(status[what]), what)
        if label == previous:
            continue
        previous, at = label, float(when) - start
        row = 0 if at >= free_from[0] else 1 if at >= free_from[1] else int(np.argmin(free_from))
        free_from[row] = at + (12 + 5.5 * len(label)) * per_px  # the marker, the gap and 7 pt characters
        times.append(at)
        heights.append(levels[row])
        axes.annotate(
            label, (at, levels[row]), xytext=(4, 0), textcoords="offset points", fontsize=7, color=colour, va="center"
        )
    marker = "v" if what.startswith("rgb") else "^"
    axes.plot(
        times,
        heights,
        linestyle="none",
        marker=marker,
        markersize=5,
        color=colour,
        label=f"{what} changed ({'q: jpeg quality, ×: scale' if marker == 'v' else '×: scale'})",
    )


def changing_link_figure(result: Mapping[str, Any], path: Path) -> Path:
    """A changing-link run (benchmarks/changing_link.py) against time: each stream's rate, the link's rate with the
    bridge's estimate of it and what host B received, and the latency; a dashed line where the link's rate changed."""
    figure = Figure(figsize=(14, 10), dpi=100, layout="constrained")
    loss = float(result.get("loss") or 0.0)
    title = "changing link, nothing set" + (f", {loss * 100:g} % packet loss" if loss else ", no packet loss")
    title += ", behind a switch" if result.get("slow link behind") == "a switch" else ""
    times = result.get("phase_times") or []
    if "skipped" in result or not times:
        figure.suptitle(title)
        figure.text(0.5, 0.5, f"not run: {result.get('skipped', 'no phases in the report')}", ha="center")
        figure.savefig(path)
        return path
    start = float(times[0][0])
    begins = [float(entry[0]) - start for entry in times]
    ends = [float(entry[1]) - start for entry in times]
    schedule = list(result.get("schedule") or [])
    rates = [
        float(phase.get("mbit") or link_rate_mbit("", phase, str(phase.get("rate", ""))) or np.nan)
        for phase in schedule[: len(times)]
    ] + [np.nan] * (len(times) - len(schedule))
    streams: dict[str, list[Any]] = {}
    for topic, samples in (result.get("arrivals") or {}).items():
        name = stream_of("b" if "/remote/" in topic else "a_local", topic)
        if name is not None:
            streams.setdefault(name, []).extend(samples)
    remote = [name for name in ("rgb", "depth", "points") if name in streams]
    last = {name: max((s[0] for s in samples), default=start + ends[-1]) - start for name, samples in streams.items()}
    remote_last = max((last[name] for name in remote), default=ends[-1])
    horizon = max([ends[-1], *last.values()])
    bins = max(1, int(np.floor(horizon)))
    edges = np.arange(bins + 1, dtype=float)
    binned = {
        name: _per_second(samples, start, bins, remote_last if name in remote else last[name])
        for name, samples in streams.items()
    }
    rate_axes, link_axes, latency_axes = figure.subplots(3, 1, sharex=True, height_ratios=[1.0, 1.15, 1.0])

    for name in [*remote, LOCAL_RGB]:
        if name in binned:
            local = name == LOCAL_RGB
            label = "host A's own rgb subscriber (raw, local)" if local else f"{name} (host B)"
            rate_axes.stairs(
                binned[name][0],
                edges,
                color=STREAM_COLOURS[name],
                linewidth=1.0 if local else 2.0,
                zorder=3 if local else 2,  # host A's thin line stays visible where rgb runs at the same rate
                label=label,
                baseline=None,
            )
    rate_axes.axhline(CAMERA_HZ, color="silver", linewidth=4, zorder=1, label="the camera's 30 fps")
    rate_axes.set_ylim(-0.8, CAMERA_HZ * 1.2)  # a stream at 0 Hz shows above the axis
    rate_axes.set_ylabel("messages per second\n(Hz, 1 s bins)")

    phase_edges = [*begins, ends[-1]]
    link_axes.stairs(rates, phase_edges, color="black", linewidth=2.2, label="the link's rate (tc tbf)", baseline=None)
    link_axes.plot([ends[-1], horizon], [rates[-1]] * 2, color="black", linewidth=2.2, linestyle=":")
    if all(len(entry) > 2 for entry in times):
        settle = float(result.get("settle_s", 0.0))  # the bytes are counted from this long after each change
        wire = [float(entry[2]) * 8e-6 / max(1e-9, entry[1] - entry[0] - settle) for entry in times]
        link_axes.hlines(
            wire,
            begins,
            ends,
            color="purple",
            linestyle="--",
            linewidth=1.2,
            label="host A sent on the link (phase mean)",
        )
    statuses = [entry for entry in result.get("statuses") or [] if len(entry) == 2 and isinstance(entry[1], dict)]
    estimate = [(float(when) - start, _number(status.get("link estimate (Mbit/s)"))) for when, status in statuses]
    estimate = [(when, value) for when, value in estimate if value is not None]
    if estimate:
        link_axes.plot(
            *zip(*estimate, strict=True),
            drawstyle="steps-post",
            color="tab:red",
            marker=".",
            markersize=4,
            linewidth=1.3,
            label="the remote bridge's link estimate",
        )
    if remote:
        payload = np.sum([binned[name][1] for name in remote], axis=0) * 8e-6
        link_axes.stairs(
            np.where(payload > 0, payload, np.nan),
            edges,
            color="tab:cyan",
            linewidth=1.8,
            label="payload host B received (1 s bins)",
            baseline=None,
        )
    per_px = horizon / (0.72 * figure.get_figwidth() * figure.dpi)  # the axes take about 72 % of the width
    _mark_forms(link_axes, statuses, start, "rgb form", (0.5, 0.27), per_px)
    _mark_forms(link_axes, statuses, start, "depth scale", (0.115, 0.06), per_px)
    link_axes.set_yscale("log")
    link_axes.set_ylim(0.035, 3000)
    link_axes.set_yticks([1, 10, 100, 1000])
    link_axes.axhline(0.8, color="grey", linewidth=0.5)
    link_axes.set_ylabel("Mbit/s (log scale)")

    for name in ("rgb", "depth"):
        if name in binned:
            _, _, p50, peak = binned[name]
            latency_axes.stairs(
                p50, edges, color=STREAM_COLOURS[name], linewidth=1.8, label=f"{name} p50", baseline=None
            )
            latency_axes.stairs(
                peak, edges, color=STREAM_COLOURS[name], linewidth=1.0, alpha=0.35, label=f"{name} max", baseline=None
            )
    latency_axes.set_yscale("log")
    latency_axes.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    latency_axes.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    latency_axes.set_ylabel("capture -> host B latency\n(ms, log scale, 1 s bins)")
    latency_axes.set_xlabel("seconds since the link's first phase began")

    for axes in (rate_axes, link_axes, latency_axes):
        for at in phase_edges:
            axes.axvline(at, color="grey", linestyle="--", linewidth=1.0)
        axes.grid(True, which="major", alpha=0.3)
        axes.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}"))
        axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False)
    latency_axes.set_xlim(0, horizon)
    top = rate_axes.secondary_xaxis("top")
    top.set_xticks([(b + e) / 2 for b, e in zip(begins, ends, strict=True)], [link_label(r) for r in rates])
    top.tick_params(length=0, labelsize=10)
    checks = result.get("checks") or []
    passed = f"; checks {sum(bool(c.get('pass')) for c in checks)}/{len(checks)} pass" if checks else ""
    figure.suptitle(f"{title}: the link's rate changes at the dashed lines{passed}", fontsize=12)
    figure.savefig(path)
    return path


def _number(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def is_changing_link(report: Mapping[str, Any]) -> bool:
    """A changing-link run's report (benchmarks/changing_link.py), skipped or not."""
    return "phase_times" in report or ("schedule" in report and "cases" not in report)


def changing_link_paths(report_path: Path, report: Mapping[str, Any]) -> dict[str, Path]:
    """The figures of the changing-link runs a `make bench-remote` report holds (its "changing_link": name -> run),
    beside it: `results-remote.json` -> `results-remote-changing.png`, with loss `results-remote-changing-loss.png`
    (several lossy runs: their names added, "-loss-5-loss"), behind a switch `results-remote-changing-switch.png`."""
    runs = {name: run for name, run in (report.get("changing_link") or {}).items() if isinstance(run, dict)}
    runs = {name: run for name, run in runs.items() if "skipped" not in run}
    suffixes = {
        name: ("-switch" if run.get("slow link behind") == "a switch" else "")
        + ("-loss" if float(run.get("loss") or 0.0) > 0 else "")
        for name, run in runs.items()
    }
    paths = {}
    for name, suffix in suffixes.items():
        if list(suffixes.values()).count(suffix) > 1:
            suffix += "-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        paths[name] = report_path.with_name(f"{report_path.stem}-changing{suffix}.png")
    return paths


def figure_path(report_path: Path) -> Path:
    """Where a report's figure goes: beside it, `results.json` -> `results-latency.png`, remote -> `-rates.png`,
    a changing-link run's `results-remote-changing*.json` -> `results-remote-changing*.png`."""
    report = json.loads(report_path.read_text())
    if is_changing_link(report):
        return report_path.with_suffix(".png")
    suffix = "rates" if "cases" in report else "latency"
    return report_path.with_name(f"{report_path.stem}-{suffix}.png")


def draw_figures(report_path: str | Path) -> list[Path]:
    """Draws every figure of one report beside it: its main figure first, then one per changing-link run in it."""
    report_path = Path(report_path)
    report = json.loads(report_path.read_text())
    output = figure_path(report_path)
    if is_changing_link(report):
        return [changing_link_figure(report, output)]
    if "cases" not in report:
        return [benchmark_figure(report, output)]
    drawn = [remote_figure(report, output)]
    for name, path in changing_link_paths(report_path, report).items():
        drawn.append(changing_link_figure(report["changing_link"][name], path))
    return drawn


def write_figures(report_path: str | Path) -> Path:
    """Draws the figures of one report (`make bench`, `make bench-remote`, a changing-link run) beside it; returns
    the main one's path (a remote report's changing-link runs are drawn too: `changing_link_paths`)."""
    return draw_figures(report_path)[0]


def frame_picture(
    path: Path,
    frame: Mapping[str, Any],
    latencies_ms: Mapping[str, Sequence[float]],
    title: str,
) -> Path:
    """The demo's picture: one frame as a receiver got it, beside the latency CDF of every path of the demo.

    `frame` holds `rgb` (HxWx3 uint8), `depth` (HxW metres), optionally `confidence` (HxW) and `points`/`colors`
    (Nx3 metres in the optical frame, Nx3 uint8), `frame_id` and `capture_time` (seconds since the epoch).
    """
    import time

    figure = Figure(figsize=(13, 7.5), dpi=80, layout="constrained")
    grid = figure.add_gridspec(2, 3)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(frame["capture_time"]))
    stamp += f".{int(frame['capture_time'] % 1 * 1000):03d} UTC"
    figure.suptitle(f"{title}: frame {frame['frame_id']}, captured {stamp}", fontsize=11)
    rgb_axes = figure.add_subplot(grid[0, 0])
    rgb_axes.imshow(frame["rgb"])
    rgb_axes.set_title("rgb", fontsize=9)
    rgb_axes.set_xticks([])
    rgb_axes.set_yticks([])
    depth = np.where(np.isfinite(frame["depth"]) & (frame["depth"] > 0), frame["depth"], np.nan)
    _image_with_scale(figure, figure.add_subplot(grid[0, 1]), depth, "depth (m; 1st-99th percentile)", "turbo")
    if frame.get("confidence") is not None:
        _image_with_scale(figure, figure.add_subplot(grid[0, 2]), frame["confidence"], "confidence (1 best)", "magma")
    cloud_axes = figure.add_subplot(grid[1, 0])
    points, colors = frame.get("points"), frame.get("colors")
    if points is not None and len(points):
        cloud_axes.scatter(points[:, 0], points[:, 2], c=np.asarray(colors) / 255.0, s=0.3, linewidths=0)
        cloud_axes.set_aspect("equal", adjustable="datalim")
    cloud_axes.set_xlabel("x (m, right)")
    cloud_axes.set_ylabel("z (m, forward)")
    cloud_axes.set_title(f"point cloud from above ({0 if points is None else len(points)} points)", fontsize=9)
    curves = [
        LatencyCurve(name, [float(v) for v in np.percentile(values, CDF_LEVELS * 100)], [])
        for name, values in latencies_ms.items()
        if len(values)
    ]
    draw_cdf(figure.add_subplot(grid[1, 1:]), curves, "capture -> consumer latency of each path")
    figure.savefig(path)
    return path


def _image_with_scale(figure: Figure, axes: Axes, image: np.ndarray, title: str, colormap: str) -> None:
    finite = image[np.isfinite(image)]
    low, high = np.percentile(finite, [1, 99]) if finite.size else (0.0, 1.0)
    shown = axes.imshow(image, cmap=colormap, vmin=low, vmax=high)
    figure.colorbar(shown, ax=axes, shrink=0.85)
    axes.set_title(title, fontsize=9)
    axes.set_xticks([])
    axes.set_yticks([])


def main(argv: list[str] | None = None) -> int:
    """Redraws the figures of the reports given (default: the committed benchmarks/results*.json)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "reports", nargs="*", help="benchmark JSON reports (default: benchmarks/results.json, -remote)"
    )
    args = parser.parse_args(argv)
    here = Path(__file__).resolve().parent
    reports = args.reports or [str(here / "results.json"), str(here / "results-remote.json")]
    for report in reports:
        try:
            for path in draw_figures(report):
                print(f"wrote {path}")
        except (OSError, ValueError, KeyError) as error:
            print(f"figures: cannot draw {report}: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
