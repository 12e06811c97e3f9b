"""Write predictions to JSON or JSON Lines, in the layout of MMPoseInferencer's pred_out_dir."""
from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np

from webcam_app import Frame, Node, Object
from webcam_app.params import NonNegative

from .recorder import check_output_folder, resolve_output

__all__ = ['PredictionWriter', 'frame_record', 'instance_record']

log = logging.getLogger(__name__)

Format = Literal['auto', 'json', 'jsonl']


def _number(value: Any, decimals: int) -> float | None:
    value = float(value)
    return round(value, decimals) if math.isfinite(value) else None


def _numbers(values: Any, decimals: int) -> list:
    """An array as nested lists of rounded floats; NaN and infinity become null."""
    array = np.asarray(values, dtype=np.float64)
    if np.isfinite(array).all():
        return np.round(array, decimals).tolist()
    return [_numbers(v, decimals) if np.ndim(v) else _number(v, decimals) for v in array]


def instance_record(obj: Object, decimals: int = 3) -> dict[str, Any]:
    """One object as mmpose's ``split_instances`` writes it, plus ``label`` and ``track_id``.

    mmpose nests the box one level deeper than it looks: ``bbox`` is ``[[x1, y1, x2, y2]]``.
    """
    record: dict[str, Any] = {
        'keypoints': [] if obj.keypoints is None else _numbers(obj.keypoints, decimals),
        'keypoint_scores': ([] if obj.keypoint_scores is None
                            else _numbers(obj.keypoint_scores, decimals)),
        'bbox': [_numbers(obj.bbox, decimals)],
        'bbox_score': _number(obj.score, decimals),
        'label': obj.label,
        'track_id': None if obj.track_id is None else int(obj.track_id),
    }
    return record


def frame_record(frame: Frame, decimals: int = 3) -> dict[str, Any]:
    """``{frame_id, timestamp, instances}``; the timestamp is the source's own when it has one."""
    source_ms = frame.meta.get('source_timestamp_ms')
    seconds = source_ms / 1000.0 if source_ms is not None else frame.timestamp
    return {'frame_id': int(frame.frame_id), 'timestamp': _number(seconds, 6),
            'instances': [instance_record(obj, decimals) for obj in frame.objects]}


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

    @staticmethod
    def record(frame: Frame, decimals: int = 3) -> dict[str, Any]:
        """One frame as this sink writes it. The role 'predictions' promises this method: the
        Python API's ``Result.record`` calls it, so both give the same dicts."""
        return frame_record(frame, decimals)
