"""The bridge: one more shared-memory receiver, whose frames become sensor_msgs topics.

A thread grabs each new frame from shared memory (blocking on the futex, never polling) and, for every
stream that has subscribers and whose rate limit allows it, has that stream (ros/streams.py) build its messages
from the frame and publish them. All topics of one frame carry its capture time. A stream nobody subscribes to
costs nothing but a subscriber-count check; the camera process and the native receivers never wait for the
bridge, so a slow or stalled subscriber can at worst make the bridge skip frames.

The remote bridge's bridge also carries a `LinkPolicy` (ros/link_policy.py), which decides what its link lets
out; the local bridge has none. Beside the streams of the camera, the depth view `depth/image_vis`
(ros/depth_view.py) is a stream of its own, with its own subscriber check and rate limit, made from the depth of
the same frames.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Callable

from rclpy.node import Node

from airo_mp_camera.pipeline.errors import (
    FrameTimeoutError,
    PublisherGoneError,
    PublisherNotFoundError,
    SchemaMismatchError,
)
from airo_mp_camera.pipeline.frame_ring import FrameRing
from airo_mp_camera.pipeline.schemas import CameraSchema, RGBSchema, Schema, StereoRGBSchema
from airo_mp_camera.ros.image_forms import ImageForms
from airo_mp_camera.ros.link_policy import LinkPolicy
from airo_mp_camera.ros.messages import header, message_backed_array
from airo_mp_camera.ros.parameters import BridgeConfig
from airo_mp_camera.ros.streams import (
    DEPTH_VIEW,
    STREAM_SCHEMAS,
    BridgedStream,
    BridgeReceiver,
    Wanted,
    make_streams,
)

__all__ = ["DEPTH_VIEW", "STREAM_SCHEMAS", "Bridge", "BridgeReceiver"]

logger = logging.getLogger(__name__)

_WAIT_FOR_PUBLISHER_S = 0.2


class Bridge:
    """Bridges a shared-memory namespace to ROS topics under `node` (~/rgb/image_raw, ~/points, ...).

    Args:
        node: the ROS node that owns the publishers.
        config: validated bridge parameters.
        clock: wall clock in seconds since the epoch (capture times use the same clock).
        link: the remote bridge's link policy (None: the local bridge, which publishes all that is asked for).
    """

    def __init__(
        self,
        node: Node,
        config: BridgeConfig,
        clock: Callable[[], float] = time.time,
        link: LinkPolicy | None = None,
    ) -> None:
        self.node = node
        self.config = config
        self._clock = clock
        self.forms = ImageForms(config)
        self.link = link
        self.streams: dict[str, BridgedStream] = make_streams(
            node, config, self.forms, self._charge, depth_view=self._depth_view_wanted()
        )
        if link is not None:
            link.attach(self.streams, self.forms)
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
        if self.link is not None:
            self.link.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self.link is not None:
            self.link.stop()
        if self._thread.is_alive():
            self._thread.join(timeout)
        for stream in self.streams.values():
            stream.stop()
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
    def _plan(self) -> dict[str, Wanted]:
        """The streams to publish from the next frame: subscribed, due by their rate limit, let out by the link."""
        soon = self._clock() + 0.5 * self._period
        plan = {}
        held: set[str] = set()
        link = self.link
        for name, stream in self.streams.items():
            if name not in self._available:
                continue
            wanted = stream.wanted()
            if link is not None:
                link.ask(stream, wanted, self._camera_fps)
            if not wanted or not stream.limit.due(soon):
                continue
            if link is None:
                plan[name] = wanted
                continue
            # A link that has been busy for a while: do not even copy the frame out of shared memory.
            if link.skip(stream, soon, start_clock=False):
                continue
            admitted = link.admit(stream, wanted, soon)  # the parts the link share lets out
            if admitted:
                plan[name] = admitted
            else:  # still copied: a schema left out and back in costs a frame (the next must carry it)
                held |= self._schemas_needed({name: wanted})
        self._held_by_link_share = held
        return plan

    def _schemas_needed(self, plan: dict[str, Wanted]) -> set[str]:
        """Schemas to copy out of shared memory for a plan (camera_info alone needs only the metadata)."""
        return {
            self.streams[name].schema.name for name, wanted in plan.items() if self.streams[name].needs_pixels(wanted)
        }

    def _publish_frame(self, receiver: BridgeReceiver, now: float, plan: dict[str, Wanted]) -> None:
        captured = receiver.capture_timestamp
        headers = {}
        for name, wanted in plan.items():
            stream = self.streams[name]
            if self.link is not None and self.link.skip(stream, now, start_clock=True):
                continue
            if not stream.limit.allow(now):
                continue
            frame_id = stream.frame_id()
            if frame_id not in headers:
                headers[frame_id] = header(captured, frame_id)
            stream.stats.converted += 1
            sent = stream.publish(receiver, headers[frame_id], wanted)
            stream.stats.bytes += sent
            stream.last_bytes = sent
            stream.stats.published += 1
            stream.stats.latencies.append(self._clock() - captured)

    def _charge(self, key: str, nbytes: int) -> None:
        if self.link is not None:
            self.link.charge(key, nbytes)
