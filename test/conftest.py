"""Shared fixtures: unique namespaces, processes stopped by pid on every path, /dev/shm left as found."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from airo_mp_camera.ros.fastdds_segments import remove_dead_segments
from support.pyzed_double import sl  # noqa: F401 (the pyzed double fixture of the ZED tests)
from support.shared_memory import SHM_DIR, issue_namespaces, our_segments


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makemodule(module_path, parent):  # type: ignore[no-untyped-def]
    """A test module's own skip (a module-level `pytest.importorskip`) skips that module, even under launch_testing.

    launch_testing's pytest plugin (Humble's 1.0.7) imports every test module itself to look for a launch test,
    outside pytest's guarded import, so a module-level skip escaped from there and dropped the whole directory
    ("found no collectors"). pytest's own module collector then imports it again and reports the skip.
    """
    try:
        return (yield)
    except pytest.skip.Exception:
        return pytest.Module.from_parent(parent, path=module_path)


@pytest.fixture(autouse=True)
def package_logs_reach_caplog() -> Iterator[None]:
    """The package's log records reach pytest's caplog, which listens at the root logger.

    Humble's `launch` (imported by launch_testing's pytest plugin) makes every logger created after it a
    LaunchLogger that does not propagate, the package's module loggers included, and lowers the root level to
    INFO: during a test, loggers are plain ones again, those made before propagate, and the root logger has
    Python's default level (launch's class and level are put back after it).
    """
    logger_class, root_level = logging.getLoggerClass(), logging.root.level
    logging.setLoggerClass(logging.Logger)
    logging.root.setLevel(logging.WARNING)
    for name, logger in logging.root.manager.loggerDict.items():
        if name.split(".", 1)[0] == "airo_mp_camera" and isinstance(logger, logging.Logger):
            logger.propagate = True
    yield
    logging.setLoggerClass(logger_class)
    logging.root.setLevel(root_level)


@pytest.fixture(autouse=True)
def shm_left_as_found() -> Iterator[None]:
    """Every test must leave no segment of ours behind."""
    before = our_segments()
    yield
    left = our_segments() - before
    for name in left:  # do not let one failure cascade into the next tests
        os.unlink(os.path.join(SHM_DIR, name))
    assert not left, f"test left shared-memory segments behind: {sorted(left)}"


@pytest.fixture(autouse=True, scope="session")
def no_dead_fastdds_segments_left() -> Iterator[None]:
    """Tests SIGKILL ROS processes on purpose; each leaves a Fast DDS segment (about 134 MB) in /dev/shm."""
    yield
    remove_dead_segments(min_age_s=0.0)


@pytest.fixture
def namespace() -> str:
    """A namespace no other test uses."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    issue_namespaces([name])
    return name


class ProcessGuard:
    """Tracks started processes (multiprocessing or subprocess) and kills survivors by pid."""

    def __init__(self) -> None:
        self.pids: list[int] = []
        self.popens: list[subprocess.Popen[bytes]] = []

    def track(self, pid: int | None) -> None:
        if pid is not None:
            self.pids.append(pid)

    def popen(self, *args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        process: subprocess.Popen[bytes] = subprocess.Popen(*args, **kwargs)  # type: ignore[call-overload]
        self.popens.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.popens:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


@pytest.fixture
def processes() -> Iterator[ProcessGuard]:
    """Processes a test starts; all are stopped at teardown, also when the test fails."""
    guard = ProcessGuard()
    try:
        yield guard
    finally:
        guard.stop_all()


_DIRECTORY_MARKERS = {"ros": ("ros",), "launch": ("ros", "launch")}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under test/ros and test/launch need ROS 2 (`-m "not ros"` leaves them out); test/launch also ROS's
    launch tooling (`-m launch`)."""
    for item in items:
        for marker in _DIRECTORY_MARKERS.get(item.path.parent.name, ()):
            item.add_marker(marker)
