"""A camera or stream read on its own thread: always the newest frame, instant reconnects, and a
read stuck on a frozen stream never holds up shutdown."""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

import cv2
import numpy as np

from webcam_app import ExitCode, WebcamAppError

__all__ = ['LiveCapture', 'SourceLost']

log = logging.getLogger(__name__)


class SourceLost(WebcamAppError):
    """A live source gave no frame for too long, reconnects included: the run ends with exit 3."""

    exit_code = ExitCode.SOURCE_LOST


class LiveCapture:
    """Reads ``open_capture()`` (a ``cv2.VideoCapture``) on a daemon thread.

    ``read()`` returns the newest frame not yet returned, waiting for it. When the capture fails
    (no frame, or it will not open), the thread opens it again at once, then every
    ``retry_interval`` seconds: a stream that comes back is picked up within that interval.
    After ``lost_after`` seconds without a frame, ``read()`` raises ``SourceLost``.

    ``close()`` never waits for a read stuck in the capture (a frozen stream): the thread is a
    daemon, releases the capture itself when the read returns, and delivers nothing more.
    """

    def __init__(self, name: str, open_capture: Callable[[], Any], retry_interval: float = 0.25,
                 lost_after: float = 10.0,
                 pause: Callable[[float], bool] | None = None) -> None:
        """``pause(seconds)`` waits between reconnect attempts and says whether it was closed
        meanwhile (tests pass their own)."""
        self.name, self.open_capture = name, open_capture
        self.retry_interval, self.lost_after = retry_interval, lost_after
        self.pause = pause or self._pause
        self.reconnects = 0
        # One lock guards every field below; _changed wakes read() on a frame, an error or close.
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._frame: tuple[np.ndarray, float, float | None] | None = None
        self._error: SourceLost | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    def start(self, capture: Any = None) -> 'LiveCapture':
        """Start reading; ``capture``: one already opened (by a check), else one is opened."""
        self._thread = threading.Thread(target=self._run, args=(capture,), daemon=True,
                                        name=f'capture:{self.name}')
        self._thread.start()
        return self

    def read(self) -> tuple[np.ndarray, float, float | None] | None:
        """``(image, capture_time, position_ms)`` of the newest unread frame; None once closed.

        Raises:
            SourceLost: no frame came for ``lost_after`` seconds.
        """
        with self._changed:
            self._changed.wait_for(lambda: self._frame or self._error or self._closed)
            if self._closed:
                return None
            if self._error is not None:
                raise self._error
            frame, self._frame = self._frame, None
            return frame

    def close(self, timeout: float = 0.2) -> None:
        """Stop reading and wake ``read()``; waits at most ``timeout`` s for the thread."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.info('%s: a read is still blocked in the capture; abandoning it', self.name)

    # -- the reader thread ---------------------------------------------------------------------
    def _run(self, cap: Any) -> None:
        last_frame = time.monotonic()
        failures = 0
        if cap is None:
            cap = self.open_capture()
        try:
            while not self._closed:
                if cap is None:
                    cap = self._reopen(failures)
                    failures += 1
                ok, image = cap.read() if cap is not None else (False, None)
                now = time.monotonic()
                if ok and image is not None:
                    if failures:
                        log.info('%s: frames flow again after %d reconnect attempts',
                                 self.name, failures)
                    failures, last_frame = 0, now
                    self._deliver((image, now, _position_ms(cap)))
                    continue
                if cap is not None:
                    cap.release()
                    cap = None
                if now - last_frame >= self.lost_after:
                    self._fail(f'no frame for {now - last_frame:.1f} s after '
                               f'{self.reconnects} reconnect attempts')
                    return
        except Exception as exc:     # the capture itself broke: report it, never hang the read
            self._fail(f'the capture failed ({type(exc).__name__}: {exc})')
        finally:
            if cap is not None:
                cap.release()

    def _reopen(self, failures: int) -> Any:
        """Open again: at once after the first failure, then every ``retry_interval`` s."""
        if failures:
            if self.pause(self.retry_interval):
                return None
        else:
            log.warning('%s: the source stopped delivering frames; reconnecting', self.name)
        self.reconnects += 1
        cap = self.open_capture()
        if cap.isOpened():
            return cap
        cap.release()
        return None

    def _pause(self, seconds: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._closed, seconds)

    def _deliver(self, frame: tuple[np.ndarray, float, float | None]) -> None:
        with self._changed:
            if self._closed:
                return
            self._frame = frame
            self._changed.notify_all()

    def _fail(self, why: str) -> None:
        error = SourceLost(f'{self.name}: {why}: the source is lost\n  fix: '
                           'check the camera or stream, or wait longer for it with lost_after '
                           '(e.g. --set source.lost_after=60)')
        with self._changed:
            self._error = error
            self._changed.notify_all()


def _position_ms(cap: Any) -> float | None:
    pos = cap.get(cv2.CAP_PROP_POS_MSEC)
    return pos if pos and pos > 0 else None
