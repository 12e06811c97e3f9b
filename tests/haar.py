"""Independent checks of where faces and eyes are: OpenCV's own Haar cascades (cv2.data).

A model's keypoints are checked against boxes found by a different method, so a test does not
repeat the model it tests.
"""
from __future__ import annotations

import cv2
import numpy as np

__all__ = ['astronaut', 'contains', 'eyes', 'faces']


def _detect(cascade: str, image: np.ndarray, min_size: int, neighbours: int) -> np.ndarray:
    classifier = cv2.CascadeClassifier(cv2.data.haarcascades + cascade)
    if classifier.empty():
        raise FileNotFoundError(f'{cascade} not found in {cv2.data.haarcascades}')
    gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    found = classifier.detectMultiScale(gray, 1.1, neighbours, minSize=(min_size, min_size))
    boxes = np.asarray(found, np.float64).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]                    # (x, y, w, h) -> (x1, y1, x2, y2)
    return boxes


def faces(image: np.ndarray, min_size: int = 40) -> np.ndarray:
    """(N, 4) frontal face boxes, largest first."""
    boxes = _detect('haarcascade_frontalface_default.xml', image, min_size, 5)
    return boxes[np.argsort(-(boxes[:, 2] - boxes[:, 0]), kind='stable')]


def eyes(image: np.ndarray, face: np.ndarray) -> np.ndarray:
    """(N, 4) eye boxes inside the upper half of one face box (where eyes can be)."""
    x1, y1, x2, y2 = (int(v) for v in face)
    top = image[y1:(y1 + y2) // 2, x1:x2]
    boxes = _detect('haarcascade_eye.xml', top, max(8, (x2 - x1) // 10), 5)
    return boxes + [x1, y1, x1, y1]


def contains(box: np.ndarray, point: np.ndarray, grow: float = 0.0) -> bool:
    """Whether ``point`` lies in ``box`` grown by ``grow`` of its size on every side."""
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * grow, (y2 - y1) * grow
    return bool(x1 - dx <= point[0] <= x2 + dx and y1 - dy <= point[1] <= y2 + dy)


def astronaut() -> np.ndarray:
    """scikit-image's bundled photo of Eileen Collins (512x512), as BGR."""
    from skimage import data
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
