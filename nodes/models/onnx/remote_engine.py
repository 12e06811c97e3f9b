"""The ``remote`` engine: a model on an inference server, over the KServe v2 protocol (Triton,
OpenVINO Model Server, KServe), through tritonclient (HTTP or gRPC).

``RemoteEngine(model)(batch)`` sends the batch (all crops of a frame) in one request and returns
the outputs, as every engine does. When the server goes away:

* live: the call raises ``ServerUnavailable`` at once, so the node passes its frame on without
  results; a request is tried again every ``RETRY_S`` s, so results are back within a second of
  the server's;
* replay: the call waits and tries again until ``timeout`` s have passed without an answer,
  then raises ``RemoteError`` (the node fails: exit 1, naming the server). Nothing is skipped.

A request runs on a thread of the engine's own (``RequestThread``). ``interrupt()`` (the run
stops) tries nothing more, gives a request in flight ``GRACE_S`` to answer, so the drain keeps
its frame, then ends the wait even while the request hangs (``RequestCancelled``).
"""
from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any

import numpy as np

from .remote_client import (RemoteError, RemoteModel, RequestCancelled, RequestThread,
                            ServerUnavailable, infer, is_transient, queue_stats)

__all__ = ['RETRY_S', 'RemoteEngine', 'RemoteError', 'RequestCancelled', 'ServerUnavailable']

log = logging.getLogger(__name__)

#: how often a server that went away is tried again
RETRY_S = 0.25
#: how long a request in flight may still answer once the run stops (the drain takes 1 s)
GRACE_S = 0.5
#: how often the server's queue time is asked for (Triton's statistics extension)
STATS_EVERY_S = 2.0
_WINDOW = 512


def _percentile(samples: Any, q: float) -> float:
    data = sorted(samples)
    return data[min(len(data) - 1, round(q / 100 * (len(data) - 1)))] if data else 0.0


class RemoteEngine:
    """``engine(batch) -> outputs`` on a server; see the module's docstring."""

    precision = 'f32'       # what goes over the wire; the server's config says how it runs

    def __init__(self, model: RemoteModel, live: bool, timeout: float = 10.0) -> None:
        self.model, self.live, self.timeout = model, bool(live), float(timeout)
        self.url = model.url
        self._stopping = threading.Event()     # the run stops: no new tries
        self._cancelled = threading.Event()    # ... and now no more waiting either
        self._thread: RequestThread | None = None
        self._lock = threading.Lock()   # guards the counters below against stats() readers
        self._request_s: collections.deque = collections.deque(maxlen=_WINDOW)
        self.retries = self.failures = self.reconnects = self.requests = 0
        self.queue_ms: float | None = None    # mean server queue time, where the server says
        self.down_since: float | None = None
        self.down_reason = ''
        self._next_try = 0.0
        self._stats_at = 0.0
        self._queue_seen: tuple[int, int] | None = None   # (count, ns) last read
        self._queue_reported = True

    # -- the engine ------------------------------------------------------------------------------
    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        limit = self.model.max_batch_size
        if not limit or len(batch) <= limit:
            return self._request(batch)
        parts = [self._request(batch[i:i + limit]) for i in range(0, len(batch), limit)]
        return [np.concatenate(outs) for outs in zip(*parts)]

    def _request(self, batch: np.ndarray) -> list[np.ndarray]:
        give_up = time.monotonic() + self.timeout
        while True:
            if self._cancelled.is_set() or (self._stopping.is_set() and self.down):
                raise RequestCancelled(self.url)
            now = time.monotonic()
            if self.live and self.down_since is not None and now < self._next_try:
                raise ServerUnavailable(self.down_reason)
            start = now
            try:
                outputs = self._call(batch)
            except RequestCancelled:
                raise
            except Exception as exc:
                if not is_transient(exc):
                    raise RemoteError(f'{self.url}: model {self.model.name!r} failed: '
                                      f'{_said(exc)}') from exc
                self._went_down(exc)
                if self.live:
                    raise ServerUnavailable(self.down_reason) from exc
                left = give_up - time.monotonic()
                if left <= 0:
                    raise RemoteError(
                        f'{self.url} gave no answer for {self.timeout:g} s (timeout): '
                        f'{self.down_reason}; start the server, or raise timeout:') from exc
                with self._lock:
                    self.retries += 1
                if self._stopping.wait(min(RETRY_S, left)):
                    raise RequestCancelled(self.url) from exc
                continue
            self._answered(time.monotonic() - start)
            return outputs

    def _call(self, batch: np.ndarray) -> list[np.ndarray]:
        if self._thread is None or not self._thread.usable:
            self._thread = RequestThread(self.model, self.timeout)
        # the client's own timeouts end a hung request; the margin only guards against one that
        # ignores them (the thread is then left behind, and a new one made)
        outputs = self._thread.run(lambda client: infer(client, self.model, batch),
                                   self.timeout + 2.0, self._cancelled)
        now = time.monotonic()
        if self._queue_reported and now >= self._stats_at:
            self._stats_at = now + STATS_EVERY_S
            self._read_queue_time()
        return outputs

    def _read_queue_time(self) -> None:
        try:
            count, ns = self._thread.run(lambda client: queue_stats(client, self.model),
                                         self.timeout, self._cancelled)
        except RequestCancelled:
            raise
        except Exception as exc:     # OVMS, or statistics not allowed: not reported
            log.debug('%s: no queue statistics: %s', self.url, exc)
            self._queue_reported = False
            return
        if self._queue_seen is not None and count > self._queue_seen[0]:
            mean = (ns - self._queue_seen[1]) / (count - self._queue_seen[0]) / 1e6
            with self._lock:
                self.queue_ms = mean
        self._queue_seen = (count, ns)

    def _went_down(self, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self.failures += 1
            first = self.down_since is None
            if first:
                self.down_since = now
            self.down_reason = f'server {self.url} is unavailable ({_said(exc)})'
        self._next_try = now + RETRY_S
        if first:
            then = ('frames pass on without results until it is back' if self.live else
                    f'waiting up to {self.timeout:g} s for it (timeout)')
            log.warning('%s: %s', self.down_reason, then)

    def _answered(self, seconds: float) -> None:
        with self._lock:
            self._request_s.append(seconds)
            self.requests += 1
            if self.down_since is None:
                return
            away, self.down_since = time.monotonic() - self.down_since, None
            self.reconnects += 1
        log.warning('server %s answers again (away %.1f s)', self.url, away)

    # -- what the node asks ----------------------------------------------------------------------
    @property
    def down(self) -> bool:
        return self.down_since is not None

    def stats(self) -> dict[str, Any]:
        """Request time p50/p95 (ms), server queue time (ms, where reported), requests, retries,
        failures and reconnects; ``server_down`` while the server is away."""
        with self._lock:
            times = list(self._request_s)
            out: dict[str, Any] = {
                'server': self.url, 'requests': self.requests,
                'request_ms_p50': round(_percentile(times, 50) * 1e3, 3),
                'request_ms_p95': round(_percentile(times, 95) * 1e3, 3),
                'retries': self.retries, 'failures': self.failures,
                'reconnects': self.reconnects, 'server_down': self.down_since is not None}
            if self.queue_ms is not None:
                out['server_queue_ms'] = round(self.queue_ms, 3)
        return out

    def interrupt(self, grace: float = GRACE_S) -> None:
        """The run stops: try nothing more, and end a request in flight after ``grace`` s;
        thread-safe, returns at once."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        timer = threading.Timer(grace, self._cancel_now)
        timer.daemon = True
        timer.start()

    def _cancel_now(self) -> None:
        self._cancelled.set()
        thread = self._thread
        if thread is not None:
            thread.cancel()

    def close(self) -> None:
        self._stopping.set()
        self._cancel_now()
        if self._thread is not None:
            self._thread.close()
            self._thread = None


def _said(exc: BaseException) -> str:
    """What the server (or the connection) said, in one line."""
    message = getattr(exc, 'message', None)
    text = message() if callable(message) else str(exc)
    return ' '.join(str(text or type(exc).__name__).split())[:300]
