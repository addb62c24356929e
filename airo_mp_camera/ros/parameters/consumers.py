"""Parameters of the processes a node starts on its namespace: the Rerun logger, the web viewer, recording."""

from __future__ import annotations

from airo_mp_camera.ros.parameters.spec import LaunchExposure, ParameterSpec

# The launch arguments of the web viewer's parameters.
_WEB_LAUNCH = {
    "enable": LaunchExposure(
        "web", description="Serve the Rerun web viewer: a browser opens http://<host>:<web_port>/?url=... (README)."
    ),
    "bind": LaunchExposure("web_bind", description="Address the web viewer listens on; 0.0.0.0: every interface."),
    "port": LaunchExposure("web_port", description="HTTP port of the web viewer (its data: rerun.web.grpc_port)."),
}

CONSUMER_SPECS: tuple[ParameterSpec, ...] = (
    ParameterSpec(
        "rerun.enable",
        False,
        "Start a Rerun logger process on the namespace (needs rerun-sdk).",
        launch=LaunchExposure(
            "rerun", description="Also start a Rerun logger process for this camera (needs rerun-sdk)."
        ),
    ),
    ParameterSpec(
        "rerun.rrd_path",
        "",
        "Log to this .rrd file; empty: spawn (or connect to) a Rerun viewer.",
        launch=LaunchExposure(
            "rerun_rrd_path", description="Log to this .rrd file instead of spawning/connecting to a Rerun viewer."
        ),
    ),
    *(
        ParameterSpec(
            f"rerun.web.{name}", default, description, minimum=minimum, maximum=maximum, launch=_WEB_LAUNCH.get(name)
        )
        for name, default, description, minimum, maximum in (
            (
                "enable",
                False,
                "Serve the Rerun web viewer of this camera (rgb, depth, cloud) to browsers.",
                None,
                None,
            ),
            ("bind", "127.0.0.1", "Address the web viewer listens on; 0.0.0.0: every interface (README).", None, None),
            ("port", 9090, "HTTP port of the web viewer page.", 1, 65535),
            ("grpc_port", 9876, "Port of the web viewer's data (gRPC); browsers must reach it too.", 1, 65535),
            ("max_rate", 5.0, "Frames per second sent to the browser.", 0.1, None),
            ("width", 1280, "Width of the rgb sent to the browser (JPEG); 0: as captured.", 0, None),
            ("depth_width", 640, "Width of the depth sent to the browser (16-bit mm); 0: as captured.", 0, None),
            (
                "jpeg_quality",
                80,
                "JPEG quality of the rgb sent to the browser; 0: raw (1080p is too big for Wi-Fi).",
                0,
                100,
            ),
            ("max_points", 20000, "Most points of the cloud sent to the browser; 0: no cloud.", 0, None),
            ("memory_limit", "64MiB", "Most history the web viewer server keeps for late viewers.", None, None),
        )
    ),
    ParameterSpec(
        "recording.start_on_launch",
        False,
        "Start recording the rgb stream to a video at start-up.",
        launch=LaunchExposure("record", description="Record the rgb stream to a video from the start (needs ffmpeg)."),
    ),
    ParameterSpec(
        "recording.directory",
        "",
        "Directory of the videos recorded; empty: the working directory.",
        launch=LaunchExposure("recording_directory", description="Where recordings go; empty: the working directory."),
    ),
    ParameterSpec(
        "recording.filename",
        "",
        "File name of the next recording (.mp4); empty: <camera_name>_<date>_<time>.mp4.",
    ),
)
