from __future__ import annotations

import numpy as np
import pytest

from nodes.common import boxes_from_keypoints, iou_matrix
from nodes.tracking.tracker import OneEuro, Smoother, Tracker
from tests.nodes.metas import HAND_METAS, hand_object, onehand10k_meta
from webcam_app import NodeHarness, Object, make_frame


def _clip(meta, paths, *, size=120.0, noise=3.0, seed=0, missing=()):
    """Frames of hand-shaped objects; paths[k][t] is hand k's centre at frame t (None: unseen).

    Returns (frames, truth): truth[t] lists the hand index of each object of frame t. Objects
    are listed in a shuffled order, so the order carries no identity.
    """
    rng = np.random.default_rng(seed)
    frames, truth = [], []
    for t in range(len(paths[0])):
        objs, who = [], []
        for k, path in enumerate(paths):
            if (t, k) in missing:
                continue
            centre = np.asarray(path[t], float) + rng.normal(0, noise, 2)
            objs.append(hand_object(meta, tuple(centre), size, angle=10 * k))
            who.append(k)
        order = rng.permutation(len(objs))
        frames.append(make_frame(t, 64, 48, objects=[objs[i] for i in order], dataset_meta=meta))
        truth.append([who[i] for i in order])
    return frames, truth


def _ids_per_hand(outputs, truth) -> dict[int, set[int]]:
    ids: dict[int, set[int]] = {}
    for frame, who in zip(outputs, truth):
        for obj, k in zip(frame.objects, who):
            ids.setdefault(k, set()).add(obj.track_id)
    return ids


def _assert_no_switch(outputs, truth, hands=2):
    ids = _ids_per_hand(outputs, truth)
    assert all(len(ids[k]) == 1 for k in range(hands)), ids
    assert len(set.union(*ids.values())) == hands, ids


def _crossing(n=40):
    """Two hands swap sides, one a little above the other: their boxes overlap by half."""
    xs = np.linspace(80, 560, n)
    return [[(x, 210) for x in xs], [(x, 270) for x in xs[::-1]]]


@pytest.mark.parametrize('match', ['iou', 'keypoints'])
@pytest.mark.parametrize('meta_name', sorted(HAND_METAS))
def test_crossing_hands_keep_their_ids(match, meta_name):
    meta = HAND_METAS[meta_name]()
    frames, truth = _clip(meta, _crossing(), missing={(21, 0), (22, 1)})
    with NodeHarness(Tracker, match=match) as h:
        outputs = h.run(frames)
    _assert_no_switch(outputs, truth)


@pytest.mark.parametrize('match', ['iou', 'keypoints'])
def test_fast_hands_keep_their_ids(match):
    """Each hand moves more than its own width per frame; their paths cross."""
    meta = onehand10k_meta()
    xs = np.arange(12) * 120.0 - 100
    paths = [[(x, 200 + 0.3 * x) for x in xs], [(1100 - x, 200 + 0.3 * x) for x in xs]]
    frames, truth = _clip(meta, paths, size=100, noise=2)
    with NodeHarness(Tracker, match=match) as h:
        outputs = h.run(frames)
    _assert_no_switch(outputs, truth)


def test_track_survives_a_gap_up_to_max_age():
    meta = onehand10k_meta()
    path = [[(100 + 10 * t, 200) for t in range(12)]]
    gap = {(t, 0) for t in range(4, 7)}
    frames, truth = _clip(meta, path, missing=gap)
    with NodeHarness(Tracker, max_age=5) as h:
        assert len(_ids_per_hand(h.run(frames), truth)[0]) == 1
    with NodeHarness(Tracker, max_age=2) as h:
        assert len(_ids_per_hand(h.run(frames), truth)[0]) == 2


@pytest.mark.parametrize('gap,max_age,ids', [
    (3, 3, 1),    # unseen for exactly max_age frames: the track survives
    (4, 3, 2),    # one frame more: it is forgotten, the object gets a new id
    (1, 0, 2),    # max_age 0: any gap forgets
])
def test_max_age_is_the_longest_gap_a_track_survives(gap, max_age, ids):
    meta = onehand10k_meta()
    path = [[(100 + 10 * t, 200) for t in range(12)]]
    frames, truth = _clip(meta, path, missing={(t, 0) for t in range(4, 4 + gap)})
    with NodeHarness(Tracker, max_age=max_age) as h:
        assert len(_ids_per_hand(h.run(frames), truth)[0]) == ids


def test_new_objects_get_new_ids_and_input_is_kept():
    meta = onehand10k_meta()
    frame = make_frame(0, objects=[hand_object(meta, (100, 100)), hand_object(meta, (400, 300))],
                       dataset_meta=meta)
    with NodeHarness(Tracker) as h:
        out = h.feed(frame=frame)['frame']
    assert [o.track_id for o in out.objects] == [0, 1]
    assert all(o.track_id is None for o in frame.objects)
    assert out.image is frame.image


def test_tracker_rejects_bad_parameters():
    with pytest.raises(ValueError, match='match must be'):
        NodeHarness(Tracker, match='oks')
    with pytest.raises(ValueError, match=r'iou_thr must be float in \[0, 1\]'):
        NodeHarness(Tracker, iou_thr=2)


def test_iou_matrix():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], float)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30]], float)
    np.testing.assert_allclose(iou_matrix(a, b), [[1 / 3, 0], [1 / 3, 0]])


def test_boxes_from_keypoints():
    kpts = np.array([[10, 20], [30, 60], [500, 500]], float)
    obj = Object(bbox=(0, 0, 1, 1), keypoints=kpts, keypoint_scores=np.array([0.9, 0.8, 0.1]),
                 track_id=4)
    lone = Object(bbox=(1, 2, 3, 4), keypoints=kpts, keypoint_scores=np.array([0.9, 0.1, 0.1]))
    bare = Object(bbox=(5, 6, 7, 8))
    out = boxes_from_keypoints([obj, lone, bare], scale=1.5, kpt_thr=0.3)
    np.testing.assert_allclose(out[0].bbox, (5, 10, 35, 70))      # centre (20, 40), 30 x 60
    assert out[0].track_id == 4 and out[0].keypoints is obj.keypoints
    assert out[1].bbox == lone.bbox and out[2].bbox == bare.bbox
    clipped = boxes_from_keypoints([obj], scale=4, image_size=(50, 100))[0]
    np.testing.assert_allclose(clipped.bbox, (0, 0, 50, 100))


# -- smoothing -----------------------------------------------------------------------------------
FPS = 30.0


def _smooth(values: np.ndarray, **params) -> np.ndarray:
    """Run a 1-keypoint track through the Smoother node; values are x per frame."""
    out = []
    with NodeHarness(Smoother, **params) as h:
        for t, x in enumerate(values):
            obj = Object(bbox=(x - 5, 0, x + 5, 10), keypoints=np.array([[x, 100.0]]),
                         keypoint_scores=np.ones(1), track_id=7)
            frame = make_frame(t, 64, 48, objects=[obj], source_timestamp_ms=1000 * t / FPS)
            out.append(h.feed(frame=frame)['frame'].objects[0].keypoints[0, 0])
    return np.array(out)


def _jitter(x: np.ndarray) -> float:
    return float(np.std(np.diff(x)))


def test_smoother_reduces_jitter_of_a_still_keypoint():
    noisy = 200 + np.random.default_rng(1).normal(0, 2.0, 150)
    smooth = _smooth(noisy)
    assert _jitter(smooth[10:]) < _jitter(noisy[10:]) / 4


@pytest.mark.parametrize('beta, max_lag_frames', [(0.0, 6.0), (0.05, 1.0)])
def test_smoother_lag_on_a_ramp_is_bounded(beta, max_lag_frames):
    speed = 10.0                                   # px per frame (300 px/s)
    ramp = 100 + speed * np.arange(60)
    lag = (ramp - _smooth(ramp, beta=beta))[-10:] / speed
    assert np.all(lag < max_lag_frames) and np.all(lag > 0)


def test_smoother_with_beta_still_smooths_and_follows_a_step():
    rng = np.random.default_rng(2)
    step = np.where(np.arange(90) < 45, 100.0, 300.0) + rng.normal(0, 2.0, 90)
    smooth = _smooth(step, beta=0.05)
    assert _jitter(smooth[5:40]) < _jitter(step[5:40]) / 3
    assert np.all(np.abs(smooth[48:] - 300) < 10)  # within 10 px of a 200 px step in 3 frames


def test_smoother_uses_the_source_timestamps():
    """The same samples smooth the same whatever the capture clock says."""
    x = 100 + np.random.default_rng(3).normal(0, 2.0, 20)
    results = []
    for capture in (lambda t: 0.0, lambda t: t * 5.0):
        with NodeHarness(Smoother) as h:
            out = []
            for t, v in enumerate(x):
                obj = Object(bbox=(0, 0, 1, 1), keypoints=np.array([[v, 0.0]]), track_id=1)
                frame = make_frame(t, 8, 8, objects=[obj], source_timestamp_ms=t * 1000 / FPS)
                frame = frame.replace(timestamp=capture(t))
                out.append(h.feed(frame=frame)['frame'].objects[0].keypoints[0, 0])
        results.append(out)
    np.testing.assert_allclose(results[0], results[1])
    assert _jitter(np.array(results[0])) < _jitter(x)


def test_smoother_keeps_tracks_apart_and_forgets_old_ones():
    with NodeHarness(Smoother, max_age=3) as h:
        def feed(t, *objs):
            return h.feed(frame=make_frame(t, 8, 8, objects=list(objs),
                                           source_timestamp_ms=t * 33))['frame'].objects
        a = Object(bbox=(0, 0, 10, 10), keypoints=np.array([[0.0, 0.0]]), track_id=1)
        b = Object(bbox=(100, 0, 110, 10), keypoints=np.array([[100.0, 0.0]]), track_id=2)
        feed(0, a, b)
        out = feed(1, b, a)                           # order swapped: ids, not order, count
        np.testing.assert_allclose([o.keypoints[0, 0] for o in out], [100, 0])
        for t in range(2, 6):
            feed(t, b)
        far = a.replace(keypoints=np.array([[50.0, 0.0]]))
        assert feed(6, far)[0].keypoints[0, 0] == 50   # a's state was dropped: starts afresh


def test_one_euro_keeps_state_through_missing_values():
    f = OneEuro()
    f(np.array([0.0, 0.0]), 0.0)
    out = f(np.array([np.nan, 10.0]), 0.1)
    assert np.isnan(out[0]) and 0 < out[1] < 10
    assert f(np.array([1.0, 10.0]), 0.2)[0] < 1.0     # the first value resumes its filter


def test_static_image_mode_smooths_nothing_across_unrelated_images():
    photos = np.array([100.0, 400.0, 120.0])          # one person per photo, far apart
    assert not np.allclose(_smooth(photos), photos)    # a video would be smoothed
    np.testing.assert_array_equal(_smooth(photos, static_image_mode=True), photos)
