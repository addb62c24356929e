"""CameraPublisher: a spawned process that hosts a camera and writes every grab into shared memory."""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
import time
from collections.abc import Sequence
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from airo_mp_camera.cameras.in_place import in_place_layouts
from airo_mp_camera.pipeline.errors import NamespaceInUseError, PublisherStartError
from airo_mp_camera.pipeline.frame_ring import HEARTBEAT_PERIOD_S, FrameRing, segment_path
from airo_mp_camera.pipeline.namespace import validate_namespace
from airo_mp_camera.pipeline.reader_table import readers_path
from airo_mp_camera.pipeline.schemas import CameraSchema, FrameStamp, Schema, buffer_arrays
from airo_mp_camera.pipeline.stopping import StopRequest, join_or_escalate, stop_on_signals

logger = logging.getLogger(__name__)
SPAWN = multiprocessing.get_context("spawn")


class CameraPublisher(SPAWN.Process):  # type: ignore[name-defined]
    """Hosts `camera_cls(**camera_kwargs)` in its own (spawned) process and shares each grab.

    The camera is constructed inside the child process. Each loop grabs, reads which schemas the live
    receivers read (the reader table), and only those schemas retrieve their data from the camera and
    write it into one free shared-memory slot (CameraSchema always). A slot a receiver borrows is never
    written; the publisher never waits for a receiver. `start()` returns once the first frame is
    published, or raises `PublisherStartError` with the child's reason (camera failed to open, the
    namespace is in use, ...). The shared memory is removed on `stop()`, SIGINT and SIGTERM.

    A camera that retrieves in place (`slot_layouts()` and `retrieve_into()`, see cameras/in_place.py) writes
    its schemas straight into the slot, in its own layout; the publisher copies only what it did not write.
    `copies_made` counts the publisher's copies of frame data (schemas other than CameraSchema).

    Args:
        camera_cls: any class with the airo-camera-toolkit camera interface.
        camera_kwargs: keyword arguments for `camera_cls`, constructed in the child.
        schemas: what to share; CameraSchema is added when missing.
        shared_memory_namespace: ROS-style name, e.g. "camera" or "robot/zed_left".
        n_slots: frame slots in the ring (2 to 64). FREE_SLOTS_KEPT (3) are never borrowed, so receivers can
            borrow `n_slots - 3` distinct frames at once (the same frame by any number of them); a copying
            reader has about 2 frame times to copy a frame.
        segment_mode: file mode of the shared-memory segment (0o600: owner only).
        start_timeout: seconds `start()` waits for the camera to open and publish its first frame.

    """

    def __init__(
        self,
        camera_cls: type,
        camera_kwargs: dict[str, Any] | None = None,
        schemas: Sequence[Schema] | None = None,
        shared_memory_namespace: str = "camera",
        *,
        n_slots: int = 5,
        segment_mode: int = 0o600,
        start_timeout: float = 30.0,
    ) -> None:
        self.namespace = validate_namespace(shared_memory_namespace)
        super().__init__(name=f"CameraPublisher[{self.namespace}]", daemon=True)
        chosen = list(schemas) if schemas is not None else [CameraSchema()]
        if not any(isinstance(schema, CameraSchema) for schema in chosen):
            chosen.insert(0, CameraSchema())
        self._camera_cls = camera_cls
        self._camera_kwargs = dict(camera_kwargs or {})
        self._schemas = chosen
        self._n_slots = n_slots
        self._segment_mode = segment_mode
        self._start_timeout = start_timeout
        self._stop_event = StopRequest()
        self._status_reader, self._status_writer = SPAWN.Pipe(duplex=False)
        self._frames: Synchronized[int] = SPAWN.Value("Q", 0, lock=False)
        self._copies: Synchronized[int] = SPAWN.Value("Q", 0, lock=False)

    @property
    def schemas(self) -> list[Schema]:
        """The schemas this publisher writes."""
        return list(self._schemas)

    @property
    def frames_published(self) -> int:
        """Number of frames published so far (frame ids also count the grabs dropped for want of a slot)."""
        return int(self._frames.value)

    @property
    def copies_made(self) -> int:
        """Schemas of frame data (all but CameraSchema) the publisher copied into slots so far.

        A camera's in-place writes are not counted: with a camera that writes every schema it is read for in
        place, this stays 0.
        """
        return int(self._copies.value)

    # ------------------------------------------------------------------------------ parent side
    def start(self) -> None:
        """Spawns the process and waits until it published its first frame.

        Raises:
            NamespaceInUseError: a live publisher already owns the namespace.
            PublisherStartError: the child failed otherwise; its message says why.

        """
        super().start()
        deadline = time.monotonic() + self._start_timeout
        while time.monotonic() < deadline:
            if self._status_reader.poll(0.05):
                status, message = self._status_reader.recv()
                if status == "ready":
                    return
                self.join(5.0)
                error = (
                    NamespaceInUseError
                    if message.startswith(f"{NamespaceInUseError.__name__}:")
                    else PublisherStartError
                )
                raise error(f"camera publisher of namespace '{self.namespace}' failed: {message}")
            if not self.is_alive():
                if self.frames_published > 0:  # it died after its first frame, before saying so: it did start
                    return
                raise PublisherStartError(
                    f"camera publisher of namespace '{self.namespace}' exited with code {self.exitcode} before "
                    "publishing a frame"
                )
        self.stop()
        raise PublisherStartError(
            f"camera publisher of namespace '{self.namespace}' published no frame within {self._start_timeout} s"
        )

    def stop(self, timeout: float = 5.0) -> None:
        """Asks the process to stop, waits, and escalates to SIGTERM then SIGKILL; removes the segment."""
        self._stop_event.request()
        if self.pid is None:
            return
        join_or_escalate(self, timeout, f"publisher '{self.namespace}'", "its segment is removed here")
        self._remove_own_segment()

    def _remove_own_segment(self) -> None:
        """Removes the segment if the child died without doing so and it is still the child's."""
        from airo_mp_camera.pipeline.frame_ring import read_owner

        path = segment_path(self.namespace)
        owner = read_owner(path)
        if owner is not None and owner.identity.pid == self.pid and not owner.is_alive():
            for leftover in (path, readers_path(path)):
                try:
                    os.unlink(leftover)
                except FileNotFoundError:
                    pass

    def __enter__(self) -> CameraPublisher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------ child side
    def run(self) -> None:
        """The child's loop: open the camera, create the segment, grab and write until stopped."""
        stop = stop_on_signals()
        parent = os.getppid()
        ring: FrameRing | None = None
        try:
            camera = self._camera_cls(**self._camera_kwargs)
            missing = {repr(s): s.missing_methods(camera) for s in self._schemas if s.missing_methods(camera)}
            if missing:
                raise TypeError(f"{self._camera_cls.__name__} lacks what these schemas need: {missing}")
            width, height = (int(v) for v in camera.resolution)
            layouts = in_place_layouts(camera, [s.name for s in self._schemas if not isinstance(s, CameraSchema)])
            templates = {s.name: buffer_arrays(s.allocate(width, height, layouts.get(s.name))) for s in self._schemas}
            ring = FrameRing.create(self.namespace, templates, self._n_slots, self._segment_mode)
        except BaseException as error:  # report every failure to the parent, then exit
            self._status_writer.send(("error", f"{type(error).__name__}: {error}"))
            if ring is not None:
                ring.close(unlink=True)
            return
        slots = [
            {s.name: s.wrap(ring.slot_views(slot)[s.name]) for s in self._schemas} for slot in range(ring.n_slots)
        ]
        # Receivers in another pid namespace judge liveness by the heartbeat alone: keep it fresh between
        # the frames of a slow camera too.
        stop_heartbeat = threading.Event()
        heartbeat = threading.Thread(
            target=_beat, args=(ring, stop_heartbeat), name=f"heartbeat[{self.namespace}]", daemon=True
        )
        heartbeat.start()
        readers = ring.readers
        assert readers is not None
        always = ring.mask_of([CameraSchema.name])
        # The first frame carries every schema, read or not: start() then proves that the camera gives all
        # it was configured for (a bag without depth behind a depth publisher fails at start, not later).
        everything = ring.mask_of([s.name for s in self._schemas])
        frame_id = published = copied = 0
        failed = False
        try:
            while not (stop.is_set() or self._stop_event.is_set()) and os.getppid() == parent:
                camera.grab_images()
                frame_id += 1
                wanted = always | readers.schemas_read() if published else everything
                slot = ring.loan_slot()
                if slot is None:  # every slot it may use is borrowed: drop this frame, never wait
                    continue
                timestamp = getattr(camera, "capture_timestamp", None) or time.time()
                stamp = FrameStamp(frame_id, float(timestamp))
                buffers = slots[slot]
                in_place = {name: buffers[name] for name in layouts if wanted & ring.schema_bits[name]}
                written = set(camera.retrieve_into(in_place)) & set(in_place) if in_place else set()
                for schema in self._schemas:
                    if wanted & ring.schema_bits[schema.name] and schema.name not in written:
                        schema.fill(camera, buffers[schema.name], stamp)
                        copied += schema.name != CameraSchema.name
                # Counted before a receiver can see it: a child killed right after its first frame (a receiver got
                # it) has then started, for start(), and is restarted as any camera that died, not refused.
                published += 1
                self._copies.value = copied
                self._frames.value = published
                ring.publish(slot, frame_id, wanted)
                if published == 1:
                    self._status_writer.send(("ready", ""))
        except EOFError as error:  # a recording (SVO, bag) ended and does not loop: a normal end
            logger.info("publisher '%s' finished: %s", self.namespace, error)
            if self._frames.value == 0:  # nothing published yet: start() is still waiting for the reason
                failed = True
                self._status_writer.send(("error", f"{type(error).__name__}: {error}"))
        except BaseException as error:
            failed = True
            logger.error("publisher '%s' stopped: %s: %s", self.namespace, type(error).__name__, error)
            if self._frames.value == 0:  # also when the first frame's grab worked but a schema failed to fill
                self._status_writer.send(("error", f"{type(error).__name__}: {error}"))
        finally:
            stop_heartbeat.set()
            heartbeat.join()
            del slots
            ring.close(unlink=True)
            close = getattr(camera, "close", None)
            if callable(close):
                close()
        if failed:
            sys.exit(1)


def _beat(ring: FrameRing, stop: threading.Event) -> None:
    """Every HEARTBEAT_PERIOD_S until `stop`: refreshes the heartbeat and frees the rows of dead receivers."""
    readers = ring.readers
    while not stop.wait(HEARTBEAT_PERIOD_S):
        ring.heartbeat_now()
        if readers is not None:
            readers.reap_dead()
