"""Errors raised by hosted cameras (ZED, replay), so a publisher or node can tell them apart."""

from __future__ import annotations


class CameraError(RuntimeError):
    """Base class of the errors a camera of this package raises while open."""


class EndOfRecordingError(CameraError, EOFError):
    """A recording (SVO file, bag) reached its end and looping is off: there will be no next frame."""


class CameraLostError(CameraError):
    """The camera disappeared (unplugged, rebooted) and could not be reopened within the allowed attempts."""


class CameraGrabError(CameraError):
    """A grab failed for a reason other than the end of a recording or a lost camera."""
