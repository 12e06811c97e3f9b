"""Helpers the built-in nodes share: box geometry, track keys, output paths, class names,
the box palette, and a per-node cache of what a node derives from a model's dataset meta."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Hashable, Mapping, Sequence

import numpy as np

from webcam_app import Object

__all__ = ['HEATMAP_KEY', 'MASK_KEY', 'PALETTE', 'PerMeta', 'box_around', 'box_iou', 'boxes_from_keypoints',
           'check_output_folder', 'inside', 'iou_matrix', 'normalize_classes', 'resolve_output',
           'track_key']

#: Box colors (BGR), picked by track id when there is one, else by label id.
MASK_KEY = 'person_mask'   # frame.meta key of a person mask (PersonMask writes, Background reads)
#: Object.extras key of a pose model's heat map: (map, matrix), ``map`` an (h, w) float32 array
#: in [0, 1], ``matrix`` the 2x3 affine taking image pixels to map pixels (see nodes.models.heatmaps)
HEATMAP_KEY = 'heatmap'

PALETTE = ((255, 128, 0), (0, 200, 255), (60, 220, 60), (255, 60, 200), (0, 90, 255),
           (255, 255, 0), (160, 60, 255), (0, 255, 160), (200, 200, 200), (40, 40, 255))


def box_around(points: np.ndarray, scale: float = 1.0, image_size: tuple[int, int] | None = None
               ) -> tuple[float, float, float, float]:
    """The tightest box of (N, 2) ``points``, grown ``scale`` times about its centre and clipped
    to ``image_size`` (width, height) when given."""
    points = np.asarray(points, np.float64)
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre, half = (lo + hi) / 2, (hi - lo) * scale / 2
    (x1, y1), (x2, y2) = centre - half, centre + half
    if image_size is not None:
        w, h = image_size
        x1, x2 = np.clip(x1, 0, w), np.clip(x2, 0, w)
        y1, y2 = np.clip(y1, 0, h), np.clip(y2, 0, h)
    return float(x1), float(y1), float(x2), float(y2)


def boxes_from_keypoints(objects: Sequence[Object], scale: float = 1.25, kpt_thr: float = 0.3,
                         image_size: tuple[int, int] | None = None) -> list[Object]:
    """Each object with its box replaced by the box around its confident keypoints, scaled.

    As MMPose 0.x's PoseTrackerNode did between detections (``det_interval``): the tightest box
    of the keypoints scoring above ``kpt_thr``, grown ``scale`` times about its centre, clipped to
    ``image_size`` (width, height) when given. An object with fewer than two such keypoints
    keeps its box.
    """
    out = []
    for obj in objects:
        if obj.keypoints is not None:
            ok = np.isfinite(obj.keypoints).all(axis=1)
            if obj.keypoint_scores is not None:
                ok &= np.asarray(obj.keypoint_scores) > kpt_thr     # strictly, as MMPose 0.x
            if ok.sum() >= 2:
                obj = obj.replace(bbox=box_around(obj.keypoints[ok], scale, image_size))
        out.append(obj)
    return out


def track_key(obj: Object, order: int) -> Hashable:
    """Who an object is across frames: its track id, else its place in the frame's list."""
    return ('track', obj.track_id) if obj.track_id is not None else ('order', order)


def resolve_output(path: str, base_dir: str) -> Path:
    """An output path: ``~`` expanded, relative paths against ``base_dir``."""
    out = Path(path).expanduser()
    return out if out.is_absolute() else Path(base_dir) / out


def check_output_folder(path: Path, what: str) -> None:
    """Raise ValueError, saying how to fix it, when ``path``'s folder is missing or read-only."""
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f'{what} folder does not exist: {folder}; fix: create it '
                         f'(mkdir -p {folder}) or choose another path')
    if not os.access(folder, os.W_OK):
        raise ValueError(f'{what} folder is not writable: {folder}; fix: choose another path')


def normalize_classes(value: Any) -> tuple[str, ...]:
    """Class names as a tuple of str: ``'hand'`` -> ``('hand',)``, a list -> a tuple, None -> ()."""
    if value is None:
        return ()
    if isinstance(value, (str, bytes)):
        return (value.decode() if isinstance(value, bytes) else value,)
    try:
        return tuple(str(v) for v in value)
    except TypeError:
        raise ValueError('classes must be a name or a list of names, but got '
                         f'{type(value).__name__} {value!r}') from None


class PerMeta:
    """``compute(meta)``, computed again only when a frame brings another meta object.

    A model node builds its (read-only) dataset meta once and sends that same object with every
    frame, so a node that derives something from it (a drawing style, where the eyes are) keeps
    one of these and pays once per model, not per frame.
    """

    __slots__ = ('compute', 'meta', 'value')

    def __init__(self, compute: Callable[[Mapping[str, Any]], Any]) -> None:
        self.compute, self.meta, self.value = compute, None, None

    def __call__(self, meta: Mapping[str, Any]) -> Any:
        if meta is not self.meta:
            self.value, self.meta = self.compute(meta), meta
        return self.value


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) IoU of boxes ``a`` (N, 4) and ``b`` (M, 4), x1 y1 x2 y2."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two boxes, x1 y1 x2 y2."""
    return float(iou_matrix(np.asarray([a], np.float64), np.asarray([b], np.float64))[0, 0])


def inside(box: Sequence[float], point: Sequence[float]) -> bool:
    """Whether ``point`` (x, y) lies in ``box`` (x1 y1 x2 y2), edges included."""
    return bool(box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3])
