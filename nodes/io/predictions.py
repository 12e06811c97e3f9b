"""Write predictions as MMPoseInferencer's pred_out_dir does (a JSON per input), or to one file."""
from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import IO, Any, ClassVar, Literal

from webcam_app import Frame, Node, Role
from webcam_app.params import NonNegative
from webcam_app.predictions import frame_record, inferencer_instances, instance_record

from ..common import check_output_folder, resolve_output
from .images import check_output_dir, is_folder_path, still_name, write_atomic

__all__ = ['PredictionWriter', 'frame_record', 'instance_record']

log = logging.getLogger(__name__)

Format = Literal['auto', 'json', 'jsonl', 'folder']
FILE_FORMATS = {'.json': 'json', '.jsonl': 'jsonl'}
_SYNC_INTERVAL_S = 1.0


class _JsonArrayFile:
    """A JSON array written item by item to a hidden temporary file, which replaces ``path`` at
    close: a reader never sees half a file. JSON Lines (``lines``) go straight to ``path``
    instead, a line at a time, flushed per line (and synced to disk every second): a killed
    process leaves every line but the one being written."""

    def __init__(self, path: Path, lines: bool = False) -> None:
        self.path, self.lines, self.count = path, lines, 0
        self._synced = time.monotonic()
        if lines:
            self._tmp = None
            self._file: IO[str] = open(path, 'w', encoding='utf-8')
        else:
            fd, self._tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp',
                                             dir=path.parent)
            self._file = os.fdopen(fd, 'w', encoding='utf-8')
            self._file.write('[')

    def append(self, item: Any) -> None:
        line = json.dumps(item, allow_nan=False)
        if self.lines:
            self._file.write(line + '\n')
            self._file.flush()
            if time.monotonic() - self._synced >= _SYNC_INTERVAL_S:   # a power cut, too
                os.fsync(self._file.fileno())
                self._synced = time.monotonic()
        else:
            self._file.write(('\n' if self.count == 0 else ',\n') + line)
        self.count += 1

    def close(self) -> None:
        try:
            if not self.lines:
                self._file.write('\n]\n' if self.count else ']\n')
            self._file.flush()
            os.fsync(self._file.fileno())
        finally:
            self._file.close()
        if self._tmp is not None:
            os.chmod(self._tmp, 0o644)   # mkstemp makes it private; a result file is not
            os.replace(self._tmp, self.path)


class PredictionWriter(Node):
    """Save boxes and keypoints: one JSON per input into a folder, or one JSON (Lines) file.

    A folder gets what MMPoseInferencer's ``pred_out_dir`` gets: for each input image,
    ``<image name>.json`` with its list of instances (``keypoints``, ``keypoint_scores``,
    ``bbox``, ``bbox_score``); for a video or camera, one ``<video name>.json`` (``webcam.json``)
    with ``[{frame_id, instances}, ...]``. A ``.json`` (``.jsonl``) file gets every frame as
    ``{frame_id, timestamp, instances}``, whose instances also carry ``label`` and ``track_id``.
    """

    inputs = {'frame': 'trigger'}
    outputs = ()
    role = Role.PREDICTIONS  # what --pred-out attaches or points at the given path
    forms: ClassVar[str] = 'a folder (preds/), a .json or a .jsonl file'   # in --pred-out's error

    @classmethod
    def accepts(cls, path: str) -> bool:
        """Whether ``path`` is a form this sink writes: a folder, a .json or .jsonl file."""
        return is_folder_path(path) or Path(path).suffix.lower() in FILE_FORMATS

    def __init__(self, path: str, format: Format = 'auto', decimals: NonNegative = 3) -> None:
        if format == 'auto':
            if not self.accepts(path):
                raise ValueError(f'{path!r} is neither a folder nor a .json/.jsonl file; fix: '
                                 'end a folder with / (preds/), or use .json or .jsonl')
            format = ('folder' if is_folder_path(path)
                      else FILE_FORMATS[Path(path).suffix.lower()])
        self.path, self.format, self.decimals = path, format, decimals
        self.frames_written = 0
        self._out: Path | None = None
        self._stream: _JsonArrayFile | None = None   # the file of every frame, or of a video

    def check(self) -> None:
        self._out = resolve_output(self.path, self.context.graph_dir)
        if self.format == 'folder':
            check_output_dir(self._out, 'predictions')
        else:
            check_output_folder(self._out, 'predictions')

    def setup(self) -> None:
        self.frames_written = 0
        if self.format == 'folder':
            self._out.mkdir(parents=True, exist_ok=True)
        else:
            self._stream = _JsonArrayFile(self._out, lines=self.format == 'jsonl')

    def process(self, frame: Frame) -> None:
        if self.format != 'folder':
            self._stream.append(frame_record(frame, self.decimals))
        elif still_name(frame):
            path = self._out / (Path(still_name(frame)).stem + '.json')
            text = json.dumps(inferencer_instances(frame, self.decimals), indent=2,
                              allow_nan=False)
            write_atomic(path, (text + '\n').encode('utf-8'))   # whole, or not at all
        else:
            if self._stream is None:
                name = Path(frame.meta.get('input_name') or 'video').stem + '.json'
                self._stream = _JsonArrayFile(self._out / name)
            self._stream.append({'frame_id': int(frame.frame_id),
                                 'instances': inferencer_instances(frame, self.decimals)})
        self.frames_written += 1
        return None

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()
        where = self._out if stream is None else stream.path
        log.info('%s: wrote predictions of %d frames to %s', self.name, self.frames_written,
                 where)
