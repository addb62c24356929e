"""The web viewer's front door: the plain `http://<camera host>:<port>/` opens the camera, not Rerun's welcome page.

Rerun's page only shows the camera when its address says where the data is (`/?url=rerun+http://<host>:<grpc
port>/proxy`). `WebViewerFront` is a small HTTP server (standard library, one thread of the logger process) on the
port the user asked for: a request for the page without `url` is redirected (302) to the same page with the data
address, built from the request's `Host` header, so it works under whatever name or address the browser used;
everything else (the page, its JS and Wasm) is relayed from the `rerun --serve-web` page server on a private port.

Relayed rather than redirected to Rerun's own port, so that the browser stays on the port the user asked for
(reload and bookmarks keep working, the data port's CORS rule names that one port) and a firewall opens the same
two ports only: this one and the gRPC data port. The relay carries the page's files once per page load
(about 43 MB, mostly the viewer's Wasm); the camera's frames never pass through it, they go from the logger to
the data port, so a browser costs the camera nothing.
"""

from __future__ import annotations

import http.client
import http.server
import shutil
import socket
import threading
import urllib.parse
from typing import Any

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
_PAGE_PATHS = ("/", "/index.html")


def url_host(host: str) -> str:
    """`host` as it goes into a URL: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


def data_url(host: str, grpc_port: int) -> str:
    """The gRPC address a Rerun viewer (the web page or a native one) reads the camera's data from."""
    return f"rerun+http://{url_host(host)}:{grpc_port}/proxy"


def viewer_location(path: str, query: str, host: str, grpc_port: int) -> str:
    """Where a request for the page without a data address is redirected: the same page and query, plus `url`."""
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True) + [("url", data_url(host, grpc_port))]
    return f"{path}?{urllib.parse.urlencode(pairs)}"


def request_host(header: str | None, fallback: str) -> str:
    """The host name or address the browser used (the `Host` header without its port), or `fallback`."""
    if header:
        try:
            name = urllib.parse.urlsplit(f"//{header}").hostname
        except ValueError:
            name = None
        if name:
            return name
    return fallback


class _Handler(http.server.BaseHTTPRequestHandler):
    """Redirects the bare page to the page with its data address; relays every other request to Rerun's server."""

    server: _FrontServer

    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        self._answer(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(body=False)

    def _answer(self, body: bool) -> None:
        front = self.server.front
        parts = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        if parts.path in _PAGE_PATHS and "url" not in query:
            host = request_host(self.headers.get("Host"), front.default_host)
            self.send_response(302)
            self.send_header("Location", viewer_location(parts.path, parts.query, host, front.grpc_port))
            self.send_header("Cache-Control", "no-store")  # the data address depends on the name used
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._relay(body)

    def _relay(self, body: bool) -> None:
        front = self.server.front
        upstream = http.client.HTTPConnection(front.upstream_host, front.upstream_port, timeout=front.timeout)
        try:
            forwarded = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP | {"host"}}
            upstream.request(self.command, self.path, headers=forwarded)
            response = upstream.getresponse()
            self.send_response(response.status, response.reason)
            for key, value in response.getheaders():
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            self.end_headers()  # HTTP/1.0: the body ends when the connection closes (chunked upstream or not)
            if body:
                shutil.copyfileobj(response, self.wfile, 256 * 1024)
        except (OSError, http.client.HTTPException) as error:
            if not self.wfile.closed:
                try:
                    self.send_error(502, f"the Rerun web viewer server did not answer: {error}")
                except OSError:
                    pass  # the browser left
        finally:
            upstream.close()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the http.server signature)
        """Quiet: a browser loading the page is no news for the logger's output."""


class _FrontServer(http.server.ThreadingHTTPServer):
    daemon_threads = True  # a browser still downloading never holds the logger's exit

    def __init__(self, address: tuple[Any, ...], family: int, front: WebViewerFront) -> None:
        self.address_family = family
        self.front = front
        super().__init__(address, _Handler)


class WebViewerFront:
    """The HTTP server on the user's page port: the bare address redirects to the viewer with its data address.

    ```python
    front = WebViewerFront("0.0.0.0", 9090, grpc_port=9876, upstream=("127.0.0.1", 40123))
    front.start()   # OSError when the port is in use or the address is not this host's
    front.stop()
    ```

    Attributes:
        default_host: the host put in the data address when a request has no `Host` header (HTTP/1.0 clients).
    """

    def __init__(
        self,
        bind: str,
        port: int,
        grpc_port: int,
        upstream: tuple[str, int],
        default_host: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.bind = bind
        self.port = port
        self.grpc_port = grpc_port
        self.upstream_host, self.upstream_port = upstream
        self.default_host = default_host or upstream[0]
        self.timeout = timeout
        self._server: _FrontServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Listens on `bind:port` and serves from a daemon thread.

        Raises:
            OSError: the port is in use, or `bind` is not an address of this host.
        """
        family, _, _, _, address = socket.getaddrinfo(self.bind, self.port, type=socket.SOCK_STREAM)[0]
        self._server = _FrontServer(address, family, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.5}, name="web-viewer-front", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stops listening and ends the serving thread; idempotent."""
        server, self._server = self._server, None
        thread, self._thread = self._thread, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout)
