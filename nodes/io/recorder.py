"""Record frames to a video file on a background writer thread."""
from __future__ import annotations

import logging
import os
import queue
import threading
from pathlib import Path
from typing import Annotated, Any, ClassVar

import cv2
import numpy as np

from webcam_app import Frame, Node, Role
from webcam_app.params import Doc, Match, Positive, PositiveFloat

from ..common import check_output_folder, resolve_output

__all__ = ['CODECS', 'Recorder']

log = logging.getLogger(__name__)

#: Default FourCC per file extension: codecs that opencv-python's FFmpeg can both write and read.
CODECS = {'.mp4': 'mp4v', '.m4v': 'mp4v', '.mov': 'mp4v', '.mkv': 'mp4v', '.avi': 'MJPG'}
FourCC = Annotated[str, Match('.{4}'), Doc('a FourCC of 4 characters such as mp4v')]
_DEFAULT_FPS = 30.0
_STOP = object()   # the sentinel that ends the writer thread
_JOIN_TIMEOUT_S = 120.0


class Recorder(Node):
    """Write the video to a file (mp4, avi, mkv) without stalling a live graph."""

    inputs = {'frame': 'trigger'}
    outputs = ()
    role = Role.VIDEO_SINK  # what --out attaches or points at the given file
    forms: ClassVar[str] = f'a video file ({", ".join(CODECS)})'   # in --out's error

    @classmethod
    def accepts(cls, path: str) -> bool:
        """Whether ``path`` is a form this sink writes: a video file."""
        return not path.endswith(('/', os.sep)) and Path(path).suffix.lower() in CODECS

    def __init__(self, path: str, fps: PositiveFloat | None = None, codec: FourCC | None = None,
                 queue_size: Positive = 64) -> None:
        suffix = Path(path).suffix.lower()
        if codec is None and suffix not in CODECS:
            raise ValueError(f'cannot choose a codec for {path!r}; fix: use one of '
                             f'{", ".join(CODECS)}, or set codec (e.g. codec: mp4v)')
        self.path, self.fps, self.queue_size = path, fps, queue_size
        self.codec = codec or CODECS[suffix]
        self.dropped = 0
        self.written = 0
        self.error: BaseException | None = None
        self._out: Path | None = None
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._hurry = threading.Event()
        self._size: tuple[int, int] | None = None

    def check(self) -> None:
        self._out = resolve_output(self.path, self.context.graph_dir)
        check_output_folder(self._out, 'recording')

    def setup(self) -> None:
        # Open a writer once, to fail now (not at the first frame) when codec and file disagree.
        probe = self._open_writer(_DEFAULT_FPS, (64, 48))
        probe.release()
        try:
            self._out.unlink()
        except OSError:
            pass
        self._queue = queue.Queue(self.queue_size)
        self.dropped = self.written = 0
        self._hurry.clear()
        self.subscribe('hurry', lambda _reason: self._hurry.set())   # a 2nd Ctrl-C

    def _open_writer(self, fps: float, size: tuple[int, int]) -> Any:
        writer = cv2.VideoWriter(str(self._out), cv2.VideoWriter_fourcc(*self.codec), fps, size)
        if not writer.isOpened():
            raise RuntimeError(f'cv2.VideoWriter could not open {self._out} with codec '
                               f'{self.codec!r}; fix: try another extension (.mp4 or .avi) or '
                               'codec (mp4v, MJPG, XVID)')
        return writer

    def process(self, frame: Frame) -> None:
        if self.error is not None:
            raise RuntimeError(f'recording to {self._out} failed') from self.error
        if frame.image is None:
            return None
        if self._thread is None:
            self._start(frame)
        if self.context.mode == 'live':
            try:
                self._queue.put_nowait(frame.image)
            except queue.Full:
                self.dropped += 1
                if self.dropped == 1:
                    log.warning('%s: the writer cannot keep up; dropping frames (counted)',
                                self.name)
        else:
            self._queue.put(frame.image)   # replay: lossless, back-pressure
        return None

    def _start(self, frame: Frame) -> None:
        fps = self.fps or frame.meta.get('fps') or _DEFAULT_FPS
        height, width = frame.image.shape[:2]
        self._size = (width, height)
        writer = self._open_writer(float(fps), self._size)
        log.info('%s: recording %dx%d at %.2f fps to %s', self.name, width, height, fps,
                 self._out)
        self._thread = threading.Thread(target=self._write_loop, args=(writer,),
                                        name=f'recorder:{self.path}', daemon=True)
        self._thread.start()

    def _write_loop(self, writer: Any) -> None:
        """The writer thread: write until the sentinel; after an error, keep draining."""
        try:
            while True:
                image = self._queue.get()
                if image is _STOP:
                    return
                if self.error is not None:
                    continue
                if self._hurry.is_set() and self.written:   # a second Ctrl-C, even mid-drain:
                    self.dropped += 1                       # close with what is written
                    continue
                try:
                    writer.write(self._fit(image))
                    self.written += 1
                except Exception as exc:   # reported by the node's next process()
                    log.exception('%s: writing to %s failed', self.name, self._out)
                    self.error = exc
        finally:
            writer.release()

    def _fit(self, image: np.ndarray) -> np.ndarray:
        if (image.shape[1], image.shape[0]) != self._size:
            image = cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        return image

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            log.warning('%s: no frames arrived; %s was not written', self.name, self._out)
            return
        self._queue.put(_STOP)   # the writer drains what is queued, then releases the file
        thread.join(_JOIN_TIMEOUT_S)
        if thread.is_alive():
            log.error('%s: the writer thread did not finish within %.0f s; %s may be incomplete',
                      self.name, _JOIN_TIMEOUT_S, self._out)
            return
        log.info('%s: wrote %d frames to %s (%d dropped)', self.name, self.written, self._out,
                 self.dropped)
