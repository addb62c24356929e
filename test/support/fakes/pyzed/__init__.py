"""A TEST DOUBLE of the ZED SDK's Python package `pyzed`: not the SDK, no camera, no CUDA.

Only `pyzed.sl` exists here: the part of the API that `airo_mp_camera.cameras.zed` uses and a little around it,
as SDK 4.2.2 or 5.4 has it (`PYZED_FAKE_SDK_VERSION`, read in stereolabs/zed-python-api's `sl.pyx` of each
release; see `sl.py`). Tests put `test/support/fakes` on sys.path to use it.
"""
