"""MediaPipeMultiPose: every person in real photos, each skeleton on its own person."""
from __future__ import annotations

import numpy as np
import pytest

from nodes.models.mediapipe.meta import BLAZEPOSE_META, COCO_META
from nodes.models.mediapipe.multipose import MediaPipeMultiPose
from tests.footage import BASKETBALL_PEOPLE, MESSI_PERSON, affine_clip, photo, three_people
from webcam_app import Frame, NodeHarness

pytest.importorskip('mediapipe', reason="the lite models need: pip install -e '.[lite]'")
pytest.importorskip('ai_edge_litert', reason="LiteRT runs them: pip install -e '.[lite]'")
pytestmark = pytest.mark.models

NOSE = BLAZEPOSE_META['keypoint_name2id']['nose']
TORSO = [BLAZEPOSE_META['keypoint_name2id'][f'{s}_{p}'] for s in ('left', 'right')
         for p in ('shoulder', 'hip')]


def people(image: np.ndarray, **params) -> Frame:
    with NodeHarness(MediaPipeMultiPose, **params) as h:
        return h.feed(frame=Frame(frame_id=0, image=image))['frame']


def inside(box, points) -> np.ndarray:
    x1, y1, x2, y2 = box
    points = np.asarray(points)
    return (points[:, 0] >= x1) & (points[:, 0] <= x2) & (points[:, 1] >= y1) & (
        points[:, 1] <= y2)


def assert_each_skeleton_on_its_own_person(objects, truth) -> None:
    """Every true person is matched by exactly one skeleton whose nose is in that person's head
    and whose shoulders and hips are in that person's body."""
    matched = []
    for body, head in truth:
        mine = [i for i, p in enumerate(objects) if inside(head, p.keypoints[[NOSE]])[0]]
        assert len(mine) == 1, f'{len(mine)} skeletons have a nose in the head {head}'
        person = objects[mine[0]]
        assert inside(body, person.keypoints[TORSO]).all(), f'torso off the person {body}'
        matched.append(mine[0])
    assert len(set(matched)) == len(truth)


@pytest.mark.parametrize('name', ['basketball1.png', 'basketball2.png'])
def test_both_players_are_found(name):
    out = people(photo(name))
    assert len(out.objects) == 2, f'{len(out.objects)} people found'
    assert_each_skeleton_on_its_own_person(out.objects, BASKETBALL_PEOPLE)
    for person in out.objects:
        assert person.keypoints.shape == (33, 2) and 0.5 <= person.score <= 1
        assert inside(person.bbox, person.keypoints[person.keypoint_scores >= 0.5]).all()


def test_one_person_in_messi5_and_three_in_a_scene_of_three():
    out = people(photo('messi5.jpg'))
    assert len(out.objects) == 1
    assert_each_skeleton_on_its_own_person(out.objects, [MESSI_PERSON])
    scene, truth = three_people()
    out = people(scene)
    assert len(out.objects) == 3
    assert_each_skeleton_on_its_own_person(out.objects, truth)


def test_max_people_and_the_coco_view():
    image = photo('basketball2.png')
    assert len(people(image, max_people=1).objects) == 1
    blaze, coco = people(image), people(image, keypoints='coco')
    assert coco.dataset_meta['keypoint_name2id'] == COCO_META['keypoint_name2id']
    for a, b in zip(blaze.objects, coco.objects):
        for name, i in COCO_META['keypoint_name2id'].items():
            j = BLAZEPOSE_META['keypoint_name2id'][name]
            assert np.array_equal(b.keypoints[i], a.keypoints[j]), name


def test_an_empty_scene_has_no_people_and_runs_are_identical():
    assert people(np.full((240, 320, 3), 90, np.uint8)).objects == ()
    a, b = people(photo('basketball1.png')), people(photo('basketball1.png'))
    assert [p.keypoints.tolist() for p in a.objects] == [p.keypoints.tolist() for p in b.objects]


@pytest.fixture(scope='module')
def moving_players():
    return affine_clip(photo('basketball2.png'), n=8, max_shift=(20, 10), scales=(0.9, 1.0),
                       max_angle=5.0)


def run_counting_rounds(clip, **params) -> tuple[list[Frame], int]:
    """The node's outputs over the clip, and how many detector rounds it ran."""
    node = MediaPipeMultiPose(**params)
    rounds = []
    detect = node.detect
    node.detect = lambda image: rounds.append(1) or detect(image)
    with NodeHarness(node) as h:
        outs = h.run([Frame(frame_id=i, image=image) for i, image in enumerate(clip.frames)])
    return outs, len(rounds)


def test_both_players_are_followed_through_a_moving_clip(moving_players):
    clip = moving_players
    rounds = {}
    for static in (False, True):
        outs, rounds[static] = run_counting_rounds(clip, static_image_mode=static)
        for i, out in enumerate(outs):
            assert len(out.objects) == 2, f'frame {i}: {len(out.objects)} people'
            noses = clip.to_source(i, np.array([p.keypoints[NOSE] for p in out.objects]))
            for _, head in BASKETBALL_PEOPLE:
                assert inside(head, noses).sum() == 1, f'frame {i}: noses {noses.round()}'
    # Searching afresh takes at least two detector rounds a frame (the last finds no one new).
    # Following the players takes one a frame after the first: it looks only for new people.
    assert rounds[True] >= 2 * len(clip)
    assert rounds[False] <= len(clip) + 2, f'{rounds[False]} rounds'


def test_detect_every_looks_for_newcomers_less_often(moving_players):
    every, rounds = run_counting_rounds(moving_players, detect_every=4)
    assert [len(out.objects) for out in every] == [2] * len(moving_players)
    # Frame 0 searches (2 rounds or more); frame 4 looks for newcomers once; the rest follow.
    assert 3 <= rounds <= 4, f'{rounds} rounds'


def test_parameters_are_checked():
    with pytest.raises(ValueError, match='max_people must be int >= 1, but got 0'):
        NodeHarness(MediaPipeMultiPose, max_people=0)
    with pytest.raises(ValueError, match="keypoints must be .*, but got 'h36m'"):
        NodeHarness(MediaPipeMultiPose, keypoints='h36m')
