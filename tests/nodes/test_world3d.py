"""The offline 3D default: MediaPipe's world landmarks on real photos and clips are plausible.

Plausible means what a body or a hand is: left and right limbs of the same length (within 20 %),
each bone the same length from frame to frame of a clip (coefficient of variation <= 10 %), and a
hand whose wrist to middle-finger knuckle is 5 to 12 cm.
"""
from __future__ import annotations

import numpy as np
import pytest

from nodes.models.lift.skeletons import H36M_META, KEYPOINTS_3D, META_3D_KEY, SCORES_3D
from nodes.models.lift.world import MediaPipeHands3D, MediaPipePose3D
from nodes.models.mediapipe.meta import HAND_META
from tests.footage import affine_clip, hand_clip, photo
from tests.haar import astronaut
from webcam_app import Frame, NodeHarness

pytest.importorskip('mediapipe', reason="the lite models need: pip install -e '.[lite]'")
pytest.importorskip('ai_edge_litert', reason="LiteRT runs them: pip install -e '.[lite]'")
pytestmark = pytest.mark.models

H = H36M_META['keypoint_name2id']
#: (left bone, right bone) of Human3.6M-17, each a pair of keypoint names
PAIRS = {side: {'upper arm': (f'{side}_shoulder', f'{side}_elbow'),
                'forearm': (f'{side}_elbow', f'{side}_wrist'),
                'thigh': (f'{side}_hip', f'{side}_knee'),
                'shin': (f'{side}_knee', f'{side}_foot')} for side in ('left', 'right')}


def bone(points: np.ndarray, names: tuple[str, str], ids=H) -> float:
    a, b = (ids[n] for n in names)
    return float(np.linalg.norm(points[a] - points[b]))


def run(node: type, frames: list[np.ndarray], **params) -> list[Frame]:
    with NodeHarness(node, **params) as h:
        return [h.feed(frame=Frame(frame_id=i, image=f))['frame'] for i, f in enumerate(frames)]


@pytest.mark.parametrize('image', [photo('messi5.jpg'), astronaut()], ids=['messi5', 'astronaut'])
def test_a_person_in_a_photo_has_a_3d_skeleton_with_matching_sides(image):
    out = run(MediaPipePose3D, [image], static_image_mode=True)[0]
    assert len(out.objects) == 1
    assert out.dataset_meta[META_3D_KEY] is H36M_META
    person = out.objects[0]
    points = person.extras[KEYPOINTS_3D]
    assert points.shape == (17, 3) and person.extras[SCORES_3D].shape == (17,)
    assert person.keypoints.shape == (17, 2)                  # the 2D stays, COCO-17
    assert points[:, 2].min() == pytest.approx(0.0)          # rebased: the lowest point on z = 0
    assert 0.8 < np.ptp(points[:, 2]) < 2.2                  # metres: a person's height
    assert points[H['head'], 2] > points[H['root'], 2]       # z is up
    for part in PAIRS['left']:
        left, right = bone(points, PAIRS['left'][part]), bone(points, PAIRS['right'][part])
        assert abs(left - right) <= 0.2 * max(left, right), (part, left, right)


def test_bones_keep_their_length_over_a_clip_and_rebase_false_keeps_the_hips_at_the_origin():
    # basketball1.png's left man faces the camera, all of him in view (the other is in profile,
    # half his limbs hidden behind him)
    clip = affine_clip(photo('basketball1.png'), n=12, max_shift=(20, 10), scales=(0.85, 1.0),
                       max_angle=8)
    frames = run(MediaPipePose3D, list(clip.frames), rebase=False)
    people = [min(f.objects, key=lambda o: o.bbox[0]) for f in frames]
    assert all(p.bbox[0] < 200 for p in people)
    skeletons = np.stack([p.extras[KEYPOINTS_3D] for p in people])
    assert np.abs(skeletons[:, H['root']]).max() < 0.005    # hips at the origin (within 5 mm)
    for side in PAIRS.values():
        for part, names in side.items():
            lengths = np.array([bone(s, names) for s in skeletons])
            assert lengths.std() / lengths.mean() <= 0.10, (part, lengths)


def test_all_33_blazepose_world_landmarks_on_request():
    out = run(MediaPipePose3D, [photo('messi5.jpg')], static_image_mode=True,
              keypoints_3d='blazepose')[0]
    assert out.objects[0].extras[KEYPOINTS_3D].shape == (33, 3)
    assert out.dataset_meta[META_3D_KEY]['num_keypoints'] == 33


def test_a_hand_is_a_hand_sized_3d_hand_in_every_frame_of_a_clip():
    clip = hand_clip(n=12)
    frames = run(MediaPipeHands3D, list(clip.frames), max_num_hands=1)
    ids = HAND_META['keypoint_name2id']
    spans = []
    for frame in frames:
        assert len(frame.objects) == 1
        hand = frame.objects[0]
        points = hand.extras[KEYPOINTS_3D]
        assert points.shape == (21, 3) and hand.keypoints.shape == (21, 2)
        assert frame.dataset_meta[META_3D_KEY]['num_keypoints'] == 21
        spans.append(bone(points, ('wrist', 'middle_finger1'), ids))
    spans = np.array(spans)
    assert ((spans >= 0.05) & (spans <= 0.12)).all(), spans            # 5 to 12 cm
    assert spans.std() / spans.mean() <= 0.10
