"""In-place retrieval (issue 18): a camera writing into the shared-memory slot against the same camera copying.

Both modes host `InPlaceSyntheticCamera` (1080p, 30 fps, `depth_model="realistic"`: noisy depth with holes)
behind a MultiprocessRGBDPublisher, one after the other in this process tree, each twice in ABBA order (the
first measurement of a run tends to be slower on a loaded machine); receivers read RGB and depth.
The camera copies each stream it is asked for once from its "device" memory (a stand-in for a ZED's GPU to
host copy, in the ZED's layouts: BGRA, float32 depth):

- in place: straight into the slot (`retrieve_into`); the publisher copies nothing;
- copying (`in_place=False`): into its own buffers, which the publisher then copies into the slot (RGB),
  as a ZED without in-place retrieval does.

Per measurement: one borrowing receiver (capture -> borrowed frame in hand, p50/p99; watermarks checked), then one
copying receiver (its latency, and "complete": capture -> the frame complete in shared memory, from the
publisher's heartbeat). Publisher CPU per frame is the publisher process's CPU time (camera included) over
the borrow phase divided by the frames it published; copies per frame are counted by the publisher itself
(`CameraPublisher.copies_made`: schemas of frame data it copied), not assumed.

Beside them, the toolkit's publisher hosting this same camera copying (section `peer_rgbd_zed_model`, run by
benchmarks/run.py in .venv-peers: `benchmarks.peer --camera zed-model`): what a ZED user of the toolkit pays,
the camera's device copy, `cv2.cvtColor` of each image to RGB (as the toolkit's ZED class does), then the
toolkit's copy into its shared memory (of RGB, depth and the depth image, which the toolkit always writes).
`peer_rgbd_1080p_p50_ms`, the reference figure, is the toolkit on `SyntheticCamera`, whose retrieves cost
nothing: there the toolkit's copy is the only one, as our in-place camera's device copy is ours, so no design
that writes the frame once can be 2x below it; both are reported.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from benchmarks.latency import FPS, RESOLUTION_1080P, borrow_phase, receivers_phase
from benchmarks.processes import ProcessGroup

MODES = ("inplace", "copying")
PEER_SECTION = "peer_rgbd_zed_model"
"""The toolkit's publisher hosting this section's camera copying (`benchmarks.peer --camera zed-model`)."""


def start_publisher(group: ProcessGroup, in_place: bool, zed: dict[str, Any] | None = None) -> Any:
    """A 30 fps 1080p RGB-D publisher writing in place or copying, on a fresh namespace.

    The camera is `InPlaceSyntheticCamera`, or with `zed` (ZedCamera keyword arguments) a real ZED.
    """
    from airo_mp_camera import MultiprocessRGBDPublisher
    from airo_mp_camera.cameras.synthetic_in_place import InPlaceSyntheticCamera

    camera: type = InPlaceSyntheticCamera
    kwargs = {"resolution": RESOLUTION_1080P, "fps": FPS, "depth_model": "realistic", "in_place": in_place}
    if zed is not None:
        from airo_mp_camera.cameras.zed import ZedCamera

        camera, kwargs = ZedCamera, {**zed, "in_place": in_place}
    publisher = MultiprocessRGBDPublisher(camera, kwargs, f"bench_{uuid.uuid4().hex[:8]}")
    group.adopt(publisher)
    publisher.start()
    return publisher


def measure(group: ProcessGroup, in_place: bool, seconds: float, zed: dict[str, Any] | None = None) -> dict[str, Any]:
    """One mode: a borrowing receiver (with the publisher's CPU and copies), then a copying receiver."""
    from airo_mp_camera import MultiprocessRGBDReceiver

    publisher = start_publisher(group, in_place, zed)
    # Registered for RGB + depth from here on (it never reads): every frame counted below is written for readers,
    # also while the borrower's process still starts.
    reader = MultiprocessRGBDReceiver(publisher.namespace, timeout=10.0)
    try:
        frames, copies = publisher.frames_published, publisher.copies_made
        borrowed = borrow_phase(group, publisher, 1, seconds)
        frames, copies = publisher.frames_published - frames, publisher.copies_made - copies
        copied = receivers_phase(
            group, publisher.namespace, lambda: int(publisher.frames_published), {}, 1, seconds, False
        )
        del copied["stamps"]
    finally:
        reader.close()
        publisher.stop()
    cpu = borrowed["cpu_percent"].get("publisher")
    rate = borrowed["publisher_rate_hz"]
    return {
        "borrow": borrowed,
        "copy": copied,
        "frames": frames,
        "publisher_copies": copies,
        "publisher_copies_per_frame": round(copies / frames, 3) if frames else None,
        "publisher_cpu_ms_per_frame": round(10.0 * cpu / rate, 3) if cpu is not None and rate else None,
    }


ORDER = ("inplace", "copying", "copying", "inplace")
"""Modes in measuring order: ABBA, so a drift of the machine's load over the run weighs on both alike."""


def summarise(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One mode's figures over its runs: mean of the p50s, max of the p99s, copies and CPU over all frames."""

    def mean(values: list[Any]) -> float | None:
        present = [value for value in values if value is not None]
        return round(sum(present) / len(present), 3) if present else None

    frames = sum(report["frames"] for report in reports)
    p99s = [report["borrow"]["latency_p99_ms"] for report in reports]
    return {
        "borrow_p50_ms": mean([report["borrow"]["latency_p50_ms"] for report in reports]),
        "borrow_p99_ms": max(p99s) if p99s else None,
        "complete_ms": mean([report["copy"]["published_p50_ms"] for report in reports]),
        "copy_p50_ms": mean([report["copy"]["latency_p50_ms"] for report in reports]),
        "publisher_copies_per_frame": round(sum(r["publisher_copies"] for r in reports) / frames, 3)
        if frames
        else None,
        "publisher_cpu_ms_per_frame": mean([report["publisher_cpu_ms_per_frame"] for report in reports]),
        "torn": sum(report["borrow"]["torn_or_changed_while_held"] + report["copy"]["torn"] for report in reports),
    }


def run(seconds: float, zed: dict[str, Any] | None = None) -> dict[str, Any]:
    """Both modes twice, in ABBA order, `seconds / 2` per phase (`zed`: ZedCamera keyword arguments, a real ZED)."""
    camera = f"ZedCamera {zed}" if zed else "InPlaceSyntheticCamera 1920x1080 @ 30 fps, depth_model=realistic"
    rounds: list[dict[str, Any]] = []
    with ProcessGroup() as group:
        for mode in ORDER:
            rounds.append({"mode": mode, **measure(group, mode == "inplace", seconds / 2, zed)})
    return {
        "camera": f"{camera}; receivers read RGB + depth",
        "order": list(ORDER),
        **{mode: summarise([r for r in rounds if r["mode"] == mode]) for mode in MODES},
        "rounds": rounds,
    }


def figures(sections: dict[str, Any]) -> dict[str, Any]:
    """The section's headline numbers under the names results.json and the README use."""
    from benchmarks.run import _get

    section = sections.get("inplace", {})
    values: dict[str, Any] = {}
    for mode in MODES:
        values[f"shm_borrow_{mode}_rgbd_1080p_p50_ms"] = _get(section, mode, "borrow_p50_ms")
        values[f"shm_borrow_{mode}_rgbd_1080p_p99_ms"] = _get(section, mode, "borrow_p99_ms")
        values[f"shm_complete_{mode}_rgbd_1080p_ms"] = _get(section, mode, "complete_ms")
        values[f"shm_copy_{mode}_rgbd_1080p_p50_ms"] = _get(section, mode, "copy_p50_ms")
        values[f"publisher_copies_per_frame_{mode}"] = _get(section, mode, "publisher_copies_per_frame")
        values[f"publisher_cpu_ms_per_frame_{mode}"] = _get(section, mode, "publisher_cpu_ms_per_frame")
    peer = sections.get(PEER_SECTION, {})
    values["peer_zed_model_rgbd_1080p_p50_ms"] = _get(peer, "latency_ms", "p50")
    values["peer_zed_model_rgbd_1080p_p99_ms"] = _get(peer, "latency_ms", "p99")
    values["peer_zed_model_rgbd_1080p_after_copy_p50_ms"] = _get(peer, "latency_after_copy_ms", "p50")
    values["peer_zed_model_torn_frames"] = _get(peer, "torn")
    torn = [_get(section, mode, "torn") for mode in MODES]
    values["inplace_torn_frames"] = sum(t for t in torn if t is not None) if any(t is not None for t in torn) else None
    return values


def targets(f: dict[str, Any], at_most: Callable[..., Any], at_least: Callable[..., Any]) -> list[Any]:
    """The targets of issue 18: in place against the same camera copying, and against the toolkit's views."""
    from benchmarks.run import _ratio

    borrow = f.get("shm_borrow_inplace_rgbd_1080p_p50_ms")
    return [
        at_most(
            "in-place borrow p50 / copying borrow p50",
            _ratio(borrow, f.get("shm_borrow_copying_rgbd_1080p_p50_ms")),
            0.7,
            "the same camera writing into the slot / copied by the publisher",
        ),
        at_least(
            "peer p50 / in-place borrow p50",
            _ratio(f.get("peer_rgbd_1080p_p50_ms"), borrow),
            2.0,
            "toolkit views, on a camera that copies nothing / ours in place",
        ),
        at_least(
            "peer on this camera p50 / in-place borrow p50",
            _ratio(f.get("peer_zed_model_rgbd_1080p_p50_ms"), borrow),
            2.0,
            "toolkit views, on this section's camera copying / ours in place",
        ),
        at_most(
            "publisher CPU/frame, in place / copying",
            _ratio(f.get("publisher_cpu_ms_per_frame_inplace"), f.get("publisher_cpu_ms_per_frame_copying")),
            0.6,
            "publisher process (camera included), ms per frame",
        ),
        at_most(
            "publisher copies per frame (in place)",
            f.get("publisher_copies_per_frame_inplace"),
            0,
            "counted by the publisher",
        ),
        at_most("torn frames (in place and copying)", f.get("inplace_torn_frames"), 0, "watermarks"),
    ]


def print_rows(f: dict[str, Any], fmt: Callable[..., str]) -> None:
    """The section's side-by-side rows."""
    print()
    print(f"{'in-place retrieval, 1080p RGB-D @ 30 fps':<44}{'in place':>10}{'copying':>10}")
    for label, key in (
        ("borrowed frame, p50 ms", "shm_borrow_{}_rgbd_1080p_p50_ms"),
        ("borrowed frame, p99 ms", "shm_borrow_{}_rgbd_1080p_p99_ms"),
        ("frame complete in shm, p50 ms", "shm_complete_{}_rgbd_1080p_ms"),
        ("copying receiver, p50 ms", "shm_copy_{}_rgbd_1080p_p50_ms"),
        ("publisher CPU ms per frame", "publisher_cpu_ms_per_frame_{}"),
        ("publisher copies per frame (counted)", "publisher_copies_per_frame_{}"),
    ):
        print(f"{label:<44}{fmt(f.get(key.format('inplace'))):>10}{fmt(f.get(key.format('copying'))):>10}")
    print(
        f"{'toolkit on this camera: views / copied p50 ms':<44}"
        f"{fmt(f.get('peer_zed_model_rgbd_1080p_p50_ms')):>10}"
        f"{fmt(f.get('peer_zed_model_rgbd_1080p_after_copy_p50_ms')):>10}"
    )


def main(argv: list[str] | None = None) -> None:
    """This section alone (prints, no JSON): `tools/isolated .venv/bin/python -m benchmarks.inplace --seconds 5`.

    On a machine with a ZED: `python -m benchmarks.inplace --camera zed --zed-resolution HD1080`.
    """
    import argparse

    from benchmarks.run import _fmt

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--camera", choices=("synthetic", "zed"), default="synthetic", help="zed: a real ZED")
    parser.add_argument("--zed-resolution", default="HD1080", help="ZedCamera resolution (with --camera zed)")
    parser.add_argument("--zed-fps", type=int, default=30, help="ZedCamera fps (with --camera zed)")
    args = parser.parse_args(argv)
    zed = {"resolution": args.zed_resolution, "fps": args.zed_fps} if args.camera == "zed" else None
    sections: dict[str, Any] = {"inplace": run(args.seconds, zed)}
    if zed is None:
        from benchmarks.run import run_peer

        sections[PEER_SECTION] = run_peer(args.seconds, False, camera="zed-model")  # as benchmarks/run.py
    f = figures(sections)
    if zed is not None:
        print("a real ZED stamps no watermarks: its 'torn' counts are every frame, not torn frames")
        f["inplace_torn_frames"] = None

    def bound(name: str, value: Any, limit: float, what: str, passed: Callable[[float], bool]) -> dict[str, Any]:
        return {
            "target": name,
            "value": value,
            "limit": limit,
            "what": what,
            "passed": None if value is None else passed(value),
        }

    lines = targets(
        f,
        lambda name, value, limit, what: bound(name, value, limit, f"<= {limit}; {what}", lambda v: v <= limit),
        lambda name, value, limit, what: bound(name, value, limit, f">= {limit}; {what}", lambda v: v >= limit),
    )
    print_rows(f, _fmt)
    for line in lines:
        verdict = {True: "PASS", False: "FAIL", None: "n/a "}[line["passed"]]
        print(f"{verdict}  {line['target']:<44} {_fmt(line['value']):>8}  ({line['what']})")


if __name__ == "__main__":
    main()
