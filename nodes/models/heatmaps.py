"""A top-down pose model's heat map per object, for drawing (MMPoseInferencer's draw_heatmap).

One (h, w) map per object in the model's crop, values in [0, 1], with the affine that takes image
pixels onto it, stored in ``Object.extras[HEATMAP_KEY]``. Heatmap heads give the maximum over
keypoints of their heatmaps; SimCC heads (RTMPose) the maximum over keypoints of the outer
product of each keypoint's x and y marginals, normalized as mmpose's ``get_simcc_normalized``
does when its heads ``output_heatmaps``. The PyTorch and the exported paths both come here.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from ..common import HEATMAP_KEY

__all__ = ['HEATMAP_KEY', 'heat_patch', 'keypoint_maps', 'simcc_maps', 'simcc_normalized']


def simcc_normalized(simcc: np.ndarray) -> np.ndarray:
    """mmpose's ``get_simcc_normalized``: clamp at 0; a row whose maximum is over 1 is divided
    by it."""
    simcc = np.clip(np.asarray(simcc, np.float32), 0, None)
    peak = simcc.max(axis=-1, keepdims=True)
    return np.where(peak > 1, simcc / np.maximum(peak, 1e-12), simcc)


def simcc_maps(simcc_x: np.ndarray, simcc_y: np.ndarray) -> np.ndarray:
    """(N, K, Wx) and (N, K, Hy) SimCC outputs to (N, Hy, Wx) maps: per object, the maximum
    over keypoints of y ⊗ x, each normalized."""
    x, y = simcc_normalized(simcc_x), simcc_normalized(simcc_y)
    out = np.zeros((x.shape[0], y.shape[-1], x.shape[-1]), np.float32)
    for k in range(x.shape[1]):          # one keypoint at a time: no (N, K, Hy, Wx) array
        np.maximum(out, y[:, k, :, None] * x[:, k, None, :], out=out)
    return out


def keypoint_maps(heatmaps: np.ndarray) -> np.ndarray:
    """(N, K, h, w) heatmaps to (N, h, w): the maximum over keypoints."""
    return np.asarray(heatmaps, np.float32).max(axis=1)


def heat_patch(heat: np.ndarray, center: Sequence[float], scale: Sequence[float],
               size: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One object's map, resized to ``size`` (w, h; default: as it is) and clipped to [0, 1],
    and the 2x3 matrix taking image pixels onto it: the map covers the box ``center``, ``scale``
    (w, h in pixels) as the model's crop did."""
    heat = np.asarray(heat, np.float32)
    if size is not None and (heat.shape[1], heat.shape[0]) != tuple(size):
        heat = cv2.resize(heat, (int(size[0]), int(size[1])), interpolation=cv2.INTER_AREA)
    h, w = heat.shape
    (cx, cy), (sw, sh) = np.asarray(center, np.float64), np.asarray(scale, np.float64)
    fx, fy = w / sw, h / sh
    matrix = np.array([[fx, 0, -(cx - sw / 2) * fx], [0, fy, -(cy - sh / 2) * fy]], np.float32)
    return np.clip(heat, 0, 1), matrix
