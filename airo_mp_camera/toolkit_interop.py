"""Our receivers pass airo-camera-toolkit's interface checks, without importing the toolkit.

Code written for the toolkit checks `isinstance(camera, StereoRGBDCamera)` (or `RGBCamera`, `RGBDCamera`) and
reads `camera.LEFT_RGB` / `camera.RIGHT_RGB`. Our classes carry those attributes themselves (the mixins), and are
registered as virtual subclasses of the toolkit's abstract classes (`ABCMeta.register`): `isinstance` is then
True although nothing inherits from the toolkit.

Registration must not import the toolkit: `airo_camera_toolkit.interfaces` imports OpenCV and its point-cloud
code (open3d, gigabytes), and most users of this package do not have it. So it happens when the toolkit's
interfaces are imported, by whoever imports them:

- already imported when a class is registered: registered at once;
- imported later: a finder on `sys.meta_path` (installed by the first registration, costing one string
  comparison per import) wraps the loader of `airo_camera_toolkit.interfaces` only, so that right after the
  module has run, the waiting classes are registered.

Why not `__subclasshook__`: it would have to be defined on the toolkit's classes, which we do not own; and a
structural check would accept any object with similar method names. Why not inherit: that imports the
toolkit. The wrapped loader delegates everything else to the real one.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

TOOLKIT_INTERFACES = "airo_camera_toolkit.interfaces"

_lock = threading.Lock()
_pending: list[tuple[str, type]] = []  # (toolkit interface name, our class), in registration order
_finder: _ToolkitInterfacesFinder | None = None


def register_as_toolkit_interface(interface: str, cls: type) -> None:
    """Makes `cls` a virtual subclass of `airo_camera_toolkit.interfaces.<interface>` once that is imported.

    Args:
        interface: "Camera", "RGBCamera", "DepthCamera", "RGBDCamera" or "StereoRGBDCamera".
        cls: our class that implements that interface.
    """
    global _finder
    with _lock:
        _pending.append((interface, cls))
        module = sys.modules.get(TOOLKIT_INTERFACES)
        if _finder is None:
            _finder = _ToolkitInterfacesFinder()
            sys.meta_path.insert(0, _finder)
    if module is not None and getattr(module, "__spec__", None) is not None:
        _register_all(module)


def _register_all(module: ModuleType) -> None:
    with _lock:
        pairs = list(_pending)
    for interface, cls in pairs:
        base = getattr(module, interface, None)
        register = getattr(base, "register", None)
        if register is not None:  # an ABC of that name: a toolkit version without it is skipped, not an error
            register(cls)


class _RegisteringLoader(importlib.abc.Loader):
    """The toolkit's own loader, plus our registrations right after its module ran."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self._loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _register_all(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, ... for tracebacks and inspect
        return getattr(self._loader, name)


class _ToolkitInterfacesFinder(importlib.abc.MetaPathFinder):
    """Finds `airo_camera_toolkit.interfaces` as the path finder does, with a registering loader."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != TOOLKIT_INTERFACES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _RegisteringLoader(spec.loader)
        return spec
