"""Zenoh shared memory (eclipse-zenoh, in `.venv-peers`) side by side with ours: see benchmarks/transport_peer.py.

Written as zenoh-python's own SHM examples (z_pub_shm.py, z_sub_shm.py) do it: the publisher allocates one
buffer per frame from a POSIX `ShmProvider` with the `BlockOn(GarbageCollect())` policy and `put`s it; the
subscriber gets a sample whose payload refers to that shared memory (`payload.as_shm()` is not None: counted).

What zenoh-python 1.10 allows from Python: a `ZShmMut` is written only by slice assignment from `bytes` or a
`bytearray`, and `ZBytes`/`ZShm` expose no buffer protocol, so there is no numpy view of the shared memory on
either side. The publisher copies the camera's arrays into a reused `bytearray`, then that into the SHM buffer
(two copies); the subscriber's "view" is `np.frombuffer(payload.to_bytes())` (one copy, the least Python can do),
and "copied" copies that into arrays of its own as every copying receiver does.

Confined to this machine: peer mode, loopback-only TCP endpoints (the publisher listens on 127.0.0.1:<free port>,
the subscriber connects there), multicast and gossip scouting disabled.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import numpy as np

from benchmarks import transport_peer
from benchmarks.transport_peer import LAYOUT, measure

KEY = "airo_mp_camera/bench/rgbd"


def _config(zenoh: Any, port: int, listen: bool) -> Any:
    """A Zenoh config confined to loopback: no scouting, one TCP endpoint on 127.0.0.1, shared memory on."""
    endpoint = f"tcp/127.0.0.1:{port}"
    config = zenoh.Config()
    config.insert_json5("mode", json.dumps("peer"))
    config.insert_json5("listen/endpoints", json.dumps([endpoint] if listen else ["tcp/127.0.0.1:0"]))
    config.insert_json5("connect/endpoints", json.dumps([] if listen else [endpoint]))
    config.insert_json5("scouting/multicast/enabled", "false")
    config.insert_json5("scouting/gossip/enabled", "false")
    config.insert_json5("transport/shared_memory/enabled", "true")
    return config


def publisher(options: dict[str, Any], counter: Any, ready: Any, stop: Any) -> None:
    """Publishes the synthetic camera's frames, each in a freshly allocated SHM buffer, until `stop` is set."""
    import zenoh

    camera = transport_peer.synthetic_camera()
    staging = bytearray(LAYOUT.nbytes)
    staging_array = np.frombuffer(staging, np.uint8)
    with zenoh.open(_config(zenoh, options["port"], listen=True)) as session:
        provider = zenoh.shm.ShmProvider.default_backend(options["pool_frames"] * LAYOUT.nbytes)
        pub = session.declare_publisher(KEY)
        policy = zenoh.shm.BlockOn(zenoh.shm.GarbageCollect())
        ready.set()
        while not stop.is_set():
            camera.grab_images()
            LAYOUT.write(staging_array, camera)
            buffer = provider.alloc(LAYOUT.nbytes, policy=policy)
            buffer[:] = staging
            pub.put(buffer)
            counter.value += 1
        pub.undeclare()


def subscriber(options: dict[str, Any], phase: str, seconds: float, results: Any) -> None:
    """Receives frames for `seconds` (the newest one, from a ring channel of one sample) and measures them."""
    try:
        import zenoh

        transport_peer.exit_after(seconds + 90)
        with zenoh.open(_config(zenoh, options["port"], listen=False)) as session:
            sub = session.declare_subscriber(KEY, zenoh.handlers.RingChannel(1))
            shm = [0, 0]

            def receive() -> transport_peer.Received:
                payload = sub.recv().payload
                shm[0] += payload.as_shm() is not None
                shm[1] += 1
                return np.frombuffer(payload.to_bytes(), np.uint8), lambda: None

            receive()
            results.put(("ready", None))
            report = measure(receive, phase, seconds)
            report["shm_payload_ratio"] = round(shm[0] / max(shm[1], 1), 4)
            sub.undeclare()
        results.put(("result", report))
    except BaseException as error:  # report, so the benchmark does not wait for nothing
        results.put(("error", f"zenoh subscriber: {type(error).__name__}: {error}"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(seconds: float) -> dict[str, Any]:
    """The Zenoh SHM peer, both phases; its SHM files (from the processes' maps) are removed if left behind."""
    options = {"port": _free_port(), "pool_frames": 4}
    report = transport_peer.run(publisher, subscriber, options, seconds, cleanup=list)
    report["pool_frames"] = options["pool_frames"]
    return report


if __name__ == "__main__":
    transport_peer.main("Zenoh SHM", "eclipse-zenoh", run)
