"""The tables that place MediaPipe's points in COCO-WholeBody, checked against sources of their
own: the 68 face points against MediaPipe's face-mesh contours, the parts' slices against the
keypoint names of the meta (itself checked against mmpose's config)."""
from __future__ import annotations

from collections import defaultdict

import pytest

from nodes.models.mediapipe.wholebody_meta import (FACE68_FROM_MESH, WHOLEBODY_META,
                                                   WHOLEBODY_PARTS)

NAMES = WHOLEBODY_META['keypoint_id2name']


def contour(edges: frozenset, member: int) -> tuple[list[int], bool]:
    """The landmarks of the contour of ``edges`` through ``member``, in order, and whether it is
    closed (a cycle: eyes, lips, face oval) or open (a path: a brow)."""
    neighbours = defaultdict(set)
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    assert member in neighbours, f'{member} is on no contour'
    seen, todo = {member}, [member]
    while todo:
        for n in neighbours[todo.pop()] - seen:
            seen.add(n)
            todo.append(n)
    assert all(len(neighbours[v]) <= 2 for v in seen), 'not a simple contour'
    ends = sorted(v for v in seen if len(neighbours[v]) == 1)
    order = [ends[0] if ends else member]
    while len(order) < len(seen):
        order.append(min(neighbours[order[-1]] - set(order[-2:])))
    return order, not ends


def positions(points: list[int], edges: frozenset) -> list[int]:
    """Where ``points`` lie along their contour, counted from the first of them, going the way
    round (or along) in which they come in order; fails if they do not lie in order."""
    order, closed = contour(edges, points[0])
    assert set(points) <= set(order), f'{sorted(set(points) - set(order))} are off the contour'
    index = [order.index(p) for p in points]
    if not closed:
        steps = [i - index[0] for i in index]
        steps = steps if steps == sorted(steps) else [-s for s in steps]
    else:
        n = len(order)
        steps = [(i - index[0]) % n for i in index]
        if steps != sorted(steps):
            steps = [(index[0] - i) % n for i in index]
    assert steps == sorted(steps) and len(set(steps)) == len(steps), \
        f'{points} are not in order along their contour ({order})'
    return steps


@pytest.fixture(scope='module')
def mesh():
    pytest.importorskip('mediapipe', reason="the lite models need: pip install -e '.[lite]'")
    from mediapipe.python.solutions import face_mesh_connections
    return face_mesh_connections


def face(first: int, last: int) -> list[int]:
    return list(FACE68_FROM_MESH[first:last + 1])


def test_the_68_face_points_are_68_landmarks_of_the_mesh():
    assert len(FACE68_FROM_MESH) == 68 and len(set(FACE68_FROM_MESH)) == 68
    assert all(0 <= i < 468 for i in FACE68_FROM_MESH)


@pytest.mark.parametrize('first, last, contour_name', [(36, 41, 'FACEMESH_RIGHT_EYE'),
                                                       (42, 47, 'FACEMESH_LEFT_EYE')])
def test_eyes_go_round_the_mesh_s_eye_contour_corner_to_corner(mesh, first, last, contour_name):
    """300W's six points of an eye: a corner, two on one lid, the other corner, two on the
    other lid; the corners are where MediaPipe's two lids meet, half way round."""
    edges = getattr(mesh, contour_name)
    steps = positions(face(first, last), edges)
    around = len(contour(edges, FACE68_FROM_MESH[first])[0])
    assert around == 16 and steps[3] == around // 2, f'corners at {steps[0]} and {steps[3]}'
    assert 0 < steps[1] < steps[2] < steps[3] < steps[4] < steps[5] < around


def test_lips_go_round_the_mesh_s_outer_and_inner_lip_contours(mesh):
    outer = positions(face(48, 59), mesh.FACEMESH_LIPS)
    assert len(contour(mesh.FACEMESH_LIPS, FACE68_FROM_MESH[48])[0]) == 20
    assert outer[6] == 10 and outer[3] == 5 and outer[9] == 15, \
        'corners 48 and 54 opposite, 51 and 57 half way between them'
    inner = positions(face(60, 67), mesh.FACEMESH_LIPS)
    assert not set(face(60, 67)) & set(contour(mesh.FACEMESH_LIPS, FACE68_FROM_MESH[48])[0])
    assert inner[4] == 10 and inner[2] == 5 and inner[6] == 15


def test_jaw_runs_along_the_face_oval_with_the_chin_in_the_middle(mesh):
    steps = positions(face(0, 16), mesh.FACEMESH_FACE_OVAL)
    assert steps[8] * 2 == steps[16], 'the chin (8) is as far from one ear as from the other'


@pytest.mark.parametrize('first, last, contour_name', [(17, 21, 'FACEMESH_RIGHT_EYEBROW'),
                                                       (22, 26, 'FACEMESH_LEFT_EYEBROW')])
def test_brows_follow_the_mesh_s_brow_edge_point_by_point(mesh, first, last, contour_name):
    steps = positions(face(first, last), getattr(mesh, contour_name))
    assert [abs(s) for s in steps] == [0, 1, 2, 3, 4]


def shortest_path(edges: frozenset, start: int, goal: int) -> list[int]:
    neighbours = defaultdict(set)
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    paths, todo = {start: [start]}, [start]
    while todo and goal not in paths:
        here = todo.pop(0)
        for n in sorted(neighbours[here] - set(paths)):
            paths[n] = paths[here] + [n]
            todo.append(n)
    assert goal in paths, f'{goal} is not connected to {start}'
    return paths[goal]


@pytest.mark.parametrize('first, last, hops', [(27, 30, [0, 2, 4, 5]),    # ridge, top to tip
                                               (31, 35, [0, 1, 2, 3, 4])])  # base, right to left
def test_the_nose_follows_the_mesh_s_nose(mesh, first, last, hops):
    points = face(first, last)
    path = shortest_path(mesh.FACEMESH_NOSE, points[0], points[-1])
    assert set(points) <= set(path), f'{points} are not all on the way {path}'
    assert [path.index(p) for p in points] == hops


def test_each_part_starts_where_the_meta_names_say():
    assert NAMES[23] == 'face-0' and NAMES[91] == 'left_hand_root'
    assert NAMES[112] == 'right_hand_root' and NAMES[17] == 'left_big_toe'
    firsts = {'body': 'nose', 'feet': 'left_big_toe', 'face': 'face-0',
              'left_hand': 'left_hand_root', 'right_hand': 'right_hand_root'}
    prefix = {'body': '', 'feet': '', 'face': 'face-', 'left_hand': 'left_',
              'right_hand': 'right_'}
    end = 0
    for part in ('body', 'feet', 'face', 'left_hand', 'right_hand'):
        first, count = WHOLEBODY_PARTS[part]
        assert first == end, f'{part} starts at {first}, right after the part before ({end})'
        assert NAMES[first] == firsts[part], part
        assert all(NAMES[i].startswith(prefix[part]) for i in range(first, first + count)), part
        end = first + count
    assert end == len(NAMES) == 133
    assert all('toe' in NAMES[i] or 'heel' in NAMES[i] for i in range(17, 23))
