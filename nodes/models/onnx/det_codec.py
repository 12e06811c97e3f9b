"""One-stage detector pre- and post-processing in numpy and OpenCV, as mmdet does it (no torch).

The exported detector stops before decoding: it returns, for every prior point of every level
(row-major, level after level), class logits ``(1, A, C)``, box regressions ``(1, A, 4)`` and,
for YOLOX, objectness logits ``(1, A, 1)``. Around it:

1. ``letterbox``: resize keeping the aspect ratio (mmcv ``imrescale``), pad (114) to the input;
2. ``normalize``: ``(x - mean) / std`` in the model's channel order, NCHW float32;
3. ``decode_rtmdet`` / ``decode_yolox``: priors, boxes, scores (mmdet ``predict_by_feat``);
4. ``batched_nms``: per-class greedy NMS (mmcv ``batched_nms``), then boxes back to the image.

``DetCodec(sidecar).detect(run, image)`` does it all with ``run(batch) -> outputs``.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import cv2
import numpy as np

__all__ = ['ARCHS', 'DetCodec', 'batched_nms', 'decode_rtmdet', 'decode_yolox', 'letterbox',
           'nms', 'priors']

#: the detector families whose heads the exporter knows how to cut before decoding
ARCHS = ('rtmdet', 'yolox')


def letterbox(image: np.ndarray, size: Sequence[int], pad_value: float = 114.0,
              square: bool = False) -> tuple[np.ndarray, float, float, tuple[int, int]]:
    """Resize keeping the aspect ratio into ``size`` (w, h), then pad bottom and right.

    Returns the padded image, the x and y scale factors, and the resized (w, h) before padding.
    With ``square``, the pad goes to a square of the resized image's longer side (YOLOX).
    """
    h, w = image.shape[:2]
    factor = min(max(size) / max(h, w), min(size) / min(h, w))
    new_w, new_h = int(w * factor + 0.5), int(h * factor + 0.5)
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    out_w, out_h = (max(new_w, new_h),) * 2 if square else (int(size[0]), int(size[1]))
    out = np.full((out_h, out_w, 3), pad_value, resized.dtype)
    out[:new_h, :new_w] = resized
    return out, new_w / w, new_h / h, (new_w, new_h)


def normalize(image: np.ndarray, mean: Sequence[float], std: Sequence[float],
              bgr_to_rgb: bool) -> np.ndarray:
    """An (H, W, 3) BGR image to a (1, 3, H, W) float32 batch."""
    image = image[..., ::-1] if bgr_to_rgb else image
    batch = (image.astype(np.float32) - np.float32(mean)) / np.float32(std)
    return np.ascontiguousarray(batch.transpose(2, 0, 1)[None])


def priors(levels: Sequence[Sequence[int]]) -> np.ndarray:
    """(A, 3) prior points x, y, stride for levels given as (height, width, stride), offset 0."""
    out = []
    for h, w, stride in levels:
        ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing='ij')
        out.append(np.stack([xs.ravel() * stride, ys.ravel() * stride,
                             np.full(h * w, stride)], axis=1))
    return np.concatenate(out).astype(np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def decode_rtmdet(cls_logits: np.ndarray, distances: np.ndarray, points: np.ndarray,
                  score_thr: float, nms_pre: int,
                  max_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RTMDet: each (prior, class) above ``score_thr``, top ``nms_pre`` per level; boxes from
    (left, top, right, bottom) distances (already times the stride), clipped to ``max_shape``
    (w, h), the padded input as mmdet's ``img_shape`` is. Returns boxes (M, 4), scores, labels."""
    scores_all = _sigmoid(cls_logits)
    boxes, scores, labels = [], [], []
    for stride in np.unique(points[:, 2]):
        level = np.flatnonzero(points[:, 2] == stride)
        pairs = np.argwhere(scores_all[level] > score_thr)
        pair_scores = scores_all[level][pairs[:, 0], pairs[:, 1]]
        order = np.argsort(-pair_scores, kind='stable')[:nms_pre]
        anchor, label = level[pairs[order, 0]], pairs[order, 1]
        p, d = points[anchor, :2], distances[anchor]
        box = np.concatenate([p - d[:, :2], p + d[:, 2:]], axis=1)
        boxes.append(np.clip(box, 0, [max_shape[0], max_shape[1]] * 2))
        scores.append(pair_scores[order])
        labels.append(label)
    return np.concatenate(boxes), np.concatenate(scores), np.concatenate(labels)


def decode_yolox(cls_logits: np.ndarray, regressions: np.ndarray, objectness: np.ndarray,
                 points: np.ndarray,
                 score_thr: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """YOLOX: the best class per prior, score = class x objectness; center and log-size boxes."""
    cls_scores = _sigmoid(cls_logits)
    labels = cls_scores.argmax(axis=1)
    scores = cls_scores.max(axis=1) * _sigmoid(objectness[:, 0])
    keep = scores >= score_thr
    stride = points[keep, 2:3]
    reg = regressions[keep]
    centers = reg[:, :2] * stride + points[keep, :2]
    sizes = np.exp(reg[:, 2:]) * stride
    boxes = np.concatenate([centers - sizes / 2, centers + sizes / 2], axis=1)
    return boxes, scores[keep], labels[keep]


def nms(boxes: np.ndarray, scores: np.ndarray, iou_thr: float,
        limit: int | None = None) -> np.ndarray:
    """Greedy NMS (mmcv's, offset 0): indices kept, by descending score; stops after ``limit``
    kept boxes (the same first ``limit`` as without it)."""
    order = np.argsort(-scores, kind='stable')
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    keep = []
    while order.size and (limit is None or len(keep) < limit):
        i, rest = order[0], order[1:]
        keep.append(i)
        iw = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        ih = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = iw * ih
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-12)
        order = rest[iou <= iou_thr]
    return np.array(keep, np.int64)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray,
                iou_thr: float, limit: int | None = None) -> np.ndarray:
    """Per-class NMS: boxes of different classes never suppress each other (mmcv's offsets)."""
    if not len(boxes):
        return np.zeros(0, np.int64)
    offsets = labels.astype(np.float32)[:, None] * (boxes.max() + 1)
    return nms(boxes + offsets, scores, iou_thr, limit)


class DetCodec:
    """Pre- and post-processing of one exported detector, configured by its sidecar dict."""

    def __init__(self, sidecar: Mapping[str, Any]) -> None:
        inp, post = sidecar['input'], sidecar['postprocess']
        self.arch = sidecar['arch']
        if self.arch not in ARCHS:
            raise ValueError(f"detector arch must be one of {', '.join(ARCHS)}, but got "
                             f'{self.arch!r}')
        self.size = tuple(int(v) for v in inp['size'])              # (w, h)
        self.mean, self.std = inp['mean'], inp['std']
        self.bgr_to_rgb = inp['channel_order'] == 'rgb'
        self.pad_value, self.square = float(inp.get('pad_value', 114)), bool(inp.get('square'))
        self.score_thr, self.iou_thr = float(post['score_thr']), float(post['nms_iou'])
        self.nms_pre, self.max_per_img = int(post.get('nms_pre', 30000)), post.get('max_per_img')
        self.min_size = float(post.get('min_bbox_size', -1))
        self.points = priors(sidecar['levels'])
        self.classes = tuple(sidecar['classes'])

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
        """A BGR image to the model's (1, 3, H, W) batch, and the x and y resize factors."""
        padded, fx, fy, _ = letterbox(image, self.size, self.pad_value, self.square)
        return normalize(padded, self.mean, self.std, self.bgr_to_rgb), (fx, fy)

    def postprocess(self, outputs: list[np.ndarray], factors: tuple[float, float],
                    score_thr: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw outputs of one image to boxes (M, 4) in image pixels, scores and labels, by
        descending score. ``score_thr`` may only raise the config's threshold (it is applied
        before NMS, which cannot change the boxes above it)."""
        thr = max(self.score_thr, score_thr or 0.0)
        outs = [np.asarray(o[0], np.float32) for o in outputs]
        if self.arch == 'rtmdet':
            boxes, scores, labels = decode_rtmdet(outs[0], outs[1], self.points, thr,
                                                  self.nms_pre, self.size)
        else:
            boxes, scores, labels = decode_yolox(outs[0], outs[1], outs[2], self.points, thr)
        boxes = boxes / np.array([*factors, *factors], np.float32)
        if self.min_size >= 0:
            wh = boxes[:, 2:] - boxes[:, :2]
            valid = (wh > self.min_size).all(axis=1)
            boxes, scores, labels = boxes[valid], scores[valid], labels[valid]
        limit = int(self.max_per_img) if self.max_per_img else None
        keep = batched_nms(boxes, scores, labels, self.iou_thr, limit)
        return boxes[keep], scores[keep], labels[keep]

    def detect(self, run: Callable[[np.ndarray], list[np.ndarray]], image: np.ndarray,
               score_thr: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes, scores and labels of a BGR image, ``run`` being the model."""
        batch, factors = self.preprocess(image)
        return self.postprocess(run(batch), factors, score_thr)
