"""Cameras a publisher can host: synthetic, ZED (pyzed, imported lazily), replay of a bag."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airo_mp_camera.cameras.errors import CameraError, CameraGrabError, CameraLostError, EndOfRecordingError
from airo_mp_camera.cameras.interface import LEFT_RGB, RIGHT_RGB, PointCloud
from airo_mp_camera.cameras.synthetic import SyntheticCamera

if TYPE_CHECKING:
    from airo_mp_camera.cameras.replay import ReplayCamera
    from airo_mp_camera.cameras.zed import ZedCamera

# Imported on first use: their modules are light, but keep `import airo_mp_camera` minimal anyway.
_LAZY = {"ZedCamera": "airo_mp_camera.cameras.zed", "ReplayCamera": "airo_mp_camera.cameras.replay"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LEFT_RGB",
    "RIGHT_RGB",
    "CameraError",
    "CameraGrabError",
    "CameraLostError",
    "EndOfRecordingError",
    "PointCloud",
    "ReplayCamera",
    "SyntheticCamera",
    "ZedCamera",
]
