"""The compressed transports of an image stream, as image_transport names them: `compressed` and `compressedDepth`.

Each publishes `<image>/image_raw/<suffix>` (sensor_msgs/CompressedImage, with the `format` string image_transport's
plugins write) from the stream's pixels, and says what it sent, so that the link (ros/link_policy.py) can be
charged for it. The raw transport is the stream's own `image_raw` topic (ros/streams.py): its message type differs
by stream (Image, PointCloud2), the compressed ones do not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CompressedImage
from std_msgs.msg import Header

from airo_mp_camera.ros.depth_encoder import DepthEncoderWorker
from airo_mp_camera.ros.image_forms import ImageForms
from airo_mp_camera.ros.messages import CompressedImageBuilder
from airo_mp_camera.ros.parameters import BridgeConfig

Sent = Callable[[int], None]
"""Called with the bytes of each compressed message once published (from whichever thread published it)."""


class CompressedTransport(Protocol):
    """A compressed topic of an image stream."""

    suffix: str
    publisher: Publisher

    def publish(self, pixels: np.ndarray, frame_header: Header) -> int | None:
        """Encodes and publishes `pixels`, or hands them to a worker that will.

        Returns:
            The bytes published now (0: handed to the worker, which reports them to `sent`); None: dropped, the
            worker still busy with the last frame.
        """
        ...

    def stop(self) -> None:
        """Stops a worker the transport started."""
        ...


class JpegPngTransport:
    """`compressed`: a colour image as JPEG (quality from the stream's form) or PNG, encoded on the bridge's thread."""

    suffix = "compressed"

    def __init__(
        self, node: Node, image_topic: str, qos: QoSProfile, config: BridgeConfig, forms: ImageForms, sent: Sent
    ) -> None:
        self.publisher = node.create_publisher(CompressedImage, f"{image_topic}/{self.suffix}", qos)
        self._config = config
        self._forms = forms
        self._sent = sent
        self._builder: CompressedImageBuilder | None = None

    def publish(self, pixels: np.ndarray, frame_header: Header) -> int | None:
        builder = self._builder
        if builder is None or builder.jpeg_quality != self._forms.jpeg_quality:
            config = self._config
            builder = self._builder = CompressedImageBuilder(
                config.compressed_format, self._forms.jpeg_quality, config.png_level
            )
        message = builder.build(pixels, frame_header)
        self.publisher.publish(message)
        self._sent(len(message.data))
        return len(message.data)

    def stop(self) -> None:
        """Nothing to stop: encoded on the bridge's thread."""


class CompressedDepthTransport:
    """`compressedDepth`: depth as PNG or RVL, encoded and published by a worker thread of its own.

    The worker takes one frame at a time; a frame that comes while it is busy is dropped, never queued.
    """

    suffix = "compressedDepth"

    def __init__(self, node: Node, image_topic: str, qos: QoSProfile, config: BridgeConfig, sent: Sent) -> None:
        self.publisher = node.create_publisher(CompressedImage, f"{image_topic}/{self.suffix}", qos)
        self._config = config
        self._sent = sent
        self._worker: DepthEncoderWorker | None = None  # started for the first frame subscribed to

    def publish(self, pixels: np.ndarray, frame_header: Header) -> int | None:
        worker = self._worker
        if worker is None:
            config = self._config
            worker = self._worker = DepthEncoderWorker(
                self.publisher,
                config.depth_encoding,
                config.depth_codec,
                config.depth_max,
                config.depth_quantization,
                on_published=lambda nbytes, _header: self._sent(nbytes),
            )
        return 0 if worker.submit(pixels, frame_header) else None

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()
