"""iceoryx2 shared memory (PyPI `iceoryx2`, in `.venv-peers`) side by side with ours: see benchmarks/transport_peer.py.

Written as iceoryx2's own Python examples do it for dynamic-size payloads (publish_subscribe_dynamic_data) and for
waking a subscriber (event_based_communication): a publish-subscribe service of `Slice[c_uint8]`, the publisher
loans a sample of one frame (`loan_slice_uninit`), writes the camera's arrays straight into it through
`payload().as_memory_view()`, sends it and notifies an event service of the same name; the subscriber waits on
its listener, takes the newest sample (`receive()`) and reads numpy views of it in place (zero-copy), or in phase
"copied" copies them out; the sample goes back to the publisher when deleted.

Everything iceoryx2 creates is under a prefix and a root directory of this run only (`iox2_airo_bench_<id>_` in
/dev/shm, /tmp/airo_mp_camera.iox2_<id>/), so that the benchmark removes exactly that afterwards, on every path
(iceoryx2 leaves a management segment and empty directories even on a clean exit), and reports what it removed.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import uuid
from typing import Any

import numpy as np

from benchmarks import transport_peer
from benchmarks.transport_peer import LAYOUT, SHM_DIR, measure

SERVICE = "airo_mp_camera/bench/rgbd"


def _node(iox2: Any, options: dict[str, Any]) -> Any:
    """A node whose files all carry this run's prefix and live under this run's root directory, and that leaves
    signals to Python."""
    config = iox2.config.default()
    config.global_cfg.prefix = iox2.FileName.new(options["prefix"])
    config.global_cfg.root_path = iox2.Path.new(options["root"] + "/")
    builder = iox2.NodeBuilder.new().config(config)
    # Python keeps its own SIGINT/SIGTERM handling, so that the benchmark stops these processes as any other.
    return builder.signal_handling_mode(iox2.SignalHandlingMode.Disabled).create(iox2.ServiceType.Ipc)


def _services(iox2: Any, node: Any) -> tuple[Any, Any]:
    """The frames' publish-subscribe service (newest sample only, no history) and its event service."""
    name = iox2.ServiceName.new(SERVICE)
    frames = (
        node.service_builder(name)
        .publish_subscribe(iox2.Slice[ctypes.c_uint8])
        .history_size(0)
        .subscriber_max_buffer_size(1)
        .subscriber_max_borrowed_samples(2)
        .max_publishers(1)
        .max_subscribers(2)
        .open_or_create()
    )
    return frames, node.service_builder(name).event().open_or_create()


def publisher(options: dict[str, Any], counter: Any, ready: Any, stop: Any) -> None:
    """Publishes the synthetic camera's frames in loaned samples until `stop` is set."""
    import iceoryx2 as iox2

    camera = transport_peer.synthetic_camera()
    node = _node(iox2, options)
    frames, events = _services(iox2, node)
    pub = (
        frames.publisher_builder()
        .initial_max_slice_len(LAYOUT.nbytes)
        .allocation_strategy(iox2.AllocationStrategy.Static)
        .max_loaned_samples(1)
        .create()
    )
    notifier = events.notifier_builder().create()
    ready.set()
    while not stop.is_set():
        camera.grab_images()
        sample = pub.loan_slice_uninit(LAYOUT.nbytes)
        LAYOUT.write(np.frombuffer(sample.payload().as_memory_view(), np.uint8), camera)
        sample.assume_init().send()
        notifier.notify()
        counter.value += 1
    notifier.delete()
    pub.delete()


def subscriber(options: dict[str, Any], phase: str, seconds: float, results: Any) -> None:
    """Waits on the event listener, takes the newest sample, and measures it for `seconds`."""
    try:
        import iceoryx2 as iox2

        node = _node(iox2, options)
        frames, events = _services(iox2, node)
        sub = frames.subscriber_builder().create()
        listener = events.listener_builder().create()
        wait = iox2.Duration.from_secs(5)

        def receive() -> transport_peer.Received:
            while True:
                sample = sub.receive()
                if sample is None:
                    if not listener.timed_wait(wait) and not sub.has_samples():
                        raise TimeoutError("no frame from the iceoryx2 publisher within 5 s")
                    continue
                newer = sub.receive()
                while newer is not None:  # keep only the newest
                    sample.delete()
                    sample, newer = newer, sub.receive()
                payload = sample.payload()
                return np.frombuffer(payload.as_memory_view(), np.uint8), sample.delete

        receive()[1]()
        results.put(("ready", None))
        report = measure(receive, phase, seconds)
        listener.delete()
        sub.delete()
        results.put(("result", report))
    except BaseException as error:  # report, so the benchmark does not wait for nothing
        results.put(("error", f"iceoryx2 subscriber: {type(error).__name__}: {error}"))


def _cleanup(options: dict[str, Any]) -> list[str]:
    """Removes this run's iceoryx2 files (prefix-matched in /dev/shm, and the root directory); returns them."""
    removed = [os.path.join(SHM_DIR, n) for n in os.listdir(SHM_DIR) if n.startswith(options["prefix"])]
    for path in removed:
        os.unlink(path)
    if os.path.exists(options["root"]):
        removed += [os.path.join(d, n) for d, _, names in os.walk(options["root"]) for n in names] + [options["root"]]
        shutil.rmtree(options["root"])
    return removed


def run(seconds: float) -> dict[str, Any]:
    """The iceoryx2 peer, both phases; this run's iceoryx2 files removed afterwards."""
    run_id = uuid.uuid4().hex[:8]
    options = {"prefix": f"iox2_airo_bench_{run_id}_", "root": f"/tmp/airo_mp_camera.iox2_{run_id}"}
    return transport_peer.run(publisher, subscriber, options, seconds, cleanup=lambda: _cleanup(options))


if __name__ == "__main__":
    transport_peer.main("iceoryx2", "iceoryx2", run)
