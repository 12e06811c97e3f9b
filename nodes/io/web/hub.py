"""The latest frame as JPEG, encoded once on a thread of its own, for any number of clients."""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

import cv2
import numpy as np

__all__ = ['FrameHub']

log = logging.getLogger(__name__)

_JOIN_TIMEOUT_S = 1.0


class FrameHub:
    """Takes frames from the graph without ever waiting, and encodes the newest one for clients.

    ``publish`` (the graph's thread) only swaps a reference: a frame not yet encoded when the next
    one arrives is dropped and counted (drop-oldest, one slot). The encoder thread encodes each
    frame it takes once, only while a client watches, and at most ``max_fps`` times a second;
    then it calls every listener (the web server, which wakes its clients). All counters and
    slots are guarded by ``_lock``.
    """

    def __init__(self, quality: int = 80, max_fps: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``clock``: the monotonic clock ``max_fps`` counts on (tests pass a fake one)."""
        self.quality, self._clock = quality, clock
        self._period = 1.0 / max_fps if max_fps else 0.0
        self._next_at = 0.0        # monotonic time before which nothing more is encoded
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)   # new frame, a client came, or closed
        self._raw: np.ndarray | None = None
        self._jpeg: bytes | None = None
        self._seq = 0               # id of the newest encoded frame (1, 2, ...)
        self._watchers = 0
        self._closed = False
        self.published = self.encoded = self.skipped = 0
        self.listeners: list[Callable[[], None]] = []
        self._thread: threading.Thread | None = None

    def start(self, name: str = 'web') -> None:
        self._thread = threading.Thread(target=self._encode_loop, name=f'{name}:jpeg',
                                        daemon=True)
        self._thread.start()

    def publish(self, image: np.ndarray) -> None:
        """Offer the newest picture (read-only, never copied). Never blocks on clients."""
        with self._changed:
            if self._raw is not None and self._watchers:   # replaced before anyone saw it
                self.skipped += 1
            self._raw = image
            self.published += 1
            self._changed.notify()

    def latest(self) -> tuple[int, bytes | None]:
        """(sequence number, JPEG bytes) of the newest encoded frame; (0, None) before any."""
        with self._lock:
            return self._seq, self._jpeg

    def watch(self, delta: int) -> None:
        """A client starts (+1) or stops (-1) watching; with none, nothing is encoded."""
        with self._changed:
            self._watchers += delta
            self._changed.notify()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {'frames_in': self.published, 'frames_encoded': self.encoded,
                    'frames_skipped': self.skipped}

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(_JOIN_TIMEOUT_S)

    def _take(self) -> np.ndarray | None:
        """The next frame to encode (a watcher waits, and ``max_fps`` allows it), or None once
        closed."""
        with self._changed:
            while not self._closed:
                if self._raw is None or self._watchers == 0:
                    self._changed.wait()
                    continue
                remaining = self._next_at - self._clock()
                if remaining > 0:
                    self._changed.wait(remaining)   # newer frames may replace it meanwhile
                    continue
                image, self._raw = self._raw, None
                self._next_at = self._clock() + self._period
                return image
            return None

    def _encode_loop(self) -> None:
        params = [cv2.IMWRITE_JPEG_QUALITY, self.quality]
        while True:
            image = self._take()
            if image is None:
                return
            try:
                ok, data = cv2.imencode('.jpg', image, params)   # releases the GIL
            except cv2.error:
                ok = False
            if not ok:
                log.warning('could not encode a %s frame as JPEG', image.shape)
                continue
            with self._lock:
                self._jpeg, self._seq = data.tobytes(), self._seq + 1
                self.encoded += 1
            for listener in list(self.listeners):
                try:
                    listener()
                except Exception:
                    log.exception('frame listener %r failed', listener)
