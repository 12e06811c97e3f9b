"""MediaPipeHands and MediaPipePose on real photos with the models bundled in mediapipe 0.10.21."""
from __future__ import annotations

import importlib.util
import runpy
from pathlib import Path

import numpy as np
import pytest

from nodes.models.mediapipe.solutions import MediaPipeHands, MediaPipePose
from nodes.models.mediapipe.meta import BLAZEPOSE_META, COCO_META, HAND_META
from tests.footage import (BASKETBALL_PEOPLE, MESSI_PERSON, affine_clip, hand_clip,
                           hand_region, inside, photo)
from webcam_app import Frame, NodeHarness, WeightsUnavailable

pytest.importorskip('mediapipe', reason="the lite models need: pip install -e '.[lite]'")

TIPS = ('thumb4', 'forefinger4', 'middle_finger4', 'ring_finger4', 'pinky_finger4')
# Where each finger of handSrc.jpg ends (the rim of its rounded end), read off a gridded render
# of the photo and checked by drawing these points on it. A landmark model puts a fingertip a
# little inside that rim; TIP_RADIUS is about the length of a finger's last segment.
FINGER_ENDS = {'thumb4': (255, 8), 'forefinger4': (490, 140), 'middle_finger4': (545, 260),
               'ring_finger4': (522, 322), 'pinky_finger4': (438, 434)}
TIP_RADIUS = 40.0


def frames_of(images: list[np.ndarray]) -> list[Frame]:
    return [Frame(frame_id=i, image=image) for i, image in enumerate(images)]


@pytest.fixture(scope='module')
def clip():
    return hand_clip(40)


@pytest.fixture(scope='module')
def hands_out(clip):
    """MediaPipeHands (video mode, the defaults) over the 40-frame hand clip, in replay."""
    with NodeHarness(MediaPipeHands) as h:
        return h.run(frames_of(list(clip.frames)))


def test_hand_is_found_in_nearly_every_frame_of_the_clip(hands_out):
    found = [len(frame.objects) >= 1 for frame in hands_out]
    assert sum(found) >= 0.9 * len(hands_out), f'hand found in {sum(found)}/{len(hands_out)}'
    assert all(len(frame.objects) <= 1 for frame in hands_out), 'the photo shows one hand'


def test_fingertips_map_back_into_the_hand_of_the_source_photo(clip, hands_out):
    region = hand_region()
    ids = [HAND_META['keypoint_name2id'][name] for name in TIPS]
    for i, frame in enumerate(hands_out):
        if not frame.objects:
            continue
        tips = clip.to_source(i, frame.objects[0].keypoints[ids])
        assert inside(region, tips).all(), f'frame {i}: tips {tips.round()} off the hand'
        for name, tip in zip(TIPS, tips):
            miss = float(np.hypot(*(tip - FINGER_ENDS[name])))
            assert miss <= TIP_RADIUS, f'frame {i}: {name} lands {miss:.0f} px from its finger end'


def test_hand_object_fields_and_meta(hands_out):
    frame = next(f for f in hands_out if f.objects)
    hand = frame.objects[0]
    assert (hand.label, hand.label_id) == ('hand', 0)
    assert hand.keypoints.shape == (21, 2) and hand.keypoints.dtype == np.float32
    assert hand.keypoint_scores.shape == (21,)
    assert 0.5 <= hand.score <= 1.0
    assert hand.extras['handedness'] in ('Left', 'Right')
    x1, y1, x2, y2 = hand.bbox
    assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 480
    visible = hand.keypoints[(hand.keypoints >= 0).all(1) & (hand.keypoints < (640, 480)).all(1)]
    assert ((visible >= (x1, y1)) & (visible <= (x2, y2))).all(), 'box holds the keypoints'
    assert frame.dataset_meta['keypoint_name2id'] == HAND_META['keypoint_name2id']
    assert frame.image is not None and frame.frame_id == 0


def test_replay_is_deterministic(clip, hands_out):
    """A fresh node over the same frames gives bit-identical keypoints, scores and boxes."""
    with NodeHarness(MediaPipeHands) as h:
        again = h.run(frames_of(list(clip.frames)))
    for a, b in zip(hands_out, again):
        assert len(a.objects) == len(b.objects)
        for x, y in zip(a.objects, b.objects):
            assert np.array_equal(x.keypoints, y.keypoints)
            assert np.array_equal(x.keypoint_scores, y.keypoint_scores)
            assert (x.bbox, x.score, dict(x.extras)) == (y.bbox, y.score, dict(y.extras))


def test_static_image_mode_finds_the_hand_in_the_photo():
    with NodeHarness(MediaPipeHands, static_image_mode=True, max_num_hands=1) as h:
        out = h.feed(frame=Frame(frame_id=0, image=photo('handSrc.jpg')))['frame']
    assert len(out.objects) == 1
    assert inside(hand_region(), out.objects[0].keypoints[5:]).all()


def test_close_releases_the_solution_and_is_idempotent():
    h = NodeHarness(MediaPipeHands)
    with h:
        assert h.node._solution is not None
    assert h.node._solution is None
    h.node.close()


def _mmpose_dataset_info(name: str) -> dict:
    spec = importlib.util.find_spec('mmpose')
    if spec is None or not spec.origin:
        pytest.skip('mmpose is not installed')
    path = Path(spec.origin).parent / '.mim/configs/_base_/datasets' / f'{name}.py'
    return runpy.run_path(str(path))['dataset_info']


@pytest.mark.parametrize('meta, config', [(HAND_META, 'onehand10k'), (COCO_META, 'coco')])
def test_metas_equal_what_mmpose_parses_from_its_configs(meta, config):
    try:
        from mmpose.datasets.datasets.utils import parse_pose_metainfo
    except ImportError:
        pytest.skip('mmpose is not importable')
    expected = parse_pose_metainfo(_mmpose_dataset_info(config))
    assert set(meta) == set(expected)
    for key, value in expected.items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(meta[key], value) and meta[key].dtype == value.dtype, key
        else:
            assert meta[key] == value, key


def test_blazepose_meta_names_and_links():
    names = BLAZEPOSE_META['keypoint_id2name']
    assert BLAZEPOSE_META['num_keypoints'] == 33 == len(BLAZEPOSE_META['keypoint_colors'])
    assert (names[0], names[2], names[11], names[32]) == (
        'nose', 'left_eye', 'left_shoulder', 'right_foot_index')
    from mediapipe.python.solutions.pose import PoseLandmark
    from mediapipe.python.solutions.pose_connections import POSE_CONNECTIONS
    assert [names[i] for i in range(33)] == [lm.name.lower() for lm in PoseLandmark]
    assert set(BLAZEPOSE_META['skeleton_links']) == set(POSE_CONNECTIONS)
    assert len(BLAZEPOSE_META['skeleton_link_colors']) == len(POSE_CONNECTIONS)


def iou(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / area


def assert_face_in_head(person, meta, head) -> None:
    ids = [meta['keypoint_name2id'][n] for n in ('nose', 'left_eye', 'right_eye')]
    x1, y1, x2, y2 = head
    for (x, y), i in zip(person.keypoints[ids], ids):
        assert x1 <= x <= x2 and y1 <= y <= y2, f'{meta["keypoint_id2name"][i]} at ({x}, {y})'


@pytest.mark.parametrize('name, people', [('messi5.jpg', (MESSI_PERSON,)),
                                          ('basketball1.png', BASKETBALL_PEOPLE),
                                          ('basketball2.png', BASKETBALL_PEOPLE)])
def test_pose_finds_a_person_with_the_face_in_the_head(name, people):
    with NodeHarness(MediaPipePose, static_image_mode=True) as h:
        out = h.feed(frame=Frame(frame_id=0, image=photo(name)))['frame']
    assert len(out.objects) == 1
    person = out.objects[0]
    assert (person.label, person.keypoints.shape) == ('person', (33, 2))
    body, head = max(people, key=lambda p: iou(person.bbox, p[0]))
    assert iou(person.bbox, body) >= 0.5, f'box {person.bbox} vs the person {body}'
    assert_face_in_head(person, out.dataset_meta, head)
    assert out.dataset_meta['dataset_name'] == 'blazepose'


def test_coco_view_is_the_blazepose_points_under_coco_names():
    image = photo('messi5.jpg')
    outs = {}
    for view in ('blazepose', 'coco'):
        with NodeHarness(MediaPipePose, static_image_mode=True, keypoints=view) as h:
            outs[view] = h.feed(frame=Frame(frame_id=0, image=image))['frame']
    coco, blaze = outs['coco'], outs['blazepose']
    assert coco.dataset_meta['num_keypoints'] == 17 == len(coco.objects[0].keypoints)
    assert list(coco.dataset_meta['keypoint_name2id']) == list(COCO_META['keypoint_name2id'])
    assert coco.objects[0].bbox == blaze.objects[0].bbox
    for name, i in coco.dataset_meta['keypoint_name2id'].items():
        j = BLAZEPOSE_META['keypoint_name2id'][name]
        assert np.array_equal(coco.objects[0].keypoints[i], blaze.objects[0].keypoints[j]), name
        assert coco.objects[0].keypoint_scores[i] == blaze.objects[0].keypoint_scores[j]
    assert_face_in_head(coco.objects[0], coco.dataset_meta, MESSI_PERSON[1])


def test_pose_tracks_a_moving_person_in_video_mode_deterministically():
    clip = affine_clip(photo('messi5.jpg'), n=12, max_shift=(20, 10), scales=(0.9, 1.0),
                       max_angle=8.0)
    runs = []
    for _ in range(2):
        with NodeHarness(MediaPipePose, keypoints='coco') as h:
            runs.append(h.run(frames_of(list(clip.frames))))
    nose = COCO_META['keypoint_name2id']['nose']
    x1, y1, x2, y2 = MESSI_PERSON[1]
    for i, (a, b) in enumerate(zip(*runs)):
        assert len(a.objects) == 1, f'frame {i}: no person'
        assert np.array_equal(a.objects[0].keypoints, b.objects[0].keypoints)
        (x, y), = clip.to_source(i, a.objects[0].keypoints[[nose]])
        assert x1 <= x <= x2 and y1 <= y <= y2, f'frame {i}: nose maps to ({x:.0f}, {y:.0f})'


def test_parameters_are_validated():
    with pytest.raises(ValueError, match='max_num_hands must be int >= 1'):
        NodeHarness(MediaPipeHands, max_num_hands=0)
    with pytest.raises(ValueError, match='model_complexity must be one of 0, 1'):
        NodeHarness(MediaPipeHands, model_complexity=2)
    with pytest.raises(ValueError, match=r'min_detection_confidence must be float in \[0, 1\]'):
        NodeHarness(MediaPipePose, min_detection_confidence=1.5)
    with pytest.raises(ValueError, match="keypoints must be one of 'blazepose', 'coco'"):
        NodeHarness(MediaPipePose, keypoints='halpe')


def test_a_model_that_is_not_bundled_is_reported_as_unavailable_weights():
    node = MediaPipePose(model_complexity=2)    # pose_landmark_heavy is not in the wheel
    node.name = 'pose'
    with pytest.raises(WeightsUnavailable, match='pose_landmark_heavy.tflite'):
        node.check()
