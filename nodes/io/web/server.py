"""The HTTP side of the web view: an aiohttp app on its own thread and event loop."""
from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from aiohttp import web

from .hub import FrameHub
from .report import prometheus_text

__all__ = ['WebServer']

log = logging.getLogger(__name__)

_PAGE = Path(__file__).with_name('page.html')
_BOUNDARY = 'frame'
_START_TIMEOUT_S = 5.0
_SHUTDOWN_TIMEOUT_S = 0.3   # then aiohttp cancels the handlers that are still busy
_KEY_NAMES = {'Escape': '\x1b', 'Esc': '\x1b', 'ESC': '\x1b'}


@dataclass(eq=False)
class _Client:
    """One MJPEG viewer. Its slot is the hub's newest frame: it is sent what is newest when it is
    ready, and what it missed meanwhile is counted."""

    peer: str
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    seq: int = 0
    sent: int = 0
    dropped: int = 0


class WebServer:
    """Serves ``/``, ``/stream.mjpg``, ``/metrics``, ``/metrics/prometheus`` and ``POST /key``.

    ``report()`` returns the metrics dict and ``press(key)`` acts on a key (False: unknown key);
    both are called on the server's thread. Everything the handlers share lives on that
    thread's event loop, so it needs no lock; other threads reach it via ``call_soon_threadsafe``.
    With ``local_only`` (a loopback bind without token) a request must name the server by
    address or as localhost, so that no web site can reach it by pointing a name at 127.0.0.1.
    """

    def __init__(self, sock: socket.socket, hub: FrameHub, report: Callable[[], dict],
                 press: Callable[[str], bool], token: str | None = None, max_clients: int = 16,
                 stall_timeout: float = 10.0, name: str = 'web', local_only: bool = False) -> None:
        self.sock, self.hub, self.report, self.press = sock, hub, report, press
        self.token, self.max_clients, self.stall_timeout = token, max_clients, stall_timeout
        self.local_only = local_only   # answer only Host: localhost or an address
        self.name = name
        self.clients: set[_Client] = set()
        self.served = self.client_drops = self.stalled = 0   # ended clients' totals
        self._part: tuple[int, bytes] = (0, b'')
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._closing = False
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f'{name}:http', daemon=True)

    # -- other threads -------------------------------------------------------------------------
    def start(self) -> None:
        """Start serving; raises what the server failed with."""
        self.hub.listeners.append(self._frame_ready)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise RuntimeError(f'the web server did not start within {_START_TIMEOUT_S} s')
        if self._error is not None:
            raise self._error

    def stop(self, timeout: float = 1.5) -> None:
        """Close every connection and stop the thread (within about ``timeout`` seconds)."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:   # the loop has just closed
                pass
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning('%s: the web server did not stop within %.1f s', self.name, timeout)

    def _frame_ready(self) -> None:   # on the hub's encoder thread
        loop = self._loop
        if loop is not None and not self._closing:
            try:
                loop.call_soon_threadsafe(self._wake_all)
            except RuntimeError:   # the loop closed meanwhile
                pass

    # -- the server's thread -------------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:   # reported to start(), or logged once running
            if not self._ready.is_set():
                self._error = exc
                self._ready.set()
            else:
                log.exception('%s: the web server failed', self.name)

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        app = web.Application(middlewares=[self._auth])
        app.router.add_get('/', self._page)
        app.router.add_get('/stream.mjpg', self._stream)
        app.router.add_get('/metrics', self._metrics)
        app.router.add_get('/metrics/prometheus', self._prometheus)
        app.router.add_post('/key', self._key)
        runner = web.AppRunner(app, handle_signals=False, access_log=None,
                               shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        try:
            await web.SockSite(runner, self.sock).start()
            self._ready.set()
            await self._stop.wait()
        finally:
            self._closing = True
            self._wake_all()
            await runner.cleanup()

    def _wake_all(self) -> None:
        for client in self.clients:
            client.wake.set()

    @web.middleware
    async def _auth(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        if self.local_only and not _local_name(request.url.host or ''):
            # a page from another site whose name was made to point here (DNS rebinding)
            raise web.HTTPForbidden(text='without a token, this server answers only to '
                                         'addresses such as 127.0.0.1 or localhost\n')
        if self.token is not None:
            given = request.query.get('token', '')
            header = request.headers.get('Authorization', '')
            if header.startswith('Bearer '):
                given = header[len('Bearer '):]
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                raise web.HTTPUnauthorized(
                    text='a token is required: add ?token=TOKEN to the address, or send the '
                         'header "Authorization: Bearer TOKEN"\n',
                    headers={'WWW-Authenticate': 'Bearer'})
        return await handler(request)

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(body=_PAGE.read_bytes(), content_type='text/html',
                            headers={'Cache-Control': 'no-store'})

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.json_response(self.report(), headers={'Cache-Control': 'no-store'})

    async def _prometheus(self, request: web.Request) -> web.Response:
        text, content_type = prometheus_text(self.report())
        return web.Response(body=text, headers={'Content-Type': content_type,
                                                'Cache-Control': 'no-store'})

    async def _key(self, request: web.Request) -> web.Response:
        # JSON only: a form on another site cannot send it without asking (CORS preflight)
        if request.content_type != 'application/json':
            raise web.HTTPUnsupportedMediaType(text='send {"key": "m"} as application/json\n')
        try:
            body = await request.json()
            key = body['key']
        except (ValueError, KeyError, TypeError):
            raise web.HTTPBadRequest(text='send {"key": "m"} as application/json\n') from None
        key = _KEY_NAMES.get(key, key) if isinstance(key, str) else ''
        if not self.press(key):
            raise web.HTTPBadRequest(text=f'unknown key {body["key"]!r}\n')
        return web.json_response({'key': body['key']})

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        if len(self.clients) >= self.max_clients:
            raise web.HTTPServiceUnavailable(text=f'{self.max_clients} viewers already watch; '
                                                  'the limit is WebView.max_clients\n')
        response = web.StreamResponse(headers={
            'Content-Type': f'multipart/x-mixed-replace; boundary={_BOUNDARY}',
            'Cache-Control': 'no-store', 'Pragma': 'no-cache'})
        client = _Client(str(request.remote))
        self.clients.add(client)          # before any await: the limit holds for concurrent viewers
        self.hub.watch(+1)
        try:
            await response.prepare(request)
            log.info('%s: viewer %s connected (%d watching)', self.name, client.peer,
                     len(self.clients))
            await self._send_frames(client, response)
        except asyncio.TimeoutError:
            self.stalled += 1
            log.info('%s: viewer %s read nothing for %.0f s: disconnected', self.name,
                     client.peer, self.stall_timeout)
            if request.transport is not None:
                request.transport.abort()
        except (ConnectionError, RuntimeError) as exc:   # the viewer went away
            log.debug('%s: viewer %s: %s', self.name, client.peer, exc)
        finally:
            self.clients.discard(client)
            self.hub.watch(-1)
            self.served += 1
            self.client_drops += client.dropped + _behind(client, self.hub.latest()[0])
            log.info('%s: viewer %s left after %d frames', self.name, client.peer, client.sent)
        return response

    async def _send_frames(self, client: _Client, response: web.StreamResponse) -> None:
        while not self._closing:
            client.wake.clear()
            seq, jpeg = self.hub.latest()
            if jpeg is None or seq == client.seq:
                await client.wake.wait()
                continue
            if client.seq:
                client.dropped += seq - client.seq - 1
            client.seq = seq
            await asyncio.wait_for(response.write(self._part_of(seq, jpeg)), self.stall_timeout)
            client.sent += 1

    def _part_of(self, seq: int, jpeg: bytes) -> bytes:
        """One multipart part, built once per frame for every client."""
        if self._part[0] != seq:
            head = (f'--{_BOUNDARY}\r\nContent-Type: image/jpeg\r\n'
                    f'Content-Length: {len(jpeg)}\r\n\r\n').encode()
            self._part = (seq, head + jpeg + b'\r\n')
        return self._part[1]

    def stats(self) -> dict[str, Any]:
        """Viewer counters (read on the server's thread, or racily but harmlessly elsewhere)."""
        live, newest = list(self.clients), self.hub.latest()[0]
        behind = sum(c.dropped + _behind(c, newest) for c in live)
        return {'viewers': len(live), 'viewers_served': self.served + len(live),
                'viewer_drops': self.client_drops + behind, 'viewers_stalled': self.stalled}


def _behind(client: _Client, newest: int) -> int:
    """Frames newer than what the client was last sent, that it has not been sent yet."""
    return max(0, newest - client.seq - 1) if client.seq else 0


def _local_name(host: str) -> bool:
    """Whether a request's Host names this machine by address, or as localhost."""
    if host == 'localhost':
        return True
    try:
        ipaddress.ip_address(host.strip('[]'))
        return True
    except ValueError:
        return False
