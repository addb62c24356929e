"""The hosted camera's parameters (camera_node only): its type and the keyword arguments of its class."""

from __future__ import annotations

from airo_mp_camera.cameras.bag_layouts import STREAMS as REPLAY_STREAMS
from airo_mp_camera.cameras.zed import DEPTH_MODES as ZED_DEPTH_MODES
from airo_mp_camera.cameras.zed import RESOLUTION_SIZES
from airo_mp_camera.ros.parameters.spec import LaunchExposure, ParameterSpec

CAMERA_TYPES = ("zed", "synthetic", "replay")
"""`camera_type`: the cameras camera_node hosts (their classes: `CAMERA_CLASSES` in ros/node.py)."""
ZED_RESOLUTIONS = tuple(RESOLUTION_SIZES)
"""Every resolution a ZED model has (`cameras/zed.py`, which checks it against the camera opened)."""

# What each replayed stream's topic carries (the streams of airo_mp_camera.cameras.bag_layouts.STREAMS).
_REPLAY_STREAMS = {
    "rgb": "sensor_msgs/Image or CompressedImage, required in a mapping",
    "rgb_info": "its sensor_msgs/CameraInfo, required in a mapping",
    "depth": "Image 32FC1 metres or 16UC1 millimetres, or compressedDepth, aligned with rgb",
    "depth_info": "CameraInfo",
    "points": "PointCloud2",
    "right": "right view Image or CompressedImage",
    "right_info": "CameraInfo of the right view, P[0, 3] = -fx * baseline",
    "confidence": "Image 32FC1",
}
REPLAY_TOPICS_NOTE = (
    "empty: not mapped. Setting replay.topics.rgb maps the bag's topics explicitly: only the streams mapped "
    "are replayed. All empty: the layout is recognised (this package, zed-ros2-wrapper, realsense-ros)."
)


CAMERA_SPECS: tuple[ParameterSpec, ...] = (
    ParameterSpec(
        "camera_type",
        "synthetic",
        "Camera hosted by the node's publisher process.",
        choices=CAMERA_TYPES,
        launch=LaunchExposure("camera_type", default="zed", description="zed, synthetic or replay."),
    ),
    ParameterSpec("width", 1280, "Image width of the synthetic camera, in pixels.", minimum=16, maximum=8192),
    ParameterSpec("height", 720, "Image height of the synthetic camera, in pixels.", minimum=16, maximum=8192),
    ParameterSpec(
        "fps",
        30.0,
        "Frame rate of the synthetic and ZED cameras.",
        minimum=0.0,
        maximum=1000.0,
        exclusive_minimum=True,
    ),
    ParameterSpec(
        "synthetic.depth_model",
        "plane",
        "Depth of the synthetic camera: plane (exact, compresses very well) or realistic (objects, noise "
        "growing with depth, holes: as hard to compress as a stereo camera's).",
        choices=("plane", "realistic"),
    ),
    ParameterSpec(
        "synthetic.phase",
        -1.0,
        "Seconds: >= 0 captures the synthetic camera's frames on the wall clock's grid k / fps + phase, stamped "
        "with those instants (several cameras with known relative timing); negative: the grid starts at open.",
        minimum=-1.0,
        launch=LaunchExposure(
            "synthetic_phase", description="Synthetic camera: seconds of its wall-clock capture grid; negative: none."
        ),
    ),
    ParameterSpec(
        "synthetic.jitter",
        0.0,
        "Seconds each capture of the synthetic camera moves either way (uniformly); needs synthetic.phase >= 0.",
        minimum=0.0,
        launch=LaunchExposure("synthetic_jitter", description="Synthetic camera: seconds each capture moves."),
    ),
    ParameterSpec(
        "synthetic.in_place",
        False,
        "Deliver the synthetic camera as a ZED on SDK >= 5.3.1 does: BGRA images and XYZRGBA clouds written "
        "straight into the publisher's shared-memory slots, so the publisher copies nothing "
        "(cameras/synthetic_in_place.py).",
    ),
    ParameterSpec("zed.resolution", "HD720", "ZED resolution.", choices=ZED_RESOLUTIONS, field="zed.resolution"),
    ParameterSpec("zed.depth_mode", "NEURAL", "ZED depth mode.", choices=ZED_DEPTH_MODES, field="zed.depth_mode"),
    ParameterSpec(
        "zed.serial_number",
        0,
        "Serial number of the ZED to open; 0: the first found.",
        minimum=0,
        launch=LaunchExposure("serial_number"),
        field="zed.serial_number",
    ),
    ParameterSpec(
        "zed.svo_file",
        "",
        "Play this SVO/SVO2 file instead of a live camera; empty: live.",
        launch=LaunchExposure("svo_file", kind="file", description="Play this SVO/SVO2 file instead of the live ZED."),
        field="zed.svo_file",
    ),
    ParameterSpec(
        "zed.svo_loop", False, "Loop the SVO file; otherwise the camera stops at its end.", field="zed.svo_loop"
    ),
    ParameterSpec(
        "zed.svo_real_time",
        False,
        "Play the SVO in the SDK's real-time mode (drops frames); otherwise every frame.",
        field="zed.svo_real_time",
    ),
    ParameterSpec(
        "replay.bag_path",
        "",
        "Bag to replay (camera_type replay): a rosbag2 directory or a ROS 1 .bag file.",
        launch=LaunchExposure("bag_path", kind="path"),
        field="replay.bag_path",
    ),
    ParameterSpec(
        "replay.rate",
        1.0,
        "Replay speed: 1.0 the recorded rate, 2.0 twice as fast, 0 as fast as possible.",
        minimum=0.0,
        field="replay.rate",
    ),
    ParameterSpec(
        "replay.loop", True, "Start the bag again at its end; otherwise the camera stops.", field="replay.loop"
    ),
    ParameterSpec(
        "replay.restamp",
        True,
        "Stamp replayed frames with the time they are played (tf and rviz work as live); false: the bag's stamps.",
        field="replay.restamp",
    ),
    ParameterSpec(
        "replay.topic_prefix",
        "",
        "Topic prefix of the camera to replay when the bag holds several (e.g. /zed/zed_node, /camera/camera); "
        "empty: the bag's one camera of a known layout.",
        launch=LaunchExposure(
            "bag_topic_prefix",
            description="Camera to replay when the bag holds several, e.g. /zed/zed_node; empty: its one.",
        ),
    ),
    *(
        ParameterSpec(
            f"replay.topics.{stream}",
            "",
            f"Bag topic of the {stream} stream ({_REPLAY_STREAMS[stream]}); {REPLAY_TOPICS_NOTE}",
        )
        for stream in REPLAY_STREAMS
    ),
)
