"""OpenCV's and FFmpeg's own log lines around opening a camera or stream: silenced, unless the
app logs at DEBUG. A stream that is down is opened again 4 times a second, and each attempt would
print ``[tcp @ 0x...] Connection ... refused`` (FFmpeg) and ``VIDEOIO(FFMPEG): backend is
generally available but can't be used`` (OpenCV) around the app's own single warning.

- FFmpeg, inside OpenCV, reads ``OPENCV_FFMPEG_LOGLEVEL`` once, when its backend first opens
  something: :func:`quiet_capture` sets it (to FFmpeg's quiet level) for that open, unless the
  user set it. FFmpeg writes to file descriptor 2 directly, so nothing else could catch it.
- OpenCV's own level can change at any time: it is silent while a capture opens, then restored.
"""
from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager
from typing import Iterator

import cv2

__all__ = ['quiet_capture']

log = logging.getLogger(__name__)

_FFMPEG_LEVEL, _FFMPEG_QUIET = 'OPENCV_FFMPEG_LOGLEVEL', '-8'    # AV_LOG_QUIET
_OPENCV_SILENT = 0             # cv::utils::logging::LOG_LEVEL_SILENT
_lock = threading.Lock()       # guards the three below: captures open on several threads
_quiet = 0                     # opens under way that want the libraries silent
_saved: int | None = None      # OpenCV's level before the first of them
_set_env = False               # whether the first of them set FFmpeg's variable


@contextmanager
def quiet_capture() -> Iterator[None]:
    """Hold while a camera or stream opens: OpenCV and FFmpeg print nothing of their own (the
    app says what went wrong), unless this app logs at DEBUG. FFmpeg's variable is set only
    while opens are under way, so processes started meanwhile do not inherit it."""
    if log.isEnabledFor(logging.DEBUG):
        yield
        return
    global _quiet, _saved, _set_env
    with _lock:
        if not _quiet:
            _saved = cv2.getLogLevel()
            cv2.setLogLevel(_OPENCV_SILENT)
            _set_env = _FFMPEG_LEVEL not in os.environ
            if _set_env:
                os.environ[_FFMPEG_LEVEL] = _FFMPEG_QUIET
        _quiet += 1
    try:
        yield
    finally:
        with _lock:
            _quiet -= 1
            if not _quiet:
                if _saved is not None:
                    cv2.setLogLevel(_saved)
                if _set_env:
                    os.environ.pop(_FFMPEG_LEVEL, None)
