"""Predictions as plain records, in the layout of MMPoseInferencer's ``pred_out_dir`` JSON."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .messages import Frame, Object

__all__ = ['KEYPOINTS_3D', 'SCORES_3D', 'frame_record', 'inferencer_instances',
           'instance_record']

#: ``Object.extras`` keys of an object's 3D keypoints (K, 3) and their scores (K,), as a 3D
#: node (a lifter, MediaPipe's world landmarks) puts them there
KEYPOINTS_3D, SCORES_3D = 'keypoints_3d', 'keypoint_scores_3d'


def _number(value: Any, decimals: int) -> float | None:
    value = float(value)
    return round(value, decimals) if math.isfinite(value) else None


def _numbers(values: Any, decimals: int) -> list:
    """An array as nested lists of rounded floats; NaN and infinity become null."""
    array = np.asarray(values, dtype=np.float64)
    if np.isfinite(array).all():
        return np.round(array, decimals).tolist()
    return [_numbers(v, decimals) if np.ndim(v) else _number(v, decimals) for v in array]


def instance_record(obj: Object, decimals: int = 3, extras: bool = True) -> dict[str, Any]:
    """One object as mmpose's ``split_instances`` writes it, plus ``label`` and ``track_id``
    unless ``extras`` is false.

    mmpose nests the box one level deeper than it looks: ``bbox`` is ``[[x1, y1, x2, y2]]``.
    An object with 3D keypoints is written as ``Pose3DInferencer`` writes it: ``keypoints``
    and ``keypoint_scores`` are the 3D ones, and the 2D ones stay beside them as
    ``keypoints_2d`` and ``keypoint_scores_2d``.
    """
    record: dict[str, Any] = {
        'keypoints': [] if obj.keypoints is None else _numbers(obj.keypoints, decimals),
        'keypoint_scores': ([] if obj.keypoint_scores is None
                            else _numbers(obj.keypoint_scores, decimals)),
        'bbox': [_numbers(obj.bbox, decimals)],
        'bbox_score': _number(obj.score, decimals),
    }
    points_3d = obj.extras.get(KEYPOINTS_3D)
    if points_3d is not None:
        scores_3d = obj.extras.get(SCORES_3D)
        record = {'keypoints': _numbers(points_3d, decimals),
                  'keypoint_scores': ([] if scores_3d is None
                                      else _numbers(scores_3d, decimals)),
                  'keypoints_2d': record['keypoints'],
                  'keypoint_scores_2d': record['keypoint_scores'],
                  'bbox': record['bbox'], 'bbox_score': record['bbox_score']}
    if extras:
        record['label'] = obj.label
        record['track_id'] = None if obj.track_id is None else int(obj.track_id)
    return record


def inferencer_instances(frame: Frame, decimals: int = 3) -> list[dict[str, Any]]:
    """A frame's poses exactly as MMPoseInferencer writes them: objects without keypoints left
    out, and only its four keys (six with 3D keypoints, which come by track id, as
    ``Pose3DInferencer`` sorts them)."""
    objects = [obj for obj in frame.objects
               if obj.keypoints is not None or obj.extras.get(KEYPOINTS_3D) is not None]
    if any(obj.extras.get(KEYPOINTS_3D) is not None for obj in objects):
        objects.sort(key=lambda o: (o.track_id is None, o.track_id or 0))
    return [instance_record(obj, decimals, extras=False) for obj in objects]


def frame_record(frame: Frame, decimals: int = 3) -> dict[str, Any]:
    """``{frame_id, timestamp, instances}``; the timestamp is the source's own when it has one."""
    source_ms = frame.meta.get('source_timestamp_ms')
    seconds = source_ms / 1000.0 if source_ms is not None else frame.timestamp
    return {'frame_id': int(frame.frame_id), 'timestamp': _number(seconds, 6),
            'instances': [instance_record(obj, decimals) for obj in frame.objects]}
