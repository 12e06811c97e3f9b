"""Blend the pose model's heat maps under the drawing (MMPoseInferencer's ``draw_heatmap``).

Each object's map (``Object.extras[HEATMAP_KEY]``, see nodes.models.heatmaps) is warped from its
crop onto the image; where maps overlap the larger value counts. The maximum is shown in
OpenCV's JET colours, blended in proportion to its value, so the picture stays as it is where
the model sees nothing.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from webcam_app import Object

from ..common import HEATMAP_KEY

__all__ = ['blend_heatmaps', 'heat_image']


def heat_image(objects: Sequence[Object], size: tuple[int, int]) -> np.ndarray | None:
    """The (H, W) maximum of the objects' maps in image pixels (``size`` = (W, H)); None when
    no object has one."""
    total: np.ndarray | None = None
    for obj in objects:
        patch = obj.extras.get(HEATMAP_KEY)
        if patch is None:
            continue
        heat, matrix = patch
        warped = cv2.warpAffine(np.asarray(heat, np.float32), np.asarray(matrix, np.float32),
                                size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        total = warped if total is None else np.maximum(total, warped, out=total)
    return total


def blend_heatmaps(image: np.ndarray, objects: Sequence[Object], alpha: float = 0.6) -> bool:
    """Blend the objects' maps into ``image`` (BGR, writable) in place; False if none had one."""
    heat = heat_image(objects, (image.shape[1], image.shape[0]))
    if heat is None:
        return False
    heat = np.clip(heat, 0, 1)
    colors = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET)
    weight = (heat * alpha)[..., None]
    image[:] = (image * (1 - weight) + colors * weight).astype(np.uint8)
    return True
