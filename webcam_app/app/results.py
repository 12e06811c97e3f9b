"""What the Python API takes in (arrays, image paths) and gives back (a Result per frame)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

import cv2
import numpy as np

from ..predictions import frame_record

from ..messages import Frame

__all__ = ['Result', 'to_image']


def to_image(item: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """A frame for the graph, and its metadata: a BGR uint8 array (copied, so the caller may
    reuse theirs), a grayscale one (made BGR), or the path of an image file."""
    if isinstance(item, (str, Path)):
        image = cv2.imread(str(item), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f'cannot read an image from {item} (cv2.imread failed); check '
                             'the path and that it is a picture OpenCV can decode')
        return image, {'input': str(item)}
    if not isinstance(item, np.ndarray):
        raise TypeError(f'a frame must be a BGR numpy array or an image path, but got '
                        f'{type(item).__name__}')
    if item.dtype != np.uint8 or not (item.ndim == 2 or (item.ndim == 3 and item.shape[2] == 3)):
        raise ValueError(f'a frame must be a uint8 array of shape (H, W, 3) in BGR order, or '
                         f'(H, W) grayscale, but got {item.dtype} {item.shape}')
    if item.ndim == 2:
        return cv2.cvtColor(item, cv2.COLOR_GRAY2BGR), {}
    return np.array(item, order='C', copy=True), {}


@dataclass(frozen=True)
class Result:
    """One frame's result.

    Attributes:
        frame_id: the frame's index in the pipeline's stream, from 0.
        frame: what the graph's (first) sink received: the drawn picture and the objects.
        outputs: every sink's frame, by node name (for graphs with several sinks).
        skipped: the nodes that let this frame go no further, each with why: the error, for a
            node with ``on_error: skip``, or ``'no output'``. Below such a node the frame
            reaches no sink: ``frame`` is then None (or ``outputs`` lacks those sinks).
    """

    frame_id: int
    frame: Frame | None
    outputs: Mapping[str, Frame] = field(default_factory=dict, repr=False)
    skipped: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def record(self) -> dict[str, Any]:
        """The frame as ``--pred-out`` writes it: ``{frame_id, timestamp, instances}``."""
        if self.frame is None:   # a node dropped the frame on the way to the first sink
            return {'frame_id': self.frame_id, 'timestamp': None, 'instances': []}
        return frame_record(self.frame)

    @property
    def predictions(self) -> list[dict[str, Any]]:
        """One dict per detected instance, with mmpose's field names (``keypoints``,
        ``keypoint_scores``, ``bbox``, ``bbox_score``) plus ``label`` and ``track_id``."""
        return self.record['instances']

    @property
    def image(self) -> np.ndarray | None:
        """The picture as the graph drew it (read-only; copy it to draw on it)."""
        return None if self.frame is None else self.frame.image
