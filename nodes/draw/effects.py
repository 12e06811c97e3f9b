"""Picture effects driven by keypoint names; the face and hand ones live in their own modules.

Every effect copies the image before drawing, and a disabled effect (YAML ``enable_key``)
passes frames through unchanged.
"""
from __future__ import annotations

import logging
import math
import os
from typing import Literal, Sequence

import cv2
import numpy as np

from webcam_app import Frame, Node
from webcam_app.params import Color, NonNegative, Positive

from ..common import MASK_KEY

__all__ = ['Background', 'fast_blur']

log = logging.getLogger(__name__)


def fast_blur(image: np.ndarray, size: int) -> np.ndarray:
    """A strong blur of about ``size`` pixels, computed at a quarter of the resolution."""
    h, w = image.shape[:2]
    factor = 4 if size >= 8 and min(h, w) >= 16 else 1
    small = cv2.resize(image, (w // factor, h // factor), interpolation=cv2.INTER_AREA) \
        if factor > 1 else image
    k = max(3, (size // factor) | 1)
    small = cv2.GaussianBlur(small, (k, k), 0)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR) if factor > 1 else small


class Background(Node):
    """Blur the background, or replace it by a color or a picture: all but the people.

    ``keep='mask'`` keeps the pixels of the frame's person mask (``frame.meta['person_mask']``,
    (H, W) floats in [0, 1], which a ``PersonMask`` node earlier in the graph adds), blended by
    the mask's value, so only the people stay sharp. ``keep='boxes'`` keeps the union of the
    boxes (grown by ``padding`` pixels) of the objects whose label is in ``labels`` (all
    objects when empty); with no such object, all is background.
    """

    def __init__(self, mode: Literal['blur', 'color', 'image'] = 'blur',
                 keep: Literal['mask', 'boxes'] = 'mask', padding: NonNegative = 16,
                 blur: Positive = 31, color: Color = (0, 255, 0), image: str = '',
                 labels: Sequence[str] = ()) -> None:
        if mode == 'image' and not image:
            raise ValueError("mode 'image' needs image: the path of a picture, but got none")
        self.mode, self.keep, self.padding, self.blur = mode, keep, padding, blur
        self.color, self.image_path, self.labels = color, image, frozenset(labels)
        self._picture: np.ndarray | None = None
        self._sized: np.ndarray | None = None    # the background at the frames' size

    def needs(self) -> frozenset[str]:
        return frozenset({'mask'} if self.keep == 'mask' else ())

    def _path(self) -> str:
        return os.path.join(self.context.graph_dir or '.', os.path.expanduser(self.image_path))

    def check(self) -> None:
        if self.mode == 'image' and not os.path.isfile(self._path()):
            raise ValueError(f'background image {self._path()!r} does not exist; '
                             f'fix the path (relative to the graph file) in image:')

    def setup(self) -> None:
        if self.mode == 'image':
            self._picture = cv2.imread(self._path(), cv2.IMREAD_COLOR)
            if self._picture is None:
                raise ValueError(f'background image {self._path()!r} is not a picture '
                                 f'OpenCV can read')

    def _background(self, image: np.ndarray) -> np.ndarray:
        if self.mode == 'blur':
            return fast_blur(image, self.blur)
        h, w = image.shape[:2]
        if self.mode == 'color':
            if self._sized is None or self._sized.shape != image.shape:
                self._sized = np.empty_like(image)
                self._sized[:] = np.array(self.color, np.uint8)
            return self._sized
        if self._sized is None or self._sized.shape[:2] != (h, w):
            self._sized = cv2.resize(self._picture, (w, h), interpolation=cv2.INTER_AREA)
        return self._sized

    def process(self, frame: Frame) -> Frame:
        image = frame.image
        out = self._background(image)
        if self.keep == 'mask':
            return frame.replace(image=self._blend(frame, image, out))
        if out is self._sized:             # the cached background: draw on a copy of it
            out = out.copy()
        h, w = image.shape[:2]
        pad = self.padding
        for obj in frame.objects:
            if self.labels and obj.label not in self.labels:
                continue
            x1, y1, x2, y2 = obj.bbox
            if not all(map(math.isfinite, obj.bbox)):
                continue
            x0, y0 = max(0, math.floor(x1 - pad)), max(0, math.floor(y1 - pad))
            xe, ye = min(w, math.ceil(x2 + pad)), min(h, math.ceil(y2 + pad))
            if xe > x0 and ye > y0:
                out[y0:ye, x0:xe] = image[y0:ye, x0:xe]
        return frame.replace(image=out)

    def _blend(self, frame: Frame, image: np.ndarray, background: np.ndarray) -> np.ndarray:
        """``image`` where the person mask is 1, ``background`` where it is 0, mixed between."""
        mask = frame.meta.get(MASK_KEY)
        if mask is None:
            raise ValueError(f"{self.name or 'Background'}: keep: mask needs frame.meta"
                             f"['{MASK_KEY}']; fix: put a PersonMask node before it, or set "
                             f"keep: boxes")
        if mask.shape != image.shape[:2]:
            mask = cv2.resize(mask, (image.shape[1], image.shape[0]),
                              interpolation=cv2.INTER_LINEAR)
        weight = np.ascontiguousarray(mask, np.float32)
        return cv2.blendLinear(image, background, weight, 1.0 - weight)
