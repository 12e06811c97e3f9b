"""FixedBoxes: a detector stand-in that gives the same boxes every frame (or the whole image)."""
from __future__ import annotations

from webcam_app import Frame, Node, Object
from webcam_app.params import NonEmpty, Unit

__all__ = ['FixedBoxes']

Box = tuple[float, float, float, float]


class FixedBoxes(Node):
    """Put fixed boxes (x1, y1, x2, y2, in pixels) on every frame, in place of a detector.

    With no ``boxes``, one box covers the whole image, as MMPoseInferencer's
    ``det_model='whole_image'`` does: the pose model then looks at the full picture.
    """

    provides = {'boxes'}

    def __init__(self, boxes: list[Box] | None = None, label: NonEmpty = 'person',
                 score: Unit = 1.0) -> None:
        for box in boxes or ():
            if not (box[0] < box[2] and box[1] < box[3]):
                raise ValueError(f'each box must be [x1, y1, x2, y2] with x1 < x2 and y1 < y2, '
                                 f'but got {list(box)}')
        self.boxes, self.label, self.score = boxes, label, score

    def process(self, frame: Frame) -> Frame:
        boxes = self.boxes
        if boxes is None:
            height, width = frame.image.shape[:2]
            boxes = [(0.0, 0.0, float(width), float(height))]
        objects = tuple(Object(bbox=box, label=self.label, score=self.score) for box in boxes)
        return frame.replace(objects=objects,
                             dataset_meta={**frame.dataset_meta, 'classes': (self.label,)})
