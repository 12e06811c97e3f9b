"""Track ids across frames, and one-euro smoothing of keypoints."""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Hashable, Literal, Sequence

import numpy as np

from webcam_app import Frame, Node, Object
from webcam_app.params import NonNegative, NonNegativeFloat, Positive, PositiveFloat, Unit

from ..common import iou_matrix, track_key
from ..keypoints import confident

__all__ = ['OneEuro', 'Smoother', 'Tracker', 'iou_matrix']

log = logging.getLogger(__name__)


def _greedy(score: np.ndarray, threshold: float, higher_is_better: bool = True
            ) -> list[tuple[int, int]]:
    """Pairs (row, col), best score first, each row and column used once, within threshold."""
    flat = np.argsort(-score if higher_is_better else score, axis=None, kind='stable')
    rows, cols, pairs = set(), set(), []
    for r, c in zip(*np.unravel_index(flat, score.shape)):
        s = score[r, c]
        if (s < threshold) if higher_is_better else (s > threshold):
            break
        if r not in rows and c not in cols:
            rows.add(r)
            cols.add(c)
            pairs.append((int(r), int(c)))
    return pairs


@dataclass
class _Track:
    track_id: int
    box: np.ndarray                       # (4,) last seen box
    velocity: np.ndarray                  # (4,) per frame
    kpts: np.ndarray | None = None        # (K, 2) last seen keypoints
    kpt_ok: np.ndarray | None = None
    kpt_velocity: np.ndarray | None = None
    missed: int = 0                       # frames since last seen
    hits: int = 0                         # frames seen

    def predicted_box(self) -> np.ndarray:
        return self.box + self.velocity * (self.missed + 1)

    def predicted_kpts(self) -> np.ndarray | None:
        if self.kpts is None:
            return None
        step = 0 if self.kpt_velocity is None else self.kpt_velocity * (self.missed + 1)
        return self.kpts + step


class Tracker(Node):
    """Give objects stable ``track_id``s by greedy matching on IoU or on keypoint distance.

    ``match: iou`` pairs boxes whose IoU is at least ``iou_thr``; ``match: keypoints`` pairs
    objects whose keypoint similarity (OKS-like, 1 when the confident keypoints coincide) is at
    least ``oks_thr``. Tracks move with a constant-velocity prediction, so fast or crossing
    objects keep their ids; what is left unpaired is then matched by centre distance (up to
    ``max_dist`` box sizes). A track unseen for more than ``max_age`` frames is forgotten.
    """

    def __init__(self, match: Literal['iou', 'keypoints'] = 'iou', iou_thr: Unit = 0.3,
                 oks_thr: Unit = 0.3, max_age: NonNegative = 10,
                 max_dist: NonNegativeFloat = 1.5, kpt_thr: Unit = 0.3) -> None:
        self.match, self.iou_thr, self.oks_thr = match, iou_thr, oks_thr
        self.max_age, self.max_dist, self.kpt_thr = max_age, max_dist, kpt_thr
        self._tracks: list[_Track] = []
        self._next_id = 0

    def _similarity(self, boxes: np.ndarray, objects: Sequence[Object]) -> np.ndarray:
        predicted = np.array([t.predicted_box() for t in self._tracks]).reshape(-1, 4)
        if self.match == 'iou':
            return iou_matrix(predicted, boxes)
        sim = np.zeros((len(self._tracks), len(objects)))
        for i, track in enumerate(self._tracks):
            kpts = track.predicted_kpts()
            if kpts is None:
                continue
            w, h = predicted[i, 2:] - predicted[i, :2]
            scale2 = max(w * h, 1.0) * 0.1 ** 2 * 2          # OKS with k = 0.1 for every point
            for j, obj in enumerate(objects):
                if obj.keypoints is None or len(obj.keypoints) != len(kpts):
                    continue
                both = track.kpt_ok & confident(obj, self.kpt_thr)
                if both.any():
                    d2 = np.sum((np.asarray(obj.keypoints)[both] - kpts[both]) ** 2, axis=1)
                    sim[i, j] = float(np.mean(np.exp(-d2 / scale2)))
        return sim

    def _distance(self, boxes: np.ndarray) -> np.ndarray:
        """Centre distance from each predicted track box to each box, in track box sizes."""
        predicted = np.array([t.predicted_box() for t in self._tracks]).reshape(-1, 4)
        c_t = (predicted[:, :2] + predicted[:, 2:]) / 2
        c_b = (boxes[:, :2] + boxes[:, 2:]) / 2
        size = np.maximum((predicted[:, 2:] - predicted[:, :2]).max(axis=1), 1.0)
        return np.linalg.norm(c_t[:, None] - c_b[None], axis=2) / size[:, None]

    def _assign(self, objects: Sequence[Object], boxes: np.ndarray) -> dict[int, int]:
        """{object index: track index}."""
        if not self._tracks or not objects:
            return {}
        thr = self.iou_thr if self.match == 'iou' else self.oks_thr
        pairs = _greedy(self._similarity(boxes, objects), max(thr, 1e-9))
        assigned = {c: r for r, c in pairs}
        free_t = [r for r in range(len(self._tracks)) if r not in set(assigned.values())]
        free_o = [c for c in range(len(objects)) if c not in assigned]
        if free_t and free_o and self.max_dist > 0:
            dist = self._distance(boxes)[np.ix_(free_t, free_o)]
            for r, c in _greedy(dist, self.max_dist, higher_is_better=False):
                assigned[free_o[c]] = free_t[r]
        return assigned

    def _update(self, track: _Track, obj: Object, box: np.ndarray) -> None:
        steps = track.missed + 1
        step = (box - track.box) / steps
        track.velocity = step if track.hits == 1 else 0.5 * track.velocity + 0.5 * step
        if obj.keypoints is not None:
            kpts = np.asarray(obj.keypoints, np.float64)
            if track.kpts is not None and track.kpts.shape == kpts.shape:
                step = np.nan_to_num((kpts - track.kpts) / steps)
                old = track.kpt_velocity
                track.kpt_velocity = step if old is None else 0.5 * old + 0.5 * step
            else:
                track.kpt_velocity = None
            track.kpts, track.kpt_ok = kpts, confident(obj, self.kpt_thr)
        track.box, track.missed, track.hits = box, 0, track.hits + 1

    def process(self, frame: Frame) -> Frame:
        objects = frame.objects
        boxes = np.array([o.bbox for o in objects], np.float64).reshape(-1, 4)
        assigned = self._assign(objects, boxes)
        updated, out = set(), []
        for j, obj in enumerate(objects):
            if j in assigned:
                track = self._tracks[assigned[j]]
            else:
                track = _Track(self._next_id, boxes[j], np.zeros(4))
                self._next_id += 1
                self._tracks.append(track)
            self._update(track, obj, boxes[j])
            updated.add(track.track_id)
            out.append(obj.replace(track_id=track.track_id))
        for track in self._tracks:
            if track.track_id not in updated:
                track.missed += 1
        self._tracks = [t for t in self._tracks if t.missed <= self.max_age]
        return frame.replace(objects=tuple(out))


class OneEuro:
    """The one-euro filter (Casiez et al., CHI 2012) over an array of values at once.

    Each value gets its own adaptive cutoff: ``min_cutoff + beta * |speed|`` (Hz, speed in units
    per second), so slow motion is smoothed hard and fast motion follows with little lag.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0) -> None:
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None
        self.t = 0.0

    @staticmethod
    def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
        return 1.0 / (1.0 + 1.0 / (2 * math.pi * cutoff * dt))

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        """Filter the values ``x`` observed at time ``t`` (seconds); returns a new array."""
        x = np.asarray(x, np.float64)
        dt = t - self.t
        if self.x is None or self.x.shape != x.shape or not dt > 0:
            self.x, self.dx, self.t = x.copy(), np.zeros_like(x), t   # start (or time went back)
            return x.copy()
        known = np.isfinite(x) & np.isfinite(self.x)
        prev = np.where(known, self.x, x)
        dx = np.where(known, (x - prev) / dt, 0.0)
        edx = self.dx + self._alpha(self.d_cutoff, dt) * (dx - self.dx)
        alpha = self._alpha(self.min_cutoff + self.beta * np.abs(edx), dt)
        out = prev + alpha * (x - prev)
        self.x = np.where(np.isfinite(x), out, self.x)        # a missing value keeps its state
        self.dx, self.t = edx, t
        return out


@dataclass
class _Smoothed:
    filter: OneEuro
    last_seen: int = 0


class Smoother(Node):
    """Smooth keypoints and boxes over time with a one-euro filter per track.

    Tracks are told apart by ``track_id`` (run a Tracker first), else by their order in the
    frame. Time comes from the source (``meta['source_timestamp_ms']``) when it gives one, else
    from the capture ``timestamp``. A track unseen for ``max_age`` frames is forgotten.
    ``static_image_mode`` (the CLI sets it for an image or a folder of images, which may be
    unrelated photos): nothing is smoothed, each frame's points stand as found.
    """

    def __init__(self, min_cutoff: PositiveFloat = 1.0, beta: NonNegativeFloat = 0.0,
                 d_cutoff: PositiveFloat = 1.0, max_age: Positive = 30,
                 smooth_bbox: bool = True, static_image_mode: bool = False) -> None:
        self.static_image_mode = static_image_mode
        self.params = (min_cutoff, beta, d_cutoff)
        self.max_age, self.smooth_bbox = max_age, smooth_bbox
        self._states: dict[Hashable, _Smoothed] = {}
        self._count = 0

    @staticmethod
    def frame_time(frame: Frame) -> float:
        """The frame's time in seconds: the source's own timestamp when it has one."""
        ms = frame.meta.get('source_timestamp_ms')
        return float(ms) / 1000.0 if ms is not None else float(frame.timestamp)

    def _smooth(self, obj: Object, state: _Smoothed, t: float) -> Object:
        parts = [] if obj.keypoints is None else [np.asarray(obj.keypoints, np.float64).ravel()]
        if self.smooth_bbox:
            parts.append(np.asarray(obj.bbox, np.float64))
        if not parts:
            return obj
        out = state.filter(np.concatenate(parts), t)
        changes = {}
        if obj.keypoints is not None:
            n = obj.keypoints.size
            changes['keypoints'] = out[:n].reshape(obj.keypoints.shape)
        if self.smooth_bbox:
            changes['bbox'] = tuple(float(v) for v in out[-4:])
        return obj.replace(**changes)

    def process(self, frame: Frame) -> Frame:
        if self.static_image_mode:       # unrelated images: nothing to smooth across
            return frame
        self._count += 1
        t = self.frame_time(frame)
        out = []
        for order, obj in enumerate(frame.objects):
            key = track_key(obj, order)
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = _Smoothed(OneEuro(*self.params))
            state.last_seen = self._count
            out.append(self._smooth(obj, state, t))
        stale = [k for k, s in self._states.items() if self._count - s.last_seen >= self.max_age]
        for key in stale:
            del self._states[key]
        return frame.replace(objects=tuple(out))
