"""Headless Chromium (Debian's `chromium`) driven through the Chrome DevTools protocol, for the web viewer tests.

Headless Chromium has no GPU here: `--use-gl=angle --use-angle=swiftshader --enable-unsafe-swiftshader` gives it
software WebGL 2, which the Rerun web viewer renders with (it says "Software rasterizer" in its top bar);
`--disable-gpu` is not given, since it would take WebGL away. The network flags keep it from calling out
(this machine's network is closed), and every run gets a fresh profile directory, removed afterwards.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

CHROMIUM = "chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",  # root has no user namespace sandbox here
    "--use-gl=angle",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if shutil.which(CHROMIUM) is None:
        return "no chromium executable (apt install chromium; `make venv` installs it when run as root)"
    try:
        import websocket  # noqa: F401
    except ImportError:
        return "no websocket-client (pip install websocket-client; it is in requirements.txt)"
    return None


class HeadlessChromium:
    """One headless Chromium process and its first page, spoken to over the DevTools websocket."""

    def __init__(self, timeout: float = 30.0) -> None:
        import websocket

        self.profile = Path(tempfile.mkdtemp(prefix="airo_mp_camera_chromium_"))
        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._id = 0
        self.console: list[str] = []
        try:
            port = self._devtools_port(timeout)
            page = self._first_page(port, timeout)
            self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout)
            self.call("Runtime.enable")
            self.call("Page.enable")
        except BaseException:
            self.close()
            raise

    def _devtools_port(self, timeout: float) -> int:
        active = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self.process.returncode}")
            if active.exists() and active.read_text().strip():
                return int(active.read_text().split()[0])
            time.sleep(0.1)
        raise TimeoutError(f"chromium opened no DevTools port within {timeout} s")

    @staticmethod
    def _first_page(port: int, timeout: float) -> dict[str, Any]:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=timeout) as response:
            targets = json.load(response)
        return next(target for target in targets if target["type"] == "page")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command; its result (console messages that arrive meanwhile are kept in `console`)."""
        self._id += 1
        self.socket.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("method") == "Runtime.consoleAPICalled":
                self.console.append(" ".join(str(arg.get("value", "")) for arg in message["params"]["args"]))
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True).get("result", {}).get("value")

    def screenshot(self) -> bytes:
        """The page as PNG bytes."""
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def close(self) -> None:
        """Ends the browser by pid and removes its profile."""
        socket = getattr(self, "socket", None)
        if socket is not None:
            socket.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> HeadlessChromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def colourful_hues(png: bytes, saturation: int = 90, share: float = 0.003) -> int:
    """How many of 12 hue sectors hold at least `share` of the screenshot's pixels, counting only vivid ones.

    The Rerun viewer's own interface is grey with one blue and one orange accent; a camera image with colour
    (the synthetic camera's checkerboard) fills many sectors.
    """
    import cv2

    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    vivid = (hsv[..., 1] >= saturation) & (hsv[..., 2] >= 60)
    sectors = np.bincount((hsv[..., 0][vivid].astype(np.int32) * 12) // 180, minlength=12)
    return int(np.count_nonzero(sectors >= share * image.shape[0] * image.shape[1]))
