"""compressedDepth encoding on a worker thread, so the bridge thread never waits for it.

PNG of a real (noisy) 720p depth image takes 40-50 ms, longer than a frame at 30 fps. The bridge hands
each due depth frame to a `DepthEncoderWorker`; if the worker is still busy with the previous one, the
frame is dropped (counted), never queued, so the other streams keep the camera's rate and the depth
topic carries the newest depth the encoder can keep up with. The codec itself (image_transport's
compressedDepth wire format, png or rvl) lives in `airo_mp_camera.codecs.compressed_depth`.
"""

from __future__ import annotations

import array
import logging
import threading
from collections.abc import Callable

import numpy as np
from rclpy.publisher import Publisher
from sensor_msgs.msg import CompressedImage
from std_msgs.msg import Header

logger = logging.getLogger(__name__)


class DepthEncoderWorker:
    """Encodes depth frames to compressedDepth messages on its own thread and publishes them.

    Args:
        publisher: the `.../compressedDepth` publisher.
        encoding: "32FC1" (inverse-depth quantised) or "16UC1" (millimetres).
        codec: "png" or "rvl".
        depth_max: farthest depth kept (32FC1), metres.
        depth_quantization: inverse-depth quantisation (32FC1).
        on_published: called with the message's byte count and the header of each published message.
    """

    def __init__(
        self,
        publisher: Publisher,
        encoding: str,
        codec: str,
        depth_max: float,
        depth_quantization: float,
        on_published: Callable[[int, Header], None] | None = None,
    ) -> None:
        from airo_mp_camera.codecs.compressed_depth import NATIVE_RVL, encode_compressed_depth

        if codec == "rvl" and not NATIVE_RVL:
            logger.warning(
                "compressedDepth rvl: the C codec (airo_mp_camera/codecs/_rvl.c) is not built, so RVL is encoded "
                "in numpy, 5 to 6 times slower (some 27 ms a 720p frame); reinstall the package with a C compiler"
            )
        self._encode = encode_compressed_depth
        self._publisher = publisher
        self._encoding = encoding
        self._codec = codec
        self._depth_max = depth_max
        self._depth_quantization = depth_quantization
        self._on_published = on_published
        self._depth = np.empty(0, np.float32)
        self._header: Header | None = None
        self._busy = False
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._stopping = False
        self.encoded = 0
        self.dropped = 0
        self.errors = 0
        self._thread = threading.Thread(target=self._loop, name="compressedDepth encoder", daemon=True)
        self._thread.start()

    def submit(self, depth_m: np.ndarray, frame_header: Header) -> bool:
        """Hands a depth frame (float32 metres; copied here) to the encoder; False (dropped) if it is busy."""
        with self._lock:
            if self._busy or self._stopping:
                self.dropped += 1
                return False
            if self._depth.shape != depth_m.shape:
                self._depth = np.empty(depth_m.shape, np.float32)
            np.copyto(self._depth, depth_m)
            self._header = frame_header
            self._busy = True
            self._work.notify()
        return True

    def stop(self, timeout: float = 2.0) -> None:
        """Stops the worker thread (a frame being encoded is finished first)."""
        with self._lock:
            self._stopping = True
            self._work.notify()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._busy and not self._stopping:
                    self._work.wait()
                if self._stopping:
                    return
                depth, frame_header = self._depth, self._header
            try:
                self._publish(depth, frame_header)
            except Exception:  # a bad frame must not end the worker: count, log, go on
                self.errors += 1
                logger.exception("compressedDepth encoding failed")
            finally:
                with self._lock:
                    self._busy = False

    def _publish(self, depth: np.ndarray, frame_header: Header | None) -> None:
        image_format, data = self._encode(
            depth if self._encoding == "32FC1" else millimetres(depth),
            encoding=self._encoding,
            codec=self._codec,
            depth_max=self._depth_max,
            depth_quantization=self._depth_quantization,
        )
        message = CompressedImage()
        if frame_header is not None:
            message.header = frame_header
        message.format = image_format
        message.data = array.array("B", data)
        self._publisher.publish(message)
        self.encoded += 1
        if self._on_published is not None and frame_header is not None:
            self._on_published(len(data), frame_header)


def millimetres(depth_m: np.ndarray) -> np.ndarray:
    """uint16 millimetres from float metres; NaN, inf, negative and beyond 65.535 m become 0 (invalid)."""
    scaled = np.nan_to_num(depth_m.astype(np.float32) * 1000.0, nan=0.0, posinf=0.0, neginf=0.0)
    scaled[(scaled < 0.0) | (scaled > 65535.0)] = 0.0
    return np.rint(scaled).astype(np.uint16)
