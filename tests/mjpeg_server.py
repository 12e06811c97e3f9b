"""A real MJPEG-over-HTTP stream on the loopback, for tests and benchmarks of live sources.

It serves ``multipart/x-mixed-replace`` JPEG frames at a fixed rate, like an IP camera, and can
be stopped and restarted on the same port, or frozen (connected, sending nothing).
"""
from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import cv2
import numpy as np

__all__ = ['MjpegServer']

_BOUNDARY = b'frame'


def _numbered(i: int, width: int = 320, height: int = 240) -> np.ndarray:
    image = np.full((height, width, 3), (40, 90, 160), np.uint8)
    cv2.putText(image, str(i), (20, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
    return image


class MjpegServer:
    """Serves ``image_for(i)`` as frame i of ``http://127.0.0.1:PORT/stream.mjpg`` at ``fps``."""

    def __init__(self, fps: float = 30.0,
                 image_for: Callable[[int], np.ndarray] = _numbered) -> None:
        self.fps, self.image_for = fps, image_for
        self.port = _free_port()
        self.url = f'http://127.0.0.1:{self.port}/stream.mjpg'
        self.frozen = threading.Event()     # set: connections stay open, nothing is sent
        self.sent = 0
        self.started_at: float | None = None   # monotonic time of the last start()
        self._jpegs: dict[int, bytes] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._alive = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def jpeg(self, i: int) -> bytes:
        key = i % 64
        if key not in self._jpegs:
            self._jpegs[key] = cv2.imencode('.jpg', self.image_for(key))[1].tobytes()
        return self._jpegs[key]

    def start(self) -> 'MjpegServer':
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:   # quiet
                pass

            def do_GET(self) -> None:
                with owner._lock:
                    owner._sockets.add(self.connection)
                self.send_response(200)
                self.send_header('Content-Type',
                                 f'multipart/x-mixed-replace; boundary={_BOUNDARY.decode()}')
                self.send_header('Cache-Control', 'no-cache')
                self.end_headers()
                owner._stream(self.wfile)

        self._server = ThreadingHTTPServer(('127.0.0.1', self.port), Handler)
        self._server.daemon_threads = True
        self._alive.set()
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={'poll_interval': 0.05},
                                        name='mjpeg-server', daemon=True)
        self._thread.start()
        self.started_at = time.monotonic()
        return self

    def _stream(self, out) -> None:
        period, ticker = 1.0 / self.fps, threading.Event()
        due = time.monotonic()
        while self._alive.is_set():
            if not self.frozen.is_set():
                data = self.jpeg(self.sent)
                try:
                    out.write(b'--' + _BOUNDARY + b'\r\nContent-Type: image/jpeg\r\n'
                              + f'Content-Length: {len(data)}\r\n\r\n'.encode() + data + b'\r\n')
                    out.flush()
                except OSError:
                    return
                self.sent += 1
            due += period
            ticker.wait(max(0.0, due - time.monotonic()))

    def stop(self) -> None:
        """Kill the server and every open connection, as a crashed camera would."""
        self._alive.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._sockets.clear()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> 'MjpegServer':
        return self.start()

    def __exit__(self, *exc) -> None:
        self.frozen.clear()
        self.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
