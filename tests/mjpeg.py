"""Test and benchmark clients of the web view: a reading MJPEG viewer, one that never reads."""
from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import cv2
import numpy as np

__all__ = ['MjpegViewer', 'StalledViewer', 'get', 'metrics', 'post_key']


def _split(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or '127.0.0.1', parts.port or 80


def get(url: str, path: str, headers: dict[str, str] | None = None,
        timeout: float = 10.0) -> tuple[int, bytes]:
    """(status, body) of a GET on the server at ``url``."""
    conn = http.client.HTTPConnection(*_split(url), timeout=timeout)
    try:
        conn.request('GET', path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def post_key(url: str, key: str, content_type: str = 'application/json',
             token: str | None = None) -> tuple[int, bytes]:
    """Press ``key`` through ``POST /key``; (status, body)."""
    conn = http.client.HTTPConnection(*_split(url), timeout=10)
    headers = {'Content-Type': content_type}
    if token:
        headers['Authorization'] = f'Bearer {token}'
    try:
        conn.request('POST', '/key', body=json.dumps({'key': key}), headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class MjpegViewer:
    """Reads ``/stream.mjpg`` part by part, as a browser or VLC does."""

    def __init__(self, url: str, path: str = '/stream.mjpg', timeout: float = 10.0) -> None:
        self.conn = http.client.HTTPConnection(*_split(url), timeout=timeout)
        self.conn.request('GET', path)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.content_type = self.response.getheader('Content-Type', '')
        self.parts = 0

    def read_jpeg(self) -> bytes:
        """The next JPEG of the stream; raises EOFError when the server has closed it."""
        headers: dict[str, str] = {}
        while True:
            line = self.response.readline()
            if not line:
                raise EOFError('the server closed the stream')
            text = line.decode('latin-1').strip()
            if not text:
                if headers:
                    break
                continue
            if ':' in text:
                key, value = text.split(':', 1)
                headers[key.strip().lower()] = value.strip()
        data = self.response.read(int(headers['content-length']))
        self.parts += 1
        return data

    def read_image(self) -> np.ndarray:
        image = cv2.imdecode(np.frombuffer(self.read_jpeg(), np.uint8), cv2.IMREAD_COLOR)
        assert image is not None, 'a part of the stream is not a JPEG'
        return image

    def at_end(self) -> bool:
        """Read what is left; True once the server has closed the stream."""
        try:
            while True:
                self.read_jpeg()
        except (EOFError, ConnectionError, http.client.IncompleteRead):
            return True

    def close(self) -> None:
        self.conn.close()


class StalledViewer:
    """Asks for the stream, then never reads a byte (a frozen tab, a dead network)."""

    def __init__(self, url: str, path: str = '/stream.mjpg') -> None:
        host, port = _split(url)
        self.sock = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # fills up at once
        self.sock.settimeout(10)
        self.sock.connect((host, port))
        self.sock.sendall(f'GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n'.encode())

    def closed_by_server(self) -> bool:
        """Drain the socket; True once the server has closed it."""
        try:
            while self.sock.recv(1 << 16):
                pass
            return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self) -> None:
        self.sock.close()


def metrics(url: str, token: str | None = None) -> dict[str, Any]:
    status, body = get(url, '/metrics', {'Authorization': f'Bearer {token}'} if token else None)
    assert status == 200, body
    return json.loads(body)
