"""A TEST DOUBLE of the ZED SDK's Python package `pyzed`: not the SDK, no camera, no CUDA.

Only `pyzed.sl` exists here, with just the API surface that `airo_mp_camera.cameras.zed` uses, written
from the SDK's public documentation. Tests put `test/fakes` on sys.path to use it.
"""
