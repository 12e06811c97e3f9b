"""MediaPipeWholeBody (Holistic -> COCO-WholeBody 133) on real photos; the metas against mmpose."""
from __future__ import annotations

import importlib.util
import runpy
from pathlib import Path

import numpy as np
import pytest

from nodes.models.mediapipe.holistic import MediaPipeWholeBody
from nodes.models.mediapipe.meta import BLAZEPOSE_META
from nodes.models.mediapipe.wholebody_meta import FACE_META, WHOLEBODY_META, WHOLEBODY_PARTS
from tests import haar
from tests.footage import MESSI_PERSON, photo
from webcam_app import Frame, NodeHarness

pytest.importorskip('mediapipe', reason="the lite models need: pip install -e '.[lite]'")

ID = WHOLEBODY_META['keypoint_name2id']


def wholebody(image: np.ndarray) -> Frame:
    with NodeHarness(MediaPipeWholeBody, static_image_mode=True) as h:
        return h.feed(frame=Frame(frame_id=0, image=image))['frame']


@pytest.fixture(scope='module')
def messi():
    return photo('messi5.jpg')


@pytest.fixture(scope='module')
def messi_out(messi):
    return wholebody(messi)


@pytest.mark.parametrize('meta, config', [(WHOLEBODY_META, 'coco_wholebody'),
                                          (FACE_META, 'coco_wholebody_face')])
def test_metas_equal_what_mmpose_parses_from_its_configs(meta, config):
    try:
        from mmpose.datasets.datasets.utils import parse_pose_metainfo
    except ImportError:
        pytest.skip('mmpose is not importable')
    root = Path(importlib.util.find_spec('mmpose').origin).parent
    info = runpy.run_path(str(root / '.mim/configs/_base_/datasets' / f'{config}.py'))
    expected = parse_pose_metainfo(info['dataset_info'])
    assert set(meta) == set(expected)
    for key, value in expected.items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(meta[key], value) and meta[key].dtype == value.dtype, key
        else:
            assert meta[key] == value, key


@pytest.mark.models
def test_nose_and_face_inside_the_haar_face_box(messi, messi_out):
    assert len(messi_out.objects) == 1
    person = messi_out.objects[0]
    assert person.keypoints.shape == (133, 2) and person.keypoint_scores.shape == (133,)
    assert messi_out.dataset_meta['dataset_name'] == 'coco_wholebody'
    boxes = haar.faces(messi, min_size=20)          # his face is about 37 px wide
    assert len(boxes), 'OpenCV finds no face in messi5.jpg'
    box = next(b for b in boxes if haar.contains(MESSI_PERSON[1], (b[:2] + b[2:]) / 2))
    assert haar.contains(box, person.keypoints[ID['nose']])
    first, count = WHOLEBODY_PARTS['face']
    face = person.keypoints[first:first + count]
    assert (person.keypoint_scores[first:first + count] > 0).all(), 'Holistic found the face'
    inside = [haar.contains(box, p, grow=0.15) for p in face]
    assert np.mean(inside) >= 0.9, f'{sum(inside)} of 68 face points in the Haar face box'
    assert haar.contains(box, face[30]), 'the nose tip'


@pytest.mark.models
@pytest.mark.parametrize('name', ['basketball1.png', 'basketball2.png'])
def test_wrists_below_shoulders_on_a_standing_person(name):
    out = wholebody(photo(name))
    [person] = out.objects
    k = person.keypoints
    for side in ('left', 'right'):
        assert k[ID[f'{side}_wrist'], 1] > k[ID[f'{side}_shoulder'], 1], side
        assert k[ID[f'{side}_shoulder'], 1] < k[ID[f'{side}_hip'], 1] < k[ID[f'{side}_ankle'], 1]
        heel, toe = k[ID[f'{side}_heel']], k[ID[f'{side}_big_toe']]
        assert heel[1] > k[ID[f'{side}_knee'], 1] and toe[1] > k[ID[f'{side}_knee'], 1], side


@pytest.mark.models
def test_points_mediapipe_does_not_give_have_score_0_and_no_position(messi_out):
    person = messi_out.objects[0]
    for name in ('left_small_toe', 'right_small_toe'):
        assert person.keypoint_scores[ID[name]] == 0 and np.isnan(person.keypoints[ID[name]]).all()
    given = np.isfinite(person.keypoints).all(axis=1)
    assert (person.keypoint_scores[~given] == 0).all()
    for part in ('left_hand', 'right_hand'):
        first, count = WHOLEBODY_PARTS[part]
        hand = slice(first, first + count)
        assert given[hand].all() or (~given[hand]).all(), f'{part}: whole, or not at all'


@pytest.mark.models
def test_body_points_are_blazepose_s_and_each_hand_sits_on_its_own_wrist(messi):
    from nodes.models.mediapipe.solutions import MediaPipePose
    with NodeHarness(MediaPipePose, static_image_mode=True) as h:
        blaze = h.feed(frame=Frame(frame_id=0, image=messi))['frame'].objects[0]
    person = wholebody(messi).objects[0]
    for name in ('nose', 'left_shoulder', 'right_knee', 'left_heel'):
        j = BLAZEPOSE_META['keypoint_name2id'][name]
        assert np.hypot(*(person.keypoints[ID[name]] - blaze.keypoints[j])) < 15, name
    hands = 0
    for side in ('left', 'right'):
        root = person.keypoints[ID[f'{side}_hand_root']]
        if np.isnan(root).any():
            continue
        hands += 1
        own = np.hypot(*(root - person.keypoints[ID[f'{side}_wrist']]))
        other_side = 'right' if side == 'left' else 'left'
        other = np.hypot(*(root - person.keypoints[ID[f'{other_side}_wrist']]))
        assert own < other, f'the {side} hand is not at the {side} wrist'
    assert hands >= 1, 'Holistic found no hand'
