"""The benchmark figures: every path a report holds is drawn, new rows included, and each link rate of a remote run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="matplotlib is a benchmark dependency (requirements.txt), not installed")

from benchmarks.figures import (  # noqa: E402
    changing_link_figure,
    default_streams_by_link,
    draw_figures,
    latency_curves,
    link_rate_mbit,
    remote_rates,
    write_figures,
)
from benchmarks.stats import mean_cdf, percentiles  # noqa: E402


def test_percentiles_store_the_whole_distribution() -> None:
    values = np.random.default_rng(1).exponential(5.0, 1000)
    stats = percentiles(values.tolist())
    cdf = stats["cdf_ms"]
    assert len(cdf) == 101 and cdf == sorted(cdf)
    assert cdf[0] == pytest.approx(values.min(), abs=1e-4) and cdf[-1] == stats["max"]
    assert cdf[50] == stats["p50"] and cdf[99] == stats["p99"]
    assert mean_cdf([[1.0, 3.0], [3.0, 5.0]]) == [2.0, 4.0] and mean_cdf([[1.0], None]) is None


def report_with_new_rows() -> dict[str, object]:
    cdf = percentiles(list(np.linspace(1.0, 9.0, 50)))
    return {
        "run": {"quick": True, "date_utc": "2026-12-03T00:00:00Z"},
        "machine": {"cores": 2, "load_average_at_start": [1.0, 1.0, 1.0]},
        "sections": {
            "native": {
                "rgbd_1_receiver": {"latency_p50_ms": 7.4, "latency_p99_ms": 12.8, "per_receiver": [{}]},
                "shm_borrow_inplace_rgbd": {
                    "latency_p50_ms": 2.0,
                    "latency_p99_ms": 3.0,
                    "latency_cdf_ms": cdf["cdf_ms"],
                },
            },
            "zenoh_shm": {"latency_ms": cdf},
            "control_loop": {"receiver": {"jitter_ms": cdf}},
            "peer_rgbd": {"skipped": "no .venv-peers"},
        },
    }


def test_every_latency_path_of_a_report_is_a_curve_new_rows_included(tmp_path: Path) -> None:
    curves = {curve.label: curve for curve in latency_curves(report_with_new_rows()["sections"])}  # type: ignore[arg-type]
    assert set(curves) == {"native / rgbd_1_receiver", "native / shm_borrow_inplace_rgbd", "zenoh_shm"}
    assert curves["native / rgbd_1_receiver"].cdf_ms is None
    assert curves["native / rgbd_1_receiver"].points == [(7.4, 0.5), (12.8, 0.99)]
    assert curves["zenoh_shm"].cdf_ms is not None and len(curves["zenoh_shm"].cdf_ms) == 101
    path = tmp_path / "results.json"
    path.write_text(json.dumps(report_with_new_rows()))
    figure = write_figures(path)
    assert figure == tmp_path / "results-latency.png" and figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_remote_rates_group_each_stream_by_the_link_rates_in_the_report(tmp_path: Path) -> None:
    stream = {"rate_hz": 30.0}
    report = {
        "link": "veth pair, tc tbf rate 1gbit burst 512kb latency 50ms",
        "cases": {
            "host_a_alone": {"a_local": {"/camera/rgb/image_raw": stream}},
            "remote all at once": {"b": {"/camera/remote/rgb/image_raw/compressed": stream, "/x/camera_info": stream}},
            "remote all at once 100mbit": {"b": {"/camera/remote/rgb/image_raw/compressed": {"rate_hz": 20.0}}},
            "weak Wi-Fi": {
                "link_rate": "20 Mbit/s",
                "b": {"/camera/remote/rgb/image_raw/compressed": {"rate_hz": 5.0}},
            },
        },
    }
    rates = remote_rates(report)
    assert rates["/camera/remote/rgb/image_raw/compressed\n(remote all at once)"] == {1000.0: 30.0, 100.0: 20.0}
    assert rates["/camera/remote/rgb/image_raw/compressed\n(weak Wi-Fi)"] == {20.0: 5.0}
    assert not any("camera_info" in name or "image_raw\n(host_a_alone)" in name for name in rates)
    assert link_rate_mbit("x", {}, "no rate here") is None
    path = tmp_path / "results-remote.json"
    path.write_text(json.dumps(report))
    assert write_figures(path) == tmp_path / "results-remote-rates.png"
    links = default_streams_by_link(report)
    assert [(link.mbit, link.case, set(link.streams)) for link in links] == [
        (1000.0, "remote all at once", {"rgb"}),
        (100.0, "remote all at once 100mbit", {"rgb"}),
        (20.0, "weak Wi-Fi", {"rgb"}),
    ]


def test_the_rates_figure_takes_the_case_with_most_default_streams_and_host_a_from_a_loaded_one() -> None:
    def stats(hz: float) -> dict[str, float]:
        return {"rate_hz": hz, "mbit_per_s": hz}

    report = {
        "link": "tc tbf rate 1gbit",
        "cases": {
            "remote compressed rgb": {"b": {"/camera/remote/rgb/image_raw/compressed": stats(30.0)}},
            "remote all at once": {
                "b": {
                    "/camera/remote/rgb/image_raw/compressed": stats(29.0),
                    "/camera/remote/depth/image_raw/compressedDepth": stats(28.0),
                    "/camera/remote/points": stats(10.0),
                }
            },
            "B saturates the link via remote raw topics": {
                "b": {"/camera/remote/rgb/image_raw": stats(5.0)},
                "a_local": {"/camera/rgb/image_raw": stats(29.5), "/camera/rgb/image_raw/compressed": stats(29.5)},
            },
            "host_a_alone": {"a_local": {"/camera/rgb/image_raw": stats(30.0)}},
            "20mbit: default remote streams": {
                "b": {"/camera/remote/rgb/image_raw/compressed": stats(22.0), "/camera/remote/points": stats(0.0)},
                "a_local": {"/camera/rgb/image_raw": stats(30.0)},
            },
        },
    }
    one_gbit, twenty = default_streams_by_link(report)
    assert (one_gbit.case, one_gbit.local_from) == ("remote all at once", "B saturates the link via remote raw topics")
    assert one_gbit.streams["depth"]["rate_hz"] == 28.0 and one_gbit.streams["host A local rgb"]["rate_hz"] == 29.5
    assert (twenty.mbit, twenty.local_from, set(twenty.streams)) == (20.0, None, {"rgb", "points", "host A local rgb"})


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def changing_link_run(loss: float, start: float = 1_800_000_000.0) -> dict[str, object]:
    """A few seconds a phase of what benchmarks/changing_link.py records: host B's arrivals slow down with the link."""
    schedule = [{"rate": "1gbit", "mbit": 1000.0, "seconds": 4.0}, {"rate": "20mbit", "mbit": 20.0, "seconds": 4.0}]
    schedule.append({"rate": "100mbit", "mbit": 100.0, "seconds": 4.0})
    phase_times, arrivals, statuses = [], {}, []
    topics = {
        "/camera/remote/rgb/image_raw/compressed": (90_000, (30, 15, 30)),
        "/camera/remote/depth/image_raw/compressedDepth": (700_000, (30, 1, 10)),
        "/camera/remote/points": (900_000, (10, 0, 0)),
        "/camera/rgb/image_raw": (2_764_800, (30, 30, 30)),
    }
    for index, phase in enumerate(schedule):
        begin = start + 4.0 * index
        phase_times.append([begin, begin + 4.0, int(phase["mbit"] * 1e6 / 8 * 4.0 * 0.8)])
        for topic, (size, rates) in topics.items():
            hz = rates[index]
            samples = (
                [[begin + k / hz, 20.0 + 200.0 * (index == 1) + k, size] for k in range(int(4 * hz))] if hz else []
            )
            arrivals.setdefault(topic, []).extend(samples)
        for second in range(4):
            quality = 80 if index != 1 else 60 - 10 * second
            status = {
                "link estimate (Mbit/s)": f"{min(phase['mbit'], 300.0) * 0.9:.2f}",
                "rgb form": f"jpeg quality {quality}, scale {1 if quality > 40 else 0.75} (chosen: full form)",
                "depth scale": f"{1 if index != 1 else 0.25} (a frame of 1 Mbit)",
            }
            statuses.append([begin + second + 0.5, status])
    checks = [{"phase": 1, "stream": "rgb", "figure": "rate_hz", "value": 15.0, "pass": True}]
    return {
        "loss": loss,
        "schedule": schedule,
        "phase_times": phase_times,
        "arrivals": arrivals,
        "statuses": statuses,
        "phases": [],
        "checks": checks,
        "pass": True,
    }


def test_a_changing_link_run_is_drawn_against_time(tmp_path: Path) -> None:
    path = changing_link_figure(changing_link_run(0.01), tmp_path / "run.png")
    assert path == tmp_path / "run.png"
    assert png_size(path) == (1400, 1000)
    skipped = changing_link_figure({"skipped": "two simulated hosts: no root"}, tmp_path / "skipped.png")
    assert png_size(skipped) == (1400, 1000)


def test_write_figures_names_the_changing_link_figures_after_the_report(tmp_path: Path) -> None:
    alone = tmp_path / "results-remote-changing-loss-quick.json"
    alone.write_text(json.dumps(changing_link_run(0.01)))
    assert write_figures(alone) == tmp_path / "results-remote-changing-loss-quick.png"
    assert png_size(tmp_path / "results-remote-changing-loss-quick.png") == (1400, 1000)

    remote = tmp_path / "results-remote.json"
    cases = {"remote all at once": {"b": {"/camera/remote/rgb/image_raw/compressed": {"rate_hz": 30.0}}}}
    runs = {"no loss": changing_link_run(0.0), "1 % loss": changing_link_run(0.01), "skipped": {"skipped": "why"}}
    remote.write_text(json.dumps({"link": "1gbit", "cases": cases, "changing_link": runs}))
    assert write_figures(remote) == tmp_path / "results-remote-rates.png"
    names = {"results-remote-rates.png", "results-remote-changing.png", "results-remote-changing-loss.png"}
    assert {path.name for path in tmp_path.glob("results-remote*.png")} == names | {
        "results-remote-changing-loss-quick.png"
    }
    assert [path.name for path in draw_figures(remote)] == [
        "results-remote-rates.png",
        "results-remote-changing.png",
        "results-remote-changing-loss.png",
    ]
    width, height = png_size(tmp_path / "results-remote-rates.png")
    assert width <= 1400 and height <= 700

    runs = {"1 % loss": changing_link_run(0.01), "5 % loss": changing_link_run(0.05)}
    remote.write_text(json.dumps({"link": "1gbit", "cases": cases, "changing_link": runs}))
    assert [path.name for path in draw_figures(remote)][1:] == [
        "results-remote-changing-loss-1-loss.png",
        "results-remote-changing-loss-5-loss.png",
    ]
