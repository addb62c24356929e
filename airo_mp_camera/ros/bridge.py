"""The bridge: one more shared-memory receiver, whose frames become sensor_msgs topics.

A thread grabs each new frame from shared memory (blocking on the futex, never polling) and, for every
stream that has subscribers and whose rate limit allows it, builds that stream's message from the frame
and publishes it. All topics of one frame carry its capture time. A stream nobody subscribes to costs
nothing but a subscriber-count check; the camera process and the native receivers never wait for the
bridge, so a slow or stalled subscriber can at worst make the bridge skip frames.

Beside the streams of the camera, the depth view `depth/image_vis` (ros/depth_view.py) is a stream of its own, with
its own subscriber check and rate limit, made from the depth of the same frames.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2
from std_msgs.msg import Header

from airo_mp_camera.pipeline.errors import (
    FrameTimeoutError,
    PublisherGoneError,
    PublisherNotFoundError,
    SchemaMismatchError,
)
from airo_mp_camera.pipeline.frame_ring import FrameRing
from airo_mp_camera.pipeline.mixins import ConfidenceMixin, DepthMixin, PointCloudMixin, RGBMixin, StereoRGBMixin
from airo_mp_camera.pipeline.receiver import SharedMemoryReceiver
from airo_mp_camera.pipeline.schemas import (
    CameraSchema,
    ConfidenceSchema,
    DepthSchema,
    PointCloudSchema,
    RGBSchema,
    Schema,
    StereoRGBSchema,
)
from airo_mp_camera.ros.depth_encoder import DepthEncoderWorker
from airo_mp_camera.ros.depth_view import DepthColouring
from airo_mp_camera.ros.image_scaling import ImageScaler, scale_camera_info, scaled_size
from airo_mp_camera.ros.link_share import LinkShare, share_key
from airo_mp_camera.ros.messages import (
    CompressedImageBuilder,
    DepthMillimetreBuilder,
    ImageBuilder,
    PointCloudBuilder,
    camera_info,
    header,
    message_backed_array,
)
from airo_mp_camera.ros.parameters import BridgeConfig, StreamConfig
from airo_mp_camera.ros.remote_link import Form, RemoteLink, forms, scale_steps

logger = logging.getLogger(__name__)

DEPTH_VIEW = "depth_vis"
"""The depth view's stream: depth/image_vis, made from the depth (no camera_info of its own: depth's applies)."""
# Which shared-memory schema each stream needs.
STREAM_SCHEMAS: dict[str, type[Schema]] = {
    "rgb": RGBSchema,
    "depth": DepthSchema,
    "right": StereoRGBSchema,
    "confidence": ConfidenceSchema,
    "points": PointCloudSchema,
    DEPTH_VIEW: DepthSchema,
}
_MAIN_TOPICS = {"points": "~/points", DEPTH_VIEW: "~/depth/image_vis"}
_LATENCY_WINDOW = 300
_NO_WAIT = Duration(seconds=0)
ACK_GRACE_S = 0.25
"""The remote bridge skips a stream's frames while a subscriber leaves one of its messages unacknowledged longer."""
ACK_GIVE_UP_S = 1.0
"""... but not for longer than this: a subscriber that stopped acknowledging altogether must not stall the others."""
GATED_BYTES = 1_000_000
"""Only streams whose frames are larger are held back for acknowledgements: raw images and full clouds, which
can fill a link. Fast DDS asks subscribers to acknowledge once a socket buffer's worth (4 MB) has been sent, so
the acknowledgements of small messages come late, and holding them back would throttle a link that keeps up."""
_WAIT_FOR_PUBLISHER_S = 0.2


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


class BridgeReceiver(RGBMixin, DepthMixin, ConfidenceMixin, PointCloudMixin, StereoRGBMixin, SharedMemoryReceiver):
    """A receiver exposing every stream; the bridge reads only those its schemas carry."""


class _Stream:
    """The topics of one stream: the image (or cloud), its camera_info, and a compressed twin for images.

    The compressed twin of rgb and right is `<image>/compressed`; of depth, `<image>/compressedDepth`.
    The remote bridge creates the uncompressed topic only when asked for (`config.raw`).
    """

    def __init__(self, node: Node, name: str, config: StreamConfig, compressed: bool) -> None:
        self.name = name
        self.config = config
        self.limit = RateLimit(config.max_rate)
        self.stats = StreamStats()
        self.unacknowledged_since: float | None = None
        self.last_bytes = 0  # size of the stream's last frame, all its topics
        qos = qos_profile(config)
        self.main: Publisher | None = None
        self.info: Publisher | None = None
        self.compressed: Publisher | None = None
        if name == "points":
            self.main = node.create_publisher(PointCloud2, _MAIN_TOPICS[name], qos)
            return
        if name == DEPTH_VIEW:
            self.main = node.create_publisher(Image, _MAIN_TOPICS[name], qos)
            return
        if config.raw:
            self.main = node.create_publisher(Image, f"~/{name}/image_raw", qos)
        if name != "confidence":
            self.info = node.create_publisher(CameraInfo, f"~/{name}/camera_info", qos)
        if compressed:
            suffix = "compressedDepth" if name == "depth" else "compressed"
            self.compressed = node.create_publisher(CompressedImage, f"~/{name}/image_raw/{suffix}", qos)

    def topics(self) -> list[str]:
        """The names of this stream's topics."""
        return [p.topic_name for p in (self.main, self.info, self.compressed) if p is not None]

    def wanted(self) -> tuple[bool, bool, bool]:
        """Whether the main topic, camera_info and the compressed topic have subscribers."""
        return (
            self.main is not None and self.main.get_subscription_count() > 0,
            self.info is not None and self.info.get_subscription_count() > 0,
            self.compressed is not None and self.compressed.get_subscription_count() > 0,
        )

    def link_busy(self, now: float, start_clock: bool = True) -> bool:
        """Whether a subscriber has left a message of this stream unacknowledged for over ACK_GRACE_S.

        The clock starts when a message is seen unacknowledged a frame after it was sent (`start_clock`, just
        before the next one would be): seen right after sending, every message is still on its way. It stops
        whenever everything is acknowledged. Best-effort subscribers never hold a message. Messages
        acknowledged within the grace pass freely, so a link that keeps up is never throttled, whatever its
        round trip. Past ACK_GIVE_UP_S the subscriber is taken for gone (crashed, unplugged: DDS notices
        only when its lease expires) and frames flow again, so it cannot stall the stream for the others.
        """
        if all(p.wait_for_all_acked(_NO_WAIT) for p in (self.main, self.info, self.compressed) if p is not None):
            self.unacknowledged_since = None
            return False
        if self.unacknowledged_since is None:
            if not start_clock:
                return False
            self.unacknowledged_since = now
        return ACK_GRACE_S < now - self.unacknowledged_since <= ACK_GIVE_UP_S

    def subscribers(self) -> int:
        return sum(p.get_subscription_count() for p in (self.main, self.info, self.compressed) if p is not None)


class Bridge:
    """Bridges a shared-memory namespace to ROS topics under `node` (~/rgb/image_raw, ~/points, ...).

    Args:
        node: the ROS node that owns the publishers.
        config: validated bridge parameters.
        clock: wall clock in seconds since the epoch (capture times use the same clock).
    """

    def __init__(self, node: Node, config: BridgeConfig, clock: Callable[[], float] = time.time) -> None:
        self.node = node
        self.config = config
        self._clock = clock
        self.streams = {
            name: _Stream(node, name, stream, compressed=name in ("rgb", "right", "depth"))
            for name, stream in config.streams.items()
            if stream.enabled
        }
        if self._depth_view_wanted():
            depth = config.streams["depth"]
            self.streams[DEPTH_VIEW] = _Stream(
                node, DEPTH_VIEW, replace(depth, max_rate=config.depth_view.max_rate), compressed=False
            )
        self._depth_colouring: DepthColouring | None = None  # made for the first depth view subscribed to
        self._depth_view_pixels = np.empty((0, 0, 3), np.uint8)
        self._depth_encoder: DepthEncoderWorker | None = None
        self._images = {name: ImageBuilder() for name in self.streams}
        self._depth_mm = DepthMillimetreBuilder()
        self._cloud = PointCloudBuilder(xyz_only=config.points_xyz_only)
        self._compressors: dict[str, CompressedImageBuilder] = {}
        self.remote_link: RemoteLink | None = None
        self.link_share: LinkShare | None = None
        if config.remote:
            choices = forms(config.jpeg_quality, config.min_jpeg_quality, config.image_scale, config.min_image_scale)
            self.remote_link = RemoteLink(
                config.link_budget_mbit_s,
                config.link_priority,
                choices,
                scale_steps(config.depth_scale, config.min_depth_scale),
                self._writers,
                clock,
                self._new_form,
                self._new_depth_scale,
            )
            self.link_share = self.remote_link.share
        self._scalers: dict[str, ImageScaler] = {}
        self._scales = {"rgb": config.image_scale, "right": config.image_scale, "depth": config.depth_scale}
        self._jpeg_quality = config.jpeg_quality
        if self.remote_link is not None:
            self._new_form(self.remote_link.rgb_form.current, "")
            self._new_depth_scale(self.remote_link.depth_form.scale, "")
        self._receiver: BridgeReceiver | None = None
        self._available: set[str] = set()
        self._warned_missing: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"bridge[{config.namespace}]", daemon=True)
        # Counters read by diagnostics (written by the bridge thread only).
        self.frames = 0
        self.dropped = 0
        self.last_frame_id = 0
        self.last_frame_time = 0.0
        self._period = 0.0  # seconds between the last two frames
        self._camera_fps = 0.0  # the publishing camera's frame rate (what the link share asks for)
        self._held_by_link_share: set[str] = set()  # schemas of streams the link share skips now, still read
        self._restarts = 0  # publisher restarts seen by receivers since replaced
        self._last_key: tuple[int | None, int] = (None, 0)  # (publisher generation, frame id) last bridged
        self.publisher_alive = False
        self.status = "waiting for a publisher"

    def _depth_view_wanted(self) -> bool:
        """Whether to offer depth/image_vis: asked for, with raw depth bridged and OpenCV to colour it."""
        config = self.config
        depth = config.streams.get("depth")
        if not config.depth_view.enabled or depth is None or not depth.enabled or not depth.raw:
            return False
        if importlib.util.find_spec("cv2") is None:
            self.node.get_logger().warning(
                "depth.vis.enable is true but OpenCV is not installed (pip install opencv-python-headless): "
                "depth/image_vis is not published"
            )
            return False
        return True

    # ------------------------------------------------------------------------------ lifetime
    def start(self) -> None:
        self._thread.start()
        if self.remote_link is not None:
            self.remote_link.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self.remote_link is not None:
            self.remote_link.stop()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._depth_encoder is not None:
            self._depth_encoder.stop()
        if self._receiver is not None:
            self._receiver.close()
            self._receiver = None

    @property
    def restarts(self) -> int:
        """How often the shared-memory publisher restarted while bridged."""
        return self._restarts + (self._receiver.restarts if self._receiver is not None else 0)

    # ------------------------------------------------------------------------------ loop
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as error:  # never let the thread die silently: report, back off, go on
                self.status = f"{type(error).__name__}: {error}"
                logger.exception("bridge of namespace '%s' failed", self.config.namespace)
                self.node.get_logger().error(f"bridge failed: {self.status}")
                self._stop.wait(1.0)

    def _connect(self) -> BridgeReceiver | None:
        """A receiver for the enabled streams the publisher writes, once the publisher is there."""
        ring = FrameRing.attach(self.config.namespace)
        if ring is None:
            return None
        try:
            published = set(ring.layout)
        finally:
            ring.close()
        schemas: list[Schema] = [CameraSchema()]
        self._available = set()
        for name in self.streams:
            schema = STREAM_SCHEMAS[name]()
            if schema.name in published:
                self._available.add(name)
                if schema not in schemas:
                    schemas.append(schema)
            elif name not in self._warned_missing:
                self._warned_missing.add(name)
                self.node.get_logger().warning(
                    f"stream '{name}' is enabled but the publisher of namespace '{self.config.namespace}' "
                    f"does not write it (it writes {sorted(published)}); its topics stay silent"
                )
        keep = {RGBSchema.name, StereoRGBSchema.name} if self.config.image_encoding == "camera" else set()
        return BridgeReceiver(
            self.config.namespace,
            schemas,
            timeout=self.config.grab_timeout,
            allocator=message_backed_array,
            camera_layout=keep,
        )

    def _step(self) -> None:
        receiver = self._receiver
        if receiver is None:
            receiver = self._receiver = self._connect()
            if receiver is None:
                self._stop.wait(_WAIT_FOR_PUBLISHER_S)
                return
        generation = receiver.publisher_generation
        plan = self._plan()
        receiver.copy_only(self._schemas_needed(plan) | self._held_by_link_share)
        try:
            receiver.grab_images()
        except FrameTimeoutError:
            self.status = f"no frame for {self.config.grab_timeout} s (publisher alive but stalled)"
            return
        except (PublisherGoneError, PublisherNotFoundError) as error:
            if self._stop.is_set():  # the node is shutting down and stops the camera itself: not an error
                return
            if self.publisher_alive or self.status != str(error):
                self.node.get_logger().error(f"{error}")
            self.publisher_alive = False
            self.status = str(error)
            return
        except SchemaMismatchError as error:  # a restarted publisher writes other schemas: connect anew
            self.node.get_logger().warning(f"{error}; reconnecting")
            receiver.close()
            self._receiver = None
            self._stop.wait(_WAIT_FOR_PUBLISHER_S)
            return
        if not self.publisher_alive:
            self.node.get_logger().info(f"receiving frames from shared-memory namespace '{self.config.namespace}'")
        self.publisher_alive = True
        self.status = "ok"
        frame_id = receiver.frame_id
        if (receiver.publisher_generation, frame_id) == self._last_key:  # a new receiver's first grab: seen
            return
        self._last_key = (receiver.publisher_generation, frame_id)
        if generation == receiver.publisher_generation and self.last_frame_id and frame_id > self.last_frame_id:
            self.dropped += frame_id - self.last_frame_id - 1
        self.last_frame_id = frame_id
        self.frames += 1
        now = self._clock()
        if self.last_frame_time:
            self._period = min(now - self.last_frame_time, 1.0)
        self.last_frame_time = now
        self._camera_fps = receiver.fps
        self._publish_frame(receiver, now, plan)
        if receiver.restarts:  # a new publisher: connect anew, to bridge every stream it writes now
            self._restarts += receiver.restarts
            receiver.close()
            self._receiver = None

    # ------------------------------------------------------------------------------ messages
    def _plan(self) -> dict[str, tuple[bool, bool, bool]]:
        """The streams to publish from the next frame: subscribed, due by their rate limit, let out by the link."""
        soon = self._clock() + 0.5 * self._period
        plan = {}
        held: set[str] = set()
        for name, stream in self.streams.items():
            if name in self._available:
                wanted = stream.wanted()
                self._ask_link(name, stream, wanted)
                if any(wanted) and stream.limit.due(soon):
                    # A link that has been busy for a while: do not even copy the frame out of shared memory.
                    if self._skip_for_link(stream, soon, start_clock=False):
                        continue
                    admitted = self._admitted(name, wanted, soon)  # the parts the link share lets out
                    if any(admitted):
                        plan[name] = admitted
                    else:  # still copied: a schema left out and back in costs a frame (the next must carry it)
                        held |= self._schemas_needed({name: wanted})
        self._held_by_link_share = held
        return plan

    def _ask_link(self, name: str, stream: _Stream, wanted: tuple[bool, bool, bool]) -> None:
        """Tells the link share the rate each part of a remote stream asks for: the camera's, capped by max_rate."""
        if self.link_share is None:
            return
        # The camera's rate, not the rate this bridge grabs at: a bridge short of CPU must not ask for less and
        # then take on more streams than the link and itself can carry.
        rate = self._camera_fps
        if stream.config.max_rate > 0:
            rate = min(rate, stream.config.max_rate)
        main, info, compressed = wanted
        if name == "points":
            self.link_share.ask(name, rate if main else 0.0)
            return
        self.link_share.ask(name, rate if info or compressed else 0.0)
        if stream.main is not None:
            self.link_share.ask(share_key(name, raw=True), rate if main else 0.0)

    def _admitted(self, name: str, wanted: tuple[bool, bool, bool], now: float) -> tuple[bool, bool, bool]:
        """The parts of a remote stream's frame that the link share lets out now (all of them without one)."""
        share = self.link_share
        main, info, compressed = wanted
        if share is None:
            return wanted
        if name == "points":
            return (main and share.admit(name, now) is None, info, compressed)
        if (info or compressed) and share.admit(name, now) is not None:
            info = compressed = False
        if main and share.admit(share_key(name, raw=True), now) is not None:
            main = False
        return main, info, compressed

    def _skip_for_link(self, stream: _Stream, when: float, start_clock: bool) -> bool:
        """Whether to skip this frame of a remote stream because its link still carries the last message.

        Skipping rather than queueing gives a slow link the newest frames at the rate it can carry. Only large
        messages are judged (GATED_BYTES); each skip counts as link_busy.
        """
        if self.config.remote and stream.last_bytes > GATED_BYTES and stream.link_busy(when, start_clock):
            stream.stats.link_busy += 1
            return True
        return False

    @staticmethod
    def _schemas_needed(plan: dict[str, tuple[bool, bool, bool]]) -> set[str]:
        """Schemas to copy out of shared memory for a plan (camera_info alone needs only the metadata)."""
        needed = set()
        for name, (main, _info, compressed) in plan.items():
            if main or compressed or name == "right":
                needed.add(STREAM_SCHEMAS[name].name)
        return needed

    def _publish_frame(self, receiver: BridgeReceiver, now: float, plan: dict[str, tuple[bool, bool, bool]]) -> None:
        captured = receiver.capture_timestamp
        frame_header = None
        for name, (main, info, compressed) in plan.items():
            stream = self.streams[name]
            if self._skip_for_link(stream, now, start_clock=True):
                continue
            if not stream.limit.allow(now):
                continue
            if frame_header is None:
                frame_header = header(captured, self.config.left_frame)
            right = name == "right"
            stream_header = header(captured, self.config.right_frame) if right else frame_header
            stream.stats.converted += 1
            sent = 0
            if main and stream.main is not None:
                message = self._main_message(name, receiver, stream_header)
                stream.main.publish(message)
                sent += len(message.data)
                self._charge(name if name == "points" else share_key(name, raw=True), len(message.data))
            if compressed and stream.compressed is not None:
                if name == "depth":  # encoded on the worker thread, which publishes and counts it
                    depth = self._scaled(name, receiver.retrieve_depth_map())
                    if not self._depth_worker(stream).submit(depth, stream_header):
                        stream.stats.dropped += 1
                else:
                    view = "right" if right else "left"
                    pixels = self._scaled(name, receiver.retrieve_rgb_image_as_int(view))
                    message = self._compressor(name).build(pixels, stream_header)
                    stream.compressed.publish(message)
                    sent += len(message.data)
                    self._charge(name, len(message.data))
            if info and stream.info is not None:
                stream.info.publish(self._camera_info(receiver, name, stream_header))
            stream.stats.bytes += sent
            stream.last_bytes = sent
            stream.stats.published += 1
            stream.stats.latencies.append(self._clock() - captured)

    def _charge(self, key: str, nbytes: int) -> None:
        if self.remote_link is not None:
            self.remote_link.charge(key, nbytes)

    def _writers(self) -> dict[str, list[Publisher]]:
        """The publishers of each stream (the remote link polls them for acknowledgements)."""
        return {
            name: [p for p in (stream.main, stream.info, stream.compressed) if p is not None]
            for name, stream in self.streams.items()
        }

    def _new_form(self, form: Form, why: str) -> None:
        """The form of rgb (and right) the remote link chose: used from the next frame on."""
        if why:
            self.node.get_logger().info(f"remote rgb: {form} ({why})")
        self._jpeg_quality = form.jpeg_quality
        self._scales["rgb"] = self._scales["right"] = form.scale

    def _new_depth_scale(self, scale: float, why: str) -> None:
        """The depth scale the remote link chose: used from the next frame on."""
        if why:
            self.node.get_logger().info(f"remote depth: scale {scale:g} ({why})")
        self._scales["depth"] = scale

    def _scaler(self, name: str) -> ImageScaler | None:
        """The scaler of a stream's smaller form (None: full size)."""
        scale = self._scales.get(name, 1.0)
        if scale in (0.0, 1.0):
            return None
        scaler = self._scalers.get(name)
        if scaler is None or scaler.scale != scale:
            scaler = self._scalers[name] = ImageScaler(scale, nearest=name == "depth")
        return scaler

    def _scaled(self, name: str, pixels: np.ndarray) -> np.ndarray:
        """A remote stream's image in its smaller form (remote.rgb.scale, remote.depth.scale), if asked for."""
        scaler = self._scaler(name)
        return pixels if scaler is None else scaler.scale_image(pixels)

    def _main_message(self, name: str, receiver: BridgeReceiver, stream_header: Header) -> Image | PointCloud2:
        if name in ("rgb", "right"):  # rgb8, or with image_encoding "camera" as the camera wrote it (e.g. bgra8)
            pixels, encoding = receiver.retrieve_camera_image("right" if name == "right" else "left")
            return self._images[name].build(self._scaled(name, pixels), stream_header, encoding)
        if name == "confidence":
            return self._images[name].build(receiver.retrieve_confidence_map(), stream_header)
        if name == "depth":
            depth = self._scaled(name, receiver.retrieve_depth_map())
            if self.config.depth_encoding == "16UC1":
                return self._depth_mm.build(depth, stream_header)
            return self._images[name].build(depth, stream_header)
        if name == DEPTH_VIEW:
            return self._depth_view(receiver.retrieve_depth_map(), stream_header)
        cloud = receiver.retrieve_colored_point_cloud()
        assert cloud.colors is not None
        width, height = receiver.resolution
        organized = (height, width) if self.config.points_organized and len(cloud.points) == width * height else None
        decimation = self.config.points_decimation if organized is not None else 1
        return self._cloud.build(cloud.points, cloud.colors, stream_header, organized, decimation=decimation)

    def _depth_view(self, depth: np.ndarray, stream_header: Header) -> Image:
        """depth/image_vis: the depth coloured straight into storage the message takes as its data."""
        colouring = self._depth_colouring
        if colouring is None:
            view = self.config.depth_view
            colouring = self._depth_colouring = DepthColouring(view.depth_min, view.depth_max, view.colormap)
        if self._depth_view_pixels.shape[:2] != depth.shape:
            self._depth_view_pixels = message_backed_array((*depth.shape, 3), np.dtype(np.uint8))
        pixels = colouring.apply(depth, out=self._depth_view_pixels)
        return self._images[DEPTH_VIEW].build(pixels, stream_header)

    def _camera_info(self, receiver: BridgeReceiver, name: str, stream_header: Header) -> CameraInfo:
        width, height = receiver.resolution
        distortion = receiver.distortion_coefficients()
        if name != "right":
            info = camera_info(receiver.intrinsics_matrix(), distortion, width, height, stream_header)
        else:
            baseline = float(receiver.pose_of_right_view_in_left_view[0, 3])
            info = camera_info(receiver.intrinsics_matrix("right"), distortion, width, height, stream_header, baseline)
        scaler = self._scaler(name)
        if scaler is not None:
            scale_camera_info(info, *scaled_size(width, height, scaler.scale))
        return info

    def _depth_worker(self, stream: _Stream) -> DepthEncoderWorker:
        if self._depth_encoder is None:
            assert stream.compressed is not None
            stats = stream.stats

            def count(nbytes: int, _header: Header) -> None:
                stats.encoded_bytes += nbytes
                self._charge("depth", nbytes)

            self._depth_encoder = DepthEncoderWorker(
                stream.compressed,
                self.config.depth_encoding,
                self.config.depth_codec,
                self.config.depth_max,
                self.config.depth_quantization,
                on_published=count,
            )
        return self._depth_encoder

    def _compressor(self, name: str) -> CompressedImageBuilder:
        builder = self._compressors.get(name)
        if builder is None or builder.jpeg_quality != self._jpeg_quality:
            config = self.config
            builder = self._compressors[name] = CompressedImageBuilder(
                config.compressed_format, self._jpeg_quality, config.png_level
            )
        return builder
