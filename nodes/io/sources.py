"""Video sources: a camera, a video file, a stream URL, one image, or a folder of images."""
from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from webcam_app import EOS, Frame, Node, Role
from webcam_app.params import NonNegative, NonNegativeFloat, Positive, PositiveFloat

from .inputs import IMAGE_EXTENSIONS, input_kind, parse_input
from .library_logs import quiet_capture
from .live_capture import LiveCapture

__all__ = ['IMAGE_EXTENSIONS', 'VideoSource', 'natural_key', 'parse_input']

log = logging.getLogger(__name__)

_MAX_BAD_READS = 10       # consecutive failed reads inside a file before it counts as its end
_OPEN_TIMEOUT_MS = 5000   # for URLs: how long opening a stream may block
_READ_TIMEOUT_MS = 3000   # for URLs: how long a read may block before the stream is reopened
_clock = time.monotonic   # capture times and pacing (tests put a fake clock here)


def natural_key(name: str) -> list[Any]:
    """Sort key that orders 'img2' before 'img10'."""
    return [int(part) if part.isdigit() else part for part in re.split(r'(\d+)', name.lower())]


class VideoSource(Node):
    """Frames from a camera, a video file, a stream URL, an image or a folder of images.

    ``fps``: a video file plays at this rate (``realtime``: at its own rate); a camera is asked
    for it; images get timestamps at it. A camera or stream is read on its own thread
    (``LiveCapture``): when it stops delivering it is reopened at once, then every
    ``retry_interval`` s; after ``lost_after`` s without a frame the run ends with exit code 3.
    """

    inputs: dict = {}
    outputs = ('frame',)
    role = Role.SOURCE   # what --input sets

    def __init__(self, input: str | int = 0, width: Positive | None = None,
                 height: Positive | None = None, fps: PositiveFloat | None = None,
                 loop: bool = False, start: NonNegative = 0, max_frames: NonNegative | None = None,
                 realtime: bool = False, retry_interval: NonNegativeFloat = 0.25,
                 lost_after: PositiveFloat = 10.0) -> None:
        self.kind, self.target = parse_input(input)
        self.input, self.width, self.height, self.fps = input, width, height, fps
        self.loop, self.start, self.max_frames = loop, start, max_frames
        self.realtime = realtime
        self.retry_interval, self.lost_after = retry_interval, lost_after
        self.live = self.kind in ('camera', 'url')
        self.mode_hint = 'live' if self.live or self.realtime else 'replay'
        self.corrupt_frames = 0
        self._cap: Any = None
        self._capture: LiveCapture | None = None   # a camera or stream, read on its own thread
        self._images: list[Path] | None = None   # a single image or a folder's images
        self._path: Path | None = None
        self.total_frames: int | None = None    # known after check() for files and folders
        self._reset_state()

    @classmethod
    def input_kind(cls, value: str) -> str | None:
        return input_kind(value)

    def _reset_state(self) -> None:
        self._emitted = 0          # frames emitted (the next frame_id)
        self._pos = 0              # frames read from the current pass (index into the input)
        self._pass_emitted = 0     # frames emitted during the current pass
        self._bad_reads = 0        # consecutive failed reads
        self._source_fps: float | None = None
        self._t0: float | None = None

    # -- opening -------------------------------------------------------------------------------
    def check(self) -> None:
        if self.kind == 'path':
            self._check_path()
        else:
            self._cap = self._open_capture()
            if not self._cap.isOpened():
                self._cap = None
                raise ValueError(self._open_error())
        self.total_frames = self._count_frames()

    def _count_frames(self) -> int | None:
        """How many frames this source will emit (a progress bar's total), if it can know."""
        if self.live or self.loop:
            return self.max_frames
        count = (len(self._images) if self._images is not None
                 else int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        if count <= 0:   # the container does not say
            return self.max_frames
        count = max(0, count - self.start)
        return count if self.max_frames is None else min(count, self.max_frames)

    def _check_path(self) -> None:
        path = Path(str(self.target)).expanduser()
        if not path.is_absolute():
            path = Path(self.context.graph_dir) / path
        self._path = path
        if path.is_dir():
            images = [p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS
                      and p.is_file() and not p.name.startswith('.')]
            if not images:
                raise ValueError(f'input folder {path} holds no images '
                                 f'({", ".join(IMAGE_EXTENSIONS)}); fix: point --input at a '
                                 'video file or a folder of images')
            self._images = sorted(images, key=lambda p: natural_key(p.name))
        elif path.is_file():
            if path.suffix.lower() in IMAGE_EXTENSIONS:
                self._images = [path]
            else:
                self._cap = self._open_capture()
                if not self._cap.isOpened():
                    self._cap = None
                    raise ValueError(f'cannot open video file {path} (cv2.VideoCapture failed); '
                                     'fix: check that it is a video OpenCV can decode')
        else:
            raise ValueError(f'input not found: {path} (relative paths are resolved against '
                             f'{self.context.graph_dir}); fix: check the path, or pass '
                             '--input with an existing video, image or folder')

    def _open_capture(self) -> Any:
        """A capture of the input; a camera's or stream's opens without OpenCV's and FFmpeg's
        own lines (the app reports a failure, and LiveCapture a reconnect, once)."""
        if self.kind == 'camera':
            with quiet_capture():
                cap = cv2.VideoCapture(int(self.target))
            for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, self.width),
                                (cv2.CAP_PROP_FRAME_HEIGHT, self.height),
                                (cv2.CAP_PROP_FPS, self.fps)):
                if value and cap.isOpened():
                    cap.set(prop, value)
            return cap
        if self.kind == 'url':
            with quiet_capture():
                return cv2.VideoCapture(str(self.target), cv2.CAP_FFMPEG,
                                        [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, _OPEN_TIMEOUT_MS,
                                         cv2.CAP_PROP_READ_TIMEOUT_MSEC, _READ_TIMEOUT_MS])
        return cv2.VideoCapture(str(self._path))

    def _open_error(self) -> str:
        if self.kind == 'camera':
            return (f'no camera found at index {self.target} (cv2.VideoCapture({self.target}) did '
                    'not open); fix: pass --input VIDEO to read a file')
        return (f'cannot open stream {self.target} (cv2.VideoCapture did not open it; timeout '
                f'{_OPEN_TIMEOUT_MS / 1000:.0f} s); fix: check the URL and that the stream is up')

    def setup(self) -> None:
        self._reset_state()
        self.corrupt_frames = 0
        if self._cap is not None:
            fps = self._cap.get(cv2.CAP_PROP_FPS)
            fps = float(fps) if fps and fps > 0 else None
            # a file plays at the fps asked for; a camera was asked for it in _open_capture
            self._source_fps = (self.fps or fps) if not self.live else (fps or self.fps)
            if self.live:
                log.info('%s: %s opened at %dx%d, %s fps', self.name, self.target,
                         self._cap.get(cv2.CAP_PROP_FRAME_WIDTH),
                         self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT), self._source_fps or '?')
                self._capture = LiveCapture(f'{self.name} ({self.target})', self._open_capture,
                                            self.retry_interval, self.lost_after)
                self._capture.start(self._cap)
                self._cap = None   # the capture thread owns it now
        else:
            self._source_fps = self.fps

    def interrupt(self) -> None:   # read() waits on the capture, not in self.wait()
        capture = self._capture
        if capture is not None:
            capture.close(timeout=0)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.close()
            self._capture = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    @property
    def _input_name(self) -> str:
        """The file name that outputs of a whole stream are named after (``clip.mp4``)."""
        if self.kind == 'camera':
            return 'webcam' if self.target == 0 else f'webcam{self.target}'
        if self.kind == 'url':
            return Path(str(self.target).split('?')[0].rstrip('/')).name or 'stream'
        return Path(str(self.target)).name

    # -- reading -------------------------------------------------------------------------------
    def process(self) -> Frame | Any:
        if self.max_frames is not None and self._emitted >= self.max_frames:
            return EOS
        if self._capture is not None:
            got = self._capture.read()    # SourceLost when the stream is gone for good
            if got is None:
                return EOS
            image, captured, source_ms = got
            extra: dict = {}
        else:
            got = self._read_image() if self._images is not None else self._read_capture()
            if got is None:
                return EOS
            image, source_ms, extra = got
            paced = self.realtime or (self.fps and self._images is None)
            if paced and not self._pace():
                return EOS
            captured = _clock()
        meta = {'source_timestamp_ms': source_ms, 'fps': self._source_fps,
                'input': str(self.input), 'input_name': self._input_name, **extra}
        frame = Frame(frame_id=self._emitted, image=image, timestamp=captured, meta=meta)
        self._emitted += 1
        self._pass_emitted += 1
        return frame

    def _new_pass(self) -> bool:
        """At the end of the input: start over if looping (and the last pass gave frames)."""
        if not self.loop or self._pass_emitted == 0:
            return False
        self._pos, self._pass_emitted, self._bad_reads = 0, 0, 0
        return True

    def _read_image(self) -> tuple[np.ndarray, float | None, dict] | None:
        images = self._images
        while True:
            if self._pos < self.start:
                self._pos = self.start
            if self._pos >= len(images) and not self._new_pass():
                return None
            if self._pos >= len(images):
                continue
            path, index = images[self._pos], self._pos
            self._pos += 1
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                self.corrupt_frames += 1
                log.warning('%s: skipping unreadable image %s', self.name, path)
                continue
            source_ms = index * 1000.0 / self._source_fps if self._source_fps else None
            return image, source_ms, {'path': str(path), 'input_name': path.name}

    def _read_capture(self) -> tuple[np.ndarray, float | None, dict] | None:
        while not self.stopping:
            if self._cap is None:
                return None
            ok, image = self._cap.read()
            if ok and image is not None:
                self._pos += 1
                self.corrupt_frames += self._bad_reads   # failures followed by a frame
                self._bad_reads = 0
                if self._pos <= self.start:
                    continue
                return image, self._cap.get(cv2.CAP_PROP_POS_MSEC), {}
            count = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
            if self._pos < count and self._bad_reads < _MAX_BAD_READS:
                self._bad_reads += 1
                self._pos += 1
                log.warning('%s: unreadable frame %d of %s; skipping it', self.name,
                            self._pos - 1, self._path)
                continue
            if not self._new_pass():   # the end of the file
                return None
            self._cap.release()
            self._cap = self._open_capture()
        return None

    def _pace(self) -> bool:
        """Realtime playback: wait for this frame's time on a monotonic clock; False if stopped."""
        period = 1.0 / (self._source_fps or 30.0)
        now = _clock()
        if self._t0 is None:
            self._t0 = now - self._emitted * period
        due = self._t0 + self._emitted * period
        if now > due + period:           # fell behind (slow decode): re-anchor, never burst
            self._t0 = now - self._emitted * period
            return True
        return due <= now or self.wait(due - now)
