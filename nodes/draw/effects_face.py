"""Face effects found through eye keypoints: sunglasses drawn by code, and big magnified eyes."""
from __future__ import annotations

import math
from typing import Annotated, Sequence

import cv2
import numpy as np

from webcam_app import Frame, Node
from webcam_app.params import Color, PositiveFloat, Range, Unit

from ..common import PerMeta
from ..keypoints import eye_ids, eye_points

__all__ = ['BigEye', 'Sunglasses', 'draw_sunglasses', 'magnify']

_SHIFT = 4                 # OpenCV fixed-point bits: sub-pixel ellipses
_ONE = 1 << _SHIFT


def _fixed(x: float, y: float) -> tuple[int, int]:
    return int(round(x * _ONE)), int(round(y * _ONE))


def draw_sunglasses(image: np.ndarray, left: Sequence[float], right: Sequence[float],
                    lens_color: tuple[int, int, int] = (25, 25, 25), scale: float = 1.0) -> None:
    """Draw sunglasses in place on the line from the subject's right eye to its left eye.

    Everything drawn stays within ``1.1 * scale`` eye distances of the point between the eyes.
    """
    (lx, ly), (rx, ry) = (float(v) for v in left), (float(v) for v in right)
    d = math.hypot(lx - rx, ly - ry)
    if d < 2:
        return
    ux, uy = (lx - rx) / d, (ly - ry) / d          # along the eye line, towards the left eye
    upx, upy = uy, -ux                             # perpendicular, towards the forehead
    angle = math.degrees(math.atan2(uy, ux))
    a, b = 0.40 * d * scale, 0.30 * d * scale
    axes = (int(round(a * _ONE)), int(round(b * _ONE)))
    rim = max(1, int(round(d * scale / 16)))
    dark = tuple(max(0, c - 20) for c in lens_color)
    shine = tuple(min(255, c + 90) for c in lens_color)
    for ex, ey in ((rx, ry), (lx, ly)):
        centre = _fixed(ex, ey)
        cv2.ellipse(image, centre, axes, angle, 0, 360, lens_color, -1, cv2.LINE_AA, _SHIFT)
        cv2.ellipse(image, centre, axes, angle, 0, 360, dark, rim, cv2.LINE_AA, _SHIFT)
        cv2.ellipse(image, centre, (axes[0] * 3 // 5, axes[1] * 3 // 5), angle, 200, 250,
                    shine, max(1, rim // 2), cv2.LINE_AA, _SHIFT)
    lift = 0.1 * d * scale
    inner, arm = 0.95 * a, 0.15 * d * scale
    bridge = (_fixed(rx + ux * inner + upx * lift, ry + uy * inner + upy * lift),
              _fixed(lx - ux * inner + upx * lift, ly - uy * inner + upy * lift))
    cv2.line(image, *bridge, dark, rim, cv2.LINE_AA, _SHIFT)
    for (ex, ey), out in (((rx, ry), -1.0), ((lx, ly), 1.0)):   # short temple arms
        sx, sy = ex + out * ux * a, ey + out * uy * a
        end = _fixed(sx + out * ux * arm + upx * lift, sy + out * uy * arm + upy * lift)
        cv2.line(image, _fixed(sx, sy), end, dark, rim, cv2.LINE_AA, _SHIFT)


def magnify(out: np.ndarray, src: np.ndarray, centre: Sequence[float], radius: float,
            strength: float) -> None:
    """Bulge ``src`` around ``centre`` into ``out`` (same shape): a radial magnifying warp.

    A pixel at distance r < radius samples the source at r * (1 - strength * (1 - (r/R)^2)^2),
    so the centre is magnified 1 / (1 - strength) times and the rim (r = R) is unchanged. Only
    the ROI around the circle is remapped.
    """
    h, w = src.shape[:2]
    cx, cy = float(centre[0]), float(centre[1])
    if not (0 <= cx < w and 0 <= cy < h) or radius < 2:
        return
    x0, y0 = max(0, int(cx - radius)), max(0, int(cy - radius))
    x1, y1 = min(w, int(cx + radius) + 2), min(h, int(cy + radius) + 2)
    dx = np.arange(x0, x1, dtype=np.float32) - cx
    dy = np.arange(y0, y1, dtype=np.float32)[:, None] - cy
    r2 = (dx * dx + dy * dy) / np.float32(radius * radius)
    factor = 1 - np.float32(strength) * np.square(np.maximum(0, 1 - r2))
    map_x = (cx - x0) + dx * factor
    map_y = (cy - y0) + dy * factor
    out[y0:y1, x0:x1] = cv2.remap(src[y0:y1, x0:x1], map_x, map_y, cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)


class _EyeEffect(Node):
    """Shared by the eye effects: find both eyes of every object, draw on a copy."""

    requires = {'keypoints'}

    def __init__(self, kpt_thr: Unit = 0.3) -> None:
        self.kpt_thr = kpt_thr
        self._eye_ids = PerMeta(eye_ids)

    def process(self, frame: Frame) -> Frame:
        meta = frame.dataset_meta
        ids = self._eye_ids(meta)
        eyes = [pair for obj in frame.objects
                if (pair := eye_points(obj, meta, self.kpt_thr, ids)) is not None]
        if not eyes:
            return frame
        image = frame.image.copy()
        for left, right in eyes:
            self._draw(image, frame.image, left, right)
        return frame.replace(image=image)

    def _draw(self, image: np.ndarray, src: np.ndarray, left: np.ndarray,
              right: np.ndarray) -> None:
        raise NotImplementedError


class Sunglasses(_EyeEffect):
    """Put sunglasses on every face whose two eyes are seen (body, whole-body or face models)."""

    def __init__(self, kpt_thr: Unit = 0.3, lens_color: Color = (25, 25, 25),
                 scale: PositiveFloat = 1.0) -> None:
        super().__init__(kpt_thr)
        self.lens_color, self.scale = lens_color, scale

    def _draw(self, image: np.ndarray, src: np.ndarray, left: np.ndarray,
              right: np.ndarray) -> None:
        draw_sunglasses(image, left, right, self.lens_color, self.scale)


class BigEye(_EyeEffect):
    """Magnify every seen eye with a local radial warp (cv2.remap on a small ROI)."""

    def __init__(self, kpt_thr: Unit = 0.3,
                 strength: Annotated[float, Range(0, 1, max_open=True)] = 0.5,
                 radius: Annotated[float, Range(0, 0.5, min_open=True)] = 0.4) -> None:
        """``radius``: of the magnified circle, as a fraction of the distance between the eyes."""
        super().__init__(kpt_thr)
        self.strength, self.radius = strength, radius

    def _draw(self, image: np.ndarray, src: np.ndarray, left: np.ndarray,
              right: np.ndarray) -> None:
        radius = self.radius * float(np.hypot(*(left - right)))
        for eye in (left, right):
            magnify(image, src, eye, radius, self.strength)
