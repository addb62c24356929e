"""Rerun loggers: processes that log a namespace's RGB (and depth, point cloud) to Rerun.

rerun-sdk is imported in the logger process only: importing airo_mp_camera, or constructing a logger,
does not import it. Each frame is logged on the `capture_time` timeline (the camera's capture time)
and the `frame_id` sequence timeline.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from airo_mp_camera.consumers.consumer_process import (
    ConsumerProcess,
    MissingDependencyError,
    require_module,
    shared_counter,
)
from airo_mp_camera.consumers.rerun_web import WebViewerOptions, WebViewerServer, resize_nearest
from airo_mp_camera.pipeline.receiver import SharedMemoryReceiver
from airo_mp_camera.pipeline.variants import MultiprocessRGBDReceiver, MultiprocessRGBReceiver

RERUN_INSTALL_HINT = (
    "`pip install 'rerun-sdk>=0.23'` (or `pip install airo_mp_camera[rerun]`; rerun-sdk needs numpy >= 2)"
)
CAPTURE_TIMELINE = "capture_time"
FRAME_TIMELINE = "frame_id"

ImageTransform = Callable[[np.ndarray], np.ndarray]


def require_rerun(logger_class: str = "MultiprocessRGBDRerunLogger", namespace: str = "camera") -> None:
    """Raises `MissingDependencyError` saying what to do when this Python cannot run the Rerun logger.

    rerun-sdk >= 0.23 (and its pyarrow) needs numpy >= 2. Under numpy 1 (ROS 2 Humble's 1.21, Jazzy's 1.26) the
    message says so first, rather than to `pip install rerun-sdk`, which would replace the numpy the ROS
    install's compiled modules were built for; a Python of its own with numpy 2 logs the same namespace.
    """
    if int(np.__version__.split(".")[0]) < 2:
        raise MissingDependencyError(
            f"the Rerun logger needs rerun-sdk >= 0.23 with numpy >= 2; this Python has numpy {np.__version__}, "
            "which installing rerun-sdk here would replace: log from a Python with numpy 2 instead (a venv with "
            f"`pip install './airo_mp_camera[rerun]'` from a clone, then {logger_class}({namespace!r}) there, "
            "which reads the camera's shared memory: README, Install)"
        )
    require_module("rerun", RERUN_INSTALL_HINT, "the Rerun logger")


def import_rerun() -> Any:
    """Imports rerun-sdk, or raises `MissingDependencyError` saying how to install it."""
    require_module("rerun", RERUN_INSTALL_HINT, "the Rerun logger")
    import rerun

    return rerun


def flush_completely(recording: Any, timeout: float) -> None:
    """Blocks until everything logged to `recording` reached its sink, bounded by `timeout` where the SDK can.

    rerun-sdk >= 0.24 takes `flush(timeout_sec=...)`; 0.23's `flush(blocking=True)` waits without a bound.
    """
    if "timeout_sec" in inspect.signature(recording.flush).parameters:
        recording.flush(timeout_sec=timeout)
    else:
        recording.flush(blocking=True)


class MultiprocessRGBRerunLogger(ConsumerProcess):
    """Logs a namespace's RGB frames to Rerun, in its own process.

    ```python
    logger = MultiprocessRGBRerunLogger("camera", rrd_path="camera.rrd")  # or connect_url=..., or a viewer
    logger.start()             # returns once the first frame is logged
    ...
    logger.stop()              # flushes; the .rrd file is complete (also after SIGINT or SIGTERM)
    ```

    Where the data goes: `rrd_path` saves to a file; else `serve_web` (or `web`) serves the Rerun web viewer
    from this host, for a browser here or on another machine (`logger.web_url`; see `rerun_web`); else
    `connect_url` streams to a running viewer (e.g. "rerun+http://127.0.0.1:9876/proxy"); else a viewer is
    spawned (`rerun` must be on PATH).

    Args:
        shared_memory_namespace: the publisher's namespace.
        application_id: Rerun application id.
        recording_name: name shown for the recording in the viewer (None: none).
        rrd_path: save to this .rrd file.
        connect_url: stream to the viewer or server at this gRPC url (None: Rerun's default address).
        spawn_viewer: spawn a viewer and stream to it (the default when no `rrd_path` is given).
        serve_web: serve the web viewer with the default `WebViewerOptions` (this host only, port 9090).
        web: serve the web viewer with these options (bind address, ports, history limit, the browser's
            resolution, JPEG quality and points); `start()` fails with the reason when it cannot listen.
        entity_path: entity of the RGB image.
        image_transform: applied to each RGB image in the logger process (e.g. downscaling); picklable.
        max_rate: log at most this many frames per second (None: every frame).
        log_intrinsics: log a static Pinhole with the intrinsics on each image entity (images in 3D).
        start_timeout: seconds `start()` waits for the first frame and the sink.
        niceness: added to the logger's nice value, so it yields the CPU to controllers.

    """

    def __init__(
        self,
        shared_memory_namespace: str = "camera",
        application_id: str = "airo_mp_camera",
        recording_name: str | None = None,
        rrd_path: str | os.PathLike[str] | None = None,
        *,
        connect_url: str | None = None,
        spawn_viewer: bool = False,
        serve_web: bool = False,
        web: WebViewerOptions | None = None,
        entity_path: str = "camera/rgb",
        image_transform: ImageTransform | None = None,
        max_rate: float | None = None,
        log_intrinsics: bool = True,
        start_timeout: float = 30.0,
        niceness: int = 10,
    ) -> None:
        require_rerun(type(self).__name__, shared_memory_namespace)
        super().__init__(
            shared_memory_namespace,
            start_timeout=start_timeout,
            niceness=niceness,
            process_name=type(self).__name__,
        )
        if max_rate is not None and not max_rate > 0:
            raise ValueError(f"max_rate must be positive, got {max_rate}")
        self.application_id = application_id
        self.recording_name = recording_name
        self.rrd_path = str(Path(rrd_path).expanduser().absolute()) if rrd_path is not None else None
        self.connect_url = connect_url
        self.web = web if web is not None else WebViewerOptions() if serve_web else None
        if self.web is not None and (rrd_path is not None or connect_url is not None or spawn_viewer):
            raise ValueError("serve_web/web is a sink of its own: give no rrd_path, connect_url or spawn_viewer")
        self.spawn_viewer = spawn_viewer or (rrd_path is None and connect_url is None and self.web is None)
        self.entity_path = entity_path
        self._image_transform = image_transform
        self._min_period = 1.0 / max_rate if max_rate else 0.0
        self._log_intrinsics = log_intrinsics
        self._logged = shared_counter()
        self._missed = shared_counter()
        # Child-side state, set in `_open`.
        self._rr: Any = None
        self._recording: Any = None
        self._last_logged_time = -np.inf
        self._last_frame_id = 0
        self._restarts = 0
        self._pinholes: dict[str, tuple[int, int]] = {}
        self._server: WebViewerServer | None = None

    @property
    def web_url(self) -> str | None:
        """The address a browser opens to watch, http://<host>:<port>/ (any name of this host works in its place)."""
        return self.web.url() if self.web is not None else None

    @property
    def frames_logged(self) -> int:
        """Frames logged so far."""
        return int(self._logged.value)

    @property
    def frames_missed(self) -> int:
        """Frames the publisher wrote that the logger never saw (it was busy); `max_rate` skips are not counted."""
        return int(self._missed.value)

    # ------------------------------------------------------------------------------ child side
    def _make_receiver(self, timeout: float) -> SharedMemoryReceiver:
        return MultiprocessRGBReceiver(self.namespace, timeout=timeout)

    def _open(self, receiver: SharedMemoryReceiver) -> None:
        rr = import_rerun()
        recording = rr.RecordingStream(self.application_id)
        if self.recording_name is not None:
            recording.send_recording_name(self.recording_name)
        if self.rrd_path is not None:
            Path(self.rrd_path).parent.mkdir(parents=True, exist_ok=True)
            recording.save(self.rrd_path)
        elif self.web is not None:
            self._server = WebViewerServer(self.web)
            self._server.start()
            recording.connect_grpc(self._server.local_grpc_url)
            recording.send_blueprint(self._web_blueprint(rr))
        elif self.spawn_viewer:
            recording.spawn()
        else:
            recording.connect_grpc(self.connect_url)
        self._rr = rr
        self._recording = recording
        self._last_frame_id = receiver.frame_id
        self._restarts = receiver.restarts

    def _web_views(self, rrb: Any) -> list[Any]:
        """The views a browser shows (the web viewer's default layout)."""
        return [rrb.Spatial2DView(origin=self.entity_path, name="rgb")]

    def _web_blueprint(self, rr: Any) -> Any:
        import rerun.blueprint as rrb

        return rrb.Blueprint(rrb.Horizontal(*self._web_views(rrb)), collapse_panels=True)

    def _consume(self, receiver: SharedMemoryReceiver) -> None:
        frame_id = receiver.frame_id
        if receiver.restarts == self._restarts and frame_id > self._last_frame_id + 1:
            self._missed.value += frame_id - self._last_frame_id - 1
        self._restarts = receiver.restarts
        self._last_frame_id = frame_id
        capture_time = receiver.capture_timestamp
        if capture_time - self._last_logged_time < self._min_period:
            return
        self._last_logged_time = capture_time
        self._recording.set_time(CAPTURE_TIMELINE, timestamp=capture_time)
        self._recording.set_time(FRAME_TIMELINE, sequence=frame_id)
        self._log_frame(receiver)
        self._logged.value += 1

    def _log_frame(self, receiver: Any) -> None:
        """Logs the receiver's current frame (the timelines are set)."""
        rr = self._rr
        image = receiver.retrieve_rgb_image_as_int()
        if self._image_transform is not None:
            image = np.ascontiguousarray(self._image_transform(image), dtype=np.uint8)
        if self.web is not None:
            image = resize_nearest(image, self.web.width)
        self._log_pinhole(receiver, self.entity_path, image.shape[1], image.shape[0])
        logged = rr.Image(image, color_model="RGB")
        if self.web is not None and self.web.jpeg_quality:
            logged = logged.compress(jpeg_quality=self.web.jpeg_quality)
        self._recording.log(self.entity_path, logged)

    def _log_pinhole(self, receiver: Any, entity: str, width: int, height: int) -> None:
        """Logs the intrinsics statically on `entity` when first seen or when its image size changed."""
        if not self._log_intrinsics or self._pinholes.get(entity) == (width, height):
            return
        camera_width, camera_height = receiver.resolution
        intrinsics = receiver.intrinsics_matrix().copy()
        intrinsics[0] *= width / camera_width  # an image_transform may have scaled the image
        intrinsics[1] *= height / camera_height
        pinhole = self._rr.Pinhole(
            image_from_camera=intrinsics, resolution=[width, height], camera_xyz=self._rr.ViewCoordinates.RDF
        )
        self._recording.log(entity, pinhole, static=True)
        self._pinholes[entity] = (width, height)

    def _close(self) -> None:
        recording, self._recording = self._recording, None
        try:
            if recording is not None and self.web is not None:
                self._close_live(recording)
            elif recording is not None:
                flush_completely(recording, timeout=30.0)
                recording.disconnect()
        finally:
            if self._server is not None:
                self._server.stop()
                self._server = None

    def _close_live(self, recording: Any) -> None:
        """A live view has nothing to complete: a short flush, and a server backed up by a slow browser is no error."""
        try:
            flush_completely(recording, timeout=2.0)
            recording.disconnect()
        except RuntimeError as error:
            logging.getLogger(__name__).warning("%s: the web viewer server took not all frames: %s", self.name, error)


class MultiprocessRGBDRerunLogger(MultiprocessRGBRerunLogger):
    """Logs RGB, depth (metres) and optionally the colored point cloud of a namespace to Rerun.

    Depth is logged as `rr.DepthImage(meter=1)` on `depth_entity_path`; the point cloud as
    `rr.Points3D` with colors on `point_cloud_entity_path`, in the left camera's optical frame (the
    publisher must share it: `MultiprocessRGBDPublisher(..., enable_pointcloud=True)`).

    Args:
        log_depth: log the depth map.
        log_point_cloud: log the colored point cloud.
        depth_entity_path: entity of the depth image.
        point_cloud_entity_path: entity of the point cloud.
        **options: as `MultiprocessRGBRerunLogger` (an `image_transform` applies to RGB only).

    """

    def __init__(
        self,
        shared_memory_namespace: str = "camera",
        application_id: str = "airo_mp_camera",
        recording_name: str | None = None,
        rrd_path: str | os.PathLike[str] | None = None,
        *,
        log_depth: bool = True,
        log_point_cloud: bool = False,
        depth_entity_path: str = "camera/depth",
        point_cloud_entity_path: str = "camera/points",
        **options: Any,
    ) -> None:
        super().__init__(shared_memory_namespace, application_id, recording_name, rrd_path, **options)
        self.log_depth = log_depth
        self.log_point_cloud = log_point_cloud
        self.depth_entity_path = depth_entity_path
        self.point_cloud_entity_path = point_cloud_entity_path

    def _web_views(self, rrb: Any) -> list[Any]:
        views = super()._web_views(rrb)
        if self.log_depth:
            views.append(rrb.Spatial2DView(origin=self.depth_entity_path, name="depth"))
        if self.log_point_cloud:  # seen from behind and above the camera (optical frame: y down, z forward)
            eye = rrb.EyeControls3D(position=(0.0, -1.0, -1.2), look_target=(0.0, 0.0, 1.5), eye_up=(0.0, -1.0, 0.0))
            views.append(rrb.Spatial3DView(name="cloud", contents=[self.point_cloud_entity_path], eye_controls=eye))
        return [rrb.Vertical(*views[:2]), *views[2:]] if len(views) == 3 else views

    def _make_receiver(self, timeout: float) -> SharedMemoryReceiver:
        if not (self.log_depth or self.log_point_cloud):
            return MultiprocessRGBReceiver(self.namespace, timeout=timeout)
        return MultiprocessRGBDReceiver(self.namespace, enable_pointcloud=self.log_point_cloud, timeout=timeout)

    def _log_frame(self, receiver: Any) -> None:
        super()._log_frame(receiver)
        rr = self._rr
        web = self.web
        if self.log_depth:
            depth = receiver.retrieve_depth_map()
            if web is not None:  # 16-bit millimetres at the browser's resolution: half the bytes of metres
                depth = resize_nearest(depth, web.depth_width)
                depth = np.nan_to_num(np.clip(depth * 1000.0, 0, 65535), nan=0.0).astype(np.uint16)
            self._log_pinhole(receiver, self.depth_entity_path, depth.shape[1], depth.shape[0])
            if web is None:
                self._recording.log(self.depth_entity_path, rr.DepthImage(depth, meter=1.0))
            else:  # colours spread over the scene's depths, not over the whole 16-bit range
                valid = depth[depth > 0]
                far = float(np.percentile(valid, 99)) if valid.size else 1.0
                self._recording.log(self.depth_entity_path, rr.DepthImage(depth, meter=1000.0, depth_range=(0.0, far)))
        if self.log_point_cloud and not (web is not None and web.max_points == 0):
            cloud = receiver.retrieve_colored_point_cloud()
            points, colors = cloud.points, cloud.colors
            if web is not None and len(points) > web.max_points:
                step = -(-len(points) // web.max_points)
                points, colors = points[::step], colors[::step]
            self._recording.log(self.point_cloud_entity_path, rr.Points3D(points, colors=colors))
