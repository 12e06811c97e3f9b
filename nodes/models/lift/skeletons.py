"""3D skeletons: the Human3.6M-17 meta, keypoint conversions to it, and the inferencer's axes.

``H36M_META`` is mmpose's ``configs/_base_/datasets/h36m.py`` as ``parse_pose_metainfo`` gives
it (names, links, colours, the lifter's ``stats_info``). ``h36m_from_coco`` is mmpose 1.3.2's
``convert_keypoint_definition`` for a COCO-17 2D model feeding an H36M lifter, and
``h36m_from_blazepose`` the same mapping from MediaPipe's 33 BlazePose landmarks (2D or 3D).

Axes: mmpose's ``Pose3DInferencer`` turns the lifter's camera-frame output (x right, y down,
z away from the camera) into ``(-x, z, -y)``, so z points up, and then moves the lowest point to
z = 0 unless ``disable_rebase_keypoint``. ``Hand3DInferencer`` turns InterNet's ``(x, y, z)``
into ``(x, z, -y)`` with the same rebase. ``to_inferencer_axes`` does both, so every 3D node
emits its points as the inferencer writes them.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from ..mediapipe.meta import BLAZEPOSE_NAMES, _info, parse_pose_metainfo

__all__ = ['H36M_META', 'H36M_NAMES', 'KEYPOINTS_3D', 'META_3D_KEY', 'SCORES_3D',
           'h36m_from_blazepose', 'h36m_from_coco', 'points_3d', 'to_inferencer_axes',
           'with_meta_3d']

#: dataset_meta key under which a frame carries the meta of its objects' 3D keypoints
META_3D_KEY = 'meta_3d'
#: Object.extras keys of an object's 3D keypoints (K, 3) and their scores (K,)
KEYPOINTS_3D, SCORES_3D = 'keypoints_3d', 'keypoint_scores_3d'

_GREEN, _ORANGE, _BLUE = [0, 255, 0], [255, 128, 0], [51, 153, 255]
H36M_NAMES = ('root', 'right_hip', 'right_knee', 'right_foot', 'left_hip', 'left_knee',
              'left_foot', 'spine', 'thorax', 'neck_base', 'head', 'left_shoulder',
              'left_elbow', 'left_wrist', 'right_shoulder', 'right_elbow', 'right_wrist')
_H36M_COLORS = ([_BLUE] + [_ORANGE] * 3 + [_GREEN] * 3 + [_BLUE] * 4 + [_GREEN] * 3
                + [_ORANGE] * 3)
_H36M_LINKS = [
    (('root', 'left_hip'), _GREEN), (('left_hip', 'left_knee'), _GREEN),
    (('left_knee', 'left_foot'), _GREEN), (('root', 'right_hip'), _ORANGE),
    (('right_hip', 'right_knee'), _ORANGE), (('right_knee', 'right_foot'), _ORANGE),
    (('root', 'spine'), _BLUE), (('spine', 'thorax'), _BLUE), (('thorax', 'neck_base'), _BLUE),
    (('neck_base', 'head'), _BLUE), (('thorax', 'left_shoulder'), _GREEN),
    (('left_shoulder', 'left_elbow'), _GREEN), (('left_elbow', 'left_wrist'), _GREEN),
    (('thorax', 'right_shoulder'), _ORANGE), (('right_shoulder', 'right_elbow'), _ORANGE),
    (('right_elbow', 'right_wrist'), _ORANGE)]
_H36M_TYPES = ['lower'] * 7 + ['upper'] * 10
H36M_META: Mapping[str, Any] = MappingProxyType(dict(parse_pose_metainfo(dict(
    dataset_name='h36m', **_info(list(H36M_NAMES), _H36M_COLORS, _H36M_TYPES, _H36M_LINKS),
    joint_weights=[1.] * 17, sigmas=[])),
    stats_info=MappingProxyType({'bbox_center': (528., 427.), 'bbox_scale': 400.})))

# H36M ids filled straight from a COCO id, as mmpose's convert_keypoint_definition does
_H36M_IDS = [1, 2, 3, 4, 5, 6, 9, 11, 12, 13, 14, 15, 16]
_COCO_IDS = [12, 14, 16, 11, 13, 15, 0, 5, 7, 9, 6, 8, 10]
_BP = {name: i for i, name in enumerate(BLAZEPOSE_NAMES)}
_BLAZEPOSE_IDS = [_BP[n] for n in ('right_hip', 'right_knee', 'right_ankle', 'left_hip',
                                   'left_knee', 'left_ankle', 'nose', 'left_shoulder',
                                   'left_elbow', 'left_wrist', 'right_shoulder', 'right_elbow',
                                   'right_wrist')]


def _h36m(points: np.ndarray, direct: list[int], hips: tuple[int, int],
          shoulders: tuple[int, int], eyes: tuple[int, int]) -> np.ndarray:
    points = np.asarray(points)
    squeeze = points.ndim == 2
    points = points[None] if squeeze else points
    out = np.zeros((points.shape[0], 17, points.shape[2]), points.dtype)
    out[:, 0] = (points[:, hips[0]] + points[:, hips[1]]) / 2                # pelvis (root)
    out[:, 8] = (points[:, shoulders[0]] + points[:, shoulders[1]]) / 2      # thorax
    out[:, 7] = (out[:, 0] + out[:, 8]) / 2                                  # spine
    out[:, 10] = (points[:, eyes[0]] + points[:, eyes[1]]) / 2              # head
    out[:, _H36M_IDS] = points[:, direct]
    return out[0] if squeeze else out


def h36m_from_coco(points: np.ndarray) -> np.ndarray:
    """(N, 17, C) or (17, C) COCO keypoints (or scores with C = 1) as H36M-17, as mmpose does."""
    return _h36m(points, _COCO_IDS, (11, 12), (5, 6), (1, 2))


def h36m_from_blazepose(points: np.ndarray) -> np.ndarray:
    """(N, 33, C) or (33, C) BlazePose landmarks as H36M-17, by the same rules as from COCO."""
    return _h36m(points, _BLAZEPOSE_IDS, (_BP['left_hip'], _BP['right_hip']),
                 (_BP['left_shoulder'], _BP['right_shoulder']),
                 (_BP['left_eye'], _BP['right_eye']))


def to_inferencer_axes(points: np.ndarray, rebase: bool = True, flip_x: bool = True,
                       valid: np.ndarray | None = None) -> np.ndarray:
    """Camera-frame (..., K, 3) points (x right, y down, z away) in the inferencer's axes:
    ``(-x, z, -y)`` for a body lifter (``flip_x``), ``(x, z, -y)`` for hands (InterNet); with
    ``rebase`` the lowest (``valid``) point of each instance moved to z = 0."""
    points = np.asarray(points, np.float32)
    out = points[..., [0, 2, 1]].copy()
    if flip_x:
        out[..., 0] = -out[..., 0]
    out[..., 2] = -out[..., 2]
    if rebase:
        z = out[..., 2]
        if valid is not None and np.asarray(valid).any():
            low = np.min(np.where(valid, z, np.inf), axis=-1, keepdims=True)
        else:
            low = np.min(z, axis=-1, keepdims=True)
        out[..., 2] = z - low
    return out


def with_meta_3d(meta: Mapping[str, Any], meta_3d: Mapping[str, Any]) -> Mapping[str, Any]:
    """A frame's dataset_meta that also names the meta of its objects' 3D keypoints."""
    return MappingProxyType({**meta, META_3D_KEY: meta_3d})


def points_3d(camera: np.ndarray, scores: np.ndarray, rebase: bool = True,
              flip_x: bool = True) -> dict[str, np.ndarray]:
    """An object's extras for these camera-frame (K, 3) points and their (K,) scores."""
    return {KEYPOINTS_3D: to_inferencer_axes(camera, rebase, flip_x),
            SCORES_3D: np.asarray(scores, np.float32).reshape(-1)}
