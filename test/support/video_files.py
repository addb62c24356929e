"""Reading back what the video recorder wrote: frames decoded independently of the recorder, waiting for frames."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from airo_mp_camera.cameras import watermark
from airo_mp_camera.consumers import (
    MultiprocessRGBVideoRecorder,
)

RESOLUTION = (320, 240)


ID_BITS = 12


BLOCK = RESOLUTION[0] // ID_BITS  # 26 px blocks in the top rows


STAMP_ROWS = BLOCK


def stamp_frame_id(image: np.ndarray) -> np.ndarray:
    """Image transform: paints the frame id (read from the synthetic camera's watermark) as blocks."""
    frame_id, _ = watermark.read(image)
    out = image.copy()
    for bit in range(ID_BITS):
        out[:STAMP_ROWS, bit * BLOCK : (bit + 1) * BLOCK] = 255 if (frame_id >> bit) & 1 else 0
    return out


def decode(path: Path) -> list[np.ndarray]:
    """Every frame of a video as HxWx3 RGB."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    return frames


def recorder(namespace: str, path: Path, **options: object) -> MultiprocessRGBVideoRecorder:
    return MultiprocessRGBVideoRecorder(namespace, path, image_transform=stamp_frame_id, **options)  # type: ignore[arg-type]


def wait_until_written(recorder: MultiprocessRGBVideoRecorder, frames: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while recorder.frames_written < frames:
        assert time.monotonic() < deadline, f"only {recorder.frames_written} frames written in {timeout} s"
        assert recorder.is_alive(), f"recorder exited with code {recorder.exitcode}"
        time.sleep(0.05)
