"""Consumers: processes that read a namespace's frames for logging (Rerun) and recording (video files).

Their optional dependencies (rerun-sdk, the ffmpeg executable) are needed only in the consumer's own
process, and are checked when a consumer is constructed; importing this package needs neither.
"""

from airo_mp_camera.consumers.consumer_process import ConsumerProcess, ConsumerStartError, MissingDependencyError
from airo_mp_camera.consumers.rerun_logger import MultiprocessRGBDRerunLogger, MultiprocessRGBRerunLogger
from airo_mp_camera.consumers.rerun_web import WebViewerError, WebViewerOptions
from airo_mp_camera.consumers.video_recorder import MultiprocessRGBVideoRecorder, MultiprocessVideoRecorder

__all__ = [
    "ConsumerProcess",
    "ConsumerStartError",
    "MissingDependencyError",
    "MultiprocessRGBDRerunLogger",
    "MultiprocessRGBRerunLogger",
    "MultiprocessRGBVideoRecorder",
    "MultiprocessVideoRecorder",
    "WebViewerError",
    "WebViewerOptions",
]
