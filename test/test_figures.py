"""The benchmark figures: every path a report holds is drawn, new rows included, and each link rate of a remote run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="matplotlib is a benchmark dependency (requirements.txt), not installed")

from benchmarks.figures import latency_curves, link_rate_mbit, remote_rates, write_figures  # noqa: E402
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
