"""Does a lower precision keep a model's answers? The bound, and the check against f32.

The bound is the same for every precision, against f32 on the same inputs:

- keypoints, in the model's input pixels (a 256x256 crop for RTMPose-m): median error <= 1 px
  and 95th percentile <= 3 px;
- detections: every f32 box found again at IoU >= 0.95 with its score within 0.02, and no box
  of the lower precision scoring above the f32 threshold that f32 did not find.

``choose_precision`` runs any model through a function ``run(precision) -> answer`` and a
comparison (``keypoints_miss`` or ``detections_miss``), so a check is the same code for our
exports and for any other model (a test runs MediaPipe's trained hand model through it).
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ['MAX_MEDIAN_PX', 'MAX_P95_PX', 'MAX_SCORE_DIFF', 'MIN_IOU', 'Choice',
           'choose_precision', 'detections_miss', 'keypoint_errors', 'keypoints_miss']

log = logging.getLogger(__name__)

MAX_MEDIAN_PX = 1.0
MAX_P95_PX = 3.0
MIN_IOU = 0.95
MAX_SCORE_DIFF = 0.02

#: (precision chosen, why, figures of every precision tried)
Choice = tuple[str, str, dict[str, str]]


def keypoint_errors(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Distances between two (..., K, 2) keypoint arrays, flattened."""
    reference, other = np.asarray(reference, np.float64), np.asarray(other, np.float64)
    if reference.shape != other.shape:
        raise ValueError(f'keypoints of shape {other.shape} against {reference.shape}')
    return np.linalg.norm(other[..., :2] - reference[..., :2], axis=-1).ravel()


def keypoints_miss(reference: np.ndarray, other: np.ndarray) -> tuple[str | None, str]:
    """(why ``other`` misses the keypoint bound against ``reference``, or None; the figures)."""
    errors = keypoint_errors(reference, other)
    if not errors.size:
        return 'no keypoints to compare', 'none'
    if not np.isfinite(errors).all():
        return 'keypoints not finite', 'not finite'
    median, p95 = float(np.median(errors)), float(np.percentile(errors, 95))
    figures = f'median {median:.2f} px, p95 {p95:.2f} px, max {errors.max():.2f} px'
    if median > MAX_MEDIAN_PX or p95 > MAX_P95_PX:
        return (f'keypoints moved {figures} from f32 (bound: median <= {MAX_MEDIAN_PX:g}, '
                f'p95 <= {MAX_P95_PX:g} px)'), figures
    return None, figures


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    if not len(boxes):
        return np.zeros(0)
    lt, rb = np.maximum(box[:2], boxes[:, :2]), np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    return inter / np.maximum(area + areas - inter, 1e-9)


def detections_miss(reference: Sequence[tuple], other: Sequence[tuple],
                    score_thr: float = 0.3) -> tuple[str | None, str]:
    """Like ``keypoints_miss`` for detections: per image, ``(boxes (M, 4), scores (M,))``.

    Every reference box at ``score_thr`` or above needs a box of ``other`` at IoU >= 0.95 with
    a score within 0.02; every box of ``other`` scoring ``score_thr + 0.02`` or above needs one
    in the reference."""
    worst_iou, worst_score, checked = 1.0, 0.0, 0
    for (ref_boxes, ref_scores), (boxes, scores) in zip(reference, other):
        ref_boxes, boxes = np.asarray(ref_boxes, np.float64), np.asarray(boxes, np.float64)
        ref_scores, scores = np.asarray(ref_scores, np.float64), np.asarray(scores, np.float64)
        for a_boxes, a_scores, b_boxes, b_scores, thr in (
                (ref_boxes, ref_scores, boxes, scores, score_thr),
                (boxes, scores, ref_boxes, ref_scores, score_thr + MAX_SCORE_DIFF)):
            for box, score in zip(a_boxes[a_scores >= thr], a_scores[a_scores >= thr]):
                checked += 1
                ious = _iou(box, b_boxes)
                best = int(np.argmax(ious)) if len(ious) else -1
                worst_iou = min(worst_iou, float(ious[best]) if best >= 0 else 0.0)
                worst_score = max(worst_score, abs(float(b_scores[best]) - score)
                                  if best >= 0 else 1.0)
    figures = f'{checked} boxes, worst IoU {worst_iou:.3f}, worst score change {worst_score:.3f}'
    if not checked:
        return 'no detections to compare', figures
    if worst_iou < MIN_IOU or worst_score > MAX_SCORE_DIFF:
        return (f'detections moved from f32: {figures} (bound: IoU >= {MIN_IOU:g}, score '
                f'within {MAX_SCORE_DIFF:g})'), figures
    return None, figures


def choose_precision(candidates: Sequence[str], run: Callable[[str], Any],
                     miss: Callable[[Any, Any], tuple[str | None, str]]) -> Choice:
    """The first of ``candidates`` (fastest first) whose answers hold the bound against f32's.

    ``run(precision)`` gives the model's answers on the check's inputs at that precision;
    ``miss(f32 answers, other answers)`` says why they miss the bound (or None) and the
    figures. Returns ('f32', why none passed, figures) when none does.
    """
    figures: dict[str, str] = {}
    if not candidates:
        return 'f32', 'no precision below f32 runs natively here', figures
    reference = run('f32')
    reasons = []
    for precision in candidates:
        why, figures[precision] = miss(reference, run(precision))
        if why is None:
            return precision, f'{precision} holds the bound against f32 ({figures[precision]})', \
                figures
        reasons.append(f'{precision}: {why}')
    return 'f32', '; '.join(reasons), figures
