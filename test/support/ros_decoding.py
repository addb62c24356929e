"""ROS messages decoded independently of this package: rosbags' CDR and rosbags-image (no rclpy decoding, no code
of ours). Importing it skips the importing test module where rosbags-image is not installed."""

from __future__ import annotations

import numpy as np
import pytest
from rclpy.serialization import serialize_message
from rosbags.typesys import Stores, get_typestore
from sensor_msgs.msg import CompressedImage, Image

rosbags_image = pytest.importorskip("rosbags.image", reason="rosbags-image is not installed (make venv installs it)")

TYPESTORE = get_typestore(Stores.ROS2_KILTED)


def decode_independently(message: Image | CompressedImage, type_name: str) -> np.ndarray:
    """Pixels as rosbags-image decodes the message's CDR bytes."""
    cdr = serialize_message(message)
    return np.asarray(rosbags_image.message_to_cvimage(TYPESTORE.deserialize_cdr(cdr, type_name)))
