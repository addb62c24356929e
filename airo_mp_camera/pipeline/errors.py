"""Errors raised by the shared-memory pipeline, each naming the namespace it concerns."""

from __future__ import annotations


class SharedMemoryCameraError(RuntimeError):
    """Base class of every error of the shared-memory camera pipeline."""


class InvalidNamespaceError(SharedMemoryCameraError, ValueError):
    """The shared-memory namespace is not a valid name (checked before any shared memory is touched)."""


class PublisherNotFoundError(SharedMemoryCameraError, TimeoutError):
    """No publisher appeared on the namespace within the timeout."""


class PublisherGoneError(SharedMemoryCameraError):
    """The publisher of the namespace stopped or died, and no new one appeared within the timeout."""


class FrameTimeoutError(SharedMemoryCameraError, TimeoutError):
    """The publisher is alive but produced no new frame within the timeout."""


class SegmentPermissionError(SharedMemoryCameraError, PermissionError):
    """The namespace's segment belongs to another user who did not share it (see the publisher's segment_mode)."""


class SchemaMismatchError(SharedMemoryCameraError):
    """The receiver asks for data the publisher does not write, or in another layout."""


class PublisherStartError(SharedMemoryCameraError):
    """The publisher process failed to open its camera or its shared memory."""


class NamespaceInUseError(PublisherStartError):
    """A live publisher already owns the namespace (raised by `CameraPublisher.start()` too)."""


class SlotsExhaustedError(SharedMemoryCameraError, TimeoutError):
    """A borrow waited out its timeout because every slot receivers may borrow stayed borrowed."""


class FrameReleasedError(SharedMemoryCameraError):
    """A borrowed frame was used after `release()` (its slot may hold another frame by now)."""


class NoFrameSetError(FrameTimeoutError):
    """A MultiCameraReceiver found no set of frames (one per camera, within its tolerance) within the timeout.

    Attributes:
        cameras: the cameras that had no frame within the tolerance of the others (or no new frame at all).
        smallest_spread: seconds between the frames of the closest set seen (None: some camera had no frame).
    """

    def __init__(self, message: str, cameras: list[str], smallest_spread: float | None) -> None:
        super().__init__(message)
        self.cameras = cameras
        self.smallest_spread = smallest_spread
