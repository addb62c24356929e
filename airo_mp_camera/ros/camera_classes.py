"""The camera classes a camera node can host, by `camera_type`, imported only when asked for."""

from __future__ import annotations

import importlib

from airo_mp_camera.ros.parameters import ParameterError

CAMERA_CLASSES = {
    "synthetic": ("airo_mp_camera.cameras.synthetic", "SyntheticCamera"),
    "synthetic_in_place": ("airo_mp_camera.cameras.synthetic_in_place", "InPlaceSyntheticCamera"),
    "zed": ("airo_mp_camera.cameras.zed", "ZedCamera"),
    "replay": ("airo_mp_camera.cameras.replay", "ReplayCamera"),
}


def camera_class(camera_type: str) -> type:
    """The camera class of a camera type, imported only when asked for (pyzed, rosbags are optional).

    Raises:
        ParameterError: the camera type's module cannot be imported here.
    """
    module_name, class_name = CAMERA_CLASSES[camera_type]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ParameterError(f"camera_type '{camera_type}' is not available: {error}") from error
    camera_cls: type = getattr(module, class_name)
    return camera_cls
