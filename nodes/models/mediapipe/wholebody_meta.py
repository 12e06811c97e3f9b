"""COCO-WholeBody layouts for the MediaPipe face and holistic nodes, and how MediaPipe fills them.

``FACE_META`` is mmpose's ``coco_wholebody_face`` meta (68 points) and ``WHOLEBODY_META`` its
``coco_wholebody`` meta (133 points: body 17, feet 6, face 68, left hand 21, right hand 21), in
the form ``parse_pose_metainfo`` returns, built from the rules of mmpose 1.3.2's
``configs/_base_/datasets/coco_wholebody*.py`` (a test checks them against those files).

``FACE68_FROM_MESH`` picks, for each of the 68 points (the 300W / iBUG order that COCO-WholeBody's
face uses), the Face Mesh landmark at that place, read off MediaPipe's own contour lists
(``mediapipe.python.solutions.face_mesh_connections``): jaw from the face oval, brows from the
brows' upper edges, eyes and lips from their contours, nose from the nose ridge and base.
"""
from __future__ import annotations

from .meta import (_BLUE, _COCO_LINKS, _COCO_NAMES, _FINGERS, _GREEN, _ORANGE, _WHITE,
                   BLAZEPOSE_NAMES, _info, _side_color, parse_pose_metainfo)

__all__ = ['FACE68_FROM_MESH', 'FACE_META', 'FEET_FROM_BLAZEPOSE', 'FEET_NAMES',
           'WHOLEBODY_META', 'WHOLEBODY_PARTS']

_RED = [255, 0, 0]

#: Face Mesh landmark for each of the 68 points, subject's right side first as in 300W.
FACE68_FROM_MESH = (
    # 0-16 jaw line, from the subject's right ear round the chin to the left ear (face oval)
    127, 234, 93, 132, 58, 136, 150, 176, 152, 400, 379, 365, 288, 361, 323, 454, 356,
    70, 63, 105, 66, 107,            # 17-21 right brow, outer to inner
    336, 296, 334, 293, 300,         # 22-26 left brow, inner to outer
    168, 197, 5, 4,                  # 27-30 nose ridge, top to tip
    98, 97, 2, 326, 327,             # 31-35 nose base, right to left
    33, 160, 158, 133, 153, 144,     # 36-41 right eye: outer corner, upper lid, inner, lower
    362, 385, 387, 263, 373, 380,    # 42-47 left eye: inner corner, upper lid, outer, lower
    61, 40, 37, 0, 267, 270, 291,    # 48-54 outer lips, right corner over the top to the left
    321, 314, 17, 84, 91,            # 55-59 outer lips, under the bottom back to the right
    78, 81, 13, 311, 308,            # 60-64 inner lips, right corner over the top to the left
    402, 14, 178)                    # 65-67 inner lips, under the bottom back to the right

# 300W's mirror image of each point (mmpose's ``swap``); -1: on the midline.
_FACE_MIRROR = (
    [16 - i for i in range(17)] + [26 - i for i in range(10)] + [-1] * 4
    + [35 - i if i != 2 else -1 for i in range(5)]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54 - i if i != 3 else -1 for i in range(7)] + [59, 58, -1, 56, 55]
    + [64 - i if i != 2 else -1 for i in range(5)] + [67, -1, 65])
_FACE_NAMES = [f'face-{i}' for i in range(68)]
_FACE_SIGMAS = [
    0.042, 0.043, 0.044, 0.043, 0.040, 0.035, 0.031, 0.025, 0.020, 0.023, 0.029, 0.032, 0.037,
    0.038, 0.043, 0.041, 0.045, 0.013, 0.012, 0.011, 0.011, 0.012, 0.012, 0.011, 0.011, 0.013,
    0.015, 0.009, 0.007, 0.007, 0.007, 0.012, 0.009, 0.008, 0.016, 0.010, 0.017, 0.011, 0.009,
    0.011, 0.009, 0.007, 0.013, 0.008, 0.011, 0.012, 0.010, 0.034, 0.008, 0.008, 0.009, 0.008,
    0.008, 0.007, 0.010, 0.008, 0.009, 0.009, 0.009, 0.007, 0.007, 0.008, 0.011, 0.008, 0.008,
    0.008, 0.01, 0.008]


def _face_swaps(prefix_names: list[str]) -> list[str]:
    return ['' if j < 0 else prefix_names[j] for j in _FACE_MIRROR]


def _with_swaps(info: dict, swaps: list[str], offset: int = 0) -> dict:
    """Replace the swaps of keypoints ``offset ...`` by ``swaps`` (the face's are by number)."""
    for i, swap in enumerate(swaps):
        info['keypoint_info'][offset + i]['swap'] = swap
    return info


FACE_META = parse_pose_metainfo(dict(
    dataset_name='coco_wholebody_face',
    **_with_swaps(_info(_FACE_NAMES, [_RED] * 68, [''] * 68, []), _face_swaps(_FACE_NAMES)),
    joint_weights=[1.] * 68, sigmas=_FACE_SIGMAS))

# -- COCO-WholeBody: body, feet, face, left hand, right hand -------------------------------------
FEET_NAMES = ('left_big_toe', 'left_small_toe', 'left_heel',
              'right_big_toe', 'right_small_toe', 'right_heel')
#: BlazePose landmark for each foot point (None: BlazePose has no small toe).
FEET_FROM_BLAZEPOSE = tuple(
    None if 'small_toe' in name else BLAZEPOSE_NAMES.index(
        name.replace('big_toe', 'foot_index')) for name in FEET_NAMES)
_HAND_NAMES = ['hand_root'] + [f'{f}{j}' for f, _ in _FINGERS for j in range(1, 5)]
_HAND_COLORS = [_WHITE] + [c for _, c in _FINGERS for _ in range(4)]
_HAND_LINKS = [(('hand_root' if j == 1 else f'{f}{j - 1}', f'{f}{j}'), c)
               for f, c in _FINGERS for j in range(1, 5)]
_HAND_SIGMAS = [0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024, 0.035, 0.018, 0.024,
                0.022, 0.026, 0.017, 0.021, 0.021, 0.032, 0.02, 0.019, 0.022, 0.031]
_BODY_SIGMAS = [0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062,
                0.107, 0.107, 0.087, 0.087, 0.089, 0.089]
_FEET_SIGMAS = [0.068, 0.066, 0.066, 0.092, 0.094, 0.094]

#: (first index, count) of each part in the 133-point layout.
WHOLEBODY_PARTS = {'body': (0, 17), 'feet': (17, 6), 'face': (23, 68), 'left_hand': (91, 21),
                   'right_hand': (112, 21)}


def _wholebody_info() -> dict:
    hands = [f'{side}_{n}' for side in ('left', 'right') for n in _HAND_NAMES]
    names = list(_COCO_NAMES) + list(FEET_NAMES) + _FACE_NAMES + hands
    colors = ([_BLUE] * 5 + [_side_color(n) for n in _COCO_NAMES[5:]] + [_ORANGE] * 6
              + [_WHITE] * 68 + _HAND_COLORS * 2)
    types = ['upper'] * 11 + ['lower'] * 12 + [''] * 110
    feet = [((f'{side}_ankle', f'{side}_{toe}'), _GREEN if side == 'left' else _ORANGE)
            for side in ('left', 'right') for toe in ('big_toe', 'small_toe', 'heel')]
    hand_links = [((f'{side}_{a}', f'{side}_{b}'), c)
                  for side in ('left', 'right') for (a, b), c in _HAND_LINKS]
    info = _info(names, colors, types, list(_COCO_LINKS) + feet + hand_links)
    return _with_swaps(info, _face_swaps(_FACE_NAMES), offset=23)


WHOLEBODY_META = parse_pose_metainfo(dict(
    dataset_name='coco_wholebody', **_wholebody_info(), joint_weights=[1.] * 133,
    sigmas=_BODY_SIGMAS + _FEET_SIGMAS + _FACE_SIGMAS + _HAND_SIGMAS * 2))
