"""Pictures of the benchmark reports (PNG, matplotlib): the latency CDF of every path of a `make bench` run, the rate
each remote stream gets at each link rate of a `make bench-remote` run, and the demo's picture of one frame.

Redraw from a committed report (the PNG is written beside it, its name from the report's):
    .venv/bin/python -m benchmarks.figures benchmarks/results.json benchmarks/results-remote.json
`benchmarks.run` and `benchmarks.remote` call `write_figures` themselves at the end of a run.

The plotting is generic over what a report holds, so that a new benchmark row appears without a change here:
- a latency path is any dict in `sections` with `latency_p50_ms` (a phase of several receivers; its
  `latency_cdf_ms`, when there, is their pooled distribution), or any `latency*_ms` dict with `p50`
  (`benchmarks.stats.percentiles`: `cdf_ms` holds the value at every percent). Reports written before the
  distributions were stored have p50, p99 and max only: those paths are drawn as three marked points.
- a remote stream is a topic host B received in a case; the case's link rate is read from its `link_rate`
  or `link` entry, else from its name ("... 100mbit", "20 Mbit/s"), else from the report's `link` text.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
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


def remote_figure(report: Mapping[str, Any], path: Path) -> Path:
    """Horizontal bars: the rate host B received of each remote stream, one bar per link rate in the report."""
    rates = remote_rates(report)
    links = sorted({link for by_link in rates.values() for link in by_link}, reverse=True)
    figure = Figure(figsize=(10, 1.2 + 0.45 * max(1, len(rates)) * max(1, len(links))), dpi=110, layout="constrained")
    axes = figure.add_subplot()
    height = 0.8 / max(1, len(links))
    for index, link in enumerate(links):
        offsets = [row - 0.4 + height * (index + 0.5) for row in range(len(rates))]
        values = [by_link.get(link, np.nan) for by_link in rates.values()]
        label = f"{link / 1000:g} Gbit/s" if link >= 1000 else f"{link:g} Mbit/s"
        bars = axes.barh(offsets, values, height=height, label=f"link {label}")
        axes.bar_label(bars, fmt="%.1f", fontsize=7, padding=2)
    axes.axvline(CAMERA_HZ, color="grey", linestyle="--", linewidth=1, label="camera 30 fps")
    axes.set_yticks(range(len(rates)), list(rates), fontsize=7)
    axes.invert_yaxis()
    axes.set_xlabel("rate host B received (Hz)")
    axes.set_xlim(0, CAMERA_HZ * 1.2)
    axes.grid(True, axis="x", alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    axes.set_title(
        f"make bench-remote{' --quick' if report.get('quick') else ''}: {report.get('camera', '')}", fontsize=10
    )
    figure.savefig(path)
    return path


def figure_path(report_path: Path) -> Path:
    """Where a report's figure goes: beside it, `results.json` -> `results-latency.png`, remote -> `-rates.png`."""
    report = json.loads(report_path.read_text())
    suffix = "rates" if "cases" in report else "latency"
    return report_path.with_name(f"{report_path.stem}-{suffix}.png")


def write_figures(report_path: str | Path) -> Path:
    """Draws the figure of one report (a `make bench` or a `make bench-remote` JSON) beside it; returns its path."""
    report_path = Path(report_path)
    report = json.loads(report_path.read_text())
    output = figure_path(report_path)
    return remote_figure(report, output) if "cases" in report else benchmark_figure(report, output)


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
            print(f"wrote {write_figures(report)}")
        except (OSError, ValueError, KeyError) as error:
            print(f"figures: cannot draw {report}: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
