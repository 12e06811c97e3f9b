"""BlazePose's pre- and post-processing, as MediaPipe's pose graphs do it, in numpy and OpenCV.

The numbers come from MediaPipe's graph files (``mediapipe/modules/pose_detection/
pose_detection_cpu.pbtxt``, ``pose_landmark/pose_detection_to_roi.pbtxt`` and
``tensors_to_pose_landmarks_and_segmentation.pbtxt``):

- detector: a 224x224 letterboxed RGB input in [-1, 1]; 2254 SSD anchors; per anchor a face box
  and 4 keypoints (0: mid-hip, 1: full-body size and rotation, 2: mid-shoulder, 3: upper-body
  size and rotation); sigmoid scores; weighted non-maximum suppression at IoU 0.3;
- region of interest: centred on keypoint 0, a square of twice the distance to keypoint 1, grown
  1.25 times, turned so that keypoint 1 lies straight above keypoint 0;
- landmarks: that region warped to 256x256 RGB in [0, 1]; 39 landmarks of (x, y, z, visibility,
  presence) in input pixels, the first 33 of them BlazePose's, visibility a logit; each (x, y)
  refined by the model's 64x64 heatmaps (``RefineLandmarksFromHeatmapCalculator``, kernel 7).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ['DETECTOR_SIZE', 'LANDMARK_SIZE', 'Detection', 'Roi', 'decode_detections',
           'detector_input', 'landmark_input', 'landmarks_to_image', 'roi_from_detection',
           'refine_with_heatmap', 'roi_from_points', 'ssd_anchors']

DETECTOR_SIZE = 224
LANDMARK_SIZE = 256
_STRIDES = (8, 16, 32, 32, 32)
_ANCHORS_PER_LAYER = 2           # aspect ratio 1 plus the interpolated scale
_ROI_SCALE = 1.25
_NMS_IOU = 0.3
_HEATMAP_KERNEL = 7
_HEATMAP_MIN_CONFIDENCE = 0.5


def ssd_anchors(size: int = DETECTOR_SIZE, strides: tuple[int, ...] = _STRIDES) -> np.ndarray:
    """(N, 2) anchor centres in [0, 1], in the detector's output order (fixed-size anchors)."""
    centres = []
    layer = 0
    while layer < len(strides):
        same = [s for s in strides[layer:] if s == strides[layer]]
        cells = math.ceil(size / strides[layer])
        ys, xs = np.mgrid[0:cells, 0:cells].astype(np.float32)
        grid = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(grid, _ANCHORS_PER_LAYER * len(same), axis=1).reshape(-1, 2))
        layer += len(same)
    return np.concatenate(centres)


@dataclass(frozen=True)
class Detection:
    """A person found by the detector, in image pixels: a face box and 4 keypoints (4, 2)."""

    score: float
    box: np.ndarray
    keypoints: np.ndarray


def detector_input(image_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (1, 224, 224, 3) float32 letterboxed input, and the 2x3 matrix input -> image."""
    h, w = image_rgb.shape[:2]
    scale = DETECTOR_SIZE / max(h, w)
    to_input = np.array([[scale, 0, (DETECTOR_SIZE - w * scale) / 2],
                         [0, scale, (DETECTOR_SIZE - h * scale) / 2]], np.float64)
    tensor = cv2.warpAffine(image_rgb, to_input, (DETECTOR_SIZE, DETECTOR_SIZE),
                            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    tensor = tensor.astype(np.float32) / 127.5 - 1.0
    return tensor[None], cv2.invertAffineTransform(to_input)


def _affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1, y1 = np.maximum(box[0], boxes[:, 0]), np.maximum(box[1], boxes[:, 1])
    x2, y2 = np.minimum(box[2], boxes[:, 2]), np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-9)


def decode_detections(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
                      to_image: np.ndarray, score_thr: float, max_detections: int
                      ) -> list[Detection]:
    """Decode the detector's (N, 12) and (N, 1) outputs into detections in image pixels.

    Non-maximum suppression is MediaPipe's weighted kind: each kept detection is the
    score-weighted mean of the detections it suppresses.
    """
    raw_scores = np.clip(raw_scores.reshape(-1).astype(np.float64), -100.0, 100.0)
    scores = 1.0 / (1.0 + np.exp(-raw_scores))
    keep = np.nonzero(scores >= score_thr)[0]
    if not len(keep):
        return []
    raw, centre = raw_boxes.reshape(len(anchors), -1)[keep], anchors[keep] * DETECTOR_SIZE
    xy = raw[:, :2] + centre
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([xy - half, xy + half], axis=1)
    kpts = raw[:, 4:12].reshape(-1, 4, 2) + centre[:, None]
    order = np.argsort(-scores[keep], kind='stable')
    boxes, kpts, kept_scores = boxes[order], kpts[order], scores[keep][order]
    found: list[Detection] = []
    while len(boxes) and len(found) < max_detections:
        near = _iou(boxes[0], boxes) > _NMS_IOU
        near[0] = True
        weights = kept_scores[near] / kept_scores[near].sum()
        box = (boxes[near] * weights[:, None]).sum(axis=0)
        points = (kpts[near] * weights[:, None, None]).sum(axis=0)
        corners = _affine(to_image, box.reshape(2, 2)).reshape(4)
        found.append(Detection(float(kept_scores[0]), corners, _affine(to_image, points)))
        boxes, kpts, kept_scores = boxes[~near], kpts[~near], kept_scores[~near]
    return found


@dataclass(frozen=True)
class Roi:
    """A rotated square region of the image: centre (x, y), side and rotation, in pixels/radians."""

    centre: tuple[float, float]
    size: float
    rotation: float

    def to_image(self, side: int = LANDMARK_SIZE) -> np.ndarray:
        """The 2x3 matrix from the model input's pixels (side x side) to image pixels."""
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        rot = np.array([[c, -s], [s, c]]) * (self.size / side)
        offset = np.asarray(self.centre) - rot @ np.array([side / 2, side / 2])
        return np.concatenate([rot, offset[:, None]], axis=1)


def roi_from_points(centre: np.ndarray, scale_point: np.ndarray) -> Roi:
    """MediaPipe's alignment-points region: twice the centre-to-point distance, grown 1.25 times,
    turned so that the scale point lies straight above the centre."""
    dx, dy = scale_point - centre
    rotation = math.pi / 2 - math.atan2(-dy, dx)
    rotation = (rotation + math.pi) % (2 * math.pi) - math.pi
    return Roi((float(centre[0]), float(centre[1])), 2 * math.hypot(dx, dy) * _ROI_SCALE, rotation)


def roi_from_detection(detection: Detection) -> Roi:
    return roi_from_points(detection.keypoints[0], detection.keypoints[1])


def landmark_input(image_rgb: np.ndarray, roi: Roi) -> np.ndarray:
    """The (1, 256, 256, 3) float32 input of the landmark model for ``roi``."""
    crop = cv2.warpAffine(image_rgb, roi.to_image(), (LANDMARK_SIZE, LANDMARK_SIZE),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return (crop.astype(np.float32) / 255.0)[None]


def refine_with_heatmap(points: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """(N, 2) input-pixel landmarks moved to the confidence-weighted centre of their heatmap
    (H, W, N logits) near them, where the heatmap is confident, as MediaPipe refines them."""
    size = LANDMARK_SIZE
    height, width = heatmap.shape[:2]
    out = np.array(points, np.float64)
    half = (_HEATMAP_KERNEL - 1) // 2
    for i, (x, y) in enumerate(points):
        col, row = int(x / size * width), int(y / size * height)
        if not (0 <= col < width and 0 <= row < height):
            continue
        rows = slice(max(0, row - half), min(height, row + half + 1))
        cols = slice(max(0, col - half), min(width, col + half + 1))
        weights = 1.0 / (1.0 + np.exp(-heatmap[rows, cols, i].astype(np.float64)))
        total = weights.sum()
        if weights.max() >= _HEATMAP_MIN_CONFIDENCE and total > 0:
            grid_r, grid_c = np.mgrid[rows, cols]
            out[i] = ((grid_c * weights).sum() / total / width * size,
                      (grid_r * weights).sum() / total / height * size)
    return out


def landmarks_to_image(raw: np.ndarray, roi: Roi, heatmap: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """All 39 landmarks (x, y) in image pixels, and their visibility in [0, 1]; refined by the
    (64, 64, 39) ``heatmap`` when given."""
    values = raw.reshape(-1, 5)
    points = values[:, :2].astype(np.float64)
    if heatmap is not None:
        points = refine_with_heatmap(points, heatmap.reshape(heatmap.shape[-3:]))
    points = _affine(roi.to_image(), points)
    visibility = 1.0 / (1.0 + np.exp(-np.clip(values[:, 3].astype(np.float64), -80, 80)))
    return points.astype(np.float32), visibility.astype(np.float32)
