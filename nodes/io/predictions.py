"""Write predictions to JSON or JSON Lines, in the layout of MMPoseInferencer's pred_out_dir."""
from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import IO, Literal

from webcam_app import Frame, Node
from webcam_app.params import NonNegative
from webcam_app.predictions import frame_record, instance_record

from ..common import check_output_folder, resolve_output

__all__ = ['PredictionWriter', 'frame_record', 'instance_record']

log = logging.getLogger(__name__)

Format = Literal['auto', 'json', 'jsonl']


class PredictionWriter(Node):
    """Save boxes and keypoints per frame to a JSON (or JSON Lines) file."""

    inputs = {'frame': 'trigger'}
    outputs = ()
    role = 'predictions'  # what --pred-out attaches or points at the given file

    def __init__(self, path: str, format: Format = 'auto', decimals: NonNegative = 3) -> None:
        if format == 'auto':
            format = 'jsonl' if Path(path).suffix.lower() == '.jsonl' else 'json'
        self.path, self.format, self.decimals = path, format, decimals
        self.frames_written = 0
        self._out: Path | None = None
        self._file: IO[str] | None = None
        self._tmp: str | None = None

    def check(self) -> None:
        self._out = resolve_output(self.path, self.context.graph_dir)
        check_output_folder(self._out, 'predictions')

    def setup(self) -> None:
        fd, self._tmp = tempfile.mkstemp(prefix=f'.{self._out.name}.', suffix='.tmp',
                                         dir=self._out.parent)
        self._file = os.fdopen(fd, 'w', encoding='utf-8')
        self.frames_written = 0
        if self.format == 'json':
            self._file.write('[')

    def process(self, frame: Frame) -> None:
        line = json.dumps(frame_record(frame, self.decimals), allow_nan=False)
        if self.format == 'json':
            self._file.write(('\n' if self.frames_written == 0 else ',\n') + line)
        else:
            self._file.write(line + '\n')
            self._file.flush()
        self.frames_written += 1
        return None

    def close(self) -> None:
        file, self._file = self._file, None
        if file is None:
            return
        try:
            if self.format == 'json':
                file.write('\n]\n' if self.frames_written else ']\n')
            file.flush()
            os.fsync(file.fileno())
        finally:
            file.close()
        os.chmod(self._tmp, 0o644)   # mkstemp makes it private; a result file is not
        os.replace(self._tmp, self._out)
        log.info('%s: wrote predictions of %d frames to %s', self.name, self.frames_written,
                 self._out)
