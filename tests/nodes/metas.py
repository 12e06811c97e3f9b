"""Dataset metas as mmpose parses them, and synthetic hand/body objects placed by keypoint name.

The hand and COCO metas copy mmpose's configs/_base_/datasets/onehand10k.py and coco.py (names,
links and RGB colors); the MediaPipe metas use MediaPipe's landmark names and connections.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from webcam_app import Object

FINGERS = ('thumb', 'forefinger', 'middle_finger', 'ring_finger', 'pinky_finger')
HAND_NAMES = ['wrist'] + [f'{finger}{i}' for finger in FINGERS for i in range(1, 5)]
_FINGER_RGB = {'thumb': [255, 128, 0], 'forefinger': [255, 153, 255],
               'middle_finger': [102, 178, 255], 'ring_finger': [255, 51, 51],
               'pinky_finger': [0, 255, 0]}
# MediaPipe's own hand landmark names, in the same order as HAND_NAMES.
MP_HAND_NAMES = ['wrist'] + [f'{finger}_{joint}' for finger, joints in (
    ('thumb', ('cmc', 'mcp', 'ip', 'tip')),
    ('index_finger', ('mcp', 'pip', 'dip', 'tip')), ('middle_finger', ('mcp', 'pip', 'dip', 'tip')),
    ('ring_finger', ('mcp', 'pip', 'dip', 'tip')), ('pinky', ('mcp', 'pip', 'dip', 'tip')))
    for joint in joints]

COCO_NAMES = ['nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
              'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
              'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle']
_COCO_LINKS = [  # (a, b, RGB) from mmpose's coco.py
    ('left_ankle', 'left_knee', 'L'), ('left_knee', 'left_hip', 'L'),
    ('right_ankle', 'right_knee', 'R'), ('right_knee', 'right_hip', 'R'),
    ('left_hip', 'right_hip', 'C'), ('left_shoulder', 'left_hip', 'C'),
    ('right_shoulder', 'right_hip', 'C'), ('left_shoulder', 'right_shoulder', 'C'),
    ('left_shoulder', 'left_elbow', 'L'), ('right_shoulder', 'right_elbow', 'R'),
    ('left_elbow', 'left_wrist', 'L'), ('right_elbow', 'right_wrist', 'R'),
    ('left_eye', 'right_eye', 'C'), ('nose', 'left_eye', 'C'), ('nose', 'right_eye', 'C'),
    ('left_eye', 'left_ear', 'C'), ('right_eye', 'right_ear', 'C'),
    ('left_ear', 'left_shoulder', 'C'), ('right_ear', 'right_shoulder', 'C')]
_SIDE_RGB = {'L': [0, 255, 0], 'R': [255, 128, 0], 'C': [51, 153, 255]}

BLAZEPOSE_NAMES = [
    'nose', 'left_eye_inner', 'left_eye', 'left_eye_outer', 'right_eye_inner', 'right_eye',
    'right_eye_outer', 'left_ear', 'right_ear', 'mouth_left', 'mouth_right', 'left_shoulder',
    'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_pinky',
    'right_pinky', 'left_index', 'right_index', 'left_thumb', 'right_thumb', 'left_hip',
    'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle', 'left_heel',
    'right_heel', 'left_foot_index', 'right_foot_index']
_BLAZEPOSE_LINKS = [  # mediapipe.solutions.pose.POSE_CONNECTIONS
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13),
    (13, 15), (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18), (16, 20),
    (16, 22), (18, 20), (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
    (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32)]


def _swap(name: str) -> str:
    for a, b in (('left', 'right'), ('right', 'left')):
        if name.startswith(a):
            return b + name[len(a):]
        if name.endswith('_' + a):
            return name[:-len(a)] + b
    return ''


def parse_metainfo(info: dict[str, Any]) -> dict[str, Any]:
    """What ``mmpose.datasets.datasets.utils.parse_pose_metainfo`` returns for ``info``."""
    parsed: dict[str, Any] = dict(dataset_name=info['dataset_name'], keypoint_id2name={},
                                  keypoint_name2id={}, upper_body_ids=[], lower_body_ids=[],
                                  flip_indices=[], flip_pairs=[], keypoint_colors=[])
    parsed['num_keypoints'] = len(info['keypoint_info'])
    for kpt_id, kpt in info['keypoint_info'].items():
        parsed['keypoint_id2name'][kpt_id] = kpt['name']
        parsed['keypoint_name2id'][kpt['name']] = kpt_id
        parsed['keypoint_colors'].append(kpt.get('color', [255, 128, 0]))
        parsed['flip_indices'].append(kpt['swap'] or kpt['name'])
        if kpt['swap'] and (kpt['swap'], kpt['name']) not in parsed['flip_pairs']:
            parsed['flip_pairs'].append((kpt['swap'], kpt['name']))
    name2id = parsed['keypoint_name2id']
    parsed['flip_indices'] = [name2id[n] for n in parsed['flip_indices']]
    parsed['flip_pairs'] = [(name2id[a], name2id[b]) for a, b in parsed['flip_pairs']]
    links = list(info['skeleton_info'].values())
    parsed['num_skeleton_links'] = len(links)
    parsed['skeleton_links'] = [(name2id[a], name2id[b]) for a, b in (sk['link'] for sk in links)]
    parsed['skeleton_link_colors'] = np.array([sk.get('color', [96, 96, 255]) for sk in links],
                                              dtype=np.uint8)
    parsed['keypoint_colors'] = np.array(parsed['keypoint_colors'], dtype=np.uint8)
    parsed['dataset_keypoint_weights'] = np.ones(parsed['num_keypoints'], np.float32)
    parsed['sigmas'] = np.array(info.get('sigmas', []), dtype=np.float32)
    return parsed


def _info(name: str, names: list[str], colors: list[list[int]],
          links: list[tuple[str, str, list[int]]]) -> dict[str, Any]:
    return dict(
        dataset_name=name,
        keypoint_info={i: dict(name=n, id=i, color=c, type='', swap=_swap(n))
                       for i, (n, c) in enumerate(zip(names, colors))},
        skeleton_info={i: dict(link=(a, b), id=i, color=c) for i, (a, b, c) in enumerate(links)})


def _hand_info(name: str, names: list[str]) -> dict[str, Any]:
    colors = [[255, 255, 255]] + [_FINGER_RGB[f] for f in FINGERS for _ in range(4)]
    links = []
    for f, finger in enumerate(FINGERS):
        chain = [names[0]] + names[1 + 4 * f: 5 + 4 * f]
        links += [(a, b, _FINGER_RGB[finger]) for a, b in zip(chain, chain[1:])]
    return _info(name, names, colors, links)


def onehand10k_meta() -> dict[str, Any]:
    """mmpose's OneHand10K meta (the same names as hand5 and COCO-WholeBody-Hand)."""
    return parse_metainfo(_hand_info('onehand10k', HAND_NAMES))


def mediapipe_hands_meta() -> dict[str, Any]:
    """The offline MediaPipe backend's hand meta: mmpose's 21 names under its own dataset name."""
    return parse_metainfo(_hand_info('mediapipe_hands', HAND_NAMES))


def mediapipe_native_hand_meta(seed: int = 3) -> dict[str, Any]:
    """MediaPipe's own landmark names, in a shuffled order: only name lookups survive it."""
    order = np.random.default_rng(seed).permutation(21)
    info = _hand_info('mediapipe_native', MP_HAND_NAMES)
    kpts = [info['keypoint_info'][int(i)] for i in order]
    info['keypoint_info'] = {i: dict(kpt, id=i) for i, kpt in enumerate(kpts)}
    return parse_metainfo(info)


def coco17_meta() -> dict[str, Any]:
    colors = [_SIDE_RGB['C']] * 5 + [_SIDE_RGB['L' if i % 2 else 'R'] for i in range(5, 17)]
    return parse_metainfo(_info('coco', COCO_NAMES, colors,
                                [(a, b, _SIDE_RGB[s]) for a, b, s in _COCO_LINKS]))


def blazepose33_meta() -> dict[str, Any]:
    def rgb(n: str) -> list[int]:
        return _SIDE_RGB['L' if 'left' in n else 'R' if 'right' in n else 'C']
    links = [(BLAZEPOSE_NAMES[a], BLAZEPOSE_NAMES[b], rgb(BLAZEPOSE_NAMES[a]))
             for a, b in _BLAZEPOSE_LINKS]
    return parse_metainfo(_info('blazepose', BLAZEPOSE_NAMES,
                                [rgb(n) for n in BLAZEPOSE_NAMES], links))


HAND_METAS = {'onehand10k': onehand10k_meta, 'mediapipe_hands': mediapipe_hands_meta,
              'mediapipe_native': mediapipe_native_hand_meta}
EYE_METAS = {'coco17': coco17_meta, 'blazepose33': blazepose33_meta}

# An open right hand pointing up, in units of its size, wrist at the bottom (HAND_NAMES order).
_HAND_SHAPE = np.array([
    (0.0, 0.45), (-0.2, 0.3), (-0.32, 0.15), (-0.4, 0.02), (-0.45, -0.1),
    (-0.15, 0.0), (-0.17, -0.18), (-0.18, -0.32), (-0.19, -0.45),
    (0.0, -0.02), (0.0, -0.2), (0.0, -0.36), (0.0, -0.5),
    (0.14, 0.0), (0.15, -0.17), (0.16, -0.31), (0.17, -0.43),
    (0.26, 0.05), (0.29, -0.08), (0.31, -0.18), (0.33, -0.28)])
_BODY_SHAPE = {  # a person facing the camera, in units of its height (subject's left = +x)
    'nose': (0, -0.42), 'eye': (0.03, -0.45), 'eye_inner': (0.015, -0.45),
    'eye_outer': (0.045, -0.45), 'ear': (0.06, -0.43), 'mouth': (0.02, -0.38),
    'shoulder': (0.12, -0.3), 'elbow': (0.18, -0.12), 'wrist': (0.2, 0.02),
    'pinky': (0.22, 0.05), 'index': (0.2, 0.06), 'thumb': (0.18, 0.05), 'hip': (0.08, 0.05),
    'knee': (0.09, 0.27), 'ankle': (0.1, 0.46), 'heel': (0.1, 0.48), 'foot_index': (0.13, 0.5)}


def _place(meta: dict[str, Any], points: dict[str, np.ndarray]) -> np.ndarray:
    kpts = np.full((meta['num_keypoints'], 2), np.nan)
    for name, index in meta['keypoint_name2id'].items():
        kpts[index] = points[name]
    return kpts


def hand_keypoints(meta: dict[str, Any], center: tuple[float, float], size: float,
                   angle: float = 0.0, pinch: bool = False) -> np.ndarray:
    """(K, 2) keypoints of an open hand (or a pinching one), in ``meta``'s order, by name."""
    shape = _HAND_SHAPE.copy()
    if pinch:   # thumb tip on the index tip, thumb3 half way
        shape[4] = shape[8] + (-0.02, 0.02)
        shape[3] = (shape[2] + shape[4]) / 2
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    pts = shape @ np.array([[c, s], [-s, c]]) * size + np.asarray(center, float)
    names = MP_HAND_NAMES if 'thumb_tip' in meta['keypoint_name2id'] else HAND_NAMES
    return _place(meta, dict(zip(names, pts)))


def hand_object(meta: dict[str, Any], center: tuple[float, float], size: float = 120.0,
                angle: float = 0.0, pinch: bool = False, **fields: Any) -> Object:
    kpts = hand_keypoints(meta, center, size, angle, pinch)
    lo, hi = kpts.min(axis=0) - 0.05 * size, kpts.max(axis=0) + 0.05 * size
    return Object(bbox=(*lo, *hi), label='hand', score=0.9, keypoints=kpts,
                  keypoint_scores=np.full(len(kpts), 0.9), **fields)


def body_keypoints(meta: dict[str, Any], center: tuple[float, float], height: float
                   ) -> np.ndarray:
    points = {}
    for name in meta['keypoint_name2id']:
        side = 1 if name.startswith('left') or name.endswith('left') else \
            -1 if name.startswith('right') or name.endswith('right') else 0
        part = name.replace('left_', '').replace('right_', '').replace('_left', '') \
            .replace('_right', '')
        x, y = _BODY_SHAPE[part]
        points[name] = np.asarray(center, float) + (side * x * height, y * height)
    return _place(meta, points)


def body_object(meta: dict[str, Any], center: tuple[float, float], height: float = 400.0,
                **fields: Any) -> Object:
    kpts = body_keypoints(meta, center, height)
    lo, hi = np.nanmin(kpts, axis=0) - 10, np.nanmax(kpts, axis=0) + 10
    return Object(bbox=(*lo, *hi), label='person', score=0.9, keypoints=kpts,
                  keypoint_scores=np.full(len(kpts), 0.9), **fields)


# -- pixel checks ------------------------------------------------------------------------------
def changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels that differ in any channel."""
    return np.any(before != after, axis=2)


def near(shape: tuple[int, ...], radius: float, points: Any = (), segments: Any = ()
         ) -> np.ndarray:
    """(H, W) bool: pixels within about ``radius`` of any point or segment (NaNs skipped)."""
    import cv2
    mask = np.zeros(shape[:2], np.uint8)
    r = int(np.ceil(radius))
    for p in points:
        if np.all(np.isfinite(p)):
            cv2.circle(mask, tuple(int(round(v)) for v in p), r, 1, -1)
    for a, b in segments:
        if np.all(np.isfinite(a)) and np.all(np.isfinite(b)):
            cv2.line(mask, tuple(int(round(v)) for v in a), tuple(int(round(v)) for v in b), 1,
                     2 * r + 1)
    return mask.astype(bool)
