"""The shipped bag (test/support/data/synthetic_bag) read independently of ReplayCamera, with rosbags."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.highlevel import AnyReader
from rosbags.image import message_to_cvimage

BAG = Path(__file__).resolve().parent / "data" / "synthetic_bag"


@dataclass
class RecordedFrame:
    stamp_ns: int
    stamp: float
    rgb: np.ndarray
    right: np.ndarray
    depth: np.ndarray
    confidence: np.ndarray
    intrinsics: np.ndarray
    points: np.ndarray | None
    colors: np.ndarray | None


def read_bag_independently() -> list[RecordedFrame]:
    """Every frame of the shipped bag, decoded with rosbags-image and plain numpy."""
    by_stamp: dict[int, dict[str, Any]] = {}
    with AnyReader([BAG]) as reader:
        for connection, _, raw in reader.messages():
            message = reader.deserialize(raw, connection.msgtype)
            stamp = message.header.stamp.sec * 10**9 + message.header.stamp.nanosec
            by_stamp.setdefault(stamp, {})[connection.topic] = message
    frames = []
    for stamp in sorted(by_stamp):
        topics = by_stamp[stamp]
        points = colors = None
        if "/camera/points" in topics:
            cloud = topics["/camera/points"]
            dtype = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("rgb", "<u4")])
            records = np.frombuffer(cloud.data.tobytes(), dtype=dtype)
            points = np.stack([records["x"], records["y"], records["z"]], axis=-1)
            colors = np.stack([(records["rgb"] >> shift) & 0xFF for shift in (16, 8, 0)], axis=-1).astype(np.uint8)
        frames.append(
            RecordedFrame(
                stamp_ns=stamp,
                stamp=stamp / 1e9,
                rgb=message_to_cvimage(topics["/camera/rgb/image_raw"], "rgb8"),
                right=message_to_cvimage(topics["/camera/right/image_raw"], "rgb8"),
                depth=message_to_cvimage(topics["/camera/depth/image_raw"]),
                confidence=message_to_cvimage(topics["/camera/confidence/image_raw"]),
                intrinsics=np.asarray(topics["/camera/rgb/camera_info"].k).reshape(3, 3),
                points=points,
                colors=colors,
            )
        )
    return frames
