"""What MediaPipe's single-shot detectors and landmark models share, in numpy and OpenCV.

From MediaPipe's calculators: ``SsdAnchorsCalculator`` (fixed-size anchors),
``ImageToTensorCalculator`` (a letterboxed detector input; a rotated square region for a
landmark model), ``TensorsToDetectionsCalculator`` and the weighted ``NonMaxSuppression``, and
the rotated rectangles of ``DetectionsToRectsCalculator`` / ``RectTransformationCalculator``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ...common import iou_matrix

__all__ = ['Detection', 'Roi', 'affine', 'crop_input', 'decode_detections', 'letterbox_input',
           'normalize_angle', 'sigmoid', 'ssd_anchors']

_NMS_IOU = 0.3


def sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(values, np.float64), -80.0, 80.0)))


def normalize_angle(angle: float) -> float:
    """``angle`` in radians, brought into [-pi, pi)."""
    return (angle + math.pi) % (2 * math.pi) - math.pi


def ssd_anchors(size: int, strides: tuple[int, ...], per_layer: int) -> np.ndarray:
    """(N, 2) anchor centres in [0, 1], in the detector's output order (fixed-size anchors);
    ``per_layer`` anchors per cell and layer (2 with an interpolated scale, else 1)."""
    centres = []
    layer = 0
    while layer < len(strides):
        same = [s for s in strides[layer:] if s == strides[layer]]
        cells = math.ceil(size / strides[layer])
        ys, xs = np.mgrid[0:cells, 0:cells].astype(np.float32)
        grid = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(grid, per_layer * len(same), axis=1).reshape(-1, 2))
        layer += len(same)
    return np.concatenate(centres)


@dataclass(frozen=True)
class Detection:
    """Something a detector found, in image pixels: a box (x1, y1, x2, y2) and keypoints (K, 2)."""

    score: float
    box: np.ndarray
    keypoints: np.ndarray


def letterbox_input(image_rgb: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The (1, size, size, 3) float32 letterboxed input in [-1, 1], and the 2x3 matrix from the
    input's pixels to the image's."""
    h, w = image_rgb.shape[:2]
    scale = size / max(h, w)
    to_input = np.array([[scale, 0, (size - w * scale) / 2],
                         [0, scale, (size - h * scale) / 2]], np.float64)
    tensor = cv2.warpAffine(image_rgb, to_input, (size, size), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    tensor = tensor.astype(np.float32) / 127.5 - 1.0
    return tensor[None], cv2.invertAffineTransform(to_input)


def affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 2) points through a 2x3 matrix."""
    return points @ matrix[:, :2].T + matrix[:, 2]


def decode_detections(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
                      to_image: np.ndarray, size: int, score_thr: float, max_detections: int
                      ) -> list[Detection]:
    """Decode a detector's (N, 4 + 2K) boxes and keypoints, offsets in input pixels from the
    anchors of a ``size`` input, and (N, 1) score logits into detections in image pixels.

    Non-maximum suppression is MediaPipe's weighted kind: each kept detection is the
    score-weighted mean of the detections it suppresses.
    """
    scores = sigmoid(np.clip(raw_scores.reshape(-1), -100.0, 100.0))
    keep = np.nonzero(scores >= score_thr)[0]
    if not len(keep):
        return []
    raw, centre = raw_boxes.reshape(len(anchors), -1)[keep], anchors[keep] * size
    xy = raw[:, :2] + centre
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([xy - half, xy + half], axis=1)
    kpts = raw[:, 4:].reshape(len(raw), -1, 2) + centre[:, None]
    order = np.argsort(-scores[keep], kind='stable')
    boxes, kpts, kept_scores = boxes[order], kpts[order], scores[keep][order]
    found: list[Detection] = []
    while len(boxes) and len(found) < max_detections:
        near = iou_matrix(boxes[:1], boxes)[0] > _NMS_IOU
        near[0] = True
        weights = kept_scores[near] / kept_scores[near].sum()
        box = (boxes[near] * weights[:, None]).sum(axis=0)
        points = (kpts[near] * weights[:, None, None]).sum(axis=0)
        corners = affine(to_image, box.reshape(2, 2)).reshape(4)
        found.append(Detection(float(kept_scores[0]), corners, affine(to_image, points)))
        boxes, kpts, kept_scores = boxes[~near], kpts[~near], kept_scores[~near]
    return found


@dataclass(frozen=True)
class Roi:
    """A rotated square region of the image: centre (x, y), side and rotation, in pixels/radians."""

    centre: tuple[float, float]
    size: float
    rotation: float

    def to_image(self, side: int) -> np.ndarray:
        """The 2x3 matrix from the model input's pixels (side x side) to image pixels."""
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        rot = np.array([[c, -s], [s, c]]) * (self.size / side)
        offset = np.asarray(self.centre) - rot @ np.array([side / 2, side / 2])
        return np.concatenate([rot, offset[:, None]], axis=1)


def crop_input(image_rgb: np.ndarray, roi: Roi, side: int) -> np.ndarray:
    """The (1, side, side, 3) float32 input in [0, 1] of a landmark model for ``roi``."""
    crop = cv2.warpAffine(image_rgb, roi.to_image(side), (side, side),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return (crop.astype(np.float32) / 255.0)[None]
