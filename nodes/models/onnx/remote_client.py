"""The clients of ``backend: remote``: server URLs, clients, one inference request, and the
thread that runs requests so that a hung one never holds up the node that waits for it.

Requests go through ``KServeHttp`` (``http://``, standard library) or tritonclient's gRPC client
(``grpc://``); the checks before start ask through tritonclient, HTTP or gRPC. tritonclient is
imported here only, and only when a client is made.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

import numpy as np

from .kserve_http import KServeHttp

__all__ = ['RemoteError', 'RemoteModel', 'RequestCancelled', 'RequestThread', 'ServerUnavailable',
           'infer', 'is_transient', 'make_client', 'make_request_client', 'parse_server',
           'queue_stats']

log = logging.getLogger(__name__)

_SCHEMES = {'http': 8000, 'grpc': 8001}
#: what a server says while it starts, restarts or loads the model: try again later
_TRANSIENT_STATUS = ('502', '503', '504', 'StatusCode.UNAVAILABLE',
                     'StatusCode.DEADLINE_EXCEEDED', 'StatusCode.RESOURCE_EXHAUSTED',
                     'StatusCode.ABORTED')
_TRANSIENT_WORDS = ('not ready', 'unknown model', 'not found', 'unavailable',
                    'no available version', 'failed to connect', 'connection', 'deadline',
                    'socket closed', 'timed out', 'timeout', 'is not loaded', 'shutting down')


class RemoteError(RuntimeError):
    """The server failed for good (replay: it stayed away past ``timeout``): the node fails."""


class ServerUnavailable(RuntimeError):
    """Live mode: the server is away now; the frame goes on without this model's results."""


class RequestCancelled(RuntimeError):
    """The run is stopping: the request was given up."""


@dataclass
class RemoteModel:
    """A model on a server, as ``check()`` found it."""

    url: str                      # as the user gave it, for messages
    protocol: str                 # 'http' or 'grpc'
    address: str                  # host:port
    name: str                     # the server's model name
    sidecar: dict[str, Any]
    input_name: str = 'input'
    output_names: list[str] = field(default_factory=list)
    max_batch_size: int = 0       # 0: the server takes one fixed-size batch
    sidecar_from: str = ''        # where the sidecar came from, for the log


def parse_server(url: str) -> tuple[str, str]:
    """``http://host:8000`` or ``grpc://host:8001`` -> (protocol, 'host:port'); ValueError."""
    parts = urlsplit(str(url))
    if parts.scheme not in _SCHEMES or not parts.hostname or parts.path not in ('', '/'):
        raise ValueError(f'server must be http://HOST:PORT or grpc://HOST:PORT (KServe v2 HTTP or '
                         f'gRPC, e.g. http://127.0.0.1:8000), but got {url!r}')
    try:
        port = parts.port or _SCHEMES[parts.scheme]
    except ValueError:
        raise ValueError(f'server {url!r}: the port must be a number from 1 to 65535') from None
    host = f'[{parts.hostname}]' if ':' in parts.hostname else parts.hostname
    return parts.scheme, f'{host}:{port}'


def make_client(protocol: str, address: str, timeout: float) -> Any:
    """A tritonclient client; its own timeouts end a request that hangs."""
    if protocol == 'grpc':
        import tritonclient.grpc as grpcclient
        return grpcclient.InferenceServerClient(address)
    import tritonclient.http as httpclient
    return httpclient.InferenceServerClient(address, connection_timeout=min(timeout, 2.0),
                                            network_timeout=timeout)


def make_request_client(protocol: str, address: str, timeout: float) -> Any:
    """The client that sends inference requests: ``KServeHttp`` over HTTP, tritonclient over
    gRPC."""
    if protocol == 'grpc':
        return make_client(protocol, address, timeout)
    return KServeHttp(address, timeout)


def client_module(protocol: str) -> Any:
    if protocol == 'grpc':
        import tritonclient.grpc as module
    else:
        import tritonclient.http as module
    return module


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` means the server is away for now (down, restarting, loading the model,
    overloaded), not that the request itself is wrong."""
    if isinstance(exc, (OSError, TimeoutError, EOFError)) or 'Timeout' in type(exc).__name__:
        return True
    status = getattr(exc, 'status', None)
    if callable(status) and str(status()) in _TRANSIENT_STATUS:
        return True
    message = getattr(exc, 'message', None)
    text = str(message() if callable(message) else exc).lower()
    return any(word in text for word in _TRANSIENT_WORDS)


def infer(client: Any, model: RemoteModel, batch: np.ndarray) -> list[np.ndarray]:
    """One request: ``batch`` (float32 NCHW) in, the model's outputs in its sidecar's order."""
    if model.protocol != 'grpc':
        return client.infer(model.name, model.input_name, batch, model.output_names)
    module = client_module(model.protocol)
    tensor = module.InferInput(model.input_name, list(batch.shape), 'FP32')
    tensor.set_data_from_numpy(np.ascontiguousarray(batch, np.float32))
    wanted = [module.InferRequestedOutput(n) for n in model.output_names]
    result = client.infer(model.name, [tensor], outputs=wanted, client_timeout=_timeout_of(client))
    return [result.as_numpy(n) for n in model.output_names]


def _timeout_of(client: Any) -> float | None:
    return getattr(client, 'webcam_app_timeout', None)


def queue_stats(client: Any, model: RemoteModel) -> tuple[int, int]:
    """(requests queued, total ns in the queue) so far, from Triton's statistics extension."""
    if model.protocol == 'grpc':
        stats = client.get_inference_statistics(model.name, as_json=True,
                                                client_timeout=_timeout_of(client))
    else:
        stats = client.get_inference_statistics(model.name)
    for entry in stats.get('model_stats', ()):
        if entry.get('name') == model.name:
            queue = entry.get('inference_stats', {}).get('queue', {})
            return int(queue.get('count', 0)), int(queue.get('ns', 0))
    raise LookupError(f'no statistics for {model.name!r}')


class RequestThread:
    """A daemon thread that owns one client and runs one job at a time.

    One lock (the condition's) guards ``_job``, ``_result`` and ``usable``. A waiter that gives
    up (stop, or no answer in time) marks the thread unusable: it ends after its current job,
    and the engine makes a new one. Its daemon flag lets the process exit during a hung request.
    """

    def __init__(self, model: RemoteModel, timeout: float) -> None:
        self.model, self.timeout = model, timeout
        self.usable = True
        self._cond = threading.Condition()
        self._job: Callable[[Any], Any] | None = None
        self._result: tuple[bool, Any] | None = None
        self._thread = threading.Thread(target=self._loop, name=f'remote:{model.name}',
                                        daemon=True)
        self._thread.start()

    def run(self, job: Callable[[Any], Any], wait_s: float, cancelled: threading.Event) -> Any:
        """``job(client)`` on the thread; its value, or its exception raised here."""
        with self._cond:
            if not self.usable:
                raise RequestCancelled(self.model.url)
            self._job, self._result = job, None
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._result is not None or cancelled.is_set(), wait_s)
            result, self._result = self._result, None
            if result is None:
                self.usable = False
                self._cond.notify_all()
        if result is None:
            if cancelled.is_set():
                raise RequestCancelled(self.model.url)
            raise TimeoutError(f'no answer within {wait_s:g} s')
        ok, value = result
        if ok:
            return value
        raise value

    def cancel(self) -> None:
        """Wake the waiter (which sees its cancelled event)."""
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.usable = False
            self._cond.notify_all()

    def _loop(self) -> None:
        client = None
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._job is not None or not self.usable)
                    if not self.usable:
                        return
                    job, self._job = self._job, None
                try:
                    if client is None:
                        client = make_request_client(self.model.protocol, self.model.address,
                                                     self.timeout)
                        client.webcam_app_timeout = self.timeout
                    result = (True, job(client))
                except BaseException as exc:      # a gevent Timeout is a BaseException
                    result = (False, exc)
                    if is_transient(exc):       # a new connection next time
                        client = _closed(client)
                with self._cond:
                    if not self.usable:
                        return
                    self._result = result
                    self._cond.notify_all()
        finally:
            _closed(client)


def _closed(client: Any) -> None:
    if client is not None:
        try:
            client.close()
        except Exception as exc:
            log.debug('closing a client: %s', exc)
    return None
