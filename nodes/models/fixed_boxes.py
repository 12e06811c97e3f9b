"""FixedBoxes: a detector stand-in that gives the same boxes every frame (or the whole image)."""
from __future__ import annotations

from typing import Any

from webcam_app import Frame, Node, Object

__all__ = ['FixedBoxes']


def _box(value: Any) -> tuple[float, float, float, float]:
    if (not isinstance(value, (list, tuple)) or len(value) != 4
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            or not (value[0] < value[2] and value[1] < value[3])):
        raise ValueError(f'each box must be [x1, y1, x2, y2] with x1 < x2 and y1 < y2, but got '
                         f'{value!r}')
    return tuple(float(v) for v in value)


class FixedBoxes(Node):
    """Put fixed boxes (x1, y1, x2, y2, in pixels) on every frame, in place of a detector.

    With no ``boxes``, one box covers the whole image, as MMPoseInferencer's
    ``det_model='whole_image'`` does: the pose model then looks at the full picture.
    """

    def __init__(self, boxes: list | None = None, label: str = 'person',
                 score: float = 1.0) -> None:
        if boxes is not None and not isinstance(boxes, (list, tuple)):
            raise ValueError(f'boxes must be a list of [x1, y1, x2, y2], but got {boxes!r}')
        if not isinstance(label, str) or not label:
            raise ValueError(f'label must be a class name such as person, but got {label!r}')
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
            raise ValueError(f'score must be a number in [0, 1], but got {score!r}')
        self.boxes = None if boxes is None else [_box(b) for b in boxes]
        self.label, self.score = label, float(score)

    def process(self, frame: Frame) -> Frame:
        boxes = self.boxes
        if boxes is None:
            height, width = frame.image.shape[:2]
            boxes = [(0.0, 0.0, float(width), float(height))]
        objects = tuple(Object(bbox=box, label=self.label, score=self.score) for box in boxes)
        return frame.replace(objects=objects,
                             dataset_meta={**frame.dataset_meta, 'classes': (self.label,)})
