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

import numpy as np

from .ssd import Detection, Roi, affine, crop_input, decode_detections, letterbox_input, \
    normalize_angle, sigmoid, ssd_anchors

__all__ = ['DETECTOR_SIZE', 'LANDMARK_SIZE', 'Detection', 'Roi', 'anchors', 'detect',
           'detector_input', 'landmark_input', 'landmarks_to_image', 'refine_with_heatmap',
           'roi_from_detection', 'roi_from_points']

DETECTOR_SIZE = 224
LANDMARK_SIZE = 256
_STRIDES = (8, 16, 32, 32, 32)
_ANCHORS_PER_LAYER = 2           # aspect ratio 1 plus the interpolated scale
_ROI_SCALE = 1.25
_HEATMAP_KERNEL = 7
_HEATMAP_MIN_CONFIDENCE = 0.5


def anchors() -> np.ndarray:
    """The pose detector's 2254 anchor centres, in its output order."""
    return ssd_anchors(DETECTOR_SIZE, _STRIDES, _ANCHORS_PER_LAYER)


def detector_input(image_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (1, 224, 224, 3) letterboxed detector input, and the 2x3 matrix input -> image."""
    return letterbox_input(image_rgb, DETECTOR_SIZE)


def detect(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchor_centres: np.ndarray,
           to_image: np.ndarray, score_thr: float, max_detections: int) -> list[Detection]:
    """People from the detector's (2254, 12) and (2254, 1) outputs: face boxes, 4 keypoints."""
    return decode_detections(raw_boxes, raw_scores, anchor_centres, to_image, DETECTOR_SIZE,
                             score_thr, max_detections)


def roi_from_points(centre: np.ndarray, scale_point: np.ndarray) -> Roi:
    """MediaPipe's alignment-points region: twice the centre-to-point distance, grown 1.25 times,
    turned so that the scale point lies straight above the centre."""
    dx, dy = scale_point - centre
    rotation = normalize_angle(math.pi / 2 - math.atan2(-dy, dx))
    return Roi((float(centre[0]), float(centre[1])), 2 * math.hypot(dx, dy) * _ROI_SCALE, rotation)


def roi_from_detection(detection: Detection) -> Roi:
    return roi_from_points(detection.keypoints[0], detection.keypoints[1])


def landmark_input(image_rgb: np.ndarray, roi: Roi) -> np.ndarray:
    """The (1, 256, 256, 3) float32 input of the landmark model for ``roi``."""
    return crop_input(image_rgb, roi, LANDMARK_SIZE)


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
        weights = sigmoid(heatmap[rows, cols, i])
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
    points = affine(roi.to_image(LANDMARK_SIZE), points)
    visibility = sigmoid(values[:, 3])
    return points.astype(np.float32), visibility.astype(np.float32)
