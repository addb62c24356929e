"""Runs airo-camera-toolkit's own camera checks (`manual_test_hw`) against our receivers; a script, not a test.

Run by test_toolkit_interop.py with `.venv-peers/bin/python` (the toolkit installed), this checkout on
PYTHONPATH, stdin answering the checks' prompts, and matplotlib's non-interactive Agg backend (its `show()` is
then a no-op). Prints one JSON line: what passed and what failed, with the error.
"""

from __future__ import annotations

import json
import sys
import traceback


def main(namespace: str, toolkit_first: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    if toolkit_first:
        import airo_camera_toolkit.interfaces  # noqa: F401

    import airo_mp_camera
    from airo_mp_camera import (
        MultiprocessRGBDReceiver,
        MultiprocessRGBReceiver,
        MultiprocessStereoRGBDPublisher,
        MultiprocessStereoRGBDReceiver,
        SyntheticCamera,
    )

    report: dict[str, object] = {
        "toolkit_imported_by_us": "airo_camera_toolkit" in sys.modules and not toolkit_first,
        "package": airo_mp_camera.__file__,
    }
    from airo_camera_toolkit.cameras import manual_test_hw
    from airo_camera_toolkit.interfaces import RGBCamera, RGBDCamera, StereoRGBDCamera

    publisher = MultiprocessStereoRGBDPublisher(SyntheticCamera, {"resolution": (320, 240), "fps": 30.0}, namespace)
    publisher.start()
    try:
        stereo = MultiprocessStereoRGBDReceiver(namespace)
        rgbd = MultiprocessRGBDReceiver(namespace)
        rgb = MultiprocessRGBReceiver(namespace)
        report["isinstance"] = {
            "stereo receiver is StereoRGBDCamera": isinstance(stereo, StereoRGBDCamera),
            "rgbd receiver is RGBDCamera": isinstance(rgbd, RGBDCamera),
            "rgbd receiver is not StereoRGBDCamera": not isinstance(rgbd, StereoRGBDCamera),
            "rgb receiver is RGBCamera": isinstance(rgb, RGBCamera),
            "rgb receiver is not RGBDCamera": not isinstance(rgb, RGBDCamera),
            "SyntheticCamera is StereoRGBDCamera": issubclass(SyntheticCamera, StereoRGBDCamera),
        }
        report["attributes"] = [stereo.LEFT_RGB, stereo.RIGHT_RGB]
        results: dict[str, str] = {}
        checks = [
            ("manual_test_camera", stereo),
            ("manual_test_rgb_camera", stereo),
            ("manual_test_depth_camera", stereo),
            ("manual_test_stereo_rgbd_camera", stereo),
            ("profile_rgbd_throughput", stereo),
            ("manual_test_rgb_camera", rgb),
            ("profile_rgbd_throughput", rgbd),
        ]
        for name, receiver in checks:
            key = f"{name}({type(receiver).__name__})"
            try:
                getattr(manual_test_hw, name)(receiver)
                results[key] = "passed"
            except Exception as error:
                results[key] = f"failed: {type(error).__name__}: {error} | {traceback.format_exc(limit=3)}"
        report["results"] = results
        for receiver in (stereo, rgbd, rgb):
            receiver.close()
    finally:
        publisher.stop()
    print("REPORT " + json.dumps(report), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] == "toolkit-first")
