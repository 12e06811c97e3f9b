"""WebView: a sink node that serves the live video, the metrics and the hot keys to a browser."""
from __future__ import annotations

import ipaddress
import logging
import socket
from typing import Annotated, Any

from webcam_app import Frame, Node, Role
from webcam_app.params import NonEmpty, Positive, PositiveFloat, Range

from ..keys import press_key
from .hub import FrameHub
from .report import build_report

__all__ = ['WebView', 'is_loopback', 'open_socket']

log = logging.getLogger(__name__)

Port = Annotated[int, Range(0, 65535)]      # 0: any free port (the log says which)
Quality = Annotated[int, Range(1, 100)]     # JPEG quality


def is_loopback(host: str) -> bool:
    """Whether ``host`` can be reached from this machine only."""
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host.strip('[]')).is_loopback
    except ValueError:
        return False


def open_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: a free one). Raises ValueError, with a fix."""
    host = host.strip('[]')
    try:
        family = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=64)
    except OSError as exc:
        raise ValueError(f'cannot serve on {host or "*"}:{port}: {exc.strerror or exc}; fix: '
                         'choose another port (--serve PORT, or port: in the graph) or host'
                         ) from exc


class WebView(Node):
    """Serve the video, live metrics and hot-key buttons to a browser (MJPEG, JSON, Prometheus).

    Routes: ``/`` (the page), ``/stream.mjpg``, ``/metrics``, ``/metrics/prometheus`` and
    ``POST /key``. With a ``token`` every route needs ``?token=...`` or an
    ``Authorization: Bearer ...`` header. The graph never waits for a viewer: each frame is
    JPEG-encoded at most once (at most ``max_fps`` a second; null: every frame), on a thread of
    its own, and viewers get the newest one.
    """

    inputs = {'frame': 'trigger'}
    outputs = ()
    role = Role.WEB_VIEW   # what --serve attaches, or moves to its address

    def __init__(self, port: Port = 8080, host: str = '127.0.0.1', token: NonEmpty | None = None,
                 quality: Quality = 80, max_fps: PositiveFloat | None = 30.0,
                 max_clients: Positive = 16, stall_timeout: PositiveFloat = 10.0) -> None:
        self.port, self.host, self.token = port, host, token
        self.quality, self.max_fps = quality, max_fps
        self.max_clients, self.stall_timeout = max_clients, stall_timeout
        self.url = ''
        self._sock: socket.socket | None = None
        self._hub: FrameHub | None = None
        self._server: Any = None

    def check(self) -> None:
        try:
            import aiohttp  # noqa: F401
        except ImportError as exc:
            raise ValueError("WebView needs the web extra; fix: pip install -e '.[web]' "
                             '(tools/install.sh installs it)') from exc
        # a busy port is reported before any thread starts; setup binds it again (a graph that
        # is checked but never run, such as one that falls back, holds no port)
        open_socket(self.host, self.port).close()

    def setup(self) -> None:
        from .server import WebServer   # aiohttp is imported only when a WebView runs
        self._sock = open_socket(self.host, self.port)
        host, port = self._sock.getsockname()[:2]
        shown = f'[{host}]' if ':' in host else host
        self.url = f'http://{shown}:{port}/'
        if not is_loopback(self.host) and self.token is None:
            log.warning('%s: serving on %s without a token: anyone who can reach this machine '
                        'can watch and press keys; fix: --serve-token TOKEN, or an SSH tunnel '
                        'to a 127.0.0.1 bind', self.name, self.url)
        self._hub = FrameHub(self.quality, self.max_fps)
        self._server = WebServer(self._sock, self._hub, self.report, self.press, self.token,
                                 self.max_clients, self.stall_timeout, self.name,
                                 local_only=self.token is None and is_loopback(self.host))
        self._hub.start(self.name)
        try:
            self._server.start()
        except BaseException:
            self.close()
            raise
        log.info('%s: watch at %s%s', self.name, self.url,
                 '?token=...' if self.token else '')

    def process(self, frame: Frame) -> None:
        if frame.image is not None:
            self._hub.publish(frame.image)

    def press(self, key: str) -> bool:
        """A key from the page: exactly what the same key does in the window."""
        return press_key(self.events, key, via='web')

    def report(self) -> dict[str, Any]:
        """The ``/metrics`` JSON: the run's metrics, hot keys and the web view's counters."""
        metrics = self.context.metrics
        web = {**self._hub.stats(), **self._server.stats()} if self._server else {}
        return build_report(metrics.snapshot() if metrics is not None else None,
                            self.context.graph_name, self.context.mode, self.context.hotkeys,
                            web)

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self._hub is not None:
            self._hub.close()
        if self._sock is not None:
            self._sock.close()
