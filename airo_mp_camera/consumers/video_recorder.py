"""MultiprocessRGBVideoRecorder: a process that encodes a namespace's RGB frames into a video file with ffmpeg.

Frames go to an ffmpeg child through a pipe as raw RGB (one copy out of shared memory, one into the
pipe). The video has a constant frame rate, the camera's unless told otherwise; each frame is placed
by its capture time, so the video lasts as long as the recording did: a frame that arrives for a time
slot already written is dropped, and a slot no frame arrived for repeats the previous frame (filled).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import numpy as np

from airo_mp_camera.consumers.consumer_process import (
    SPAWN,
    ConsumerProcess,
    MissingDependencyError,
    shared_counter,
)
from airo_mp_camera.pipeline.receiver import SharedMemoryReceiver
from airo_mp_camera.pipeline.variants import MultiprocessRGBReceiver

logger = logging.getLogger(__name__)

FFMPEG_INSTALL_HINT = "install ffmpeg (Debian/Ubuntu: `sudo apt install ffmpeg`) or pass ffmpeg='/path/to/ffmpeg'"

ImageTransform = Callable[[np.ndarray], np.ndarray]


def require_ffmpeg(ffmpeg: str = "ffmpeg") -> str:
    """The path of the ffmpeg executable; raises `MissingDependencyError` saying how to install it."""
    path = shutil.which(ffmpeg)
    if path is None:
        raise MissingDependencyError(
            f"the video recorder needs the ffmpeg executable ('{ffmpeg}' not found): {FFMPEG_INSTALL_HINT}"
        )
    return path


class VideoTimeline:
    """Places frames on a constant-rate timeline by capture time: which to write, drop, or repeat.

    Args:
        fps: frame rate of the video.
        max_fill_seconds: a gap longer than this (the camera paused or restarted) is not filled; the
            timeline is re-anchored on the next frame instead.

    """

    def __init__(self, fps: float, max_fill_seconds: float = 10.0) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.fps = float(fps)
        self.max_fill = int(round(max_fill_seconds * self.fps))
        self.next_slot = 0
        self._origin: float | None = None

    def place(self, capture_time: float) -> int:
        """How many times to write a frame captured at `capture_time`, after repeating the previous one.

        Returns:
            -1 when the frame must be dropped (its slot is already written); otherwise the number of
            slots to fill with the previous frame before writing this one (0 when it is on time).

        """
        if self._origin is None:
            self._origin = capture_time
        slot = int(round((capture_time - self._origin) * self.fps))
        if slot < self.next_slot:
            if slot < self.next_slot - self.max_fill:  # the clock went back (camera restarted): re-anchor
                self._reanchor(capture_time)
                return self._advance(self.next_slot)
            return -1
        if slot - self.next_slot > self.max_fill:
            logger.warning(
                "%.1f s without frames: not filled, the video skips them", (slot - self.next_slot) / self.fps
            )
            self._reanchor(capture_time)
            slot = self.next_slot
        return self._advance(slot)

    def _reanchor(self, capture_time: float) -> None:
        self._origin = capture_time - self.next_slot / self.fps

    def _advance(self, slot: int) -> int:
        fill = slot - self.next_slot
        self.next_slot = slot + 1
        return fill


def ffmpeg_command(
    ffmpeg: str,
    width: int,
    height: int,
    fps: float,
    video_path: str,
    codec: str,
    crf: int | None,
    preset: str | None,
    pixel_format: str,
    threads: int | None,
    extra_output_args: Sequence[str],
) -> list[str]:
    """The ffmpeg command line that reads raw RGB frames from stdin and encodes them into `video_path`."""
    rate = Fraction(fps).limit_denominator(1001)
    command = [ffmpeg, "-hide_banner", "-nostats", "-loglevel", "error", "-y"]
    command += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-framerate", str(rate)]
    command += ["-i", "pipe:0", "-an", "-c:v", codec]
    if preset is not None:
        command += ["-preset", preset]
    if crf is not None:
        command += ["-crf", str(crf)]
    if pixel_format in ("yuv420p", "yuvj420p", "nv12") and (width % 2 or height % 2):
        command += ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"]  # 4:2:0 needs even sizes
    command += ["-pix_fmt", pixel_format]
    if threads is not None:
        command += ["-threads", str(threads)]
    command += [*extra_output_args, "-r", str(rate), video_path]
    return command


class MultiprocessRGBVideoRecorder(ConsumerProcess):
    """Records a namespace's RGB frames into a video file, in its own process (ffmpeg encodes).

    ```python
    recorder = MultiprocessRGBVideoRecorder("camera", "recording.mp4")
    recorder.start()            # returns once the first frame is written
    ...
    recorder.stop()             # the file is complete (also after SIGINT or SIGTERM to the recorder)
    print(recorder.frames_written, recorder.frames_dropped, recorder.frames_filled)
    ```

    The video runs at `fps` (the camera's by default). Every frame is placed by its capture time, so
    the video's duration is the recording's: frames the recorder could not take or that fall in a slot
    already written are counted in `frames_dropped`; slots without a frame repeat the previous one and
    are counted in `frames_filled`. `frames_written` is the number of frames in the file.

    Args:
        shared_memory_namespace: the publisher's namespace (any publisher that shares RGB).
        video_path: output file; the container follows the extension (.mp4, .mkv, .avi, ...).
        fps: frame rate of the video; None: the camera's.
        codec: ffmpeg video encoder (libx264, libx265, mpeg4, ...).
        crf: constant rate factor (quality; lower is better, larger); None leaves the encoder's default.
        preset: encoder speed preset (x264/x265: ultrafast ... veryslow); None for encoders without one.
        pixel_format: pixel format of the video; yuv420p plays everywhere.
        image_transform: applied to each RGB image (HxWx3 uint8) in the recorder process before encoding,
            e.g. to crop or downscale; must return HxWx3 uint8 of a fixed size, and be picklable.
        ffmpeg: the ffmpeg executable (name on PATH or path).
        threads: encoder threads (None: ffmpeg decides).
        extra_output_args: more ffmpeg output options, e.g. ["-g", "30"].
        max_fill_seconds: gaps longer than this (a paused or restarted camera) are skipped, not filled.
        start_timeout: seconds `start()` waits for the first frame and for ffmpeg.
        niceness: added to the recorder's nice value (ffmpeg inherits it), so it yields to controllers.

    """

    def __init__(
        self,
        shared_memory_namespace: str,
        video_path: str | os.PathLike[str],
        fps: float | None = None,
        codec: str = "libx264",
        crf: int | None = 23,
        preset: str | None = "ultrafast",
        pixel_format: str = "yuv420p",
        image_transform: ImageTransform | None = None,
        *,
        ffmpeg: str = "ffmpeg",
        threads: int | None = None,
        extra_output_args: Sequence[str] = (),
        max_fill_seconds: float = 10.0,
        start_timeout: float = 30.0,
        niceness: int = 10,
    ) -> None:
        self._ffmpeg = require_ffmpeg(ffmpeg)
        super().__init__(
            shared_memory_namespace,
            start_timeout=start_timeout,
            niceness=niceness,
            process_name=type(self).__name__,
        )
        if fps is not None and not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.video_path = str(Path(video_path).expanduser().absolute())
        self._fps_option = fps
        self._codec = codec
        self._crf = crf
        self._preset = preset
        self._pixel_format = pixel_format
        self._image_transform = image_transform
        self._threads = threads
        self._extra_output_args = list(extra_output_args)
        self._max_fill_seconds = max_fill_seconds
        self._written = shared_counter()
        self._dropped = shared_counter()
        self._filled = shared_counter()
        self._video_fps = SPAWN.Value("d", 0.0, lock=False)
        self._first_capture_time = SPAWN.Value("d", 0.0, lock=False)
        self._last_capture_time = SPAWN.Value("d", 0.0, lock=False)
        self._encoder_pid = SPAWN.Value("q", 0, lock=False)
        self._taken_frame_id = shared_counter()
        # Child-side state, set in `_open`.
        self._timeline: VideoTimeline | None = None
        self._encoder: subprocess.Popen[bytes] | None = None
        self._encoder_log: IO[bytes] | None = None
        self._previous: np.ndarray | None = None
        self._shape: tuple[int, ...] = ()
        self._last_frame_id = 0
        self._restarts = 0
        self._wrong_shape_warned = False

    # ------------------------------------------------------------------------------ parent side
    @property
    def frames_written(self) -> int:
        """Frames in the video file so far, filled ones included."""
        return int(self._written.value)

    @property
    def frames_dropped(self) -> int:
        """Camera frames that are not in the video (missed while busy, or two in one frame slot)."""
        return int(self._dropped.value)

    @property
    def frames_filled(self) -> int:
        """Frames written as a repeat of the previous one because no frame arrived for their slot."""
        return int(self._filled.value)

    @property
    def fps(self) -> float:
        """Frame rate of the video (known once started: the camera's unless given)."""
        return float(self._video_fps.value) or float(self._fps_option or 0.0)

    @property
    def first_capture_time(self) -> float:
        """Capture time (seconds since the epoch) of the first frame in the video; 0.0 before it."""
        return float(self._first_capture_time.value)

    @property
    def last_capture_time(self) -> float:
        """Capture time of the last frame written to the video; 0.0 before it."""
        return float(self._last_capture_time.value)

    @property
    def last_frame_id(self) -> int:
        """Camera frame id of the last frame the recorder took (written or dropped); 0 before the first."""
        return int(self._taken_frame_id.value)

    @property
    def encoder_pid(self) -> int | None:
        """Pid of the ffmpeg process (it finishes the file by itself if the recorder is killed)."""
        return int(self._encoder_pid.value) or None

    @property
    def duration(self) -> float:
        """Duration of the video written so far, in seconds."""
        fps = self.fps
        return self.frames_written / fps if fps else 0.0

    # ------------------------------------------------------------------------------ child side
    def _make_receiver(self, timeout: float) -> SharedMemoryReceiver:
        return MultiprocessRGBReceiver(self.namespace, timeout=timeout)

    def _image(self, receiver: Any) -> np.ndarray:
        image = receiver.retrieve_rgb_image_as_int()
        if self._image_transform is not None:
            image = np.ascontiguousarray(self._image_transform(image), dtype=np.uint8)
        return image

    def _open(self, receiver: SharedMemoryReceiver) -> None:
        fps = float(self._fps_option or receiver.fps)  # type: ignore[attr-defined]
        image = self._image(receiver)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"the recorder needs HxWx3 RGB images, got shape {image.shape}")
        self._shape = image.shape
        height, width = image.shape[:2]
        Path(self.video_path).parent.mkdir(parents=True, exist_ok=True)
        settings = (self._codec, self._crf, self._preset, self._pixel_format, self._threads)
        self._check_encoder(ffmpeg_command(self._ffmpeg, width, height, fps, "-", *settings, ["-f", "null"]), image)
        command = ffmpeg_command(self._ffmpeg, width, height, fps, self.video_path, *settings, self._extra_output_args)
        self._encoder_log = tempfile.TemporaryFile()
        # Its own session: a Ctrl-C in the terminal reaches the recorder, which finishes the file, not ffmpeg.
        # If the recorder dies, ffmpeg reads the end of its input and still finishes the file.
        self._encoder = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._encoder_log, start_new_session=True
        )
        self._encoder_pid.value = self._encoder.pid
        self._timeline = VideoTimeline(fps, self._max_fill_seconds)
        self._video_fps.value = fps
        self._last_frame_id = receiver.frame_id
        self._restarts = receiver.restarts

    def _consume(self, receiver: SharedMemoryReceiver) -> None:
        assert self._timeline is not None, "_open comes first"
        frame_id = receiver.frame_id
        if receiver.restarts == self._restarts and frame_id > self._last_frame_id + 1:
            self._dropped.value += frame_id - self._last_frame_id - 1  # published, never seen by the recorder
        self._restarts = receiver.restarts
        self._last_frame_id = frame_id
        self._taken_frame_id.value = frame_id
        image = self._image(receiver)
        if image.shape != self._shape:
            if not self._wrong_shape_warned:
                logger.warning("frames of shape %s dropped: the video is %s", image.shape, self._shape)
                self._wrong_shape_warned = True
            self._dropped.value += 1
            return
        fill = self._timeline.place(receiver.capture_timestamp)
        if fill < 0:
            self._dropped.value += 1
            return
        self._write(fill, image)
        if not self._first_capture_time.value:
            self._first_capture_time.value = receiver.capture_timestamp
        self._last_capture_time.value = receiver.capture_timestamp

    def _write(self, fill: int, image: np.ndarray) -> None:
        assert self._encoder is not None and self._encoder.stdin is not None
        pipe = self._encoder.stdin
        try:
            if self._previous is not None:
                for _ in range(fill):
                    pipe.write(self._previous.data.cast("B"))
                    self._filled.value += 1
                    self._written.value += 1
            pipe.write(image.data.cast("B"))
        except BrokenPipeError:
            raise RuntimeError(f"ffmpeg exited while recording: {self._encoder_errors()}") from None
        self._written.value += 1
        self._previous = image

    def _check_encoder(self, command: list[str], image: np.ndarray) -> None:
        """Encodes one frame with the recording's settings into nothing, so bad settings fail `start()`."""
        try:
            result = subprocess.run(command, input=image.tobytes(), capture_output=True, timeout=30.0)
        except subprocess.TimeoutExpired:
            raise RuntimeError("ffmpeg took more than 30 s to encode one frame") from None
        if result.returncode != 0:
            reason = result.stderr.decode(errors="replace").strip()[-2000:]
            raise RuntimeError(f"ffmpeg cannot encode with these settings (exit code {result.returncode}): {reason}")

    def _encoder_errors(self) -> str:
        if self._encoder is not None:
            try:
                self._encoder.wait(5.0)
            except subprocess.TimeoutExpired:
                return "ffmpeg closed its input but is still running"
        if self._encoder_log is None:
            return ""
        self._encoder_log.seek(0)
        text = self._encoder_log.read().decode(errors="replace").strip()
        code = self._encoder.returncode if self._encoder is not None else None
        return f"exit code {code}: {text[-2000:]}"

    def _close(self) -> None:
        encoder, self._encoder = self._encoder, None
        if encoder is None:
            return
        try:
            if encoder.stdin is not None:
                try:
                    encoder.stdin.close()
                except BrokenPipeError:
                    pass
            try:
                encoder.wait(60.0)
            except subprocess.TimeoutExpired:
                encoder.kill()
                encoder.wait(10.0)
                raise RuntimeError("ffmpeg did not finish the file within 60 s; killed") from None
            if encoder.returncode != 0:
                self._encoder = encoder
                raise RuntimeError(f"ffmpeg failed: {self._encoder_errors()}")
        finally:
            self._encoder = None
            if self._encoder_log is not None:
                self._encoder_log.close()
                self._encoder_log = None


MultiprocessVideoRecorder = MultiprocessRGBVideoRecorder
"""The airo-camera-toolkit name of `MultiprocessRGBVideoRecorder`."""
