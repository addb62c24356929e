"""The bridged streams, one class per kind: its shared-memory schema, its topics, and the messages it builds.

Every stream has a raw topic (`~/<name>/image_raw`, or `~/points` for the cloud and `~/depth/image_vis` for the
depth view) and may have a camera_info topic and a compressed transport (ros/transports.py): rgb and right
`<image>/compressed`, depth `<image>/compressedDepth`. The remote bridge creates the raw image topics only when
asked for (`StreamConfig.raw`). What a stream publishes from a frame is a `Wanted`: which of its three topics.
The stream kinds share one small base class and are read side by side, so they stay in one file.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header

from airo_mp_camera.pipeline.mixins import ConfidenceMixin, DepthMixin, PointCloudMixin, RGBMixin, StereoRGBMixin
from airo_mp_camera.pipeline.receiver import SharedMemoryReceiver
from airo_mp_camera.pipeline.schemas import (
    ConfidenceSchema,
    DepthSchema,
    PointCloudSchema,
    RGBSchema,
    Schema,
    StereoRGBSchema,
)
from airo_mp_camera.ros.depth_view import DepthColouring
from airo_mp_camera.ros.image_forms import ImageForms
from airo_mp_camera.ros.image_scaling import scale_camera_info, scaled_size
from airo_mp_camera.ros.link_share import share_key
from airo_mp_camera.ros.messages import (
    DepthMillimetreBuilder,
    ImageBuilder,
    PointCloudBuilder,
    camera_info,
    message_backed_array,
)
from airo_mp_camera.ros.parameters import BridgeConfig, StreamConfig
from airo_mp_camera.ros.transports import CompressedDepthTransport, CompressedTransport, JpegPngTransport

DEPTH_VIEW = "depth_vis"
"""The depth view's stream: depth/image_vis, made from the depth (no camera_info of its own: depth's applies)."""
_LATENCY_WINDOW = 300

Charge = Callable[[str, int], None]
"""Called with a share key (ros/link_share.py) and the bytes a stream sent under it."""


class BridgeReceiver(RGBMixin, DepthMixin, ConfidenceMixin, PointCloudMixin, StereoRGBMixin, SharedMemoryReceiver):
    """A receiver exposing every stream; the bridge reads only those its schemas carry."""


@dataclass(frozen=True)
class Wanted:
    """Which topics of a stream to publish from a frame: the raw one, the compressed one, camera_info."""

    raw: bool = False
    compressed: bool = False
    info: bool = False

    def __bool__(self) -> bool:
        return self.raw or self.compressed or self.info


def qos_profile(stream: StreamConfig) -> QoSProfile:
    """The QoS of a stream's topics (keep last; reliability and depth from its parameters)."""
    reliability = ReliabilityPolicy.RELIABLE if stream.reliability == "reliable" else ReliabilityPolicy.BEST_EFFORT
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=stream.qos_depth, reliability=reliability)


class RateLimit:
    """Lets through at most `max_rate` events per second (every event when 0), without drifting."""

    def __init__(self, max_rate: float) -> None:
        self.period = 1.0 / max_rate if max_rate > 0 else 0.0
        self._next = 0.0

    def due(self, when: float) -> bool:
        """Whether an event at `when` would be let through (does not count it)."""
        return self.period == 0.0 or when >= self._next

    def allow(self, now: float) -> bool:
        """Whether an event now is let through; counts it if so."""
        if self.period == 0.0:
            return True
        if now < self._next:
            return False
        # Schedule on a grid; after a pause, start again from now rather than bursting to catch up.
        self._next = self._next + self.period if now - self._next < self.period else now + self.period
        return True


@dataclass
class StreamStats:
    """What a stream did: messages published, bytes sent, conversions done, frames dropped, latencies.

    `dropped` counts frames the stream was due to publish but skipped (its depth encoder was still busy);
    `link_busy`, frames the remote bridge skipped because a subscriber left a message unacknowledged too long.
    """

    published: int = 0
    converted: int = 0
    bytes: int = 0
    encoded_bytes: int = 0  # written by the depth encoder's thread only
    dropped: int = 0
    link_busy: int = 0
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=_LATENCY_WINDOW))

    def latency_p50_ms(self) -> float:
        return float(np.median(self.latencies) * 1000.0) if self.latencies else float("nan")


class BridgedStream:
    """One stream's topics, rate limit and counters, and the messages it builds from a frame.

    Args:
        node: the node that owns the publishers.
        config: the stream's parameters.
        bridge: the bridge's parameters (frames, encodings, codecs).
        forms: the scale and JPEG quality of the images (the remote link may change them).
        charge: told what each part of a frame sent, by share key (the remote link's accounting; local: nothing).
    """

    name = ""
    schema: type[Schema] = RGBSchema
    raw_topic = ""
    """The raw topic's name; empty: `~/<name>/image_raw` (published only when `config.raw`)."""
    raw_type: type = Image
    has_info = True
    compressed: type | None = None
    """The class of the stream's compressed transport (None: it has none)."""

    def __init__(
        self, node: Node, config: StreamConfig, bridge: BridgeConfig, forms: ImageForms, charge: Charge
    ) -> None:
        self.config = config
        self.bridge_config = bridge
        self.forms = forms
        self.limit = RateLimit(config.max_rate)
        self.stats = StreamStats()
        self.last_bytes = 0  # size of the stream's last frame, all its topics
        self._charge = charge
        self._images = ImageBuilder()
        qos = qos_profile(config)
        image_topic = f"~/{self.name}/image_raw"
        self.raw: Publisher | None = None
        if self.raw_topic or config.raw:
            self.raw = node.create_publisher(self.raw_type, self.raw_topic or image_topic, qos)
        self.info = node.create_publisher(CameraInfo, f"~/{self.name}/camera_info", qos) if self.has_info else None
        self.transport: CompressedTransport | None = None
        if self.compressed is JpegPngTransport:
            self.transport = JpegPngTransport(node, image_topic, qos, bridge, forms, self._charge_compressed)
        elif self.compressed is CompressedDepthTransport:
            self.transport = CompressedDepthTransport(node, image_topic, qos, bridge, self._count_encoded)

    @property
    def raw_key(self) -> str:
        """The share key of the raw topic (ros/link_share.py)."""
        return share_key(self.name, raw=True)

    @property
    def compressed_key(self) -> str | None:
        """The share key of the compressed topic and camera_info (None: the stream has neither)."""
        return self.name

    @property
    def publishers(self) -> list[Publisher]:
        """Every topic of the stream (the remote link polls them for acknowledgements)."""
        transport = self.transport.publisher if self.transport is not None else None
        return [p for p in (self.raw, self.info, transport) if p is not None]

    def topics(self) -> list[str]:
        """The names of this stream's topics."""
        return [p.topic_name for p in self.publishers]

    def wanted(self) -> Wanted:
        """The topics that have subscribers."""
        return Wanted(
            raw=self.raw is not None and self.raw.get_subscription_count() > 0,
            compressed=self.transport is not None and self.transport.publisher.get_subscription_count() > 0,
            info=self.info is not None and self.info.get_subscription_count() > 0,
        )

    def subscribers(self) -> int:
        return sum(p.get_subscription_count() for p in self.publishers)

    def needs_pixels(self, wanted: Wanted) -> bool:
        """Whether publishing `wanted` reads the stream's schema out of shared memory (camera_info: metadata only)."""
        return wanted.raw or wanted.compressed

    def frame_id(self) -> str:
        return self.bridge_config.left_frame

    # ------------------------------------------------------------------------------ messages
    def publish(self, receiver: BridgeReceiver, frame_header: Header, wanted: Wanted) -> int:
        """Publishes the wanted topics from the receiver's frame; the bytes sent now."""
        sent = 0
        if wanted.raw and self.raw is not None:
            message = self.raw_message(receiver, frame_header)
            self.raw.publish(message)
            sent += len(message.data)
            self._charge(self.raw_key, len(message.data))
        if wanted.compressed and self.transport is not None:
            published = self.transport.publish(self.compressed_pixels(receiver), frame_header)
            if published is None:
                self.stats.dropped += 1
            else:
                sent += published
        if wanted.info and self.info is not None:
            self.info.publish(self.camera_info(receiver, frame_header))
        return sent

    def raw_message(self, receiver: BridgeReceiver, frame_header: Header) -> Image | PointCloud2:
        raise NotImplementedError

    def compressed_pixels(self, receiver: BridgeReceiver) -> np.ndarray:
        raise NotImplementedError

    def camera_info(self, receiver: BridgeReceiver, frame_header: Header) -> CameraInfo:
        """The camera_info of the left view, scaled as the stream's images are."""
        width, height = receiver.resolution
        info = camera_info(
            receiver.intrinsics_matrix(), receiver.distortion_coefficients(), width, height, frame_header
        )
        return self._scaled_info(info, width, height)

    def _scaled_info(self, info: CameraInfo, width: int, height: int) -> CameraInfo:
        scaler = self.forms.scaler(self.name)
        if scaler is not None:
            scale_camera_info(info, *scaled_size(width, height, scaler.scale))
        return info

    def _charge_compressed(self, nbytes: int) -> None:
        key = self.compressed_key
        if key is not None:
            self._charge(key, nbytes)

    def _count_encoded(self, nbytes: int) -> None:
        """A compressed frame its worker published: counted apart (it is written from the worker's thread)."""
        self.stats.encoded_bytes += nbytes
        self._charge_compressed(nbytes)

    def stop(self) -> None:
        """Stops the stream's encoder worker, if it has one."""
        if self.transport is not None:
            self.transport.stop()


class RgbStream(BridgedStream):
    """The left colour image: rgb8, or with `rgb.encoding` "camera" the layout the camera wrote (e.g. bgra8)."""

    name = "rgb"
    schema: type[Schema] = RGBSchema
    compressed = JpegPngTransport
    view = "left"

    def raw_message(self, receiver: BridgeReceiver, frame_header: Header) -> Image:
        pixels, encoding = receiver.retrieve_camera_image(self.view)
        return self._images.build(self.forms.scaled(self.name, pixels), frame_header, encoding)

    def compressed_pixels(self, receiver: BridgeReceiver) -> np.ndarray:
        return self.forms.scaled(self.name, receiver.retrieve_rgb_image_as_int(self.view))


class RightStream(RgbStream):
    """The right colour image, in its own optical frame; its camera_info carries the baseline."""

    name = "right"
    schema = StereoRGBSchema
    view = "right"

    def frame_id(self) -> str:
        return self.bridge_config.right_frame

    def needs_pixels(self, wanted: Wanted) -> bool:
        """Always: the right view's intrinsics and pose come with its schema."""
        return True

    def camera_info(self, receiver: BridgeReceiver, frame_header: Header) -> CameraInfo:
        width, height = receiver.resolution
        baseline = float(receiver.pose_of_right_view_in_left_view[0, 3])
        distortion = receiver.distortion_coefficients()
        info = camera_info(receiver.intrinsics_matrix("right"), distortion, width, height, frame_header, baseline)
        return self._scaled_info(info, width, height)


class DepthStream(BridgedStream):
    """Depth in metres (32FC1) or millimetres (16UC1), and compressedDepth (PNG or RVL, on a worker thread)."""

    name = "depth"
    schema = DepthSchema
    compressed = CompressedDepthTransport

    def __init__(
        self, node: Node, config: StreamConfig, bridge: BridgeConfig, forms: ImageForms, charge: Charge
    ) -> None:
        super().__init__(node, config, bridge, forms, charge)
        self._millimetres = DepthMillimetreBuilder()

    def raw_message(self, receiver: BridgeReceiver, frame_header: Header) -> Image:
        depth = self.forms.scaled(self.name, receiver.retrieve_depth_map())
        if self.bridge_config.depth_encoding == "16UC1":
            return self._millimetres.build(depth, frame_header)
        return self._images.build(depth, frame_header)

    def compressed_pixels(self, receiver: BridgeReceiver) -> np.ndarray:
        return self.forms.scaled(self.name, receiver.retrieve_depth_map())


class ConfidenceStream(BridgedStream):
    """The depth confidence map; no camera_info of its own (depth's applies)."""

    name = "confidence"
    schema = ConfidenceSchema
    has_info = False

    def raw_message(self, receiver: BridgeReceiver, frame_header: Header) -> Image:
        return self._images.build(receiver.retrieve_confidence_map(), frame_header)


class PointsStream(BridgedStream):
    """The coloured point cloud (`~/points`): organized where it keeps the image's grid, decimated if asked."""

    name = "points"
    schema = PointCloudSchema
    raw_topic = "~/points"
    raw_type = PointCloud2
    has_info = False

    def __init__(
        self, node: Node, config: StreamConfig, bridge: BridgeConfig, forms: ImageForms, charge: Charge
    ) -> None:
        super().__init__(node, config, bridge, forms, charge)
        self._cloud = PointCloudBuilder(xyz_only=bridge.points_xyz_only)

    @property
    def raw_key(self) -> str:
        return self.name

    @property
    def compressed_key(self) -> str | None:
        return None

    def raw_message(self, receiver: BridgeReceiver, frame_header: Header) -> PointCloud2:
        cloud = receiver.retrieve_colored_point_cloud()
        assert cloud.colors is not None
        width, height = receiver.resolution
        config = self.bridge_config
        organized = (height, width) if config.points_organized and len(cloud.points) == width * height else None
        decimation = config.points_decimation if organized is not None else 1
        return self._cloud.build(cloud.points, cloud.colors, frame_header, organized, decimation=decimation)


class DepthViewStream(BridgedStream):
    """depth/image_vis: the depth coloured for rviz2 (ros/depth_view.py), straight into the message's storage."""

    name = DEPTH_VIEW
    schema = DepthSchema
    raw_topic = "~/depth/image_vis"
    has_info = False

    def __init__(
        self, node: Node, config: StreamConfig, bridge: BridgeConfig, forms: ImageForms, charge: Charge
    ) -> None:
        super().__init__(node, config, bridge, forms, charge)
        self._colouring: DepthColouring | None = None  # made for the first frame subscribed to
        self._pixels = np.empty((0, 0, 3), np.uint8)

    def raw_message(self, receiver: BridgeReceiver, frame_header: Header) -> Image:
        depth = receiver.retrieve_depth_map()
        colouring = self._colouring
        if colouring is None:
            view = self.bridge_config.depth_view
            colouring = self._colouring = DepthColouring(view.depth_min, view.depth_max, view.colormap)
        if self._pixels.shape[:2] != depth.shape:
            self._pixels = message_backed_array((*depth.shape, 3), np.dtype(np.uint8))
        return self._images.build(colouring.apply(depth, out=self._pixels), frame_header)


STREAM_KINDS: dict[str, type[BridgedStream]] = {
    kind.name: kind for kind in (RgbStream, DepthStream, RightStream, ConfidenceStream, PointsStream, DepthViewStream)
}
STREAM_SCHEMAS: dict[str, type[Schema]] = {name: kind.schema for name, kind in STREAM_KINDS.items()}
"""Which shared-memory schema each stream needs."""


def make_streams(
    node: Node, config: BridgeConfig, forms: ImageForms, charge: Charge, depth_view: bool
) -> dict[str, BridgedStream]:
    """The enabled streams of `config`, and the depth view (`depth_view`: offered) at its own rate limit."""
    streams = {
        name: STREAM_KINDS[name](node, stream, config, forms, charge)
        for name, stream in config.streams.items()
        if stream.enabled
    }
    if depth_view:
        view = replace(config.streams["depth"], max_rate=config.depth_view.max_rate)
        streams[DEPTH_VIEW] = DepthViewStream(node, view, config, forms, charge)
    return streams
