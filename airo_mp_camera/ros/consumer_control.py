"""How a node controls its consumers (airo_mp_camera/consumers/): the recorder and the Rerun logger processes.

Each runs in its own process, started by parameter or service.

Services (std_srvs/Trigger) on the node: `~/start_recording` records the rgb stream to
`<recording.directory>/<recording.filename or camera_name_date_time.mp4>` (the response's message is the
path) and `~/stop_recording` finishes the file (the message gives the frames written, dropped and filled).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rclpy.node import Node
from std_srvs.srv import Trigger

from airo_mp_camera.consumers import (
    ConsumerStartError,
    MissingDependencyError,
    MultiprocessRGBDRerunLogger,
    MultiprocessRGBRerunLogger,
    MultiprocessRGBVideoRecorder,
    WebViewerOptions,
)
from airo_mp_camera.consumers.rerun_logger import require_rerun
from airo_mp_camera.ros.parameters import BridgeConfig, ParameterError


def check_consumers_available(values: dict[str, Any], config: BridgeConfig) -> None:
    """Raises `ParameterError` saying what to install when a Rerun logger is asked for that this Python cannot run.

    Called before anything starts (`rerun.enable`, `rerun.web.enable`).
    """
    for parameter in ("rerun.enable", "rerun.web.enable"):
        if values[parameter]:
            depth = "depth" in config.streams and config.streams["depth"].enabled
            cls = MultiprocessRGBDRerunLogger if depth else MultiprocessRGBRerunLogger
            try:
                require_rerun(cls.__name__, config.namespace)
            except MissingDependencyError as error:
                raise ParameterError(f"{parameter}: {error}") from error


def web_options(values: dict[str, Any]) -> WebViewerOptions | None:
    """The web viewer's options from the `rerun.web.*` parameters (None: not served).

    Raises:
        ParameterError: the options contradict each other (the same port twice).
    """
    if not values["rerun.web.enable"]:
        return None
    try:
        return WebViewerOptions(
            bind=str(values["rerun.web.bind"]),
            port=int(values["rerun.web.port"]),
            grpc_port=int(values["rerun.web.grpc_port"]),
            memory_limit=str(values["rerun.web.memory_limit"]),
            width=int(values["rerun.web.width"]),
            depth_width=int(values["rerun.web.depth_width"]),
            jpeg_quality=int(values["rerun.web.jpeg_quality"]),
            max_points=int(values["rerun.web.max_points"]),
        )
    except ValueError as error:
        raise ParameterError(f"rerun.web: {error}") from error


class ConsumerControl:
    """Owns the node's recorder and Rerun logger processes and the recording services.

    Raises:
        ParameterError: rerun.enable or recording.start_on_launch asked for a consumer whose dependency
            (rerun-sdk, ffmpeg) is missing, or that failed to start.
    """

    def __init__(self, node: Node, config: BridgeConfig, values: dict[str, Any]) -> None:
        self.node = node
        self.config = config
        self.directory = Path(str(values["recording.directory"]) or ".").expanduser()
        self.filename = str(values["recording.filename"])
        self.recorder: MultiprocessRGBVideoRecorder | None = None
        self.logger: MultiprocessRGBRerunLogger | None = None
        self.web_rate = float(values["rerun.web.max_rate"])
        node.create_service(Trigger, "~/start_recording", self._start_recording)
        node.create_service(Trigger, "~/stop_recording", self._stop_recording)
        if values["rerun.enable"] or values["rerun.web.enable"]:
            self._start_logger(str(values["rerun.rrd_path"]), web_options(values))
        if values["recording.start_on_launch"]:
            ok, message = self.start_recording()
            if not ok:
                self.close()
                raise ParameterError(f"recording.start_on_launch: {message}")

    def _start_logger(self, rrd_path: str, web: WebViewerOptions | None) -> None:
        streams = self.config.streams
        name = self.config.camera_name
        depth_options: dict[str, Any] = {
            "depth_entity_path": f"{name}/depth",
            "point_cloud_entity_path": f"{name}/points",
            "log_point_cloud": web is not None and web.max_points > 0 and streams["points"].enabled,
        }
        depth = streams["depth"].enabled
        cls = MultiprocessRGBDRerunLogger if depth else MultiprocessRGBRerunLogger
        try:
            logger = cls(
                self.config.namespace,
                recording_name=name,
                rrd_path=None if web is not None else rrd_path or None,
                entity_path=f"{name}/rgb",
                web=web,
                max_rate=float(self.web_rate) if web is not None else None,
                **(depth_options if depth and web is not None else {}),
            )
            logger.start()
        except (MissingDependencyError, ConsumerStartError, ValueError) as error:
            raise ParameterError(f"{'rerun.web' if web else 'rerun'}.enable: {error}") from error
        self.logger = logger
        sink = (
            f"the web viewer (open {logger.web_url} in a browser)" if web is not None else rrd_path or "a Rerun viewer"
        )
        self.node.get_logger().info(f"logging '{self.config.namespace}' to {sink} (Rerun, own process)")

    def next_path(self) -> Path:
        """Where the next recording goes."""
        name = self.filename or f"{self.config.camera_name}_{time.strftime('%Y%m%d_%H%M%S')}.mp4"
        return self.directory / name

    def start_recording(self) -> tuple[bool, str]:
        """Starts a recorder process; (success, path or reason)."""
        if self.recorder is not None and self.recorder.is_alive():
            return False, f"already recording to {self.recorder.video_path}"
        path = self.next_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            recorder = MultiprocessRGBVideoRecorder(self.config.namespace, path)
            recorder.start()
        except (MissingDependencyError, ConsumerStartError, OSError, ValueError) as error:
            self.node.get_logger().error(f"cannot start recording: {error}")
            return False, str(error)
        self.recorder = recorder
        self.node.get_logger().info(f"recording '{self.config.namespace}' to {recorder.video_path}")
        return True, recorder.video_path

    def stop_recording(self) -> tuple[bool, str]:
        """Stops the recorder and finishes its file; (success, summary)."""
        recorder = self.recorder
        if recorder is None:
            return False, "not recording"
        recorder.stop()
        self.recorder = None
        summary = (
            f"{recorder.video_path}: {recorder.frames_written} frames written, "
            f"{recorder.frames_dropped} dropped, {recorder.frames_filled} filled"
        )
        failure = recorder.failure
        self.node.get_logger().info(f"recording finished: {summary}")
        return failure is None, summary if failure is None else f"{summary}; the recorder failed: {failure}"

    def _start_recording(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        response.success, response.message = self.start_recording()
        return response

    def _stop_recording(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        response.success, response.message = self.stop_recording()
        return response

    def state(self) -> list[tuple[str, str]]:
        """Diagnostics values."""
        values = [("recording", self.recorder.video_path if self.recorder is not None else "no")]
        if self.recorder is not None:
            values.append(("recording frames written", str(self.recorder.frames_written)))
        if self.logger is not None:
            values.append(("rerun frames logged", str(self.logger.frames_logged)))
        return values

    def close(self) -> None:
        """Finishes a running recording and stops the logger."""
        if self.recorder is not None:
            self.stop_recording()
        if self.logger is not None:
            self.logger.stop()
            self.logger = None
