"""Hand effects found through fingertip keypoints: a fading fingertip trail, a pinch detector."""
from __future__ import annotations

import collections
from typing import Annotated, Any, Hashable, Sequence

import cv2
import numpy as np

from webcam_app import Frame, Node, Object
from webcam_app.params import Color, Positive, Range, Unit

from ..common import PALETTE, PerMeta, track_key
from ..keypoints import confident, hand_size, hands

__all__ = ['FingertipTrail', 'PinchDetector', 'draw_trails']


def _blend_trail(image: np.ndarray, trail: Sequence[Any], color: tuple[int, ...],
                 thickness: int) -> None:
    """Blend one fading polyline into ``image`` in place, within the ROI around its points."""
    xy = np.array([(np.nan, np.nan) if p is None else p for p in trail], np.float64)
    seen = np.isfinite(xy).all(axis=1)
    if not seen.any():
        return
    h, w = image.shape[:2]
    pad = thickness + 3
    lo = np.floor(xy[seen].min(axis=0)).astype(int) - pad
    hi = np.ceil(xy[seen].max(axis=0)).astype(int) + pad
    x0, y0, x1, y1 = max(0, lo[0]), max(0, lo[1]), min(w, hi[0]), min(h, hi[1])
    if x1 <= x0 or y1 <= y0:
        return
    pts = np.rint(np.clip(np.where(seen[:, None], xy - (x0, y0), 0), -1e5, 1e5)).astype(int)
    pts = pts.tolist()
    seen = seen.tolist()
    alpha = np.zeros((y1 - y0, x1 - x0), np.uint8)
    n = len(pts)
    for i in range(1, n):
        if seen[i - 1] and seen[i]:
            frac = (i + 1) / n
            cv2.line(alpha, pts[i - 1], pts[i], int(255 * frac),
                     max(1, int(round(thickness * frac))), cv2.LINE_AA)
    if seen[-1]:
        cv2.circle(alpha, pts[-1], thickness // 2 + 2, 255, -1, cv2.LINE_AA)
    roi = image[y0:y1, x0:x1]
    paint = np.empty_like(roi)
    paint[:] = np.asarray(color, np.uint8)
    weight = alpha.astype(np.float32) * np.float32(1 / 255)
    roi[:] = cv2.blendLinear(paint, roi, weight, 1 - weight)


def draw_trails(image: np.ndarray, trails: Sequence[tuple[Sequence[Any], tuple[int, ...]]],
                thickness: int) -> None:
    """Blend fading polylines into ``image`` in place; each trail is (points or None, BGR).

    The newest segment is opaque and ``thickness`` wide; older ones fade and thin out. Only the
    ROI around each trail is blended.
    """
    for trail, color in trails:
        _blend_trail(image, trail, color, thickness)


class FingertipTrail(Node):
    """Draw a fading trail behind each hand's index fingertip (per track id, else per order)."""

    requires = {'keypoints'}

    def __init__(self, length: Annotated[int, Range(2)] = 20, kpt_thr: Unit = 0.3,
                 thickness: Positive = 8, color: Color | None = None) -> None:
        self.length, self.kpt_thr, self.thickness = length, kpt_thr, thickness
        self.color = color
        self._hands = PerMeta(hands)
        self._trails: dict[Hashable, collections.deque] = {}
        self._colors: dict[Hashable, tuple[int, ...]] = {}

    def _tips(self, frame: Frame) -> dict[Hashable, np.ndarray | None]:
        found: dict[Hashable, np.ndarray | None] = {}
        meta_hands = self._hands(frame.dataset_meta)
        for order, obj in enumerate(frame.objects):
            if obj.keypoints is None:
                continue
            ok = confident(obj, self.kpt_thr)
            for hand in meta_hands:
                tip = hand.index_tip
                if tip < len(ok):
                    point = np.asarray(obj.keypoints[tip], np.float64) if ok[tip] else None
                    found[(track_key(obj, order), hand.side)] = point
        return found

    def _update(self, tips: dict[Hashable, np.ndarray | None]) -> None:
        for key, trail in list(self._trails.items()):
            trail.append(tips.pop(key, None))        # a hand not seen leaves a gap that fades
            if all(p is None for p in trail):
                del self._trails[key], self._colors[key]
        for key, tip in tips.items():
            if tip is not None:
                self._trails[key] = collections.deque([tip], maxlen=self.length)
                who = int(key[0][1]) + (key[1] == 'right_')
                self._colors[key] = self.color or PALETTE[who % len(PALETTE)]

    def process(self, frame: Frame) -> Frame:
        self._update(self._tips(frame))
        if not self._trails:
            return frame
        image = frame.image.copy()
        draw_trails(image, [(trail, self._colors[key]) for key, trail in self._trails.items()],
                    self.thickness)
        return frame.replace(image=image)


class PinchDetector(Node):
    """Mark a pinch (thumb tip near index tip) and set ``extras['pinch']`` on each hand object.

    A hand pinches when its thumb-index distance is below ``ratio`` times the hand's size (its
    box for a hand model, the extent of its keypoints for a whole-body one). Objects whose tips
    are seen get ``extras['pinch']`` True or False; others pass unchanged.
    """

    requires = {'keypoints'}

    def __init__(self, ratio: Annotated[float, Range(0, 1, min_open=True, max_open=True)] = 0.2,
                 kpt_thr: Unit = 0.3, color: Color = (0, 255, 255)) -> None:
        self.ratio, self.kpt_thr, self.color = ratio, kpt_thr, color
        self._hands = PerMeta(hands)

    def _pinches(self, obj: Object, meta_hands: Sequence[Any]
                 ) -> tuple[bool | None, list[tuple[np.ndarray, float]]]:
        ok = confident(obj, self.kpt_thr)
        seen, marks = False, []
        for hand in meta_hands:
            ids = (hand.thumb_tip, hand.index_tip)
            if ids[0] is None or max(ids) >= len(ok) or not ok[list(ids)].all():
                continue
            seen = True
            thumb, index = np.asarray(obj.keypoints[list(ids)], np.float64)
            size = hand_size(obj, hand, self.kpt_thr)
            if size > 0 and np.hypot(*(thumb - index)) < self.ratio * size:
                marks.append(((thumb + index) / 2, size))
        return (bool(marks) if seen else None), marks

    def process(self, frame: Frame) -> Frame:
        meta_hands = self._hands(frame.dataset_meta)
        if not meta_hands:
            return frame
        objects, marks = [], []
        for obj in frame.objects:
            if obj.keypoints is not None:
                pinch, found = self._pinches(obj, meta_hands)
                if pinch is not None:
                    obj = obj.replace(extras={**obj.extras, 'pinch': pinch})
                    marks += found
            objects.append(obj)
        image = frame.image
        if marks:
            image = image.copy()
            for centre, size in marks:
                x, y = (int(round(v)) for v in centre)
                r = max(4, int(round(0.12 * size)))
                cv2.circle(image, (x, y), r, self.color, max(2, r // 4), cv2.LINE_AA)
                cv2.circle(image, (x, y), max(2, r // 3), self.color, -1, cv2.LINE_AA)
        return frame.replace(image=image, objects=tuple(objects))
