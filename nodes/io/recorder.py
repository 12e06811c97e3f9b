"""Record frames to a video file on a background writer thread, through PyAV (FFmpeg)."""
from __future__ import annotations

import logging
import os
import queue
import threading
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import cv2
import numpy as np

from webcam_app import Frame, Node, Role
from webcam_app.params import Doc, Positive, PositiveFloat, Range

from ..common import check_output_folder, resolve_output
from .video_file import CODECS, CONTAINERS, VideoFile, check_codec, resolve_codec

__all__ = ['CODECS', 'Recorder']

log = logging.getLogger(__name__)

Codec = Annotated[str, Doc('an FFmpeg video encoder (libx264, mjpeg, mpeg4, ffv1, ...) or a '
                           'FourCC (mp4v, MJPG, avc1)')]
Preset = Literal['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow']
_DEFAULT_FPS = 30.0
_STOP = object()   # the sentinel that ends the writer thread
_JOIN_TIMEOUT_S = 120.0


class _Timeline:
    """Each frame's time in seconds: its capture time when live (so that a recording with
    dropped frames plays at real speed), else its time in the source (or its index / fps).
    A source that starts over (``loop``) goes on from where it was, never back."""

    def __init__(self, live: bool, fps: float) -> None:
        self.live, self.period = live, 1.0 / fps
        self._offset, self._last = 0.0, None

    def __call__(self, frame: Frame) -> float:
        if self.live:
            return frame.timestamp
        source_ms = frame.meta.get('source_timestamp_ms')
        seconds = (source_ms / 1000.0 if source_ms is not None
                   else frame.frame_id * self.period) + self._offset
        if self._last is not None and seconds < self._last:
            self._offset += self._last + self.period - seconds
            seconds = self._last + self.period
        self._last = seconds
        return seconds


class Recorder(Node):
    """Write the video to a file (mp4, mkv, mov, avi) without stalling a live graph.

    ``.mp4``, ``.mov``, ``.m4v`` get H.264 in fragmented MP4 and ``.mkv`` H.264 in Matroska,
    with a keyframe every ``keyframe_interval`` seconds, each written out as it comes; ``.avi``
    gets MJPG, every frame written out as it comes. A killed process keeps all of it up to the
    last keyframe. ``codec`` picks another FFmpeg encoder (``mpeg4``, ``mjpeg``, ``ffv1``, ...);
    ``crf`` sets the quality of H.264/H.265/VP9 (0 best, 51 worst), ``quality`` that of MJPG and
    MPEG-4 (2 best, 31 worst), ``preset`` the CPU H.264 spends on each frame.
    """

    inputs = {'frame': 'trigger'}
    outputs = ()
    role = Role.VIDEO_SINK  # what --out attaches or points at the given file
    forms: ClassVar[str] = f'a video file ({", ".join(CODECS)})'   # in --out's error

    @classmethod
    def accepts(cls, path: str) -> bool:
        """Whether ``path`` is a form this sink writes: a video file."""
        return not path.endswith(('/', os.sep)) and Path(path).suffix.lower() in CODECS

    def __init__(self, path: str, fps: PositiveFloat | None = None, codec: Codec | None = None,
                 queue_size: Positive = 64, crf: Annotated[int, Range(0, 51)] = 23,
                 quality: Annotated[int, Range(2, 31)] = 3, preset: Preset = 'veryfast',
                 keyframe_interval: Annotated[float, Range(0.1, 10)] = 1.0) -> None:
        suffix = Path(path).suffix.lower()
        if suffix not in CONTAINERS:
            raise ValueError(f'cannot choose a codec for {path!r}: not a video file extension '
                             f'this recorder writes; fix: use one of {", ".join(CONTAINERS)}')
        self.path, self.fps, self.queue_size = path, fps, queue_size
        self.codec = resolve_codec(codec) if codec is not None else CODECS[suffix]
        self.crf, self.quality, self.preset = crf, quality, preset
        self.keyframe_interval = keyframe_interval
        self.dropped = 0
        self.written = 0
        self.error: BaseException | None = None
        self._out: Path | None = None
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._hurry = threading.Event()
        self._size: tuple[int, int] | None = None
        self._timeline: _Timeline | None = None

    def check(self) -> None:
        self._out = resolve_output(self.path, self.context.graph_dir)
        check_output_folder(self._out, 'recording')
        check_codec(self.codec, CONTAINERS[self._out.suffix.lower()], crf=self.crf,
                    quality=self.quality, preset=self.preset)   # fails here, before any thread

    def setup(self) -> None:
        self._queue = queue.Queue(self.queue_size)
        self.dropped = self.written = 0
        self._timeline = None
        self._hurry.clear()
        self.subscribe('hurry', lambda _reason: self._hurry.set())   # a 2nd Ctrl-C

    def process(self, frame: Frame) -> None:
        if self.error is not None:
            raise RuntimeError(f'recording to {self._out} failed') from self.error
        if frame.image is None:
            return None
        if self._thread is None:
            self._start(frame)
        item = (frame.image, self._timeline(frame))
        if self.context.mode == 'live':
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                self.dropped += 1
                if self.dropped == 1:
                    log.warning('%s: the writer cannot keep up; dropping frames (counted)',
                                self.name)
        else:
            self._queue.put(item)   # replay: lossless, back-pressure
        return None

    def _start(self, frame: Frame) -> None:
        fps = float(self.fps or frame.meta.get('fps') or _DEFAULT_FPS)
        height, width = frame.image.shape[:2]
        width, height = max(2, width - width % 2), max(2, height - height % 2)   # for 4:2:0
        self._size = (width, height)
        self._timeline = _Timeline(self.context.mode == 'live', fps)
        log.info('%s: recording %dx%d at %.2f fps (%s) to %s', self.name, width, height, fps,
                 self.codec, self._out)
        self._thread = threading.Thread(target=self._write_loop, args=(fps,),
                                        name=f'recorder:{self.path}', daemon=True)
        self._thread.start()

    def _open(self, fps: float) -> VideoFile:
        return VideoFile(self._out, self.codec, fps, self._size, crf=self.crf,
                         quality=self.quality, preset=self.preset,
                         keyframe_interval=self.keyframe_interval)

    def _write_loop(self, fps: float) -> None:
        """The writer thread: open the file, write until the sentinel; after an error, keep
        draining (the error is reported by the node's next process())."""
        writer: VideoFile | None = None
        try:
            writer = self._open(fps)
        except Exception as exc:
            log.exception('%s: cannot open %s', self.name, self._out)
            self.error = exc
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    return
                if self.error is not None:
                    continue
                if self._hurry.is_set() and self.written:   # a second Ctrl-C, even mid-drain:
                    self.dropped += 1                       # close with what is written
                    continue
                try:
                    writer.write(self._fit(item[0]), item[1])
                    self.written += 1
                    log.debug('%s: encoded frame %d', self.name, self.written)
                except Exception as exc:
                    log.exception('%s: writing to %s failed', self.name, self._out)
                    self.error = exc
        finally:
            if writer is not None:
                self._finish(writer)

    def _finish(self, writer: VideoFile) -> None:
        try:
            writer.close()
        except Exception as exc:
            log.exception('%s: finishing %s failed', self.name, self._out)
            self.error = self.error or exc

    def _fit(self, image: np.ndarray) -> np.ndarray:
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        elif image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
        width, height = self._size
        if image.shape[1] - width in (0, 1) and image.shape[0] - height in (0, 1):
            return image[:height, :width]   # an odd side loses its last pixel for 4:2:0
        return cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            log.warning('%s: no frames arrived; %s was not written', self.name, self._out)
            return
        self._queue.put(_STOP)   # the writer drains what is queued, then finishes the file
        thread.join(_JOIN_TIMEOUT_S)
        if thread.is_alive():
            log.error('%s: the writer thread did not finish within %.0f s; %s may be incomplete',
                      self.name, _JOIN_TIMEOUT_S, self._out)
            return
        log.info('%s: wrote %d frames to %s (%d dropped)', self.name, self.written, self._out,
                 self.dropped)
