"""MultiCameraReceiver: one frame of each of several cameras, all of one instant, in one call.

Each camera is an ordinary receiver of its own namespace (a `MultiprocessRGBDReceiver` unless another is
given); this module uses only their public API. It borrows every new frame of every camera as it comes
(no copy) and keeps the last few borrowed frames per camera, its history (`history`, 2 by default: all
that a default ring of 5 slots lets receivers borrow). From those it chooses a *set*: one frame per camera,
every one newer than that camera's frame in the previous set, and all capture times within `tolerance`
seconds of each other.

Which set: the newest one, the set whose oldest frame is the newest possible (each camera then gives its
newest frame inside the window that starts at that oldest frame). A history rather than only each
camera's newest frame: a camera whose frames arrive later after capture (a heavier depth mode, a slower
link) has its newest frame from the same instant only after the other cameras have published a newer one;
matching newest frames only would never find that set. Frames between two sets are skipped and counted per
camera (`skipped`). Frames are collected while `grab_images()`, `try_grab_images()` or `borrow()` run;
while none runs, only each camera's newest frame (and the borrowed frames kept) remain to choose from.

Delivery: `grab_images()` copies the set's frames into each camera's receiver, so `cameras["wrist"]`
answers `retrieve_rgb_image_as_int()`, `frame_id`, `capture_timestamp` ... for the set's frame; `borrow()`
hands the borrowed frames themselves (a `BorrowedSet`, released together). A borrowed slot is never written
by the publisher until released, so no frame of a set is ever torn, and each frame's streams are of that frame alone.

Capture times must be on one clock: this machine's wall clock, as `time.time()`. The ZED's image
timestamp (`TIME_REFERENCE.IMAGE`) is; the synthetic camera's is with a `phase` (see `frame_clock`; without
one it stamps when the grab returns); a replayed bag's stamps are either the playback wall time (cameras of
one bag given one `start_time` keep the bag's relative timing) or the recorded stamps (`restamp=False`),
which share the recording machine's clock. Software matching aligns capture *stamps*: exposures of
free-running cameras still start at different instants within a frame; only hardware sync aligns those.

Errors name the cameras: after `timeout` without a set, a `PublisherNotFoundError` or
`PublisherGoneError` when a camera has no (live) publisher, else `NoFrameSetError` listing the cameras
with no frame within tolerance of the others and the smallest spread seen. A camera whose publisher
restarts is followed as a single receiver follows it (frame ids start again at 1). Not thread-safe: use
one MultiCameraReceiver from one thread.

Set matching (set_matching.py) and BorrowedSet (borrowed_set.py) are modules of their own; what remains here
is one class, the collecting and delivery of sets, which share the per-camera history.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from airo_ipc.cyclone_shm.idl_shared_memory.base_idl import BaseIdl

from airo_mp_camera.pipeline.borrowed_frame import BorrowedFrame
from airo_mp_camera.pipeline.borrowed_set import BorrowedSet
from airo_mp_camera.pipeline.errors import (
    FrameTimeoutError,
    NoFrameSetError,
    PublisherGoneError,
    PublisherNotFoundError,
    SharedMemoryCameraError,
    SlotsExhaustedError,
)
from airo_mp_camera.pipeline.receiver import SharedMemoryReceiver
from airo_mp_camera.pipeline.schemas import buffer_arrays
from airo_mp_camera.pipeline.set_matching import closest_set, newest_set
from airo_mp_camera.pipeline.variants import MultiprocessRGBDReceiver

_WAIT_SLICE_S = 0.002
# How a receiver's error says its own (here: one poll's) timeout; the set's timeout is said instead.
_OWN_TIMEOUT = re.compile(
    r" and no publisher came back within \S+ s| within \S+ s"
)  # a wait for one camera's frame lasts at most this long before the others are polled
# References to an array of ours: the buffer's attribute, the local name and getrefcount's argument.
_OWN_REFERENCES = 3

ReceiverFactory = Callable[[str], SharedMemoryReceiver]


@dataclass
class _Camera:
    """One camera of the set: its receiver, the borrowed frames kept, and where its last set left it."""

    name: str
    receiver: SharedMemoryReceiver
    owned: bool  # made here (closed here)
    history: list[BorrowedFrame] = field(default_factory=list)  # oldest first, all newer than `last_set_frame`
    last_set_frame: int = 0
    restarts: int = 0
    problem: SharedMemoryCameraError | None = None  # why the last attempt got no frame (no publisher...)
    skipped: int = 0
    next_capture: float = -np.inf  # when its next frame is due: the last one seen plus a frame period
    copies: dict[str, BaseIdl] = field(default_factory=dict)  # the arrays grab_images() copies into

    def describe(self) -> str:
        return f"'{self.name}' (namespace '{self.receiver.namespace}')"

    def trouble(self) -> str:
        """The camera and why its last attempt got no frame (without the attempt's own short timeout)."""
        reason = _OWN_TIMEOUT.sub("", str(self.problem)).replace(f"namespace '{self.receiver.namespace}': ", "")
        return f"camera {self.describe()}: {reason}"

    def release_through(self, frame_id: int) -> None:
        """Releases the kept frames up to `frame_id` (they can be in no later set)."""
        keep = []
        for frame in self.history:
            if frame.frame_id <= frame_id:
                frame.release()
            else:
                keep.append(frame)
        self.history = keep

    def release_oldest(self) -> bool:
        if not self.history:
            return False
        self.history.pop(0).release()
        return True


class MultiCameraReceiver:
    """Several cameras' frames of one instant (see the module docstring for the semantics).

    ```python
    cameras = MultiCameraReceiver({"wrist": "zed_wrist", "top": "zed_top"}, tolerance=0.010)
    cameras.grab_images(timeout=5.0)
    rgb = cameras["wrist"].retrieve_rgb_image_as_int()
    with cameras.borrow() as frames:
        frames["top"].retrieve_depth_map()
    ```

    Args:
        cameras: name -> the camera's namespace (a receiver is made with `receiver_factory`) or a receiver
            of it (any SharedMemoryReceiver variant; cameras may differ in schemas, resolution and rate).
        tolerance: the largest spread, in seconds, between a set's capture times.
        timeout: default seconds `grab_images()` and `borrow()` wait for a set.
        history: borrowed frames kept per camera to choose sets from (>= 1). A publisher lets all its receivers
            together borrow `n_slots - 3` distinct frames: with more than 2, start the publishers with more slots.
        receiver_factory: makes the receiver of a namespace given as text (default: MultiprocessRGBDReceiver).
    """

    def __init__(
        self,
        cameras: Mapping[str, str | SharedMemoryReceiver],
        tolerance: float = 0.010,
        timeout: float = 5.0,
        history: int = 2,
        receiver_factory: ReceiverFactory = MultiprocessRGBDReceiver,
    ) -> None:
        if not cameras:
            raise ValueError("MultiCameraReceiver needs at least one camera")
        if not tolerance >= 0:
            raise ValueError(f"tolerance must be >= 0 seconds, got {tolerance}")
        if history < 1:
            raise ValueError(f"history must be at least 1 frame per camera, got {history}")
        self.tolerance = float(tolerance)
        self.timeout = timeout
        self._history = history
        self._cameras: dict[str, _Camera] = {}
        try:
            for name, source in cameras.items():
                if isinstance(source, SharedMemoryReceiver):
                    self._cameras[name] = _Camera(name, source, owned=False, restarts=source.restarts)
                else:
                    self._cameras[name] = _Camera(name, receiver_factory(source), owned=True)
        except BaseException:
            self.close()
            raise
        self.spread = 0.0
        """Seconds between the capture times of the last set's oldest and newest frames."""
        self.sets = 0
        """How many sets were taken (grabbed or borrowed)."""
        self._closest: tuple[float, dict[str, float]] | None = None  # during a wait: the closest set seen

    # ------------------------------------------------------------------------------ cameras
    def __getitem__(self, name: str) -> SharedMemoryReceiver:
        """The receiver of camera `name`: after `grab_images()` it holds that camera's frame of the set."""
        return self._cameras[name].receiver

    @property
    def names(self) -> list[str]:
        """The cameras' names, in the order given."""
        return list(self._cameras)

    @property
    def skipped(self) -> dict[str, int]:
        """Per camera, frames published between two sets that were in neither (older candidates skipped)."""
        return {name: camera.skipped for name, camera in self._cameras.items()}

    @property
    def frame_ids(self) -> dict[str, int]:
        """Per camera, the frame id of its frame in the last set (0 before a set)."""
        return {name: camera.last_set_frame for name, camera in self._cameras.items()}

    # ------------------------------------------------------------------------------ collecting
    def _collect(self, camera: _Camera, wait: float) -> None:
        """Borrows the camera's newest frame if it is newer than those kept, waiting up to `wait` seconds."""
        receiver = camera.receiver
        if wait > 0:
            while len(camera.history) >= self._history:  # room for the frame waited for
                camera.release_oldest()
        for _ in range(2):
            try:
                frame = receiver.borrow(timeout=wait)
            except SlotsExhaustedError as error:
                camera.problem = error
                if camera.release_oldest():  # other borrowed frames (a set the user keeps) fill the ring: keep fewer
                    continue
                return
            except FrameTimeoutError:
                camera.problem = None
                return
            except (PublisherGoneError, PublisherNotFoundError) as error:
                camera.problem = error
                return
            camera.problem = None
            if receiver.restarts != camera.restarts:  # a new publisher: its frame ids start again at 1
                camera.restarts = receiver.restarts
                camera.release_through(sys.maxsize)
                camera.last_set_frame = 0
            camera.history.append(frame)
            camera.next_capture = frame.capture_timestamp + 1.0 / max(frame.fps, 1e-3)
            while len(camera.history) > self._history:
                camera.release_oldest()
            return

    def _collect_all(self) -> None:
        for camera in self._cameras.values():
            self._collect(camera, 0.0)

    def _candidates(self) -> dict[str, list[float]]:
        return {name: [frame.capture_timestamp for frame in camera.history] for name, camera in self._cameras.items()}

    def _choose(self) -> dict[str, BorrowedFrame] | None:
        """The newest set among the borrowed frames kept (removed from the history), or None."""
        candidates = self._candidates()
        closest = closest_set(candidates)
        if closest is not None and (self._closest is None or closest[0] < self._closest[0]):
            self._closest = closest
        chosen = newest_set(candidates, self.tolerance)
        if chosen is None:
            return None
        frames = {}
        for name, index in chosen.items():
            camera = self._cameras[name]
            frame = camera.history.pop(index)
            if camera.last_set_frame:
                camera.skipped += frame.frame_id - camera.last_set_frame - 1
            camera.last_set_frame = frame.frame_id
            camera.release_through(frame.frame_id)
            frames[name] = frame
        stamps = [frame.capture_timestamp for frame in frames.values()]
        self.spread = max(stamps) - min(stamps)
        self.sets += 1
        self._closest = None
        return frames

    def _needed(self) -> _Camera:
        """The camera a set waits for: of those without a new frame (else of all), the one due first."""
        waiting = [camera for camera in self._cameras.values() if not camera.history] or self._cameras.values()
        return min(waiting, key=lambda camera: camera.next_capture)

    def _wait_for_set(self, timeout: float) -> dict[str, BorrowedFrame]:
        deadline = time.monotonic() + timeout
        self._closest = None
        while True:
            self._collect_all()
            frames = self._choose()
            if frames is not None:
                return frames
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._no_set_error(timeout)
            self._collect(self._needed(), min(remaining, _WAIT_SLICE_S))

    def _no_set_error(self, timeout: float) -> SharedMemoryCameraError:
        """The error of a wait that found no set: no publisher, no frame, or none within tolerance."""
        for kind in (PublisherGoneError, PublisherNotFoundError, SlotsExhaustedError):
            troubled = [camera for camera in self._cameras.values() if isinstance(camera.problem, kind)]
            if troubled:
                details = "; ".join(camera.trouble() for camera in troubled)
                return kind(f"no set of {len(self._cameras)} cameras within {timeout} s: {details}")
        silent = [name for name, camera in self._cameras.items() if not camera.history]
        if silent:
            return NoFrameSetError(
                f"no set within {timeout} s: no new frame from camera(s) {', '.join(silent)} (publishers alive)",
                silent,
                None,
            )
        closest = self._closest or closest_set(self._candidates())
        assert closest is not None
        spread, stamps = closest
        oldest = min(stamps.values())
        outside = [name for name, stamp in stamps.items() if stamp - oldest > self.tolerance]
        if not outside:  # every frame is within tolerance but some is not newer than the last set's
            outside = list(stamps)
        offsets = ", ".join(f"{name} {1000 * (stamp - oldest):+.1f} ms" for name, stamp in stamps.items())
        return NoFrameSetError(
            f"no set within tolerance {1000 * self.tolerance:.1f} ms in {timeout} s: the closest set seen spread "
            f"{1000 * spread:.1f} ms ({offsets}); camera(s) without a frame within tolerance: {', '.join(outside)}. "
            "Raise the tolerance, or bring the cameras' capture times closer (hardware sync, phases)",
            outside,
            spread,
        )

    def _raise_if_gone(self) -> None:
        gone = [camera for camera in self._cameras.values() if isinstance(camera.problem, PublisherGoneError)]
        if gone:
            raise PublisherGoneError("; ".join(camera.trouble() for camera in gone))

    # ------------------------------------------------------------------------------ taking sets
    def _expose(self, frames: Mapping[str, BorrowedFrame]) -> None:
        """Copies each set frame into its camera's receiver (then releases the borrowed frame)."""
        for name, frame in frames.items():
            camera = self._cameras[name]
            try:
                for schema in camera.receiver.schemas:
                    try:
                        source = buffer_arrays(getattr(frame, schema.receiver_field))
                    except SharedMemoryCameraError:  # a schema the receiver does not read now (copy_only)
                        continue
                    copy = camera.copies.get(schema.name)
                    if copy is None:
                        copy = camera.copies[schema.name] = schema.wrap(
                            {n: np.empty_like(a) for n, a in source.items()}
                        )
                    for field_name, array in source.items():
                        target = getattr(copy, field_name)
                        if target.shape != array.shape or sys.getrefcount(target) > _OWN_REFERENCES:
                            target = np.empty_like(array)  # the caller still holds the last one: keep it intact
                            setattr(copy, field_name, target)
                        np.copyto(target, array)
                        del target
                    schema.read_into_receiver(copy, camera.receiver)
            finally:
                frame.release()

    def grab_images(self, timeout: float | None = None) -> None:
        """Blocks until a newer set is complete, then copies it into the cameras' receivers.

        Raises:
            NoFrameSetError: no set within tolerance (or no frame of some camera) within the timeout; it
                names the cameras and the smallest spread seen.
            PublisherNotFoundError, PublisherGoneError: a camera had no live publisher until the timeout
                (the message names it).

        """
        self._expose(self._wait_for_set(self.timeout if timeout is None else timeout))

    def try_grab_images(self) -> bool:
        """Takes the newest set if a newer one is complete; never blocks.

        Returns:
            True when a set was taken (the cameras' receivers hold it); False otherwise.

        Raises:
            PublisherGoneError: a camera's publisher died or stopped and none has replaced it.

        """
        self._collect_all()
        frames = self._choose()
        if frames is None:
            self._raise_if_gone()
            return False
        self._expose(frames)
        return True

    def borrow(self, timeout: float | None = None) -> BorrowedSet:
        """Blocks until a newer set is complete and borrows it: one BorrowedFrame per camera, no copy.

        Raises:
            As `grab_images()`.

        """
        return BorrowedSet(self._wait_for_set(self.timeout if timeout is None else timeout))

    def try_borrow(self) -> BorrowedSet | None:
        """Lends the newest set if a newer one is complete (None otherwise); never blocks."""
        self._collect_all()
        frames = self._choose()
        if frames is None:
            self._raise_if_gone()
            return None
        return BorrowedSet(frames)

    # ------------------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Releases the borrowed frames kept and closes the receivers made here (receivers given are left open)."""
        for camera in self._cameras.values():
            camera.release_through(sys.maxsize)
            if camera.owned:
                camera.receiver.close()

    def __enter__(self) -> MultiCameraReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
