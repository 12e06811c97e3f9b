"""MediaPipeFace on real photos: 68 COCO-WholeBody face points, checked against OpenCV's Haar
cascades (an independent finder of faces and eyes), several faces, and the eye effects on them."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from nodes.draw.effects_face import BigEye, Sunglasses
from nodes.models.mediapipe.face import MediaPipeFace
from nodes.models.mediapipe.wholebody_meta import FACE68_FROM_MESH, FACE_META
from tests import haar
from tests.footage import affine_clip
from webcam_app import Frame, NodeHarness

pytest.importorskip('mediapipe', reason="the lite models need: pip install -e '.[lite]'")
pytestmark = pytest.mark.models

RIGHT_EYE, LEFT_EYE = list(range(36, 42)), list(range(42, 48))   # the subject's, as in 300W


def find_faces(image: np.ndarray, **params) -> Frame:
    with NodeHarness(MediaPipeFace, static_image_mode=True, **params) as h:
        return h.feed(frame=Frame(frame_id=0, image=image))['frame']


@pytest.fixture(scope='module')
def astronaut():
    return haar.astronaut()


@pytest.fixture(scope='module')
def found(astronaut):
    return find_faces(astronaut)


def assert_eyes_in_haar_eyes(image: np.ndarray, points: np.ndarray) -> None:
    [face_box, *_] = haar.faces(image)
    eye_boxes = haar.eyes(image, face_box)
    assert len(eye_boxes) >= 2, f'Haar found {len(eye_boxes)} eyes'
    hits = []
    for ids in (RIGHT_EYE, LEFT_EYE):
        centre = points[ids].mean(axis=0)
        inside = [i for i, box in enumerate(eye_boxes) if haar.contains(box, centre)]
        assert inside, f'eye centre {centre.round()} outside every Haar eye {eye_boxes.tolist()}'
        hits.append(inside[0])
    assert hits[0] != hits[1], 'both eyes landed in one Haar eye box'


def test_one_face_with_the_eyes_where_opencv_finds_them(astronaut, found):
    assert len(found.objects) == 1
    face = found.objects[0]
    assert (face.label, face.keypoints.shape, face.keypoint_scores.shape) == ('face', (68, 2),
                                                                              (68,))
    assert_eyes_in_haar_eyes(astronaut, face.keypoints)
    # She faces the camera: her right eye is on the picture's left.
    assert face.keypoints[RIGHT_EYE, 0].mean() < face.keypoints[LEFT_EYE, 0].mean()


def test_the_68_points_keep_the_face_s_layout(found):
    face = found.objects[0]
    y = face.keypoints[:, 1]
    eye_line = face.keypoints[RIGHT_EYE + LEFT_EYE, 1].mean()
    assert eye_line < y[30] < y[51] < y[57] < y[8], 'eyes, nose tip, lips, chin: top to bottom'
    assert y[17:27].max() < eye_line, 'the brows are above the eyes'
    assert face.keypoints[0, 0] < face.keypoints[8, 0] < face.keypoints[16, 0], 'jaw: right to left'
    assert face.keypoints[48, 0] < face.keypoints[54, 0], 'mouth corners'
    x1, y1, x2, y2 = face.bbox
    assert ((face.keypoints >= (x1, y1)) & (face.keypoints <= (x2, y2))).all()


def test_full_mesh_rides_in_extras_and_the_meta_is_coco_wholebody_face(found):
    face = found.objects[0]
    mesh = face.extras['mesh']
    assert mesh.shape == (468, 3) and not mesh.flags.writeable
    np.testing.assert_array_equal(face.keypoints, mesh[list(FACE68_FROM_MESH), :2])
    assert found.dataset_meta['dataset_name'] == 'coco_wholebody_face'
    assert found.dataset_meta['keypoint_name2id'] == FACE_META['keypoint_name2id']
    refined = find_faces(haar.astronaut(), refine_landmarks=True)
    assert refined.objects[0].extras['mesh'].shape == (478, 3)     # with the irises


def test_several_faces_each_with_its_own_eyes(astronaut):
    # Her head and shoulders beside their mirror image: two faces, one in each half, about as
    # large as two people's side by side before a webcam (the detector is short-range).
    head = astronaut[:256, 96:352]
    pair = np.ascontiguousarray(np.concatenate([head, head[:, ::-1]], axis=1))
    out = find_faces(pair)
    assert len(out.objects) == 2
    width = head.shape[1]
    halves = sorted(out.objects, key=lambda f: f.keypoints[:, 0].mean())
    for half, face in enumerate(halves):
        assert (face.keypoints[:, 0] // width == half).all(), f'face {half} strays'
        shown = pair[:, half * width:(half + 1) * width]
        assert_eyes_in_haar_eyes(np.ascontiguousarray(shown), face.keypoints - (half * width, 0))


def test_sunglasses_go_on_the_eyes_not_the_cheeks(astronaut, found):
    with NodeHarness(Sunglasses) as h:
        out = h.feed(frame=found)['frame'].image
    face = found.objects[0]
    for ids in (RIGHT_EYE, LEFT_EYE):
        x, y = face.keypoints[ids].mean(axis=0).round().astype(int)
        patch = out[y - 3:y + 4, x - 3:x + 4].astype(int)
        assert np.abs(patch - 25).max() <= 30, f'no dark lens on the eye at ({x}, {y})'
    # The cheeks: halfway between the jaw and the nose, level with the nose base.
    for jaw in (3, 13):
        x, y = ((face.keypoints[jaw] + face.keypoints[33]) / 2).round().astype(int)
        np.testing.assert_array_equal(out[y - 2:y + 3, x - 2:x + 3],
                                      astronaut[y - 2:y + 3, x - 2:x + 3])


def test_big_eye_warps_the_eyes_and_leaves_the_mouth(astronaut, found):
    with NodeHarness(BigEye) as h:
        out = h.feed(frame=found)['frame'].image
    face = found.objects[0]
    for ids in (RIGHT_EYE, LEFT_EYE):
        x, y = face.keypoints[ids].mean(axis=0).round().astype(int)
        assert (out[y - 8:y + 9, x - 8:x + 9] != astronaut[y - 8:y + 9, x - 8:x + 9]).any()
    x, y = face.keypoints[57].round().astype(int)
    np.testing.assert_array_equal(out[y - 3:y + 4, x - 3:x + 4],
                                  astronaut[y - 3:y + 4, x - 3:x + 4])


def test_full_range_finds_a_face_too_small_for_the_short_range_detector(astronaut, found):
    side = 200                                       # her face becomes about 36 px wide
    scene = np.full((480, 640, 3), 120, np.uint8)
    scene[480 - side:, :side] = cv2.resize(astronaut, (side, side), interpolation=cv2.INTER_AREA)
    assert find_faces(scene).objects == (), 'the short-range detector misses so small a face'
    far = find_faces(scene, detector='full')
    [face] = far.objects
    assert 0.5 <= face.score <= 1 and face.extras['mesh'].shape == (468, 3)
    # Where the full-size photo's face points go when the photo is shrunk into the scene.
    expected = found.objects[0].keypoints * (side / 512) + (0, 480 - side)
    miss = np.hypot(*(face.keypoints - expected).T)
    assert np.median(miss) < 2.0 and miss.max() < 6.0, f'{miss.round(1)}'


def test_full_range_follows_two_faces_through_a_clip(astronaut):
    head = astronaut[:256, 96:352]
    pair = np.ascontiguousarray(np.concatenate([head, head[:, ::-1]], axis=1))
    clip = affine_clip(pair, n=6, max_shift=(15, 8), scales=(0.85, 1.0), max_angle=6.0)
    with NodeHarness(MediaPipeFace, detector='full') as h:
        outs = h.run([Frame(frame_id=i, image=image) for i, image in enumerate(clip.frames)])
    for i, out in enumerate(outs):
        assert len(out.objects) == 2, f'frame {i}'
        centres = sorted(clip.to_source(i, f.keypoints[RIGHT_EYE + LEFT_EYE].mean(0, keepdims=True))
                         [0, 0] for f in out.objects)
        assert centres[0] < 256 < centres[1], f'frame {i}: one face in each half'


def test_refined_landmarks_need_the_short_range_solution():
    with pytest.raises(ValueError, match='refine_landmarks needs detector: short'):
        MediaPipeFace(refine_landmarks=True, detector='full')
