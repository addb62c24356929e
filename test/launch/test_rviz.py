"""rviz2 with the shipped config shows the camera: a screenshot of rviz2 on a virtual X server, judged by its pixels.

camera_node hosts the synthetic camera; the static transforms are those launch/camera.launch.py publishes (Humble's C++
`static_transform_publisher`); rviz2 opens config/airo_mp_camera.rviz rewritten for the node's name, as the launch
file's `rviz:=true` does, on Xvfb with Mesa's software OpenGL. The screenshot (`import -window root`) must show, in
the RGB panel, the camera's image; in the Depth panel, the depth view (depth/image_vis) in its colours, neither
black nor uniform; in the 3-D view, the point cloud in the camera's colours; and no display in error (rviz2's
output, and the Displays panel's Global Status). rviz2 renders about one frame a second on two cores, so the test
takes screenshots until the picture is right, up to a deadline.

The same picture from `ros2 launch airo_mp_camera camera.launch.py camera_type:=synthetic rviz:=true`, run as a user
runs it (a pseudo-terminal as its stdin, its own process group) with DISPLAY on the test's Xvfb: then Ctrl-C (SIGINT
to that group) must end the launch with 0, nothing it started may be left running (by pid, and by its process
group), and nothing of ours may be left in /dev/shm. Humble's rviz2 may crash on its way out (SIGSEGV, or SIGABRT
from glibc's heap checks: `rviz_crash_at_exit`): the launch's one line saying so is tolerated, nothing else.

Needs rviz2, Xvfb, ImageMagick and xwininfo: ROS 2 Humble with rviz2 (`tools/humble python -m pytest
test/launch/test_rviz.py`, from ../shared/ros-humble/humble-py310-rviz.tar.zst); skipped where rviz2 is absent, the
launch test also where `ros2` is. AIRO_MP_CAMERA_WRITE_SCREENSHOT=1 saves the picture to docs/rviz.png.
"""

from __future__ import annotations

import ast
import os
import re
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("rclpy", reason="rclpy is not installed (make venv installs ROS 2 from PyPI)")
cv2 = pytest.importorskip("cv2", reason="OpenCV (opencv-python-headless) is not installed")

from airo_mp_camera import SyntheticCamera  # noqa: E402
from airo_mp_camera.launch_support import (  # noqa: E402
    CAMERA_ARGUMENTS,
    camera_link,
    optical_frame,
    parse_arguments,
    rviz_config,
)
from airo_mp_camera.ros.depth_view import DepthColouring  # noqa: E402
from airo_mp_camera.ros.fastdds_segments import SEGMENT_PREFIXES  # noqa: E402
from support.launch_output import CTRL_C_LINE, launch_stopped_on_ctrl_c  # noqa: E402
from support.ros_support import ROOT, node_name, start_node, stop_node  # noqa: E402

RVIZ_TARBALL = "../shared/ros-humble/humble-py310-rviz.tar.zst"


def ros_program(package: str, executable: str) -> Path | None:
    """`lib/<package>/<executable>` in the first AMENT_PREFIX_PATH entry that has it."""
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        path = Path(prefix) / "lib" / package / executable
        if prefix and path.is_file() and os.access(path, os.X_OK):
            return path
    return None


RVIZ2 = ros_program("rviz2", "rviz2")
STATIC_TF = ros_program("tf2_ros", "static_transform_publisher")
XVFB, IMPORT, XWININFO = shutil.which("Xvfb"), shutil.which("import"), shutil.which("xwininfo")
if RVIZ2 is None or STATIC_TF is None:
    pytest.skip(
        "rviz2 (and tf2_ros's static_transform_publisher) not found in AMENT_PREFIX_PATH: run on ROS 2 Humble with "
        f"rviz2, `tools/humble python -m pytest test/launch/test_rviz.py` ({RVIZ_TARBALL})",
        allow_module_level=True,
    )
if XVFB is None or IMPORT is None or XWININFO is None:
    pytest.skip(
        "Xvfb, ImageMagick's import and xwininfo are needed: apt-get install xvfb imagemagick x11-utils",
        allow_module_level=True,
    )
ROS2 = shutil.which("ros2")

WIDTH, HEIGHT, FPS = 640, 360, 15.0
START_TIMEOUT = 30.0
PICTURE_TIMEOUT = 120.0
"""Seconds from rviz2's start until its picture must be right (measured: 3 to 8 s on two busy cores)."""
SCREENSHOT = ROOT / "docs" / "rviz.png"
WRITE_SCREENSHOT = os.environ.get("AIRO_MP_CAMERA_WRITE_SCREENSHOT") == "1"
TEMPLATE = ROOT / "config" / "airo_mp_camera.rviz"
PARAMETERS = ROOT / "config" / "synthetic.yaml"
PALETTE_STEP = 8


def launch_constant(name: str) -> object:
    """A constant of launch/camera.launch.py, read from its source (the test needs no `launch` package)."""
    tree = ast.parse((ROOT / "launch" / "camera.launch.py").read_text())
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in statement.targets
        ):
            return ast.literal_eval(statement.value)
    raise AssertionError(f"launch/camera.launch.py defines no {name}")


def static_transform_arguments(name: str) -> list[list[str]]:
    """The arguments launch/camera.launch.py's `_static_transforms` gives each static_transform_publisher."""
    rotation = launch_constant("OPTICAL_ROTATION")
    assert isinstance(rotation, tuple) and len(rotation) == 4
    baseline = float(parse_arguments({}, CAMERA_ARGUMENTS)["baseline"])
    return [
        [
            *("--x", "0", "--y", str(y), "--z", "0"),
            *("--qx", rotation[0], "--qy", rotation[1], "--qz", rotation[2], "--qw", rotation[3]),
            *("--frame-id", camera_link(name), "--child-frame-id", optical_frame(name, view)),
        ]
        for view, y in (("left", baseline / 2.0), ("right", -baseline / 2.0))
    ]


# ------------------------------------------------------------------------------ what the picture must hold
@dataclass(frozen=True)
class Expected:
    """What rviz2 should show: the camera's image, its depth view, and the colours of its cloud."""

    rgb: np.ndarray  # HxWx3 uint8, the synthetic camera's frame
    depth_view: np.ndarray  # HxWx3 uint8, depth/image_vis of that frame
    palette: np.ndarray  # bool 32x32x32: colour bins (8 levels wide) of the frame's pixels, and two bins around
    background: tuple[int, int, int]  # the 3-D view's background colour (the config's Background Color)


def expected_picture(config: dict) -> Expected:
    """The synthetic camera's frame (the same every frame, but for its watermark) and what rviz2 makes of it."""
    camera = SyntheticCamera(resolution=(WIDTH, HEIGHT), fps=FPS, watermark=False)
    camera.grab_images()
    rgb = camera.retrieve_rgb_image_as_int()
    vis = yaml.safe_load(PARAMETERS.read_text())["/**"]["ros__parameters"]["depth"]["vis"]
    depth_view = DepthColouring(vis["depth_min"], vis["depth_max"], vis["colormap"]).apply(camera.retrieve_depth_map())
    bins = rgb.reshape(-1, 3) // PALETTE_STEP
    palette = np.zeros((256 // PALETTE_STEP,) * 3, bool)
    palette[bins[:, 0], bins[:, 1], bins[:, 2]] = True
    for axis in range(3):  # rviz2's points mix colours a little where they overlap: two bins each way
        for _ in range(2):
            grown = np.moveaxis(palette.copy(), axis, 0)
            view = np.moveaxis(palette, axis, 0)
            grown[1:] |= view[:-1]
            grown[:-1] |= view[1:]
            palette = np.moveaxis(grown, 0, axis)
    colour = config["Visualization Manager"]["Global Options"]["Background Color"]
    background = tuple(int(v) for v in str(colour).split(";"))
    assert len(background) == 3
    return Expected(rgb, depth_view, palette, (background[0], background[1], background[2]))


def chroma(pixels: np.ndarray) -> np.ndarray:
    """max - min of each pixel's channels: 0 for the grays of rviz's widgets, large for colours."""
    wide = pixels.astype(np.int16)
    return np.asarray(wide.max(axis=-1) - wide.min(axis=-1))


def render_area(shot: np.ndarray, background: tuple[int, int, int]) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the 3-D view: where rows and columns hold many pixels of its background colour."""
    match = (np.abs(shot.astype(np.int16) - np.array(background)) <= 2).all(axis=-1)
    columns = np.nonzero(match.sum(axis=0) > 0.2 * shot.shape[0])[0]
    rows = np.nonzero(match.sum(axis=1) > 0.2 * shot.shape[1])[0]
    if len(columns) == 0 or len(rows) == 0:
        return None
    return int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1


def image_panels(dock: np.ndarray, aspect: float) -> list[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) of the images in the dock beside the 3-D view (rviz's Image panels), largest first.

    An image is a filled rectangle of coloured or black pixels (rviz2 shows 32FC1 depth black) with about the
    camera's `aspect` (width / height); rviz's widgets are grays with thin dark text.
    """
    shown = ((chroma(dock) > 30) | (dock.max(axis=-1) < 25)).astype(np.uint8)
    shown = cv2.morphologyEx(shown, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(shown)
    boxes = []
    for x, y, w, h, area in stats[1:count]:
        filled = area > 3000 and area > 0.8 * w * h  # a filled rectangle, not a row of icons
        if filled and abs(w / h / aspect - 1.0) < 0.25:  # rviz2 keeps it roughly (measured 1.95 for 16:9)
            boxes.append((int(x), int(y), int(x + w), int(y + h)))
    return sorted(boxes, key=lambda box: (box[2] - box[0]) * (box[3] - box[1]), reverse=True)


def cell_error(shown: np.ndarray, expected: np.ndarray, cells: tuple[int, int] = (4, 8)) -> float:
    """Mean absolute difference of the mean colours of a grid of cells: robust to rviz's scaling filter."""
    rows, cols = cells
    height, width = shown.shape[:2]
    small = cv2.resize(expected, (width, height), interpolation=cv2.INTER_AREA).astype(np.float64)
    means = []
    for image in (shown.astype(np.float64), small):
        trimmed = image[: height // rows * rows, : width // cols * cols]
        means.append(trimmed.reshape(rows, height // rows, cols, width // cols, 3).mean(axis=(1, 3)))
    return float(np.abs(means[0] - means[1]).mean())


def judge(shot: np.ndarray, expected: Expected) -> tuple[list[str], dict[str, float]]:
    """What is wrong with a screenshot (nothing: the picture is right), and the measures it was judged by."""
    measures: dict[str, float] = {}
    area = render_area(shot, expected.background)
    if area is None:
        return ["no 3-D view (no pixels of the configured background colour)"], measures
    x0, y0, x1, y1 = area
    dock = shot[:, :x0]
    panels = image_panels(dock, expected.rgb.shape[1] / expected.rgb.shape[0])
    problems = []
    if len(panels) < 2:
        return [f"{len(panels)} image panels beside the 3-D view, 2 expected (RGB and Depth)"], measures
    # rviz2 docks the Image panels in the order their first images arrive: which is which is told by content.
    first, second = (dock[top:bottom, left:right] for left, top, right, bottom in panels[:2])
    as_placed = cell_error(first, expected.rgb) + cell_error(second, expected.depth_view)
    swapped = cell_error(second, expected.rgb) + cell_error(first, expected.depth_view)
    rgb_panel, depth_panel = (first, second) if as_placed <= swapped else (second, first)

    # The RGB panel holds the camera's image, and not another one (the depth view, say).
    measures["rgb error"] = cell_error(rgb_panel, expected.rgb)
    measures["rgb error against the depth view"] = cell_error(rgb_panel, expected.depth_view)
    if not measures["rgb error"] < min(12.0, 0.5 * measures["rgb error against the depth view"]):
        problems.append(f"the RGB panel does not show the camera's image (cell error {measures['rgb error']:.1f})")

    # The Depth panel is coloured, not uniform (rviz2 shows 32FC1 black), and holds the depth view's colours.
    cells = cv2.resize(depth_panel, (8, 4), interpolation=cv2.INTER_AREA).astype(np.float64)
    measures["depth brightness"] = float(depth_panel.mean())
    measures["depth chroma"] = float(chroma(depth_panel).mean())
    measures["depth spread"] = float(cells.reshape(-1, 3).std(axis=0).max())
    measures["depth error"] = cell_error(depth_panel, expected.depth_view)
    if measures["depth brightness"] < 40 or measures["depth chroma"] < 40:
        problems.append(f"the Depth panel is dark or gray: {measures}")
    if measures["depth spread"] < 10:
        problems.append(f"the Depth panel is uniform (cell colours spread {measures['depth spread']:.1f})")
    if measures["depth error"] > 12:
        problems.append(f"the Depth panel does not show the depth view (cell error {measures['depth error']:.1f})")

    # The 3-D view holds the cloud, in the camera's colours.
    view = shot[y0:y1, x0:x1]
    coloured = view[chroma(view) > 40]
    measures["cloud share of the 3-D view"] = len(coloured) / (view.shape[0] * view.shape[1])
    bins = coloured // PALETTE_STEP
    measures["cloud in the camera colours"] = (
        float(expected.palette[bins[:, 0], bins[:, 1], bins[:, 2]].mean()) if len(bins) else 0.0
    )
    if measures["cloud share of the 3-D view"] < 0.05:
        problems.append(f"no cloud in the 3-D view ({measures['cloud share of the 3-D view']:.3f} of it coloured)")
    elif measures["cloud in the camera colours"] < 0.75:  # measured 0.88; a depth-coloured cloud 0.16
        problems.append(f"the cloud is not in the camera's colours ({measures['cloud in the camera colours']:.2f})")

    # The Displays panel's Global Status: its dark green check (Ok), no red (Error) or orange (Warn) status text.
    # The panels' close buttons (right of the dock) and the TF display's icon (a few pure red pixels) stay out.
    status = dock[:, : int(0.6 * x0)].astype(np.int16).copy()
    for bx0, by0, bx1, by1 in panels:
        status[max(by0 - 4, 0) : by1 + 4, max(bx0 - 4, 0) : bx1 + 4] = 255
    red, green, blue = status[..., 0], status[..., 1], status[..., 2]
    measures["status red"] = float(((red > 140) & (green < 80) & (blue < 80)).sum())  # Ok 9, Error 373
    measures["status orange"] = float(((red > 180) & (green > 90) & (green < 180) & (blue < 60)).sum())
    measures["status check"] = float(((green > 90) & (green < 160) & (red < 60) & (blue < 60)).sum())
    if measures["status red"] > 50 or measures["status orange"] > 50 or measures["status check"] < 10:
        problems.append(
            "the Displays panel reports a display in error or warning (Global Status not Ok): "
            f"{ {key: value for key, value in measures.items() if key.startswith('status')} }"
        )
    return problems, measures


# ------------------------------------------------------------------------------ processes
def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> int:
    """SIGINT, then SIGKILL after `timeout` s; returns the exit code (rviz2 may die of SIGSEGV at exit)."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    return int(process.returncode)


def start_x_server(processes, log: Path, width: int, height: int) -> tuple[subprocess.Popen[bytes], str]:
    """Xvfb on a free display (it picks the number and writes it to a pipe: -displayfd); returns it and ':<n>'."""
    read_end, write_end = os.pipe()
    try:
        with open(log, "wb") as output:
            xvfb = processes.popen(
                [XVFB, "-displayfd", str(write_end), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
                pass_fds=(write_end,),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        os.close(write_end)
        write_end = -1
        text = b""
        deadline = time.monotonic() + START_TIMEOUT
        while not text.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or xvfb.poll() is not None:
                raise AssertionError(f"Xvfb gave no display number within {START_TIMEOUT} s: {log.read_text()}")
            ready, _, _ = select.select([read_end], [], [], left)
            if ready:
                chunk = os.read(read_end, 64)
                if not chunk:
                    raise AssertionError(f"Xvfb exited before giving a display number: {log.read_text()}")
                text += chunk
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
    return xvfb, f":{int(text)}"


def screenshot(display: str) -> tuple[bytes, np.ndarray]:
    """The X server's whole screen as PNG bytes and as an HxWx3 uint8 RGB array."""
    done = subprocess.run(
        [IMPORT, "-display", display, "-window", "root", "png:-"], capture_output=True, timeout=30, check=True
    )
    image = cv2.imdecode(np.frombuffer(done.stdout, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, f"import gave no PNG: {done.stderr.decode()}"
    return done.stdout, np.ascontiguousarray(image[..., ::-1])


RVIZ_WINDOW = re.compile(r'^\s+0x[0-9a-f]+ "[^"]* - RViz": .*\s(\d+)x(\d+)[+-]-?\d+[+-]-?\d+\s+\+(-?\d+)\+(-?\d+)\s*$')


def rviz_window(display: str) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) on the screen of rviz2's main window (titled `<config> - RViz`), None while it has none."""
    done = subprocess.run(
        [XWININFO, "-display", display, "-root", "-children"], capture_output=True, text=True, timeout=30, check=True
    )
    for line in done.stdout.splitlines():
        match = RVIZ_WINDOW.match(line)
        if match:
            width, height, x, y = (int(value) for value in match.groups())
            return x, y, x + width, y + height
    return None


def camera_config(name: str) -> dict:
    """The shipped rviz config as rviz2 gets it for camera `name` (launch/camera.launch.py's `rviz:=true`)."""
    return yaml.safe_load(rviz_config(TEMPLATE.read_text(), name))


def x_environment(display: str, tmp_path: Path) -> dict[str, str]:
    """The test's environment for rviz2 on the X server `display`: Mesa's software OpenGL, a HOME of its own."""
    home = tmp_path / "home"  # rviz2 keeps its settings under $HOME/.rviz2, ros2 launch its logs under ~/.ros
    runtime = tmp_path / "runtime"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    return {
        **os.environ,
        "DISPLAY": display,
        "LIBGL_ALWAYS_SOFTWARE": "1",
        "QT_X11_NO_MITSHM": "1",
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(runtime),
    }


def wait_for_picture(
    display: str, expected: Expected, running: Callable[[], None], tmp_path: Path
) -> tuple[bytes, dict[str, float]]:
    """Screenshots until rviz2's window shows the `expected` picture (PNG of the screen, the measures); fails at
    the deadline, keeping the last screenshot. `running()` raises when a process the picture needs has exited."""
    start = time.monotonic()
    deadline = start + PICTURE_TIMEOUT
    shots = 0
    window = None
    while True:
        running()
        png, shot = screenshot(display)
        shots += 1
        window = window or rviz_window(display)  # on a screen sized like it: rviz2 places it at 0, 0
        if window is None:
            problems, measures = ["no rviz2 window (titled '<config> - RViz') on the screen"], {}
        else:
            x0, y0, x1, y1 = window
            problems, measures = judge(shot[max(y0, 0) : y1, max(x0, 0) : x1], expected)
        if not problems:
            break
        if time.monotonic() > deadline:
            (tmp_path / "rviz_wrong.png").write_bytes(png)
            raise AssertionError(
                f"rviz2's picture was not right within {PICTURE_TIMEOUT} s ({shots} screenshots; the last in "
                f"{tmp_path / 'rviz_wrong.png'}): {problems}"
            )
        time.sleep(1.0)
    print(f"rviz2's window {window} was right {time.monotonic() - start:.1f} s on ({shots} screenshots): {measures}")
    return png, measures


def log_problems(text: str) -> list[str]:
    """rviz2's error and warning lines before it was asked to stop."""
    lines = text.split("signal_handler(signum=")[0].splitlines()
    return [line for line in lines if "[ERROR]" in line or "[WARN]" in line]


def test_rviz2_shows_the_cameras_image_depth_view_and_cloud(namespace: str, processes, tmp_path: Path) -> None:
    name = "camera" if WRITE_SCREENSHOT else node_name()  # the picture shows launch/synthetic.launch.py's name
    config = camera_config(name)
    config_path = tmp_path / f"{name}.rviz"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    expected = expected_picture(config)
    width, height = int(config["Window Geometry"]["Width"]), int(config["Window Geometry"]["Height"])

    xvfb, display = start_x_server(processes, tmp_path / "xvfb.log", width, height)  # the screen is the window
    started: list[subprocess.Popen[bytes]] = []  # stopped in reverse order on every path, the X server last
    rviz_log = tmp_path / "rviz2.log"
    try:
        node = start_node(
            processes,
            "camera_node",
            name,
            {"width": WIDTH, "height": HEIGHT, "fps": FPS, "namespace": namespace, "points.enable": True},
            ["--params-file", str(PARAMETERS)],  # as launch/synthetic.launch.py gives it
        )
        started.append(node)
        for index, arguments in enumerate(static_transform_arguments(name)):
            with open(tmp_path / f"static_tf_{index}.log", "wb") as output:
                started.append(processes.popen([str(STATIC_TF), *arguments], stdout=output, stderr=subprocess.STDOUT))
        environment = x_environment(display, tmp_path)
        with open(rviz_log, "wb") as output:
            rviz = processes.popen(
                [str(RVIZ2), "-d", str(config_path)], stdout=output, stderr=subprocess.STDOUT, env=environment
            )
        started.append(rviz)

        def running() -> None:
            assert rviz.poll() is None, f"rviz2 exited with {rviz.returncode}: {rviz_log.read_text()[-3000:]}"
            assert node.poll() is None, f"camera_node exited with {node.returncode}"

        png, _ = wait_for_picture(display, expected, running, tmp_path)
        if WRITE_SCREENSHOT:
            SCREENSHOT.write_bytes(png)
        problems = log_problems(rviz_log.read_text(errors="replace"))
        assert not problems, f"rviz2 reported errors or warnings: {problems}"
        print(f"rviz2 exited with {stop(rviz)}")  # rviz2 may crash at exit (rviz_crash_at_exit): tolerated
        code, output = stop_node(node)
        assert code == 0, output
        assert "Traceback" not in output and "[ERROR]" not in output, output
    finally:
        for process in reversed(started):  # rviz2 first, camera_node after the static transforms
            stop(process)
        stop(xvfb)
    assert all(process.poll() is not None for process in (*started, xvfb)), "a process was left running"


# ------------------------------------------------------------------------------ `ros2 launch ... rviz:=true`
RVIZ_DIED = re.compile(
    r"\[ERROR\] \[(rviz2-\d+)\]: process has died \[pid (\d+), exit code (-?\d+), cmd '(\S*)[^']*'\]\."
)
HEAP_CHECK = re.compile(
    r"double free or corruption.*|corrupted .*|(?:malloc|free|realloc|munmap_chunk|malloc_consolidate)\(\): .*"
)
"""What glibc prints when its heap checks find memory freed twice or overwritten, before it aborts the process."""
STOP_TIMEOUT = 60.0


def rviz_crash_at_exit(lines: list[str], pid: int) -> str | None:
    """The launch's line for rviz2 (`pid`) dying on its way out after Ctrl-C, when that is Humble's rviz2's known
    crash at exit: SIGSEGV (-11), or SIGABRT (-6) from glibc's heap checks with rviz2's line saying so (measured
    here, every time: its PointCloud2 display's destructor frees an Ogre material twice, ~PointCloud2Display ->
    ~PointCloud -> Ogre::Material::~Material -> "double free or corruption"). None: no such line."""
    for line in lines:
        died = RVIZ_DIED.fullmatch(line)
        if died is None or int(died.group(2)) != pid or not died.group(4).endswith("/rviz2"):
            continue
        tag = f"[{died.group(1)}] "
        heap_check = any(text.startswith(tag) and HEAP_CHECK.fullmatch(text[len(tag) :]) for text in lines)
        if died.group(3) == "-11" or (died.group(3) == "-6" and heap_check):
            return line
    return None


def proc_stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat's fields after the command: state, ppid, pgrp, ... (None: no such process)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_id(pid: int) -> tuple[int, str] | None:
    """(pid, start time): a process, not a pid that may be reused."""
    stat = proc_stat(pid)
    return None if stat is None else (pid, stat[19])


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def descendants(root: int) -> set[tuple[int, str]]:
    """Every living process below `root` (by parent pid), as (pid, start time)."""
    parents = {}
    for entry in os.listdir("/proc"):
        stat = proc_stat(int(entry)) if entry.isdigit() else None
        if stat is not None:
            parents[int(entry)] = int(stat[1])
    found: set[tuple[int, str]] = set()
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            identity = process_id(pid) if ppid == parent else None
            if identity is not None and identity not in found:
                found.add(identity)
                frontier.append(pid)
    return found


def still_running(seen: set[tuple[int, str]], group: int) -> list[str]:
    """The processes of `seen` that still run (zombies do not), and any other process still in process `group`."""
    left = []
    for entry in os.listdir("/proc"):
        stat = proc_stat(int(entry)) if entry.isdigit() else None
        if stat is None or stat[0] == "Z":
            continue
        if (int(entry), stat[19]) in seen or int(stat[2]) == group:
            left.append(f"{entry} {command_line(int(entry))}")
    return left


def held_shared_memory(pid: int) -> set[Path]:
    """The /dev/shm files process `pid` owns: those it has open or mapped, but of Fast DDS's only the segments whose
    lock file (`<segment>_el`) it holds (a participant also maps its peers' segments; port segments stay by design)."""
    try:
        opened = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    except OSError:
        return set()
    mapped = [fields[5] for fields in (line.split(maxsplit=5) for line in maps) if len(fields) == 6]
    owned = set()
    for path in (Path(path.removesuffix(" (deleted)")) for path in opened + mapped):
        if path.parent != Path("/dev/shm") or "_port" in path.name:
            continue
        if path.name.endswith("_el"):
            owned |= {path, path.with_name(path.name.removesuffix("_el"))}
        elif not path.name.startswith(SEGMENT_PREFIXES):
            owned.add(path)
    return owned


def small_synthetic_parameters(path: Path) -> Path:
    """config/synthetic.yaml at the test's small resolution and rate (rviz2 keeps up on two cores)."""
    parameters = yaml.safe_load(PARAMETERS.read_text())
    parameters["/**"]["ros__parameters"].update(width=WIDTH, height=HEIGHT, fps=FPS)
    path.write_text(yaml.safe_dump(parameters, sort_keys=False))
    return path


def stop_group(launch: subprocess.Popen[bytes], seen: set[tuple[int, str]]) -> None:
    """The clean-up on every path: Ctrl-C to the launch's process group if it still runs, then SIGKILL to what is
    left: the processes it started (by pid and start time) and the members of its group (whose id none other takes)."""
    if launch.poll() is None:
        os.killpg(launch.pid, signal.SIGINT)
        try:
            launch.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            launch.kill()
            launch.wait(10)
    for entry in os.listdir("/proc"):
        stat = proc_stat(int(entry)) if entry.isdigit() else None
        if stat is not None and ((int(entry), stat[19]) in seen or int(stat[2]) == launch.pid):
            try:
                os.kill(int(entry), signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_ros2_launch_rviz_shows_the_camera_and_ctrl_c_stops_everything(
    namespace: str, processes, tmp_path: Path
) -> None:
    if ROS2 is None:
        pytest.skip(
            f"no `ros2` command: run on ROS 2 Humble with rviz2, `tools/humble python -m pytest` ({RVIZ_TARBALL})"
        )
    name = namespace  # camera_name: also the shared-memory namespace, which the conftest knows as this test's
    config = camera_config(name)
    expected = expected_picture(config)
    width, height = int(config["Window Geometry"]["Width"]), int(config["Window Geometry"]["Height"])
    command = [
        ROS2,
        *("launch", "airo_mp_camera", "camera.launch.py", "camera_type:=synthetic", "rviz:=true"),
        f"camera_name:={name}",
        f"config_file:={small_synthetic_parameters(tmp_path / 'parameters.yaml')}",
    ]
    temporary = tmp_path / "tmp"  # the launch's temporary files (the rewritten rviz config, launch_ros's parameters)
    temporary.mkdir()
    log = tmp_path / "launch.log"
    xvfb, display = start_x_server(processes, tmp_path / "xvfb.log", width, height)  # a screen sized like the window
    seen: set[tuple[int, str]] = set()  # every process the launch started, by pid and start time
    owned: dict[Path, str] = {}  # /dev/shm files the launch's processes owned, with their command
    launch = None
    near, far = os.openpty()  # stdin: a terminal (without one, launch sends every process a second SIGINT)
    try:
        with open(log, "wb") as output:  # a file, not a pipe: nothing blocks on a full pipe
            start = time.monotonic()
            launch = processes.popen(
                command,
                stdin=far,
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**x_environment(display, tmp_path), "TMPDIR": str(temporary)},
                start_new_session=True,  # its own process group, as in a terminal
            )
        os.close(far)
        far = -1

        def running() -> None:
            seen.update(descendants(launch.pid))
            assert launch.poll() is None, f"ros2 launch exited with {launch.returncode}: {log.read_text()[-3000:]}"

        wait_for_picture(display, expected, running, tmp_path)
        picture_after = time.monotonic() - start
        seen.update(descendants(launch.pid))
        commands = {pid: command_line(pid) for pid, _ in seen}
        programs = {
            program: [pid for pid, line in commands.items() if f"/{program} " in line]
            for program in ("camera_node", "static_transform_publisher", "rviz2")
        }
        assert all(programs.values()) and len(programs["static_transform_publisher"]) == 2, (
            f"the launch did not start camera_node, two static_transform_publishers and rviz2: {commands}"
        )
        for pid in commands:
            owned.update(dict.fromkeys(held_shared_memory(pid), commands[pid]))
        assert Path(f"/dev/shm/airo_mp_camera.{name}") in owned, f"the camera's segment was not seen: {owned}"
        ctrl_c_at = log.stat().st_size
        os.killpg(launch.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole foreground process group
        stopping = time.monotonic()
        try:
            launch.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"ros2 launch still running {STOP_TIMEOUT} s after Ctrl-C:\n{log.read_text()}"
            ) from None
        stop_took = time.monotonic() - stopping
        deadline = time.monotonic() + 10.0  # the launch waited for its nodes; their children may lag a moment
        while still_running(seen, launch.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = still_running(seen, launch.pid)
    finally:
        if far >= 0:
            os.close(far)
        if launch is not None:
            stop_group(launch, seen)
        os.close(near)
        stop(xvfb)
    assert xvfb.poll() is not None
    text = log.read_bytes()
    before, after = (part.decode(errors="replace") for part in (text[:ctrl_c_at], text[ctrl_c_at:]))
    print(f"picture right {picture_after:.1f} s after the launch started; Ctrl-C ended it in {stop_took:.1f} s")
    print(f"the launch after Ctrl-C:\n{after}")
    assert launch.returncode == 0, f"ros2 launch exited with {launch.returncode} after Ctrl-C:\n{after}"
    assert not left, f"still running after Ctrl-C: {left}"

    # Before Ctrl-C: no error or warning from any process or from launch.
    problems = [line for line in before.splitlines() if "[ERROR]" in line or "[WARN" in line or "Traceback" in line]
    assert not problems, f"errors or warnings before Ctrl-C: {problems}\n{before[-5000:]}"
    # After it: launch stopped on the Ctrl-C; every process finished cleanly but rviz2, which may crash on its way out.
    lines = after.splitlines()
    assert launch_stopped_on_ctrl_c(after), after
    (rviz,) = programs["rviz2"]
    crash = rviz_crash_at_exit(lines, rviz)
    problems = [
        line
        for line in lines
        if ("[ERROR]" in line or "[WARN" in line or "Traceback" in line) and line not in (CTRL_C_LINE, crash)
    ]
    assert not problems, f"errors or warnings after Ctrl-C: {problems}\n{after}"
    for program, pids in programs.items():
        for pid in pids:
            if program != "rviz2" or crash is None:
                assert f"process has finished cleanly [pid {pid}]" in after, f"{program} [pid {pid}]:\n{after}"

    # Nothing of ours in /dev/shm: camera_node's segment and every file the launch's processes owned (rviz2's
    # Fast DDS segment stays when it crashed: a dead process cannot remove it; removed here).
    print(f"/dev/shm files the launch's processes owned: {sorted(str(path) for path in owned)}")
    left_behind = {str(path): owner for path, owner in owned.items() if path.exists()}
    if crash is not None:
        rviz_segments = {path for path, owner in left_behind.items() if owner == commands[rviz]}
        print(f"rviz2 crashed at exit; its Fast DDS segments left: {sorted(rviz_segments)}")
        for path in rviz_segments:  # its lock's holder is dead: no process uses it
            Path(path).unlink(missing_ok=True)
        left_behind = {path: owner for path, owner in left_behind.items() if path not in rviz_segments}
    assert not left_behind, f"left in /dev/shm (file: its owner): {left_behind}"
    assert not [path for path in Path("/dev/shm").iterdir() if path.name.startswith(f"airo_mp_camera.{name}")]
    print(f"the launch's temporary files left: {sorted(path.name for path in temporary.iterdir())}")
