"""Dataset metas for the MediaPipe nodes, in the form mmpose's ``parse_pose_metainfo`` returns.

``HAND_META`` is mmpose's OneHand10K meta (the 21-point layout every mmpose hand model shares,
hand5 / COCO-WholeBody-hand included), so visualizers and effects work unchanged on either
backend. ``COCO_META`` is mmpose's COCO-17 meta. ``BLAZEPOSE_META`` describes MediaPipe's 33
BlazePose landmarks. Names, order, links and colors of the first two are copied from mmpose
1.3.2's ``configs/_base_/datasets/onehand10k.py`` and ``coco.py``.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

__all__ = ['BLAZEPOSE_META', 'BLAZEPOSE_NAMES', 'COCO_FROM_BLAZEPOSE', 'COCO_META', 'HAND_META',
           'parse_pose_metainfo']

# -- colors (RGB, as mmpose writes them) -------------------------------------------------------
_WHITE, _ORANGE, _PINK = [255, 255, 255], [255, 128, 0], [255, 153, 255]
_SKY, _RED, _GREEN, _BLUE = [102, 178, 255], [255, 51, 51], [0, 255, 0], [51, 153, 255]


def _info(names: list[str], colors: list[list[int]], types: list[str],
          links: list[tuple[tuple[str, str], list[int]]]) -> dict[str, dict]:
    """keypoint_info and skeleton_info in mmpose's config layout; swaps pair left_/right_ names."""
    def swap(name: str) -> str:
        for a, b in (('left_', 'right_'), ('right_', 'left_')):
            if name.startswith(a) and name.replace(a, b, 1) in names:
                return name.replace(a, b, 1)
        return ''

    keypoint_info = {i: dict(name=n, id=i, color=c, type=t, swap=swap(n))
                     for i, (n, c, t) in enumerate(zip(names, colors, types))}
    skeleton_info = {i: dict(link=link, id=i, color=c) for i, (link, c) in enumerate(links)}
    return dict(keypoint_info=keypoint_info, skeleton_info=skeleton_info)


def parse_pose_metainfo(metainfo: Mapping[str, Any]) -> Mapping[str, Any]:
    """What mmpose's ``parse_pose_metainfo`` returns for this dataset info (no mmpose needed).

    The arrays are read-only and the result is a read-only mapping, since one meta is shared by
    every frame a node emits.
    """
    kinfo, sinfo = metainfo['keypoint_info'], metainfo['skeleton_info']
    id2name = {i: k['name'] for i, k in kinfo.items()}
    name2id = {n: i for i, n in id2name.items()}
    flip_indices, flip_pairs = [], []
    for i, k in kinfo.items():
        swap = k.get('swap', '')
        if swap in ('', k['name']):
            flip_indices.append(i)
        else:
            flip_indices.append(name2id[swap])
            pair = (name2id[swap], i)
            if pair not in flip_pairs:
                flip_pairs.append(pair)

    def frozen(array: np.ndarray) -> np.ndarray:
        array.flags.writeable = False
        return array

    return MappingProxyType(dict(
        dataset_name=metainfo['dataset_name'],
        num_keypoints=len(kinfo),
        keypoint_id2name=id2name,
        keypoint_name2id=name2id,
        upper_body_ids=[i for i, k in kinfo.items() if k.get('type') == 'upper'],
        lower_body_ids=[i for i, k in kinfo.items() if k.get('type') == 'lower'],
        flip_indices=flip_indices,
        flip_pairs=flip_pairs,
        keypoint_colors=frozen(np.array([k.get('color', _ORANGE) for k in kinfo.values()],
                                        np.uint8)),
        num_skeleton_links=len(sinfo),
        skeleton_links=[(name2id[a], name2id[b]) for a, b in (s['link'] for s in sinfo.values())],
        skeleton_link_colors=frozen(np.array([s.get('color', [96, 96, 255])
                                              for s in sinfo.values()], np.uint8)),
        dataset_keypoint_weights=frozen(np.array(metainfo['joint_weights'], np.float32)),
        sigmas=frozen(np.array(metainfo['sigmas'], np.float32)),
    ))


# -- OneHand10K: wrist, then thumb, forefinger, middle, ring, pinky, each from base (1) to tip (4)
_FINGERS = (('thumb', _ORANGE), ('forefinger', _PINK), ('middle_finger', _SKY),
            ('ring_finger', _RED), ('pinky_finger', _GREEN))
_HAND_NAMES = ['wrist'] + [f'{f}{j}' for f, _ in _FINGERS for j in range(1, 5)]
_HAND_LINKS = [(('wrist' if j == 1 else f'{f}{j - 1}', f'{f}{j}'), c)
               for f, c in _FINGERS for j in range(1, 5)]
HAND_META = parse_pose_metainfo(dict(
    dataset_name='onehand10k',
    **_info(_HAND_NAMES, [_WHITE] + [c for _, c in _FINGERS for _ in range(4)], [''] * 21,
            _HAND_LINKS),
    joint_weights=[1.] * 21, sigmas=[]))

# -- COCO-17 --------------------------------------------------------------------------------------
_COCO_NAMES = ['nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
               'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
               'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle']
_COCO_LINKS = [
    (('left_ankle', 'left_knee'), _GREEN), (('left_knee', 'left_hip'), _GREEN),
    (('right_ankle', 'right_knee'), _ORANGE), (('right_knee', 'right_hip'), _ORANGE),
    (('left_hip', 'right_hip'), _BLUE), (('left_shoulder', 'left_hip'), _BLUE),
    (('right_shoulder', 'right_hip'), _BLUE), (('left_shoulder', 'right_shoulder'), _BLUE),
    (('left_shoulder', 'left_elbow'), _GREEN), (('right_shoulder', 'right_elbow'), _ORANGE),
    (('left_elbow', 'left_wrist'), _GREEN), (('right_elbow', 'right_wrist'), _ORANGE),
    (('left_eye', 'right_eye'), _BLUE), (('nose', 'left_eye'), _BLUE),
    (('nose', 'right_eye'), _BLUE), (('left_eye', 'left_ear'), _BLUE),
    (('right_eye', 'right_ear'), _BLUE), (('left_ear', 'left_shoulder'), _BLUE),
    (('right_ear', 'right_shoulder'), _BLUE)]


def _side_color(name: str, center: list[int] = _BLUE) -> list[int]:
    """mmpose's body colors: left green, right orange, face and trunk blue."""
    return _GREEN if name.startswith('left_') else _ORANGE if name.startswith('right_') else center


COCO_META = parse_pose_metainfo(dict(
    dataset_name='coco',
    **_info(_COCO_NAMES, [_BLUE] * 5 + [_side_color(n) for n in _COCO_NAMES[5:]],
            ['upper'] * 11 + ['lower'] * 6, _COCO_LINKS),
    joint_weights=[1., 1., 1., 1., 1., 1., 1., 1.2, 1.2, 1.5, 1.5, 1., 1., 1.2, 1.2, 1.5, 1.5],
    sigmas=[0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107,
            0.107, 0.087, 0.087, 0.089, 0.089]))

# -- BlazePose-33 (mediapipe.solutions.pose.PoseLandmark, lower-cased) -----------------------------
BLAZEPOSE_NAMES = (
    'nose', 'left_eye_inner', 'left_eye', 'left_eye_outer', 'right_eye_inner', 'right_eye',
    'right_eye_outer', 'left_ear', 'right_ear', 'mouth_left', 'mouth_right', 'left_shoulder',
    'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_pinky',
    'right_pinky', 'left_index', 'right_index', 'left_thumb', 'right_thumb', 'left_hip',
    'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle', 'left_heel',
    'right_heel', 'left_foot_index', 'right_foot_index')
# mediapipe.solutions.pose_connections.POSE_CONNECTIONS (a frozenset there), in sorted order.
_BLAZEPOSE_CONNECTIONS = (
    (0, 1), (0, 4), (1, 2), (2, 3), (3, 7), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13),
    (11, 23), (12, 14), (12, 24), (13, 15), (14, 16), (15, 17), (15, 19), (15, 21), (16, 18),
    (16, 20), (16, 22), (17, 19), (18, 20), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
    (27, 29), (27, 31), (28, 30), (28, 32), (29, 31), (30, 32))


def _link_color(a: str, b: str) -> list[int]:
    """Limb links take their side's color; face and trunk links are blue, as in mmpose's COCO."""
    if any(part in name for name in (a, b) for part in ('nose', 'eye', 'ear', 'mouth')):
        return _BLUE
    if {a.split('_', 1)[1], b.split('_', 1)[1]} == {'shoulder', 'hip'}:
        return _BLUE
    for side in ('left_', 'right_'):
        if a.startswith(side) and b.startswith(side):
            return _side_color(side)
    return _BLUE


_BP = BLAZEPOSE_NAMES
BLAZEPOSE_META = parse_pose_metainfo(dict(
    dataset_name='blazepose',
    **_info(list(_BP), [_BLUE] * 11 + [_side_color(n) for n in _BP[11:]],
            ['upper'] * 23 + ['lower'] * 10,
            [((_BP[a], _BP[b]), _link_color(_BP[a], _BP[b])) for a, b in _BLAZEPOSE_CONNECTIONS]),
    joint_weights=[1.] * 33, sigmas=[]))

#: For each COCO-17 keypoint, the BlazePose landmark it is.
COCO_FROM_BLAZEPOSE = tuple(BLAZEPOSE_NAMES.index(n) for n in _COCO_NAMES)
