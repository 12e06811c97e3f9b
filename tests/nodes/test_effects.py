from __future__ import annotations

import cv2
import numpy as np
import pytest

from nodes.draw.effects import Background
from nodes.draw.effects_face import BigEye, Sunglasses
from nodes.draw.effects_hand import FingertipTrail, PinchDetector
from nodes.keypoints import eye_points, hands, keypoint
from tests.nodes.metas import (EYE_METAS, HAND_METAS, body_object, changed, hand_object, near,
                               onehand10k_meta)
from webcam_app import Frame, NodeHarness, Object, make_frame

GRAY = (128, 128, 128)
EYES, HANDS = sorted(EYE_METAS), sorted(HAND_METAS)


def _face(meta, eyes_at=(320, 240), eye_distance=60.0, **fields) -> Object:
    """A person so close that its eyes are ``eye_distance`` apart around ``eyes_at``."""
    height = eye_distance / 0.06
    return body_object(meta, (eyes_at[0], eyes_at[1] + 0.45 * height), height, **fields)


def _run(node_cls, frames, **params):
    # An instance, since NodeHarness keeps its own ``mode`` keyword (Background has one too).
    with NodeHarness(node_cls(**params)) as h:
        return h.run(frames)


# -- keypoint names ------------------------------------------------------------------------------
@pytest.mark.parametrize('name', HANDS)
def test_hand_keypoints_are_found_by_name(name):
    meta = HAND_METAS[name]()
    obj = hand_object(meta, (300, 200), 100)
    tip, thumb = keypoint(obj, meta, 'index_tip'), keypoint(obj, meta, 'thumb_tip')
    np.testing.assert_allclose(tip, (300 - 19, 200 - 45))       # the shape's forefinger4
    np.testing.assert_allclose(thumb, (300 - 45, 200 - 10))
    assert [h.side for h in hands(meta)] == ['']


def test_face_only_models_give_eyes_from_their_contours():
    names = {f'kpt-{i}': i for i in range(68)}
    meta = {'keypoint_name2id': names, 'num_keypoints': 68}
    kpts = np.zeros((68, 2))
    kpts[36:42] = (100, 50) + np.random.default_rng(0).normal(0, 1, (6, 2))   # subject's right
    kpts[42:48] = (160, 50)
    left, right = eye_points(Object(bbox=(0, 0, 1, 1), keypoints=kpts), meta)
    np.testing.assert_allclose(left, (160, 50))
    np.testing.assert_allclose(right, kpts[36:42].mean(axis=0))
    wflw = {'keypoint_name2id': {f'kpt-{i}': i for i in range(98)}}
    kpts = np.arange(196, dtype=float).reshape(98, 2)
    left, right = eye_points(Object(bbox=(0, 0, 1, 1), keypoints=kpts), wflw)
    np.testing.assert_allclose(left, kpts[97])
    np.testing.assert_allclose(right, kpts[96])


# -- eye effects ---------------------------------------------------------------------------------
@pytest.mark.parametrize('name', EYES)
def test_sunglasses_cover_the_eyes_and_nothing_else(name):
    meta = EYE_METAS[name]()
    faces = [_face(meta, (200, 200), 60), _face(meta, (460, 300), 40)]
    frame = make_frame(0, objects=faces, dataset_meta=meta, color=GRAY)
    before = frame.image.copy()
    out = _run(Sunglasses, [frame])[0]
    np.testing.assert_array_equal(frame.image, before)
    diff = changed(before, out.image)
    allowed = np.zeros_like(diff)
    for face in faces:
        left, right = eye_points(face, meta)
        d = np.hypot(*(left - right))
        allowed |= near(diff.shape, 1.15 * d, points=[(left + right) / 2])
        for eye in (left, right):
            x, y = np.rint(eye).astype(int)
            assert out.image[y, x].max() < 60                    # a dark lens on each eye
    assert diff.sum() > 1000 and not (diff & ~allowed).any()
    assert out.objects == frame.objects


def test_eye_effects_skip_unseen_eyes_and_pass_through_when_disabled():
    meta = EYE_METAS['coco17']()
    face = _face(meta)
    scores = np.full(17, 0.9)
    scores[meta['keypoint_name2id']['left_eye']] = 0.1
    frame = make_frame(0, objects=[face.replace(keypoint_scores=scores)], dataset_meta=meta)
    for cls in (Sunglasses, BigEye):
        assert _run(cls, [frame])[0].image is frame.image
    seen = make_frame(0, objects=[face], dataset_meta=meta)
    with NodeHarness(Sunglasses, enable_key='g') as h:
        assert h.feed(frame=seen)['frame'].image is not seen.image
        h.press('g')
        assert h.feed(frame=seen)['frame'] is seen


@pytest.mark.parametrize('name', EYES)
def test_big_eye_magnifies_around_the_eyes_only(name):
    meta = EYE_METAS[name]()
    face = _face(meta, (320, 240), 80)
    left, right = eye_points(face, meta)
    image = np.full((480, 640, 3), GRAY, np.uint8)
    for p in (left, right, (100, 100)):                           # pupils, and a control dot
        cv2.circle(image, tuple(np.rint(p).astype(int)), 4, (0, 0, 255), -1)
    frame = Frame(0, image=image, objects=(face,), dataset_meta=meta)
    before = image.copy()
    out = _run(BigEye, [frame], strength=0.5, radius=0.4)[0]
    np.testing.assert_array_equal(frame.image, before)
    diff = changed(before, out.image)
    allowed = near(diff.shape, 0.4 * 80 + 2, points=[left, right])
    assert diff.sum() > 50 and not (diff & ~allowed).any()
    red = lambda img: (img == (0, 0, 255)).all(axis=2)            # noqa: E731
    for eye in (left, right):
        around = near(diff.shape, 20, points=[eye])
        assert red(out.image)[around].sum() > 2 * red(before)[around].sum()


# -- hand effects --------------------------------------------------------------------------------
def _tips(meta, objs):
    return [keypoint(o, meta, 'index_tip') for o in objs]


@pytest.mark.parametrize('tracked', [True, False])
@pytest.mark.parametrize('name', HANDS)
def test_fingertip_trail_follows_each_hand(name, tracked):
    meta = HAND_METAS[name]()
    frames, paths = [], [[], []]
    for t in range(8):
        objs = [hand_object(meta, (150 + 25 * t, 200), 120, track_id=1 if tracked else None),
                hand_object(meta, (500 - 25 * t, 330), 120, track_id=2 if tracked else None)]
        for path, tip in zip(paths, _tips(meta, objs)):
            path.append(tip)
        if tracked and t % 2:
            objs.reverse()                                         # ids, not order, tell them
        frames.append(make_frame(t, objects=objs, dataset_meta=meta, color=GRAY))
    befores = [f.image.copy() for f in frames]
    outs = _run(FingertipTrail, frames, length=10, thickness=8)
    assert all(np.array_equal(f.image, b) for f, b in zip(frames, befores))
    diff = changed(befores[-1], outs[-1].image)
    segments = [(p[i - 1], p[i]) for p in paths for i in range(1, len(p))]
    allowed = near(diff.shape, 8 // 2 + 4, points=[p[-1] for p in paths], segments=segments)
    assert not (diff & ~allowed).any()
    for path in paths:
        for tip in (path[-1], path[-4]):
            x, y = np.rint(tip).astype(int)
            assert diff[y, x]
        assert not diff[int(path[-1][1]) + 30, int(path[-1][0])]


def test_fingertip_trail_fades_when_the_hand_is_gone_and_ignores_unsure_tips():
    meta = onehand10k_meta()
    hand = hand_object(meta, (300, 200), 120, track_id=0)
    gone = [make_frame(t, dataset_meta=meta) for t in range(1, 6)]
    outs = _run(FingertipTrail, [make_frame(0, objects=[hand], dataset_meta=meta)] + gone,
                length=5)
    assert outs[1].image is not gone[0].image and outs[-1].image is gone[-1].image
    scores = np.full(21, 0.9)
    scores[meta['keypoint_name2id']['forefinger4']] = 0.1
    unsure = make_frame(0, objects=[hand.replace(keypoint_scores=scores)], dataset_meta=meta)
    assert _run(FingertipTrail, [unsure])[0].image is unsure.image


@pytest.mark.parametrize('name', HANDS)
def test_pinch_is_flagged_and_marked_at_the_fingertips(name):
    meta = HAND_METAS[name]()
    pinch = hand_object(meta, (200, 240), 150, pinch=True, track_id=4)
    open_hand = hand_object(meta, (460, 240), 150)
    frame = make_frame(0, objects=[pinch, open_hand], dataset_meta=meta, color=GRAY)
    before = frame.image.copy()
    out = _run(PinchDetector, [frame])[0]
    np.testing.assert_array_equal(frame.image, before)
    assert [o.extras.get('pinch') for o in out.objects] == [True, False]
    assert 'pinch' not in frame.objects[0].extras and out.objects[0].track_id == 4
    thumb, tip = keypoint(pinch, meta, 'thumb_tip'), keypoint(pinch, meta, 'index_tip')
    mid = (thumb + tip) / 2
    size = max(np.subtract(pinch.bbox[2:], pinch.bbox[:2]))
    diff = changed(before, out.image)
    assert diff[int(round(mid[1])), int(round(mid[0]))]
    assert diff.sum() > 50 and not (diff & ~near(diff.shape, 0.12 * size + 6, [mid])).any()

    calm = make_frame(0, objects=[open_hand], dataset_meta=meta)
    out = _run(PinchDetector, [calm])[0]
    assert out.image is calm.image and out.objects[0].extras['pinch'] is False


# -- background ----------------------------------------------------------------------------------
def _noise_frame(objects, meta=None) -> Frame:
    image = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    return Frame(0, image=image, objects=tuple(objects), dataset_meta=meta or {})


def _keep_mask(objs, padding, shape=(480, 640)):
    mask = np.zeros(shape, bool)
    for o in objs:
        x1, y1, x2, y2 = o.bbox
        mask[max(0, int(np.floor(y1 - padding))):int(np.ceil(y2 + padding)),
             max(0, int(np.floor(x1 - padding))):int(np.ceil(x2 + padding))] = True
    return mask


@pytest.mark.parametrize('mode', ['blur', 'color', 'image'])
def test_background_changes_everything_outside_the_padded_boxes(mode, tmp_path):
    meta = onehand10k_meta()
    objs = [hand_object(meta, (200, 200), 120), hand_object(meta, (420, 300), 150)]
    frame = _noise_frame(objs, meta)
    before = frame.image.copy()
    picture = np.zeros((100, 200, 3), np.uint8)
    picture[:, :, 1] = 200
    cv2.imwrite(str(tmp_path / 'beach.png'), picture)
    params = {'blur': {}, 'color': {'color': (255, 0, 0)},
              'image': {'image': str(tmp_path / 'beach.png')}}[mode]
    out = _run(Background, [frame], mode=mode, keep='boxes', padding=10, **params)[0]
    np.testing.assert_array_equal(frame.image, before)
    keep = _keep_mask(objs, 10)
    np.testing.assert_array_equal(out.image[keep], before[keep])
    outside = out.image[~keep]
    if mode == 'blur':
        assert changed(before, out.image)[~keep].mean() > 0.95
        assert outside.astype(float).std() < before[~keep].astype(float).std() / 4
    else:
        expected = (255, 0, 0) if mode == 'color' else (0, 200, 0)
        assert (outside == expected).all()


def test_background_keeps_only_the_chosen_labels_and_checks_its_picture(tmp_path):
    meta = onehand10k_meta()
    frame = _noise_frame([hand_object(meta, (300, 240), 150)], meta)
    out = _run(Background, [frame], mode='color', keep='boxes', color=(0, 0, 0),
               labels=['person'])[0]
    assert not out.image.any()
    with pytest.raises(ValueError, match='does not exist'):
        with NodeHarness(Background(mode='image', image=str(tmp_path / 'none.png'))):
            pass
    with pytest.raises(ValueError, match='mode must be one of'):
        NodeHarness(Background, mode='green')
    with pytest.raises(ValueError, match=r'color must be a color: 3 ints from 0 to 255'):
        NodeHarness(Background, mode='color', color=(0, 300, 0))
