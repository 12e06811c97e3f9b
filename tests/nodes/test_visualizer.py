from __future__ import annotations

import numpy as np
import pytest

from nodes.draw.visualizer import PoseVisualizer, box_color
from tests.nodes.metas import (EYE_METAS, HAND_METAS, body_object, changed, coco17_meta,
                               hand_object, near, onehand10k_meta)
from webcam_app import NodeHarness, make_frame

METAS = {**HAND_METAS, **EYE_METAS}
GRAY = (128, 128, 128)
RADIUS, THICKNESS = 4, 2


def _objects(name: str, meta: dict, **fields) -> list:
    if name in HAND_METAS:
        return [hand_object(meta, (180, 230), 200, angle=15, **fields),
                hand_object(meta, (460, 260), 180, angle=-20)]
    return [body_object(meta, (190, 260), 380, **fields), body_object(meta, (470, 250), 300)]


def _segments(objs, meta):
    return [(o.keypoints[a], o.keypoints[b]) for o in objs for a, b in meta['skeleton_links']]


def _seg_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    t = np.clip(np.dot(p - a, b - a) / max(np.dot(b - a, b - a), 1e-9), 0, 1)
    return float(np.hypot(*(p - (a + t * (b - a)))))


def _draw(frame, **params):
    params = {'radius': RADIUS, 'thickness': THICKNESS, **params}
    with NodeHarness(PoseVisualizer, **params) as h:
        return h.feed(frame=frame)['frame']


@pytest.mark.parametrize('name', sorted(METAS))
def test_draws_the_skeleton_in_the_meta_colors_and_nothing_else(name):
    meta = METAS[name]()
    objs = _objects(name, meta)
    frame = make_frame(0, objects=objs, dataset_meta=meta, color=GRAY)
    before = frame.image.copy()
    out = _draw(frame, draw_bbox=False)

    np.testing.assert_array_equal(frame.image, before)          # the input is not mutated
    diff = changed(before, out.image)
    allowed = near(diff.shape, RADIUS + THICKNESS, points=[p for o in objs for p in o.keypoints],
                   segments=_segments(objs, meta))
    assert diff.sum() > 500 and not (diff & ~allowed).any()
    pts = np.concatenate([o.keypoints for o in objs])
    kpt_colors = np.concatenate([meta['keypoint_colors']] * len(objs))
    checked = 0
    for p, rgb in zip(pts, kpt_colors):                         # isolated keypoints: their color
        if np.sort(np.hypot(*(pts - p).T))[1] > 2 * RADIUS + 2 and 0 <= p[1] < 480:
            x, y = np.rint(p).astype(int)
            assert tuple(out.image[y, x]) == tuple(int(c) for c in rgb[::-1])
            checked += 1
    assert checked >= 10
    segs, link_colors = _segments(objs, meta), list(meta['skeleton_link_colors']) * len(objs)
    checked = 0
    for i, ((a, b), rgb) in enumerate(zip(segs, link_colors)):  # isolated links: their color
        mid = (a + b) / 2
        clear = min(np.hypot(*(pts - mid).T)) > RADIUS + 3 and all(
            _seg_distance(mid, *s) > THICKNESS + 2 for j, s in enumerate(segs) if j != i)
        if clear and 0 <= mid[1] < 479:
            x, y = np.rint(mid).astype(int)
            assert tuple(int(c) for c in rgb[::-1]) in {tuple(out.image[y + d, x]) for d in
                                                        (-1, 0, 1)} | {tuple(out.image[y, x + d])
                                                                       for d in (-1, 1)}
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize('name', ['onehand10k', 'coco17'])
def test_boxes_and_labels_are_drawn_only_at_the_boxes(name):
    meta = METAS[name]()
    objs = _objects(name, meta, track_id=7)
    frame = make_frame(0, objects=objs, dataset_meta=meta, color=GRAY)
    bare = _draw(frame, draw_bbox=False).image
    boxed = _draw(frame, show_labels=False).image
    labelled = _draw(frame).image
    box_band = np.zeros(bare.shape[:2], bool)
    label_band = np.zeros(bare.shape[:2], bool)
    for obj in objs:
        x1, y1, x2, y2 = np.rint(obj.bbox).astype(int)
        box_band[max(0, y1 - 2):y2 + 3, max(0, x1 - 2):x2 + 3] = True
        box_band[max(0, y1 + 2):y2 - 2, max(0, x1 + 2):x2 - 2] = False
        label_band[max(0, y1 - 25):y1 + 1, max(0, x1):x1 + 200] = True
        colour = box_color(obj)
        assert tuple(boxed[min(y2, 479), (x1 + x2) // 2]) == colour or y2 > 479
    assert box_color(objs[0]) != box_color(objs[1])            # track id 7 versus label id 0
    box_diff = changed(bare, boxed)
    assert box_diff.sum() > 300 and not (box_diff & ~box_band).any()
    label_diff = changed(boxed, labelled)
    assert label_diff.sum() > 100 and not (label_diff & ~label_band).any()
    assert (labelled[label_band] == box_color(objs[0])).all(axis=1).sum() > 50


def test_openpose_style_adds_a_neck_on_coco_and_falls_back_elsewhere():
    meta = coco17_meta()
    obj = body_object(meta, (320, 260), 400)
    frame = make_frame(0, objects=[obj], dataset_meta=meta, color=GRAY)
    openpose = _draw(frame, draw_bbox=False, skeleton_style='openpose').image
    mmpose = _draw(frame, draw_bbox=False).image
    ids = meta['keypoint_name2id']
    neck = (obj.keypoints[ids['left_shoulder']] + obj.keypoints[ids['right_shoulder']]) / 2
    x, y = np.rint(neck).astype(int)
    assert tuple(openpose[y, x]) == (0, 85, 255)                # openpose's neck, in BGR
    below_neck = np.rint(neck + (0, 15)).astype(int)            # the neck-hip links
    assert tuple(mmpose[below_neck[1], below_neck[0]]) == GRAY
    assert tuple(openpose[below_neck[1], below_neck[0]]) != GRAY

    hand_meta = onehand10k_meta()
    hands = make_frame(0, objects=_objects('onehand10k', hand_meta), dataset_meta=hand_meta)
    np.testing.assert_array_equal(_draw(hands, skeleton_style='openpose').image,
                                  _draw(hands).image)


def test_draws_latest_poses_on_the_triggering_frame():
    meta = onehand10k_meta()
    objs = _objects('onehand10k', meta)
    poses = make_frame(3, objects=objs, dataset_meta=meta, color=(0, 0, 0))
    frame = make_frame(5, color=GRAY)
    with NodeHarness(PoseVisualizer, enable_key='v') as h:
        out = h.feed(frame=frame, poses=poses)['frame']
        assert out.frame_id == 5 and out.objects == poses.objects
        assert out.dataset_meta['keypoint_name2id'] == meta['keypoint_name2id']
        assert tuple(out.image[5, 630]) == GRAY                  # frame's picture, not poses'
        assert changed(frame.image, out.image).sum() > 500
        assert h.feed(frame=frame)['frame'].image is not frame.image
        h.press('v')                                             # disabled: undrawn, with results
        off = h.feed(frame=frame, poses=poses)['frame']
        assert off.image is frame.image and off.objects == poses.objects


def test_keypoints_without_a_meta_are_drawn_as_points():
    meta = onehand10k_meta()
    obj = hand_object(meta, (320, 240), 200)
    frame = make_frame(0, objects=[obj], color=GRAY)
    diff = changed(frame.image, _draw(frame, draw_bbox=False).image)
    assert diff.sum() > 200 and not (diff & ~near(diff.shape, RADIUS + 2, obj.keypoints)).any()


def test_rejects_bad_parameters():
    with pytest.raises(ValueError, match="skeleton_style must be one of 'mmpose', 'openpose'"):
        NodeHarness(PoseVisualizer, skeleton_style='coco')
    with pytest.raises(ValueError, match='thickness must be int >= 1'):
        NodeHarness(PoseVisualizer, thickness=0)


def test_black_background_draws_the_poses_on_black():
    from nodes.draw.visualizer import PoseVisualizer
    from webcam_app import NodeHarness, Object, make_frame
    frame = make_frame(width=64, height=48, color=(200, 200, 200))
    obj = Object((10, 10, 40, 40), 'hand', 0.9, keypoints=np.array([[20.0, 20.0], [30.0, 30.0]]),
                 keypoint_scores=np.array([0.9, 0.9]))
    with NodeHarness(PoseVisualizer, black_background=True, draw_bbox=False) as h:
        image = h.feed(frame=frame.replace(objects=(obj,)))['frame'].image
    assert (image[0, 0] == 0).all() and image[20, 20].any()    # black, but for the points
    assert (frame.image == 200).all()                          # the input untouched
