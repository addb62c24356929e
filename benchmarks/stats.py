"""Small statistics shared by the benchmarks (kept free of heavy imports: the peer venv imports it too)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

CDF_PERCENTS = np.linspace(0.0, 100.0, 101)  # the levels of `cdf_ms`: every percent, 0 (min) to 100 (max)


def percentiles(values_ms: Sequence[float]) -> dict[str, Any]:
    """p50, p99 and max of a list of milliseconds, rounded to 0.1 microsecond (NaN when empty), and the whole
    distribution as `cdf_ms`: its value at every percent 0..100 (what benchmarks/figures.py draws)."""
    if len(values_ms) == 0:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan"), "n": 0}
    array = np.asarray(values_ms, dtype=np.float64)
    return {
        "p50": round(float(np.percentile(array, 50)), 4),
        "p99": round(float(np.percentile(array, 99)), 4),
        "max": round(float(array.max()), 4),
        "n": int(array.size),
        "cdf_ms": [round(float(v), 4) for v in np.percentile(array, CDF_PERCENTS)],
    }


def mean_cdf(cdfs: Sequence[Sequence[float] | None]) -> list[float] | None:
    """Several receivers' `cdf_ms` pooled into one (their quantiles averaged); None when one is missing."""
    if not cdfs or any(cdf is None for cdf in cdfs):
        return None
    return [round(float(v), 4) for v in np.mean(np.asarray(cdfs, dtype=np.float64), axis=0)]


def delivery(frame_ids: Sequence[int]) -> dict[str, float]:
    """Frames received out of those published between the first and the last one received."""
    if len(frame_ids) == 0:
        return {"delivered": 0, "published": 0, "ratio": 0.0}
    published = int(max(frame_ids) - min(frame_ids) + 1)
    delivered = len(set(frame_ids))
    return {"delivered": delivered, "published": published, "ratio": round(delivered / published, 4)}


def self_cpu_seconds() -> float:
    """This process's user + system CPU time, from /proc/self/stat (all threads)."""
    import os

    with open("/proc/self/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks
