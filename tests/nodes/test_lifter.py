"""PoseLifterNode: mmpose's lifters on each track's 2D history, as mmpose runs them.

Replay runs MotionBERT on whole windows and matches mmpose's own ``inference_pose_lifter_model``
(with ``Pose3DInferencer``'s axes) on the same window; live mode is causal: the 3D of frame t
does not change when the frames after t do. Seeded random weights (``weights: none``) and short
windows keep it quick.
"""
from __future__ import annotations

import logging

import numpy as np
import pytest

from nodes.models.lift.lifter import LIVE_MODEL, MOTIONBERT, PoseLifterNode
from nodes.models.lift.skeletons import H36M_META, KEYPOINTS_3D, META_3D_KEY, h36m_from_coco
from nodes.models.mediapipe.meta import COCO_META
from webcam_app import Frame, NodeHarness, Object

pytest.importorskip('mmpose', reason='the lifters are mmpose models')
pytestmark = [pytest.mark.models, pytest.mark.timeout(300)]

WIDTH, HEIGHT = 320, 240
BOX = (60.0, 20.0, 260.0, 230.0)
# A COCO-17 person, roughly: head at the top of the box, ankles at its bottom.
PERSON = np.array([[160, 40], [170, 35], [150, 35], [180, 40], [140, 40], [190, 80], [130, 80],
                   [205, 120], [115, 120], [215, 155], [105, 155], [180, 150], [140, 150],
                   [185, 190], [135, 190], [190, 225], [130, 225]], np.float32)


def walk(n: int, seed: int = 0, start: int = 0) -> list[np.ndarray]:
    """A person swaying: frame i's COCO keypoints (frames ``start`` on may differ by seed)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        sway = np.float32([8 * np.sin(i / 3), 3 * np.cos(i / 4)])
        jitter = rng.normal(0, 2, PERSON.shape).astype(np.float32) if i >= start else 0
        out.append(PERSON + sway + jitter)
    return out


def frame(i: int, keypoints: np.ndarray, track_id: int = 0) -> Frame:
    obj = Object(bbox=BOX, label='person', track_id=track_id, keypoints=keypoints,
                 keypoint_scores=np.ones(17, np.float32))
    return Frame(frame_id=i, image=np.zeros((HEIGHT, WIDTH, 3), np.uint8), objects=(obj,),
                 dataset_meta=COCO_META)


def mmpose_reference(config: str, poses: list[np.ndarray]) -> np.ndarray:
    """What mmpose's inference_pose_lifter_model gives for this window, in the inferencer's axes
    (Pose3DInferencer.forward: x and z negated, y and z swapped, rebased)."""
    from mmengine.structures import InstanceData
    from mmpose.apis import inference_pose_lifter_model
    from mmpose.structures import PoseDataSample

    from nodes.models.lift.network import build_lifter
    model, _ = build_lifter(config, None)
    results = []
    for pose in poses:
        sample = PoseDataSample()
        sample.pred_instances = InstanceData(keypoints=h36m_from_coco(pose[None]),
                                             bboxes=np.array([BOX], np.float32))
        sample.gt_instances = InstanceData()
        sample.track_id = 0
        results.append([sample])
    [out] = inference_pose_lifter_model(model, results, image_size=(WIDTH, HEIGHT),
                                        norm_pose_2d=True)
    points = np.asarray(out.pred_instances.keypoints).reshape(len(poses), 17, 3)
    points = points[..., [0, 2, 1]]
    points[..., 0], points[..., 2] = -points[..., 0], -points[..., 2]
    return points - np.float32([0, 0, 1]) * points[..., 2:].min(axis=1, keepdims=True)


def test_replay_runs_motionbert_on_whole_windows_in_order():
    poses = walk(6)
    with NodeHarness(PoseLifterNode, backend='pytorch', weights='none', window=4, threads=2) as h:
        emitted = [h.feed_all(frame=frame(i, p)) for i, p in enumerate(poses)]
        assert [len(e) for e in emitted] == [0, 0, 0, 4, 0, 0]    # a window's worth at once
        rest = h.flush()                                          # the end of the stream
    frames = [out['frame'] for batch in emitted for out in batch] + [o['frame'] for o in rest]
    assert [f.frame_id for f in frames] == list(range(6))        # every frame, in order
    assert frames[0].dataset_meta[META_3D_KEY] is H36M_META
    lifted = np.stack([f.objects[0].extras[KEYPOINTS_3D] for f in frames])
    assert lifted.shape == (6, 17, 3) and np.isfinite(lifted).all()
    assert np.abs(lifted).max() > 1e-3 and lifted[..., 2].min(axis=1) == pytest.approx(0)


def test_a_long_replay_keeps_a_bounded_history_per_track():
    poses = walk(20)
    with NodeHarness(PoseLifterNode, backend='pytorch', weights='none', window=4, threads=2) as h:
        sent = sum(len(h.feed_all(frame=frame(i, p))) for i, p in enumerate(poses))
        [track] = h.node._tracks.values()
        assert len(track.points) <= 4 and len(track.points) == len(track.frames)
        sent += len(h.flush())
    assert sent == 20                    # forgetting lifted points loses no frame


def test_motionbert_matches_mmpose_inference_pose_lifter_model():
    """mmpose's own MotionBERT pipeline takes one frame a call (its config's seq_len is 1, and
    its codec fails on longer windows), as Pose3DInferencer runs it: so compare frame by frame."""
    poses = walk(3)
    with NodeHarness(PoseLifterNode, backend='pytorch', weights='none', window=1, threads=2) as h:
        lifted = np.stack([h.feed(frame=frame(i, p))['frame'].objects[0].extras[KEYPOINTS_3D]
                           for i, p in enumerate(poses)])
    from nodes.models.openmmlab.model_zoo import resolve_model
    config = resolve_model(MOTIONBERT, 'pose').config_path
    reference = np.concatenate([mmpose_reference(config, [p]) for p in poses])
    assert np.abs(lifted).max() > 1e-3                           # not all zeros
    np.testing.assert_allclose(lifted, reference, atol=1e-4)


def test_live_mode_is_causal_and_says_why_motionbert_gives_way(caplog):
    shared, later = 10, 4
    a, b = walk(shared + later, seed=1, start=shared), walk(shared + later, seed=2, start=shared)
    np.testing.assert_array_equal(a[shared - 1], b[shared - 1])
    outputs = []
    with caplog.at_level(logging.INFO, logger='nodes.models.lift.lifter'):
        # the second run is a replay with lookahead: false, which must be just as causal
        for poses, mode, lookahead in ((a, 'live', True), (b, 'replay', False)):
            with NodeHarness(PoseLifterNode, backend='pytorch', weights='none', live_weights='none',
                             run_mode=mode, lookahead=lookahead, threads=2) as h:
                got = [h.feed(frame=frame(i, p))['frame'] for i, p in enumerate(poses)]
            assert [f.frame_id for f in got] == list(range(len(poses)))   # no frame held back
            outputs.append(np.stack([f.objects[0].extras[KEYPOINTS_3D] for f in got]))
    assert LIVE_MODEL in caplog.text and 'causal' in caplog.text
    assert 'live mode is causal' in caplog.text and 'lookahead: false is causal' in caplog.text
    np.testing.assert_array_equal(outputs[0][:shared], outputs[1][:shared])
    assert np.abs(outputs[0][shared:] - outputs[1][shared:]).max() > 0   # later frames differ


def test_a_2d_model_the_lifter_cannot_read_is_a_clear_error():
    bad = Frame(frame_id=0, image=np.zeros((HEIGHT, WIDTH, 3), np.uint8), dataset_meta={
        'dataset_name': 'onehand10k'}, objects=(Object(bbox=BOX, keypoints=np.zeros((21, 2))),))
    with NodeHarness(PoseLifterNode, backend='pytorch', model=LIVE_MODEL, weights='none', threads=1) as h:
        with pytest.raises(ValueError, match='cannot lift onehand10k'):
            h.feed(frame=bad)


def test_the_inferencers_3d_aliases_name_these_models():
    from nodes.models.lift.internet import INTERNET
    from nodes.models.openmmlab.model_zoo import resolve_model
    assert resolve_model('human3d', 'pose').name == MOTIONBERT
    assert resolve_model('hand3d', 'pose').name == INTERNET
