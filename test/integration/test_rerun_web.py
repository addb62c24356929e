"""The Rerun web viewer served from the camera host: a real browser sees the camera, bad input fails start(), and
another (simulated) host reaches the viewer only when it is bound to the network.

Real parts: the synthetic camera's publisher process, the logger process, rerun-sdk's own `rerun --serve-web`
server, Debian's headless Chromium, camera_node in network namespaces. `ros2 launch` is not installable from a
registry: the two-hosts test here starts camera_node with the parameters `web:=true web_bind:=...` sets
(launch/camera.launch.py); test_ros2_launch.py runs the same check through `ros2 launch` where it is built.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airo_mp_camera import MultiprocessRGBDPublisher, SyntheticCamera
from airo_mp_camera.consumers import (
    ConsumerStartError,
    MultiprocessRGBDRerunLogger,
    MultiprocessRGBRerunLogger,
    WebViewerOptions,
)
from airo_mp_camera.consumers.rerun_web import WebViewerServer, resize_nearest
from airo_mp_camera.consumers.rerun_web_front import request_host, viewer_location
from support.web_viewer_probe import check_reached_only_when_bound_to_the_network, probe_both, wait_until_served

pytest.importorskip("rerun", reason="rerun-sdk is not installed (pip install rerun-sdk; it needs numpy >= 2)")

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RESOLUTION = (320, 240)
SCREENSHOT = os.environ.get("AIRO_MP_CAMERA_WEB_SCREENSHOT")  # also keep the browser's screenshot here (README)


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on now (the kernel's choice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def camera() -> dict[str, object]:
    return {"resolution": RESOLUTION, "fps": 30.0, "depth_model": "realistic"}


def test_resize_nearest_keeps_the_aspect_and_never_enlarges() -> None:
    import numpy as np

    image = np.arange(720 * 1280 * 3, dtype=np.uint32).reshape(720, 1280, 3)
    small = resize_nearest(image, 640)
    assert small.shape == (360, 640, 3)
    assert np.array_equal(small[1, 1], image[2, 2])
    assert resize_nearest(image, 1920) is image and resize_nearest(image, 0) is image


def test_the_browser_url_is_the_bare_page_and_redirects_to_where_its_data_is() -> None:
    options = WebViewerOptions(bind="0.0.0.0", port=8080, grpc_port=8081)
    assert options.url("camera-host") == "http://camera-host:8080/"
    assert WebViewerOptions().url() == "http://127.0.0.1:9090/"
    assert options.viewer_url("camera-host") == (
        "http://camera-host:8080/?url=rerun%2Bhttp%3A%2F%2Fcamera-host%3A8081%2Fproxy"
    )
    assert viewer_location("/", "", "camera-host", 8081) == "/?url=rerun%2Bhttp%3A%2F%2Fcamera-host%3A8081%2Fproxy"
    assert viewer_location("/", "renderer=webgl", "fe80::1", 1) == (
        "/?renderer=webgl&url=rerun%2Bhttp%3A%2F%2F%5Bfe80%3A%3A1%5D%3A1%2Fproxy"
    )
    assert request_host("camera-host:8080", "x") == "camera-host"
    assert request_host("[fe80::1]:8080", "x") == "fe80::1"
    assert request_host("198.18.0.1", "x") == "198.18.0.1"
    assert request_host(None, "fallback") == "fallback" and request_host("[bad", "fallback") == "fallback"
    with pytest.raises(ValueError, match="must differ"):
        WebViewerOptions(port=9000, grpc_port=9000)


def test_headless_chromium_shows_the_synthetic_camera_in_the_web_viewer(namespace: str, processes) -> None:
    """The page renders (software WebGL) and shows the rgb entity: a colourful image in a grey interface.

    Asserted: WebGL 2 exists in the page; within 180 s a screenshot holds vivid pixels of at least 5 hue sectors
    (the interface alone fills at most 2: its blue selection and orange warning); after the browser is gone the
    logger still logs, and neither it nor the server failed.
    """
    from support.headless_chromium import HeadlessChromium, colourful_hues, missing

    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    port, grpc_port = free_ports(2)
    with MultiprocessRGBDPublisher(SyntheticCamera, camera(), namespace) as publisher:
        processes.track(publisher.pid)
        options = WebViewerOptions(port=port, grpc_port=grpc_port, width=320)
        logger = MultiprocessRGBRerunLogger(namespace, web=options, max_rate=2.0)  # rgb only: its colour is the proof
        logger.start()
        processes.track(logger.pid)
        url = logger.web_url
        assert url == f"http://127.0.0.1:{port}/"  # the bare address: the front redirects to the viewer
        hues, shot = 0, b""
        with HeadlessChromium() as browser:
            processes.track(browser.process.pid)
            browser.call("Page.navigate", url=url)
            webgl = browser.evaluate("!!document.createElement('canvas').getContext('webgl2')")
            landed = browser.evaluate("new URLSearchParams(location.search).get('url')")
            deadline = time.monotonic() + 180.0
            while time.monotonic() < deadline and hues < 5:
                time.sleep(3.0)
                shot = browser.screenshot()
                hues = colourful_hues(shot)
            title = browser.evaluate("document.title")
        if SCREENSHOT:
            Path(SCREENSHOT).write_bytes(shot)
        logged = logger.frames_logged
        time.sleep(2.0)
        still_logging = logger.frames_logged > logged
        logger.stop()
    assert webgl is True, "no WebGL 2 in headless Chromium (the swiftshader flags)"
    assert title == "Rerun Viewer"
    assert landed == f"rerun+http://127.0.0.1:{grpc_port}/proxy", f"the bare address did not redirect ({landed})"
    assert hues >= 5, (
        f"the viewer showed no camera image within 180 s ({hues} hue sectors; console: {browser.console[-5:]})"
    )
    assert still_logging, "the logger stopped logging once the browser left"
    assert logger.exitcode == 0 and logger.failure is None


def test_the_bare_page_redirects_under_the_name_used_and_the_viewer_files_are_relayed() -> None:
    """A real `rerun --serve-web` behind the front: `/` answers 302 to the page with the data address of the host
    the request named; the page and the viewer's Wasm come through the front as the server's own port gives them."""
    import http.client

    port, grpc_port = free_ports(2)
    server = WebViewerServer(WebViewerOptions(port=port, grpc_port=grpc_port))
    server.start()
    try:

        def get(path: str, host: str, method: str = "GET", target: int = port) -> http.client.HTTPResponse:
            connection = http.client.HTTPConnection("127.0.0.1", target, timeout=30)
            connection.request(method, path, headers={"Host": host})
            return connection.getresponse()

        answers = {name: get("/", f"{name}:{port}") for name in ("camera-host.lab", "198.18.0.1", "[::1]")}
        locations = {name: (answer.status, answer.getheader("Location")) for name, answer in answers.items()}
        page = get(str(locations["camera-host.lab"][1]), f"camera-host.lab:{port}")
        page_body = page.read()
        wasm = get("/re_viewer_bg.wasm", f"127.0.0.1:{port}", "HEAD")
        relayed_js = get("/re_viewer.js", f"127.0.0.1:{port}").read()
        direct_js = get("/re_viewer.js", "127.0.0.1", target=int(server.page_port or 0)).read()
    finally:
        server.stop()
    quoted = {
        "camera-host.lab": f"camera-host.lab%3A{grpc_port}",
        "198.18.0.1": f"198.18.0.1%3A{grpc_port}",
        "[::1]": f"%5B%3A%3A1%5D%3A{grpc_port}",
    }
    for name, text in quoted.items():
        assert locations[name] == (302, f"/?url=rerun%2Bhttp%3A%2F%2F{text}%2Fproxy"), locations
    assert page.status == 200 and b"Rerun" in page_body
    assert wasm.status == 200 and wasm.getheader("Content-Type") == "application/wasm"
    assert int(wasm.getheader("rerun-final-length") or 0) > 1_000_000  # the page's progress bar reads it
    assert len(relayed_js) > 10_000 and relayed_js == direct_js
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # the front stopped with the server


def test_a_web_port_in_use_fails_start_saying_so(namespace: str, processes) -> None:
    port, grpc_port = free_ports(2)
    with socket.socket() as taken, MultiprocessRGBDPublisher(SyntheticCamera, camera(), namespace) as publisher:
        processes.track(publisher.pid)
        taken.bind(("127.0.0.1", port))
        taken.listen()
        logger = MultiprocessRGBDRerunLogger(namespace, web=WebViewerOptions(port=port, grpc_port=grpc_port))
        with pytest.raises(ConsumerStartError, match=f"web viewer port: 127.0.0.1:{port} already in use"):
            logger.start()


@pytest.mark.parametrize(
    ("bind", "reason"),
    [
        ("198.19.255.254", "cannot be bound: Cannot assign requested address"),
        ("no-such-host.invalid", "not an address"),
    ],
)
def test_a_bind_address_not_of_this_host_fails_start_saying_so(
    namespace: str, processes, bind: str, reason: str
) -> None:
    port, grpc_port = free_ports(2)
    with MultiprocessRGBDPublisher(SyntheticCamera, camera(), namespace) as publisher:
        processes.track(publisher.pid)
        logger = MultiprocessRGBDRerunLogger(
            namespace, web=WebViewerOptions(bind=bind, port=port, grpc_port=grpc_port)
        )
        with pytest.raises(ConsumerStartError, match=reason):
            logger.start()


def test_web_view_reaches_a_second_host_only_when_bound_to_the_network() -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks.two_hosts import TwoHosts, missing_requirements, namespaces_gone

    reason = missing_requirements()
    if reason is not None:
        pytest.skip(f"two simulated hosts: {reason}")
    from benchmarks.remote import environments, ros_args

    env = environments()["node"]
    port, grpc_port = 9090, 9876  # each host has its own network namespace: nothing else listens there
    seen: dict[str, dict[str, dict[str, object]]] = {}
    hosts = TwoHosts()
    try:
        assert hosts.b is not None
        for bind in ("127.0.0.1", "0.0.0.0"):
            params = {
                "width": RESOLUTION[0],
                "height": RESOLUTION[1],
                "points.enable": True,
                "rerun.web.enable": True,  # what `web:=true web_bind:=<bind>` sets (launch/camera.launch.py)
                "rerun.web.bind": bind,
                "rerun.web.port": port,
                "rerun.web.grpc_port": grpc_port,
            }
            command = [str(BIN / "camera_node"), "--ros-args", "-r", "__node:=camera", *ros_args(params)]
            node = hosts.a.popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_until_served(hosts.a, node, port, grpc_port, f"camera_node (bind {bind})")
            seen[bind] = probe_both(hosts, port, grpc_port)
            hosts.a.stop_processes()
    finally:
        hosts.close()
    assert namespaces_gone(hosts), "a namespace or the veth pair outlived the test"
    check_reached_only_when_bound_to_the_network(seen)
