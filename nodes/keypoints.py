"""Find keypoints by name across datasets (mmpose, MediaPipe): effects never hard-code indices."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from webcam_app import Object

__all__ = ['ALIASES', 'HAND_SIDES', 'Hand', 'confident', 'eye_ids', 'eye_points', 'hand_size',
           'hands', 'keypoint', 'keypoint_id', 'rgb_to_bgr']

#: Canonical name -> the names datasets use for it, tried in order (mmpose first, then MediaPipe).
#: A name that is not a key here is looked up as it is.
ALIASES: dict[str, tuple[str, ...]] = {
    'wrist': ('wrist', 'hand_root'),
    'thumb_tip': ('thumb4', 'thumb_tip', 'thumb'),               # BlazePose: left_thumb
    'index_tip': ('forefinger4', 'index_finger_tip', 'index'),   # BlazePose: left_index
    'middle_tip': ('middle_finger4', 'middle_finger_tip'),
    'ring_tip': ('ring_finger4', 'ring_finger_tip'),
    'pinky_tip': ('pinky_finger4', 'pinky_tip', 'pinky'),
    'left_eye': ('left_eye',),
    'right_eye': ('right_eye',),
    'nose': ('nose',),
}

#: Name prefixes under which one object may carry a hand: a hand model ('') or a
#: whole-body / BlazePose model ('left_', 'right_').
HAND_SIDES = ('', 'left_', 'right_')

# Names (after the side prefix) that belong to a hand, in mmpose and MediaPipe spelling.
_FINGERS = ('thumb', 'forefinger', 'middle_finger', 'ring_finger', 'pinky_finger')
_MP_JOINTS = {'thumb': ('cmc', 'mcp', 'ip', 'tip')}
_MP_JOINTS.update({f: ('mcp', 'pip', 'dip', 'tip')
                   for f in ('index_finger', 'middle_finger', 'ring_finger', 'pinky')})
_HAND_PARTS = frozenset(
    ['wrist', 'hand_root', 'thumb', 'index', 'pinky']
    + [f'{finger}{i}' for finger in _FINGERS for i in range(1, 5)]
    + [f'{finger}_{joint}' for finger, joints in _MP_JOINTS.items() for joint in joints])

# 68-point (300W / COCO-WholeBody face) and 98-point (WFLW) eye keypoints, by number in the
# face's own names ('face-36', 'kpt-36'): subject's left eye first, then right eye.
_FACE_EYES = {68: (range(42, 48), range(36, 42)), 98: ((97,), (96,))}


def rgb_to_bgr(colors: Any, count: int, default: tuple[int, int, int]) -> list[tuple[int, ...]]:
    """Meta colors (RGB rows, as mmpose stores them) as ``count`` BGR int tuples for OpenCV."""
    array = np.asarray([] if colors is None else colors, dtype=np.int64)
    if array.size == 0 or array.size % 3:
        return [default] * count
    array = array.reshape(-1, 3)
    if len(array) == count:
        return [tuple(int(c) for c in row[::-1]) for row in array]
    if len(array) == 1:
        return [tuple(int(c) for c in array[0][::-1])] * count
    return [default] * count


def keypoint_id(meta: Mapping[str, Any], name: str, prefix: str = '') -> int | None:
    """The index of keypoint ``prefix + name`` (or one of its aliases) in ``meta``, else None."""
    name2id = meta.get('keypoint_name2id') or {}
    for candidate in ALIASES.get(name, (name,)):
        index = name2id.get(prefix + candidate)
        if index is not None:
            return int(index)
    return None


def confident(obj: Object, kpt_thr: float) -> np.ndarray:
    """(K,) bool: keypoints with a score of at least ``kpt_thr`` and finite coordinates."""
    kpts = obj.keypoints
    if kpts is None:
        return np.zeros(0, bool)
    ok = np.isfinite(kpts).all(axis=1)
    if obj.keypoint_scores is not None:
        ok &= np.asarray(obj.keypoint_scores) >= kpt_thr
    return ok


def keypoint(obj: Object, meta: Mapping[str, Any], name: str, kpt_thr: float = 0.0,
             prefix: str = '') -> np.ndarray | None:
    """The (x, y) of the named keypoint of ``obj`` when it exists and is confident, else None.

    Example: ``keypoint(obj, frame.dataset_meta, 'index_tip')`` works for mmpose's 'forefinger4'
    and MediaPipe's 'index_finger_tip'.
    """
    index = keypoint_id(meta, name, prefix)
    if index is None or obj.keypoints is None or index >= len(obj.keypoints):
        return None
    if not confident(obj, kpt_thr)[index]:
        return None
    return np.asarray(obj.keypoints[index], dtype=np.float64)


def eye_ids(meta: Mapping[str, Any]) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """The keypoint ids of (subject's left eye, subject's right eye) in ``meta``, or None."""
    left, right = keypoint_id(meta, 'left_eye'), keypoint_id(meta, 'right_eye')
    if left is not None and right is not None:
        return (left,), (right,)
    name2id = meta.get('keypoint_name2id') or {}
    for prefix in ('face-', 'kpt-'):
        count = sum(1 for name in name2id if name.startswith(prefix))
        if count in _FACE_EYES:
            try:
                return tuple(tuple(name2id[f'{prefix}{i}'] for i in ids)
                             for ids in _FACE_EYES[count])
            except KeyError:
                return None
    return None


def eye_points(obj: Object, meta: Mapping[str, Any], kpt_thr: float = 0.3,
               ids: Any = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(subject's left eye, subject's right eye) centres of ``obj``, or None when not both seen.

    Body models (COCO, COCO-WholeBody, Halpe, BlazePose) give 'left_eye'/'right_eye'; face-only
    68-point and WFLW models give eye contours or pupils, found by their numbered names.
    ``ids``: ``eye_ids(meta)`` when the caller keeps it (see ``nodes.common.PerMeta``).
    """
    ids = eye_ids(meta) if ids is None else ids
    if ids is None or obj.keypoints is None:
        return None
    ok = confident(obj, kpt_thr)
    centres = []
    for side in ids:
        side = [i for i in side if i < len(ok) and ok[i]]
        if not side:
            return None
        points = np.asarray(obj.keypoints[side], np.float64)
        centres.append(points[0] if len(points) == 1 else points.mean(axis=0))
    return centres[0], centres[1]


@dataclass(frozen=True)
class Hand:
    """Where one hand's keypoints sit in a meta: a hand model has one, a whole-body model two."""

    side: str                    # '', 'left_' or 'right_' (the name prefix)
    index_tip: int
    thumb_tip: int | None
    members: tuple[int, ...]     # every keypoint of this hand, for its size


def hands(meta: Mapping[str, Any]) -> tuple[Hand, ...]:
    """The hands a meta's objects carry, found by name."""
    name2id = meta.get('keypoint_name2id') or {}
    found = []
    for side in HAND_SIDES:
        index_tip = keypoint_id(meta, 'index_tip', side)
        if index_tip is None:
            continue
        members = tuple(sorted(int(i) for name, i in name2id.items()
                               if name.startswith(side) and name[len(side):] in _HAND_PARTS))
        found.append(Hand(side, index_tip, keypoint_id(meta, 'thumb_tip', side), members))
    return tuple(found)


def hand_size(obj: Object, hand: Hand, kpt_thr: float = 0.3) -> float:
    """A hand's size in pixels: its box for a hand model, else the extent of its keypoints."""
    if not hand.side:
        x1, y1, x2, y2 = obj.bbox
        return max(x2 - x1, y2 - y1)
    ok = confident(obj, kpt_thr)
    members = [i for i in hand.members if i < len(ok) and ok[i]]
    if len(members) < 2:
        return 0.0
    pts = np.asarray(obj.keypoints[members], np.float64)
    return float((pts.max(axis=0) - pts.min(axis=0)).max())
