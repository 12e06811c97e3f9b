"""Where the people are, pixel by pixel: MediaPipe's bundled selfie segmentation.

``PersonMask`` adds ``frame.meta['person_mask']``: a read-only (H, W) float32 array, 1 on a
person and 0 on the background, at the frame's size. ``Background(keep='mask')`` uses it.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np

from webcam_app import Frame

from ...common import MASK_KEY
from .solutions import _MediaPipeNode, _to_rgb

__all__ = ['MASK_KEY', 'PersonMask']


class PersonMask(_MediaPipeNode):
    """Add the frame's person mask (``meta['person_mask']``) from MediaPipe selfie segmentation.

    ``model_selection`` 0 is the general model (256x256), 1 the faster landscape one (144x256).
    Objects and their meta pass through unchanged.
    """

    provides = {'mask'}

    def __init__(self, model_selection: Literal[0, 1] = 0) -> None:
        self.model_selection = model_selection
        self._solution: Any = None

    def _model_files(self) -> list[str]:
        name = ('selfie_segmentation', 'selfie_segmentation_landscape')[self.model_selection]
        return [f'modules/selfie_segmentation/{name}.tflite']

    def _build(self, mp: Any) -> Any:
        return mp.solutions.selfie_segmentation.SelfieSegmentation(
            model_selection=self.model_selection)

    def process(self, frame: Frame) -> Frame:
        if frame.image is None:
            return frame
        mask = self._solution.process(_to_rgb(frame.image)).segmentation_mask
        mask = np.array(mask, np.float32)      # our own copy, made read-only
        mask.flags.writeable = False
        return frame.with_meta(**{MASK_KEY: mask})
