"""Several cameras, one instant: MultiCameraReceiver against the loop users write today (each grab in turn).

Data: 720p RGB-D synthetic cameras with `depth_model="realistic"`, each in its own publisher process, capturing
on a wall-clock grid (SyntheticCamera's `phase` and `jitter`, see cameras/frame_clock.py), so capture times of
all cameras are on one clock. Scenarios:

- three cameras at 30 fps, phases 0, 3 and 5 ms, each capture moved by up to 2 ms either way (uniform), tolerance
  10 ms. The issue suggested phases 0, 11 and 23 ms: at 30 fps their frames are 11-12 ms apart and the tightest
  set of three spans 21.3 ms (23 ms the other way round), so no set within 10 ms exists at all (the receiver
  raises NoFrameSetError naming the cameras). 0, 3 and 5 ms plus 2 ms jitter span at most 9 ms: a set every period.
- a 30 fps and a 15 fps camera, phases 0 and 2 ms, 2 ms jitter: a set at 15 Hz.

Each scenario runs two consumers, the same for both methods:
- "tight": takes sets as fast as they come (sets per second, set latency);
- "working": works 25 to 60 ms (uniformly random, like a policy's inference) after each set, so it asks for the
  next set at any moment of the cameras' frame period, as real consumers do.
Methods: ours `grab_images()` (copies the set), ours `borrow()` (loans), and naive: each camera's own
`MultiprocessRGBDReceiver.grab_images()` in turn. Spread: newest minus oldest capture time of a set. Set latency:
`time.time()` when the set is in hand minus its oldest capture time. Baseline for latency: one receiver borrowing
the newest frames of the newest-phase camera alone. CPU: the consumer (this process) and the publishers, percent
of one core. Violations: sets of ours wider than the tolerance; torn: watermark mismatches in any frame of a set.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

from benchmarks.processes import CpuMeter, ProcessGroup
from benchmarks.stats import percentiles, self_cpu_seconds

RESOLUTION_720P = (1280, 720)
TOLERANCE = 0.010
JITTER = 0.002
THREE = {"fps": (30.0, 30.0, 30.0), "phases": (0.0, 0.003, 0.005)}
PAIR = {"fps": (30.0, 15.0), "phases": (0.0, 0.002)}
WORK_S = (0.025, 0.060)


def start_cameras(group: ProcessGroup, fps: tuple[float, ...], phases: tuple[float, ...]) -> dict[str, Any]:
    """One 720p realistic RGB-D publisher per camera, named cam0, cam1, ..."""
    from airo_mp_camera import MultiprocessRGBDPublisher, SyntheticCamera

    publishers = {}
    for index, (rate, phase) in enumerate(zip(fps, phases, strict=True)):
        kwargs = {
            "resolution": RESOLUTION_720P,
            "fps": rate,
            "depth_model": "realistic",
            "phase": phase,
            "jitter": JITTER,
        }
        publisher = MultiprocessRGBDPublisher(SyntheticCamera, kwargs, f"bench_mc{index}_{uuid.uuid4().hex[:6]}")
        group.adopt(publisher)
        publisher.start()
        publishers[f"cam{index}"] = publisher
    return publishers


def _whole(frame: Any) -> bool:
    from airo_mp_camera.cameras import watermark

    return watermark.matches(frame.retrieve_rgb_image_as_int(), frame.frame_id) and watermark.matches(
        frame.retrieve_depth_map(), frame.frame_id
    )


def _measure(
    take: Callable[[], tuple[list[Any], Callable[[], None]]],
    seconds: float,
    work: bool,
    publishers: dict[str, Any],
) -> dict[str, Any]:
    """Runs a consumer loop: `take()` returns the set's frames (camera-interface objects) and its release."""
    spreads, latencies, violations, torn, sets = [], [], 0, 0, 0
    rng = random.Random(7)
    meter = CpuMeter({name: publisher.pid for name, publisher in publishers.items()})
    take()[1]()  # the first set (connections made, lazily allocated buffers touched)
    meter.start()
    published = {name: publisher.frames_published for name, publisher in publishers.items()}
    cpu_before, started = self_cpu_seconds(), time.monotonic()
    end = started + seconds
    while time.monotonic() < end:
        frames, release = take()
        delivered = time.time()
        stamps = [frame.capture_timestamp for frame in frames]
        spreads.append(1000 * (max(stamps) - min(stamps)))
        latencies.append(1000 * (delivered - min(stamps)))
        violations += max(stamps) - min(stamps) > TOLERANCE
        torn += not all(_whole(frame) for frame in frames)
        release()
        sets += 1
        if work:
            time.sleep(rng.uniform(*WORK_S))
    elapsed = time.monotonic() - started
    cpu = 100 * (self_cpu_seconds() - cpu_before) / elapsed
    rates = {name: (publisher.frames_published - published[name]) / elapsed for name, publisher in publishers.items()}
    return {
        "sets": sets,
        "sets_per_s": round(sets / elapsed, 2),
        "camera_rates_hz": {name: round(rate, 2) for name, rate in rates.items()},
        "sets_per_slowest_camera_frame": round(sets / elapsed / min(rates.values()), 3),
        "spread_ms": percentiles(spreads),
        "latency_ms": percentiles(latencies),
        "tolerance_violations": violations,
        "torn": torn,
        "cpu_percent": {"consumer": round(cpu, 1), **meter.stop()},
    }


def _ours(namespaces: dict[str, str], borrow: bool) -> tuple[Any, Callable[[], tuple[list[Any], Callable[[], None]]]]:
    from airo_mp_camera import MultiCameraReceiver

    cameras = MultiCameraReceiver(namespaces, tolerance=TOLERANCE, timeout=10.0)
    names = cameras.names

    def take() -> tuple[list[Any], Callable[[], None]]:
        if borrow:
            frames = cameras.borrow()
            return [frames[name] for name in names], frames.release
        cameras.grab_images()
        return [cameras[name] for name in names], lambda: None

    return cameras, take


def _naive(namespaces: dict[str, str]) -> tuple[Any, Callable[[], tuple[list[Any], Callable[[], None]]]]:
    from airo_mp_camera import MultiprocessRGBDReceiver

    receivers = [MultiprocessRGBDReceiver(namespace, timeout=10.0) for namespace in namespaces.values()]

    class _Closer:
        def close(self) -> None:
            for receiver in receivers:
                receiver.close()

    def take() -> tuple[list[Any], Callable[[], None]]:
        for receiver in receivers:
            receiver.grab_images()
        return receivers, lambda: None

    return _Closer(), take


def single_borrow_latency(publisher: Any, seconds: float) -> dict[str, Any]:
    """One receiver borrowing every frame of one camera: latency once the arrays are in hand."""
    from airo_mp_camera import MultiprocessRGBDReceiver

    latencies = []
    with MultiprocessRGBDReceiver(publisher.namespace, timeout=10.0) as receiver:
        receiver.borrow().release()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            with receiver.borrow() as frame:
                frame.retrieve_rgb_image_as_int(), frame.retrieve_depth_map()
                latencies.append(1000 * (time.time() - frame.capture_timestamp))
    return {"latency_ms": percentiles(latencies)}


def scenario(spec: dict[str, Any], seconds: float) -> dict[str, Any]:
    """Every method and consumer on one set of cameras."""
    results: dict[str, Any] = {"fps": list(spec["fps"]), "phases_ms": [1000 * p for p in spec["phases"]]}
    results["jitter_ms"], results["tolerance_ms"] = 1000 * JITTER, 1000 * TOLERANCE
    with ProcessGroup() as group:
        publishers = start_cameras(group, spec["fps"], spec["phases"])
        namespaces = {name: publisher.namespace for name, publisher in publishers.items()}
        newest = max(publishers, key=lambda name: spec["phases"][list(publishers).index(name)])
        results["single_borrow"] = single_borrow_latency(publishers[newest], seconds)
        runs: list[tuple[str, Callable[[], tuple[Any, Any]], bool]] = [
            ("ours_grab_tight", lambda: _ours(namespaces, borrow=False), False),
            ("ours_borrow_tight", lambda: _ours(namespaces, borrow=True), False),
            ("naive_tight", lambda: _naive(namespaces), False),
            ("ours_grab_working", lambda: _ours(namespaces, borrow=False), True),
            ("naive_working", lambda: _naive(namespaces), True),
        ]
        for name, make, work in runs:
            closer, take = make()
            try:
                results[name] = _measure(take, seconds * (2 if work else 1), work, publishers)
            finally:
                closer.close()
        for publisher in publishers.values():
            publisher.stop()
    return results


def run(seconds: float) -> dict[str, Any]:
    """Both scenarios (see the module docstring); the working consumers run twice `seconds`."""
    return {"three_30fps": scenario(THREE, seconds), "pair_30_15fps": scenario(PAIR, seconds)}


# ---------------------------------------------------------------------------------------------- report
def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def figures(section: dict[str, Any]) -> dict[str, Any]:
    """The flat keys of results.json (three cameras unless named `pair`)."""
    three, pair = section.get("three_30fps", {}), section.get("pair_30_15fps", {})
    violations = [
        _get(s, run, "tolerance_violations")
        for s in (three, pair)
        for run in ("ours_grab_tight", "ours_borrow_tight", "ours_grab_working")
    ]
    torn = [_get(s, run, "torn") for s in (three, pair) for run in s if isinstance(s.get(run), dict)]
    known = [v for v in violations if v is not None]
    known_torn = [t for t in torn if t is not None]
    return {
        "multicam_spread_p50_ms": _get(three, "ours_grab_working", "spread_ms", "p50"),
        "multicam_spread_p99_ms": _get(three, "ours_grab_working", "spread_ms", "p99"),
        "multicam_naive_spread_p50_ms": _get(three, "naive_working", "spread_ms", "p50"),
        "multicam_naive_spread_p99_ms": _get(three, "naive_working", "spread_ms", "p99"),
        "multicam_tight_spread_p99_ms": _get(three, "ours_grab_tight", "spread_ms", "p99"),
        "multicam_naive_tight_spread_p99_ms": _get(three, "naive_tight", "spread_ms", "p99"),
        "multicam_sets_per_s": _get(three, "ours_grab_tight", "sets_per_s"),
        "multicam_latency_p50_ms": _get(three, "ours_borrow_tight", "latency_ms", "p50"),
        "multicam_grab_latency_p50_ms": _get(three, "ours_grab_tight", "latency_ms", "p50"),
        "multicam_naive_latency_p50_ms": _get(three, "naive_tight", "latency_ms", "p50"),
        "multicam_single_borrow_latency_p50_ms": _get(three, "single_borrow", "latency_ms", "p50"),
        "multicam_consumer_cpu_percent": _get(three, "ours_grab_tight", "cpu_percent", "consumer"),
        "multicam_naive_consumer_cpu_percent": _get(three, "naive_tight", "cpu_percent", "consumer"),
        "multicam_sets_per_slowest_frame": _get(three, "ours_grab_tight", "sets_per_slowest_camera_frame"),
        "multicam_pair_sets_per_s": _get(pair, "ours_grab_tight", "sets_per_s"),
        "multicam_pair_sets_per_slowest_frame": _get(pair, "ours_grab_tight", "sets_per_slowest_camera_frame"),
        "multicam_pair_spread_p99_ms": _get(pair, "ours_grab_tight", "spread_ms", "p99"),
        "multicam_pair_naive_spread_p99_ms": _get(pair, "naive_tight", "spread_ms", "p99"),
        "multicam_tolerance_violations": sum(known) if known else None,
        "multicam_torn_sets": sum(known_torn) if known_torn else None,
    }


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return round(numerator / denominator, 2)


def targets(f: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, as run.py's target lines."""

    def line(name: str, value: float | None, bound: str, passed: bool | None, what: str) -> dict[str, Any]:
        return {"target": name, "value": value, "bound": bound, "passed": passed, "what": what}

    def at_least(name: str, value: float | None, bound: float, what: str) -> dict[str, Any]:
        return line(name, value, f">= {bound}", None if value is None else value >= bound, what)

    def at_most(name: str, value: float | None, bound: float, what: str) -> dict[str, Any]:
        return line(name, value, f"<= {bound}", None if value is None else value <= bound, what)

    latency, single = f["multicam_latency_p50_ms"], f["multicam_single_borrow_latency_p50_ms"]
    return [
        at_most(
            "multicam tolerance violations", f["multicam_tolerance_violations"], 0, "sets of ours wider than 10 ms"
        ),
        at_most("multicam torn sets", f["multicam_torn_sets"], 0, "watermark mismatches, every method"),
        at_least(
            "multicam sets/s / slowest camera's rate",
            f["multicam_sets_per_slowest_frame"],
            0.98,
            "three cameras at 30 fps, tight; the rate each publisher reached in the run",
        ),
        at_least(
            "multicam pair sets/s / slowest's rate",
            f["multicam_pair_sets_per_slowest_frame"],
            0.98,
            "30 + 15 fps, tight",
        ),
        at_least(
            "multicam naive spread p99 / ours",
            _ratio(f["multicam_naive_spread_p99_ms"], f["multicam_spread_p99_ms"]),
            3.0,
            "three cameras, working consumer",
        ),
        at_least(
            "multicam pair naive spread p99 / ours",
            _ratio(f["multicam_pair_naive_spread_p99_ms"], f["multicam_pair_spread_p99_ms"]),
            3.0,
            "30 + 15 fps, tight loop (information)",
        ),
        at_most(
            "multicam set latency p50 - single borrow",
            None if latency is None or single is None else round(latency - single, 2),
            1000 * TOLERANCE,
            "borrowed set (oldest capture) minus one camera's borrowed frame, ms",
        ),
    ]


def print_rows(section: dict[str, Any]) -> None:
    """The side-by-side table of both scenarios."""
    header = (
        f"{'several cameras, 720p RGB-D':<40}{'spread p50':>11}{'p99':>7}{'sets/s':>8}{'lat p50':>9}{'cpu %':>7}"
        f"{'cameras Hz':>18}"
    )
    print(header)
    for scenario_name, results in section.items():
        if not isinstance(results, dict):
            continue
        for run, label in (
            ("ours_grab_tight", "ours grab_images(), tight"),
            ("ours_borrow_tight", "ours borrow(), tight"),
            ("naive_tight", "naive loop, tight"),
            ("ours_grab_working", "ours grab_images(), working"),
            ("naive_working", "naive loop, working"),
        ):
            data = results.get(run)
            if not isinstance(data, dict):
                continue
            cpu = data["cpu_percent"]
            print(
                f"{scenario_name + ': ' + label:<40}{data['spread_ms']['p50']:>11.2f}{data['spread_ms']['p99']:>7.2f}"
                f"{data['sets_per_s']:>8.2f}{data['latency_ms']['p50']:>9.2f}"
                f"{cpu.get('consumer', 0.0):>7.1f}"
                f"{' '.join(f'{rate:.1f}' for rate in data['camera_rates_hz'].values()):>18}"
            )
        single = _get(results, "single_borrow", "latency_ms", "p50")
        if single is not None:
            print(f"{scenario_name + ': one camera, borrow()':<40}{'':>11}{'':>7}{'':>8}{single:>9.2f}")


def print_targets(lines: list[dict[str, Any]]) -> None:
    for line in lines:
        verdict = {True: "PASS", False: "FAIL", None: "n/a "}[line["passed"]]
        value = "n/a" if line["value"] is None else line["value"]
        print(f"{verdict}  {line['target']:<40} {value!s:>8}  (target {line['bound']}; {line['what']})")


def main(argv: list[str] | None = None) -> None:
    """Runs this benchmark alone: `tools/isolated .venv/bin/python -m benchmarks.multi_camera --seconds 3`."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--output", default=None, help="JSON report path (default: print only)")
    args = parser.parse_args(argv)
    section = run(args.seconds)
    f = figures(section)
    lines = targets(f)
    print_rows(section)
    print()
    print_targets(lines)
    if args.output:
        with open(args.output, "w") as file:
            json.dump({"figures": f, "targets": lines, "sections": {"multi_camera": section}}, file, indent=2)
            file.write("\n")


if __name__ == "__main__":
    main()
