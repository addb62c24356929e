"""The video recorder process: real publisher, real recorder process, real ffmpeg; videos read back.

Every recorder here stamps each frame's id in large black/white blocks (an `image_transform`, run in
the recorder process), so the decoded video tells which camera frame each video frame is: repeats are
filled frames, missing ids are dropped frames, and the recorder's counters must say the same.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from airo_mp_camera import MultiprocessRGBDPublisher, SyntheticCamera
from airo_mp_camera.consumers import (
    ConsumerStartError,
    MissingDependencyError,
    MultiprocessRGBVideoRecorder,
    MultiprocessVideoRecorder,
)
from airo_mp_camera.consumers.video_recorder import VideoTimeline
from support.video_files import BLOCK, ID_BITS, RESOLUTION, STAMP_ROWS, decode, recorder, wait_until_written

SPAWN = multiprocessing.get_context("spawn")
FPS = 30.0

pytestmark = pytest.mark.skipif(
    not (shutil.which("ffmpeg") and shutil.which("ffprobe")),
    reason="ffmpeg/ffprobe not installed (`make venv` installs them as root; else `apt install ffmpeg`)",
)


def read_frame_id(frame_rgb: np.ndarray) -> int:
    """The id painted by `stamp_frame_id`, read back from a decoded frame."""
    centre = STAMP_ROWS // 2
    bits = [frame_rgb[centre, bit * BLOCK + BLOCK // 2].mean() > 128 for bit in range(ID_BITS)]
    return sum(1 << bit for bit, on in enumerate(bits) if on)


def probe(path: Path) -> dict[str, float]:
    """Frame count (decoded by ffprobe), duration and frame rate of a video's stream."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=nb_read_frames,duration,r_frame_rate,width,height", "-of", "json", str(path)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    stream = json.loads(result.stdout)["streams"][0]
    numerator, denominator = stream["r_frame_rate"].split("/")
    return {
        "frames": int(stream["nb_read_frames"]),
        "duration": float(stream["duration"]),
        "fps": int(numerator) / int(denominator),
        "width": int(stream["width"]),
        "height": int(stream["height"]),
    }


def publisher(namespace: str, fps: float = FPS) -> MultiprocessRGBDPublisher:
    return MultiprocessRGBDPublisher(SyntheticCamera, {"resolution": RESOLUTION, "fps": fps}, namespace)


def wait_for_exit(pid: int, timeout: float) -> None:
    """Waits until a process that is not our child is gone (or a zombie)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except FileNotFoundError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} still running after {timeout} s")


def assert_video_matches_counters(path: Path, rec: MultiprocessRGBVideoRecorder, exact: bool = True) -> list[int]:
    """The file plays, has the recorder's frame count at its fps, and its ids agree with the counters."""
    info = probe(path)
    frames = decode(path)
    written = rec.frames_written
    if exact:
        assert info["frames"] == written
    else:  # killed between writing a frame and counting it
        assert written <= info["frames"] <= written + 1
    assert len(frames) == info["frames"]
    assert info["fps"] == pytest.approx(FPS)
    assert info["duration"] == pytest.approx(info["frames"] / FPS, abs=1.5 / FPS)
    assert (info["width"], info["height"]) == RESOLUTION
    ids = [read_frame_id(frame) for frame in frames]
    assert ids == sorted(ids), "video frames out of capture order"
    repeats = sum(1 for a, b in zip(ids[:-1], ids[1:], strict=True) if a == b)
    missing = len(set(range(ids[0], rec.last_frame_id + 1)) - set(ids))
    if exact:
        assert repeats == rec.frames_filled
        assert missing == rec.frames_dropped
    return ids


def test_a_recording_lasts_as_long_as_the_camera_ran_and_its_counters_match_the_file(
    namespace: str, processes, tmp_path: Path
) -> None:
    path = tmp_path / "video.mp4"
    with publisher(namespace) as pub:
        processes.track(pub.pid)
        rec = recorder(namespace, path)
        rec.start()
        processes.track(rec.pid)
        processes.track(rec.encoder_pid)
        wait_until_written(rec, int(3 * FPS))
        rec.stop()
    assert rec.exitcode == 0 and rec.failure is None
    ids = assert_video_matches_counters(path, rec)
    # The video's length is the span of capture times it covers, to within half a frame.
    recorded_seconds = rec.last_capture_time - rec.first_capture_time
    assert rec.frames_written == pytest.approx(recorded_seconds * FPS + 1, abs=0.5)
    assert rec.duration == pytest.approx(probe(path)["duration"], abs=1.5 / FPS)
    assert rec.fps == FPS
    # Camera frames from the first to the last the recorder took are each written once or dropped.
    assert rec.last_frame_id - ids[0] + 1 == rec.frames_written - rec.frames_filled + rec.frames_dropped
    assert rec.frames_received >= rec.frames_written - rec.frames_filled


def test_video_frames_show_the_synthetic_scene(namespace: str, processes, tmp_path: Path) -> None:
    path = tmp_path / "video.mkv"
    with publisher(namespace) as pub:
        processes.track(pub.pid)
        with recorder(namespace, path, crf=18) as rec:
            processes.track(rec.pid)
            wait_until_written(rec, 10)
    frames = decode(path)
    assert len(frames) == rec.frames_written
    scene = SyntheticCamera(RESOLUTION, watermark=False).retrieve_rgb_image_as_int().astype(np.float32)
    below_stamp = slice(STAMP_ROWS + 8, None)
    decoded = frames[len(frames) // 2][below_stamp].astype(np.float32)
    right, wrong = scene[below_stamp], np.roll(scene, 37, axis=1)[below_stamp]
    # 4:2:0 chroma subsampling blurs the texture's sharp blue edges; brightness (luma) is kept closely.
    luma = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    luma_error = np.abs((decoded - right) @ luma).mean()
    rgb_error = np.abs(decoded - right).mean()
    assert luma_error < 3.0, f"brightness differs by {luma_error:.1f} grey levels on average from the synthetic image"
    assert rgb_error < 10.0, f"colours differ by {rgb_error:.1f} grey levels on average from the synthetic image"
    assert np.abs((decoded - wrong) @ luma).mean() > 5 * luma_error, "the comparison cannot tell a wrong image"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_the_recorder_still_leaves_a_complete_video(
    namespace: str, processes, tmp_path: Path, signum: int
) -> None:
    path = tmp_path / "video.mp4"
    with publisher(namespace) as pub:
        processes.track(pub.pid)
        rec = recorder(namespace, path)
        rec.start()
        processes.track(rec.pid)
        processes.track(rec.encoder_pid)
        wait_until_written(rec, int(1.5 * FPS))
        os.kill(rec.pid, signum)
        rec.join(30)
        assert not rec.is_alive(), "the recorder did not exit on the signal"
    assert rec.exitcode == 0
    assert rec.frames_written >= int(1.5 * FPS)
    assert_video_matches_counters(path, rec)


def test_a_killed_recorder_leaves_a_playable_video_because_ffmpeg_finishes_it(
    namespace: str, processes, tmp_path: Path
) -> None:
    path = tmp_path / "video.mp4"
    with publisher(namespace) as pub:
        processes.track(pub.pid)
        rec = recorder(namespace, path)
        rec.start()
        processes.track(rec.pid)
        encoder = rec.encoder_pid
        assert encoder is not None
        processes.track(encoder)
        wait_until_written(rec, int(FPS))
        os.kill(rec.pid, signal.SIGKILL)
        rec.join(10)
        wait_for_exit(encoder, 30)
    assert_video_matches_counters(path, rec, exact=False)


def start_recorder_then_wait(namespace: str, path: str, pids: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Child of a test: starts a recorder, reports its pids, then waits to be killed."""
    rec = MultiprocessRGBVideoRecorder(namespace, path)
    rec.start()
    pids.put((rec.pid, rec.encoder_pid))
    time.sleep(60)


def test_the_recorder_finishes_its_video_and_exits_when_its_parent_dies(
    namespace: str, processes, tmp_path: Path
) -> None:
    path = tmp_path / "video.mp4"
    pids = SPAWN.Queue()
    with publisher(namespace) as pub:
        processes.track(pub.pid)
        parent = SPAWN.Process(target=start_recorder_then_wait, args=(namespace, str(path), pids))
        parent.start()
        processes.track(parent.pid)
        recorder_pid, encoder_pid = pids.get(timeout=60)
        processes.track(recorder_pid)
        processes.track(encoder_pid)
        time.sleep(1.0)
        os.kill(parent.pid, signal.SIGKILL)
        parent.join(10)
        wait_for_exit(recorder_pid, 30)
        wait_for_exit(encoder_pid, 30)
    assert probe(path)["frames"] >= 1
    assert len(decode(path)) == probe(path)["frames"]


def test_an_encoder_that_fails_makes_start_fail_with_ffmpegs_reason(namespace: str, processes, tmp_path: Path) -> None:
    with publisher(namespace) as pub:
        processes.track(pub.pid)
        rec = MultiprocessRGBVideoRecorder(namespace, tmp_path / "video.mp4", codec="no_such_encoder", preset=None)
        with pytest.raises(ConsumerStartError, match="no_such_encoder"):
            rec.start()
        processes.track(rec.pid)
        rec.join(10)
        assert not rec.is_alive()


def test_start_without_a_publisher_fails_naming_the_namespace(namespace: str, processes, tmp_path: Path) -> None:
    rec = MultiprocessRGBVideoRecorder(namespace, tmp_path / "video.mp4", start_timeout=1.0)
    with pytest.raises(ConsumerStartError, match=namespace):
        rec.start()
    processes.track(rec.pid)
    rec.join(10)
    assert not rec.is_alive()
    assert not (tmp_path / "video.mp4").exists()


def test_missing_ffmpeg_is_one_clear_error_saying_how_to_install_it(
    namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingDependencyError, match="apt install ffmpeg"):
        MultiprocessRGBVideoRecorder(namespace, tmp_path / "video.mp4")


def test_the_airo_camera_toolkit_name_is_the_same_class() -> None:
    assert MultiprocessVideoRecorder is MultiprocessRGBVideoRecorder


def test_importing_the_package_needs_neither_rerun_nor_ffmpeg(tmp_path: Path) -> None:
    code = (
        "import sys; import airo_mp_camera; "
        "from airo_mp_camera import MultiprocessRGBVideoRecorder, MultiprocessRGBRerunLogger; "
        "assert 'rerun' not in sys.modules, 'rerun imported'; print('ok')"
    )
    env = dict(os.environ, PATH=str(tmp_path))  # no ffmpeg on PATH
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


class TestVideoTimeline:
    """Placing frames on the video's constant-rate timeline (pure logic, no processes)."""

    def test_frames_on_time_are_written_once(self) -> None:
        timeline = VideoTimeline(10.0)
        assert [timeline.place(100.0 + i / 10) for i in range(5)] == [0, 0, 0, 0, 0]

    def test_a_gap_is_filled_with_repeats_of_the_previous_frame(self) -> None:
        timeline = VideoTimeline(10.0)
        assert [timeline.place(t) for t in (100.0, 100.1, 100.4)] == [0, 0, 2]
        assert timeline.next_slot == 5

    def test_a_second_frame_for_a_written_slot_is_dropped(self) -> None:
        timeline = VideoTimeline(10.0)
        assert [timeline.place(t) for t in (100.0, 100.1, 100.12, 100.2)] == [0, 0, -1, 0]

    def test_jitter_under_half_a_frame_neither_drops_nor_fills(self) -> None:
        timeline = VideoTimeline(10.0)
        jitter = [0.0, 0.04, -0.04, 0.03, -0.02, 0.045]
        assert [timeline.place(100.0 + i / 10 + j) for i, j in enumerate(jitter)] == [0] * len(jitter)

    def test_a_pause_longer_than_max_fill_is_skipped_not_filled(self) -> None:
        timeline = VideoTimeline(10.0, max_fill_seconds=1.0)
        assert [timeline.place(t) for t in (100.0, 100.1, 160.0, 160.1)] == [0, 0, 0, 0]

    def test_a_clock_that_jumps_back_restarts_the_timeline(self) -> None:
        timeline = VideoTimeline(10.0, max_fill_seconds=1.0)
        assert [timeline.place(t) for t in (100.0, 100.1, 50.0, 50.1)] == [0, 0, 0, 0]
        assert timeline.next_slot == 4
