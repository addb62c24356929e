"""Depth codecs side by side: compressedDepth (png at several zlib levels, rvl; 32FC1 and 16UC1) on the synthetic
camera's realistic depth, with the perfect plane and compressed RGB for reference.

    tools/isolated .venv/bin/python -m benchmarks.depth_codecs          # 720p, 1080p -> benchmarks/results-codecs.json
    tools/isolated .venv/bin/python -m benchmarks.depth_codecs --quick  # 720p, fewer repeats, a few seconds

Data: `SyntheticCamera(depth_model="realistic")` depth maps (objects in front of a tilted plane, stereo-like
noise growing with depth squared, about 5% NaN holes), cycling over the camera's noisy maps; the plane row uses
`depth_model="plane"`. Times are p50 over the repeats, wall clock and this thread's CPU time (CPU time is the
fairer figure on a loaded machine), on one core: nothing here is multithreaded except what OpenCV's zlib does.
Mbit/s is the compressed size at 30 Hz; "of raw" is the size over the raw Image's data (32FC1: 4 bytes a pixel,
16UC1: 2, rgb8: 3).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import cv2
import numpy as np

from airo_mp_camera.cameras.synthetic import SyntheticCamera
from airo_mp_camera.codecs import compressed_depth
from airo_mp_camera.codecs.compressed_depth import decode_compressed_depth, encode_compressed_depth

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results-codecs.json")
RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080)}
FPS = 30.0


def timed(function: Callable[[], Any], repeats: int) -> tuple[Any, float, float]:
    """(last result, p50 wall ms, p50 thread CPU ms) of `repeats` calls."""
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.thread_time()
        result = function()
        cpus.append((time.thread_time() - cpu) * 1e3)
        walls.append((time.perf_counter() - wall) * 1e3)
    return result, float(np.median(walls)), float(np.median(cpus))


def row(
    name: str,
    frames: list[np.ndarray],
    encode: Callable[[np.ndarray], bytes | tuple[str, bytes]],
    decode: Callable[[Any], np.ndarray],
    raw_bytes: int,
    repeats: int,
    check: Callable[[np.ndarray, np.ndarray], bool],
) -> dict[str, Any]:
    """Encodes and decodes `frames` in turn; sizes are the mean over the frames."""
    cycle = iter(range(10**9))
    encoded, encode_wall, encode_cpu = timed(lambda: encode(frames[next(cycle) % len(frames)]), repeats)
    sizes = []
    for frame in frames:
        message = encode(frame)
        data = message[1] if isinstance(message, tuple) else message
        sizes.append(len(data))
        if not check(frame, decode(message)):
            raise AssertionError(f"{name}: the decoded image does not match what was encoded")
    _, decode_wall, decode_cpu = timed(lambda: decode(encoded), repeats)
    size = float(np.mean(sizes))
    return {
        "codec": name,
        "bytes": int(size),
        "of_raw": round(size / raw_bytes, 4),
        "mbit_s_at_30hz": round(size * 8 * FPS / 1e6, 1),
        "encode_ms_p50": round(encode_wall, 2),
        "encode_cpu_ms_p50": round(encode_cpu, 2),
        "decode_ms_p50": round(decode_wall, 2),
        "decode_cpu_ms_p50": round(decode_cpu, 2),
    }


def quantised_match(frame: np.ndarray, decoded: np.ndarray) -> bool:
    """NaN exactly where the frame is invalid (or beyond 10 m), else within one inverse-depth step (A = 10100)."""
    invalid = ~np.isfinite(frame) | (frame >= 10.0) | (frame <= 0.16)
    if not np.array_equal(invalid, np.isnan(decoded)):
        return False
    d, back = frame[~invalid].astype(np.float64), decoded[~invalid].astype(np.float64)
    return bool(np.all(back - d <= d * d / (10100.0 - d) * 1.001 + 1e-6) and np.all(back >= d - 1e-6))


@contextmanager
def numpy_rvl() -> Iterator[None]:
    """RVL in numpy (the fallback where the C codec was not built) instead of C, for the baseline row."""
    native = compressed_depth._native
    compressed_depth._native = None
    try:
        yield
    finally:
        compressed_depth._native = native


def numpy_rvl_row(row_args: dict[str, Any]) -> dict[str, Any]:
    with numpy_rvl():
        return row(**row_args)


def depth_rows(label: str, depths: list[np.ndarray], repeats: int, png_levels: tuple[int, ...]) -> list[dict]:
    """compressedDepth rows for one set of float32 depth maps: 32FC1 png levels and rvl, 16UC1 png and rvl."""
    raw32 = depths[0].size * 4
    rows = []
    for level in png_levels:
        rows.append(
            row(
                f"{label} 32FC1 png level {level}",
                depths,
                lambda d, level=level: encode_compressed_depth(d, encoding="32FC1", codec="png", png_level=level),
                lambda m: decode_compressed_depth(*m),
                raw32,
                max(repeats // (3 if level >= 6 else 1), 3),
                quantised_match,
            )
        )
    rvl = {
        "name": f"{label} 32FC1 rvl",
        "frames": depths,
        "encode": lambda d: encode_compressed_depth(d, encoding="32FC1", codec="rvl"),
        "decode": lambda m: decode_compressed_depth(*m),
        "raw_bytes": raw32,
        "repeats": repeats,
        "check": quantised_match,
    }
    rows.append(row(**rvl))
    if compressed_depth.NATIVE_RVL:  # the baseline: the same stream from the numpy implementation
        rows.append(numpy_rvl_row({**rvl, "name": f"{label} 32FC1 rvl, numpy", "repeats": max(repeats // 3, 3)}))
    millimetres = [np.where(np.isfinite(d), np.rint(np.nan_to_num(d) * 1000.0), 0).astype(np.uint16) for d in depths]
    for codec in ("png", "rvl"):
        rows.append(
            row(
                f"{label} 16UC1 {codec}" + (" level 1" if codec == "png" else ""),
                millimetres,
                lambda mm, codec=codec: encode_compressed_depth(mm, encoding="16UC1", codec=codec, png_level=1),
                lambda m: decode_compressed_depth(*m),
                raw32 // 2,
                repeats,
                lambda mm, back: bool(np.array_equal(np.where(mm > 10000, 0, mm), back)),
            )
        )
    return rows


def rgb_rows(rgb: list[np.ndarray], repeats: int) -> list[dict]:
    """JPEG (quality 80, as the bridge's compressed topic) and PNG (level 3) of the RGB image, for reference."""
    raw = rgb[0].size
    rows = []
    for name, extension, params in (
        ("rgb jpeg q80", ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 80]),
        ("rgb png level 3", ".png", [cv2.IMWRITE_PNG_COMPRESSION, 3]),
    ):
        rows.append(
            row(
                name,
                rgb,
                lambda image, extension=extension, params=params: cv2.imencode(
                    extension, cv2.cvtColor(image, cv2.COLOR_RGB2BGR), params
                )[1].tobytes(),
                lambda data: cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR),
                raw,
                repeats,
                lambda image, back: back.shape == image.shape,
            )
        )
    return rows


def camera_frames(resolution: tuple[int, int], depth_model: str, count: int) -> tuple[list, list]:
    camera = SyntheticCamera(resolution, fps=1000.0, watermark=False, depth_model=depth_model)
    depths, rgb = [], []
    for _ in range(count):
        camera.grab_images()
        depths.append(camera.retrieve_depth_map().copy())
        rgb.append(camera.retrieve_rgb_image_as_int().copy())
    return depths, rgb


def print_table(resolution: str, rows: list[dict]) -> None:
    print(f"\n{resolution}: p50 over the repeats; cpu = this thread's CPU time")
    header = f"{'codec':34s} {'bytes':>9s} {'of raw':>7s} {'Mbit/s@30':>9s} {'enc ms':>7s} {'enc cpu':>7s} "
    print(header + f"{'dec ms':>7s} {'dec cpu':>7s}")
    for r in rows:
        print(
            f"{r['codec']:34s} {r['bytes']:9d} {r['of_raw'] * 100:6.1f}% {r['mbit_s_at_30hz']:9.1f} "
            f"{r['encode_ms_p50']:7.1f} {r['encode_cpu_ms_p50']:7.1f} {r['decode_ms_p50']:7.1f} "
            f"{r['decode_cpu_ms_p50']:7.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="720p only, fewer repeats and png levels")
    parser.add_argument("--output", default=RESULTS, help=f"JSON report (default {RESULTS})")
    args = parser.parse_args()
    resolutions = ["720p"] if args.quick else ["720p", "1080p"]
    repeats = 5 if args.quick else 15
    png_levels = (1, 3) if args.quick else (1, 3, 6, 9)
    report: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "numpy": np.__version__,
            "opencv": cv2.__version__,
        },
        "data": "SyntheticCamera(depth_model='realistic') depth maps, cycled; plane rows: depth_model='plane'",
        "quick": args.quick,
        "results": {},
    }
    for name in resolutions:
        resolution = RESOLUTIONS[name]
        depths, rgb = camera_frames(resolution, "realistic", 4)
        plane, _ = camera_frames(resolution, "plane", 1)
        rows = depth_rows("realistic", depths, repeats, png_levels)
        rows += [r for r in depth_rows("plane", plane, repeats, (1,)) if "16UC1" not in r["codec"]]
        rows += rgb_rows(rgb, repeats)
        report["results"][name] = {
            "holes": round(float(np.mean([np.isnan(d).mean() for d in depths])), 4),
            "rows": rows,
        }
        print_table(name, rows)
        by_name = {r["codec"]: r for r in rows}
        c_rvl, numpy_rvl_ = by_name["realistic 32FC1 rvl"], by_name.get("realistic 32FC1 rvl, numpy")
        if numpy_rvl_ is not None:
            ratios = {
                "encode_cpu": round(numpy_rvl_["encode_cpu_ms_p50"] / c_rvl["encode_cpu_ms_p50"], 1),
                "decode_cpu": round(numpy_rvl_["decode_cpu_ms_p50"] / c_rvl["decode_cpu_ms_p50"], 1),
            }
            report["results"][name]["rvl_c_over_numpy_speedup"] = ratios
            print(
                f"RVL in C vs numpy ({name}, realistic 32FC1): encode {ratios['encode_cpu']}x, "
                f"decode {ratios['decode_cpu']}x faster (CPU time)"
            )
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    with open(args.output, "w") as output:
        json.dump(report, output, indent=2)
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
