"""The Rerun web viewer served from the camera host: a browser on another machine sees the camera, installing nothing.

One server process (the `rerun` executable that rerun-sdk's wheel ships, `rerun --serve-web`) hosts both the
viewer's web page (HTML, JS, Wasm) and the gRPC server the page reads the data from; the Rerun logger process
streams to it over loopback. The page port the user asked for is `rerun_web_front`'s, a thread of the logger
process: the bare `http://<host>:<port>/` redirects to the page told where its data is, and the page's files are
relayed from the server's own page port (a free port at the same bind address, not advertised). The rerun-sdk
calls `rr.serve_grpc` and `rr.serve_web_viewer` would serve the same, but in 0.41 the web page server always
listens on every interface (rerun issue #5882), while `rerun --bind` binds both where the user says, and the
front listens there too. So a viewer is only as exposed as `bind` makes it:

- `bind="127.0.0.1"` (the default): this host only (a browser here, or an SSH tunnel: `ssh -L 9090:localhost:9090
  -L 9876:localhost:9876 camera-host`).
- `bind="0.0.0.0"` (or one interface's address): every machine that can reach that address can watch the camera
  (rgb, depth, cloud, at the web rate and resolution) and connect its own Rerun viewer or SDK to the gRPC port.
  There is no authentication: open it on a trusted network only.

The server keeps at most `memory_limit` of history for late viewers (the oldest is dropped); a viewer that is slow
or leaves costs the server, never the logger (the logger's stream to the server is loopback) nor the camera.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from airo_mp_camera.consumers.rerun_web_front import WebViewerFront, data_url, url_host

_PR_SET_PDEATHSIG = 1


class WebViewerError(RuntimeError):
    """The web viewer server could not start: a port in use, an address that is not this host's, no executable."""


@dataclass(frozen=True)
class WebViewerOptions:
    """Where and how the Rerun web viewer is served, and what the browser gets.

    Attributes:
        bind: the address both ports listen on: 127.0.0.1 this host only, 0.0.0.0 every interface (see the module).
        port: HTTP port of the viewer's page: a browser opens http://<host>:<port>/ (`url`).
        grpc_port: port of the gRPC server the page reads the data from (it must be reachable too).
        memory_limit: most history the server keeps for late viewers, e.g. "64MiB" or "5%" of the RAM.
        width: rgb is resized to this width for the browser (aspect kept; 0: as captured).
        depth_width: depth is resized to this width (0: as captured); it is sent as 16-bit millimetres.
        jpeg_quality: rgb is sent as JPEG of this quality (1-100; 0: raw RGB, which 1080p Wi-Fi cannot carry).
        max_points: the cloud is thinned to at most this many points (0: none sent).
    """

    bind: str = "127.0.0.1"
    port: int = 9090
    grpc_port: int = 9876
    memory_limit: str = "64MiB"
    width: int = 1280
    depth_width: int = 640
    jpeg_quality: int = 80
    max_points: int = 20000

    def __post_init__(self) -> None:
        for name in ("port", "grpc_port"):
            if not 1 <= getattr(self, name) <= 65535:
                raise ValueError(f"web viewer {name} must be 1..65535, got {getattr(self, name)}")
        if self.port == self.grpc_port:
            raise ValueError(f"web viewer port and grpc_port must differ, both are {self.port}")
        if not 0 <= self.jpeg_quality <= 100:
            raise ValueError(f"web viewer jpeg_quality must be 0 (raw) to 100, got {self.jpeg_quality}")
        for name in ("width", "depth_width", "max_points"):
            if getattr(self, name) < 0:
                raise ValueError(f"web viewer {name} must be >= 0, got {getattr(self, name)}")

    def url(self, host: str | None = None) -> str:
        """The address to open in a browser (`host`: default this host's name, or the bind address if one host's).

        The page redirects itself to the viewer with its data address, under the name the browser used.
        """
        return f"http://{url_host(self.host_name(host))}:{self.port}/"

    def viewer_url(self, host: str | None = None) -> str:
        """The page's address with its data address spelled out (where `url` redirects to)."""
        host = self.host_name(host)
        grpc = urllib.parse.quote(data_url(host, self.grpc_port), safe="")
        return f"http://{url_host(host)}:{self.port}/?url={grpc}"

    def host_name(self, host: str | None = None) -> str:
        """`host` if given, else what a browser calls this host: its name, or the bind address if one host's."""
        if host is not None:
            return host
        return socket.gethostname() if self.bind in ("0.0.0.0", "::") else self.bind  # noqa: S104

    @property
    def local_host(self) -> str:
        """The address this host reaches the servers at (loopback when bound to every interface)."""
        return "127.0.0.1" if self.bind in ("0.0.0.0", "::") else self.bind  # noqa: S104


def resize_nearest(image: np.ndarray, width: int) -> np.ndarray:
    """`image` scaled to `width` pixels wide (aspect kept) by nearest-neighbour sampling; as is when not wider."""
    height, current = image.shape[:2]
    if width <= 0 or current <= width:
        return image
    rows = (np.arange(round(height * width / current)) * (current / width)).astype(np.intp)
    columns = (np.arange(width) * (current / width)).astype(np.intp)
    return np.ascontiguousarray(image[rows[:, None], columns[None, :]])


def rerun_executable() -> Path:
    """The `rerun` executable of the installed rerun-sdk wheel (package rerun_cli), or WebViewerError."""
    import importlib.util

    spec = importlib.util.find_spec("rerun_cli")
    if spec is None or spec.origin is None:
        raise WebViewerError("the web viewer needs rerun-sdk's `rerun` executable (package rerun_cli): not installed")
    path = Path(spec.origin).with_name("rerun")
    if not os.access(path, os.X_OK):
        raise WebViewerError(f"the web viewer needs rerun-sdk's `rerun` executable; {path} is missing")
    return path


def check_can_listen(bind: str, port: int, what: str) -> None:
    """Raises WebViewerError saying why `bind:port` cannot be listened on (in use, not an address of this host)."""
    try:
        infos = socket.getaddrinfo(bind, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise WebViewerError(f"{what}: bind address {bind!r} is not an address of this host: {error}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is no conflict
        try:
            probe.bind(address)
        except OSError as error:
            raise WebViewerError(f"{what}: {bind}:{port} {_bind_failure(error)}") from None


def _bind_failure(error: OSError) -> str:
    reason = "already in use" if error.errno == errno.EADDRINUSE else f"cannot be bound: {error.strerror}"
    return f"{reason} ({error})"


def _free_port(bind: str) -> int:
    """A port nobody listens on at `bind` now (the kernel's choice)."""
    family, kind, proto, _, address = socket.getaddrinfo(bind, 0, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.bind(address)
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:  # in the server child, before exec: it is killed when the logger process dies
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class WebViewerServer:
    """The `rerun --serve-web` process of one logger and its front on the page port: `start()`, `stop()`.

    The server process also ends with the logger process (and the front, a daemon thread of it, too).

    ```python
    server = WebViewerServer(WebViewerOptions(bind="0.0.0.0"))
    server.start()            # WebViewerError with the reason: port in use, bind address not of this host
    recording.connect_grpc(server.local_grpc_url)
    print(server.options.url("camera-host"))   # http://camera-host:9090/ redirects to the viewer
    server.stop()
    ```
    """

    def __init__(self, options: WebViewerOptions, start_timeout: float = 20.0) -> None:
        self.options = options
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._front: WebViewerFront | None = None
        self.page_port: int | None = None  # the server's own page port (loopback-reachable), relayed by the front

    @property
    def local_grpc_url(self) -> str:
        """Where a logger on this host sends its data."""
        return data_url(self.options.local_host, self.options.grpc_port)

    @property
    def pid(self) -> int | None:
        """The server process's pid while it runs."""
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Starts the server, waits until its ports listen, then starts the front on the page port.

        Raises:
            WebViewerError: a port is in use, the bind address is not this host's, or the server did not start.
        """
        options = self.options
        check_can_listen(options.bind, options.port, "web viewer port")
        check_can_listen(options.bind, options.grpc_port, "web viewer grpc_port")
        page_port = self.page_port = _free_port(options.bind)
        command = [
            str(rerun_executable()),
            "--serve-web",
            "--bind",
            options.bind,
            "--port",
            str(options.grpc_port),
            "--web-viewer-port",
            str(page_port),
            "--server-memory-limit",
            options.memory_limit,
            "--newest-first",  # a viewer joining late sees the camera now, then the history
            "--cors-allow-origin",
            f"http://*:{options.port}",  # the page, wherever it was opened from, may read the data
        ]
        self._log = tempfile.TemporaryFile(prefix="airo_mp_camera_rerun_web_")
        # Its own session: a Ctrl-C in the terminal (`ros2 launch`) reaches the logger, which flushes and then stops
        # the server, not the server itself, which would go first and cut the logger's last frames off.
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            preexec_fn=_die_with_parent,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.start_timeout
        host = options.local_host
        waiting = [options.grpc_port, page_port]
        while waiting:
            if self._process.poll() is not None:
                tail = self._log_tail()
                self.stop()
                raise WebViewerError(f"the Rerun web viewer server exited ({self._exit_text()}): {tail}")
            if time.monotonic() > deadline:
                self.stop()
                raise WebViewerError(f"the Rerun web viewer server did not listen within {self.start_timeout} s")
            try:
                socket.create_connection((host, waiting[0]), timeout=0.5).close()
                waiting.pop(0)
            except OSError:
                time.sleep(0.1)
        self._front = WebViewerFront(
            options.bind, options.port, options.grpc_port, (host, page_port), default_host=options.host_name()
        )
        try:
            self._front.start()
        except OSError as error:
            self.stop()
            raise WebViewerError(f"web viewer port: {options.bind}:{options.port} {_bind_failure(error)}") from None

    def _exit_text(self) -> str:
        return f"exit code {self._process.returncode}" if self._process is not None else "not started"

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-800:].strip()

    def stop(self, timeout: float = 10.0) -> None:
        """Ends the front and the server (SIGTERM, then SIGKILL after `timeout`); idempotent."""
        front, self._front = self._front, None
        if front is not None:
            front.stop()
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
