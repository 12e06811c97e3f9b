"""TopdownPoseEstimatorNode on real RTMPose architectures with random weights (offline)."""
from __future__ import annotations

import numpy as np
import pytest

from nodes.models.openmmlab.detector import DetectorNode
from nodes.models.openmmlab.pose import TopdownPoseEstimatorNode
from webcam_app import Frame, NodeHarness, Object

META_KEYS = ('dataset_name', 'num_keypoints', 'keypoint_id2name', 'keypoint_name2id',
             'skeleton_links', 'skeleton_link_colors', 'keypoint_colors', 'flip_indices')


def noise_frame(objects: tuple = (), classes: tuple = ('hand',)) -> Frame:
    image = np.random.default_rng(1).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    return Frame(frame_id=3, image=image, objects=objects, dataset_meta={'classes': classes},
                 meta={'source': 'test'})


def assert_pose(obj: Object, meta: dict) -> None:
    k = meta['num_keypoints']
    assert obj.keypoints.shape == (k, 2) and obj.keypoints.dtype == np.float32
    assert obj.keypoint_scores.shape == (k,)
    assert np.isfinite(obj.keypoints).all()


def test_bad_parameters() -> None:
    with pytest.raises(ValueError, match=r'bbox_thr must be float in \[0, 1\]'):
        NodeHarness(TopdownPoseEstimatorNode, model='hand', bbox_thr=2)
    with pytest.raises(ValueError, match='flip_test must be bool'):
        NodeHarness(TopdownPoseEstimatorNode, model='hand', flip_test='yes')


@pytest.fixture(scope='module')
def hand_pose():
    pytest.importorskip('mmpose')
    with NodeHarness(TopdownPoseEstimatorNode, name='pose', model='hand', backend='pytorch', weights='none',
                     labels=['hand']) as h:
        yield h


@pytest.mark.models
def test_hand_pose_one_batched_call_for_all_boxes(hand_pose, monkeypatch) -> None:
    import mmpose.apis
    calls = []
    real = mmpose.apis.inference_topdown

    def spy(model, img, bboxes=None, bbox_format='xyxy'):
        calls.append((np.asarray(bboxes).shape, bbox_format, img.shape))
        return real(model, img, bboxes, bbox_format)
    monkeypatch.setattr(mmpose.apis, 'inference_topdown', spy)
    objects = (Object((100, 100, 260, 300), 'hand', 0.9), Object((0, 0, 50, 50), 'face', 0.9),
               Object((300, 120, 420, 260), 'hand', 0.8), Object((10, 10, 60, 60), 'hand', 0.1))
    out = hand_pose.feed(frame=noise_frame(objects))['frame']
    assert calls == [((2, 4), 'xyxy', (480, 640, 3))]
    meta = out.dataset_meta
    assert all(key in meta for key in META_KEYS) and meta['num_keypoints'] == 21
    assert meta['classes'] == ('hand',) and out.meta['source'] == 'test'
    assert 'wrist' in meta['keypoint_name2id']
    assert_pose(out.objects[0], meta)
    assert_pose(out.objects[2], meta)
    assert out.objects[1] is objects[1] and out.objects[3] is objects[3]   # not wanted: unchanged
    assert out.objects[0].bbox == objects[0].bbox and out.objects[0].label == 'hand'
    kpts = out.objects[0].keypoints                    # inside (or near) the box it came from
    assert (kpts[:, 0] > 0).all() and (kpts[:, 0] < 400).all()


@pytest.mark.models
def test_no_objects_skips_the_model_and_still_sets_meta(hand_pose, monkeypatch) -> None:
    import mmpose.apis
    monkeypatch.setattr(mmpose.apis, 'inference_topdown', lambda *a, **k: pytest.fail('called'))
    out = hand_pose.feed(frame=noise_frame())['frame']
    assert out.objects == () and out.dataset_meta['num_keypoints'] == 21
    with pytest.raises(ValueError):       # shared meta arrays are read-only
        out.dataset_meta['keypoint_colors'][0, 0] = 1


@pytest.mark.models
@pytest.mark.parametrize('alias,label,k', [('body', 'person', 17), ('face', 'face', 106),
                                           ('wholebody', 'person', 133)])
def test_body_face_wholebody_shapes_and_meta(alias: str, label: str, k: int) -> None:
    pytest.importorskip('mmpose')
    obj = Object((200, 60, 440, 460), label, 0.9)
    with NodeHarness(TopdownPoseEstimatorNode, model=alias, backend='pytorch', weights='none') as h:
        out = h.feed(frame=noise_frame((obj,), (label,)))['frame']
    meta = out.dataset_meta
    assert meta['num_keypoints'] == k == len(meta['keypoint_id2name'])
    assert all(key in meta for key in META_KEYS)
    assert_pose(out.objects[0], meta)
    assert all(0 <= i < k and 0 <= j < k for i, j in meta['skeleton_links'])


@pytest.mark.models
def test_flip_test_is_set_in_the_model_config() -> None:
    pytest.importorskip('mmpose')
    with NodeHarness(TopdownPoseEstimatorNode, model='hand', backend='pytorch', weights='none', flip_test=True) as h:
        assert h.node._model.cfg.model.test_cfg.flip_test is True
        out = h.feed(frame=noise_frame((Object((100, 100, 260, 300), 'hand', 0.9),)))['frame']
    assert_pose(out.objects[0], out.dataset_meta)


@pytest.mark.models
def test_hand_detector_then_pose_on_a_generated_frame() -> None:
    pytest.importorskip('mmdet')
    frame = noise_frame(classes=())
    with NodeHarness(DetectorNode, model='hand', backend='pytorch', weights='none', classes=['hand'],
                     score_thr=0.0, max_objects=2) as det, \
            NodeHarness(TopdownPoseEstimatorNode, model='hand', backend='pytorch', weights='none') as pose:
        out = pose.feed(frame=det.feed(frame=frame)['frame'])['frame']
    assert len(out.objects) == 2 and out.dataset_meta['classes'] == ('hand',)
    for obj in out.objects:
        assert obj.label == 'hand'
        assert_pose(obj, out.dataset_meta)


@pytest.mark.models
@pytest.mark.timeout(300)
def test_hand_graph_with_det_interval_runs_in_replay(make_video) -> None:
    """Source, detector (boxes from the previous poses every other frame), pose, on threads."""
    pytest.importorskip('mmdet')
    import nodes  # noqa: F401  (registers VideoSource)
    from tests.webcam_app.toy_nodes import Collect
    from webcam_app import load_graph, run_graph
    config = {'name': 'hand_interval', 'mode': 'replay', 'nodes': [
        {'name': 'source', 'type': 'VideoSource', 'input': str(make_video(6)),
         'outputs': {'frame': 'frames'}},
        {'name': 'detector', 'type': 'DetectorNode', 'model': 'hand', 'weights': 'none', 'backend': 'pytorch',
         'classes': ['hand'], 'score_thr': 0.0, 'max_objects': 1, 'det_interval': 2,
         'inputs': {'frame': 'frames', 'poses': 'feedback'}, 'outputs': {'frame': 'dets'}},
        {'name': 'pose', 'type': 'TopdownPoseEstimatorNode', 'model': 'hand', 'weights': 'none', 'backend': 'pytorch',
         'inputs': {'frame': 'dets'}, 'outputs': {'frame': ['poses', 'feedback']}},
        {'name': 'sink', 'type': 'Collect', 'key': 'hand_interval', 'inputs': {'frame': 'poses'}}]}
    runner = run_graph(load_graph(config), timeout=240)
    assert runner.exit_code == 0, runner.errors
    frames = Collect.seen['hand_interval']
    assert [f.frame_id for f in frames] == list(range(6))
    for frame in frames:
        assert len(frame.objects) == 1 and frame.objects[0].label == 'hand'
        assert_pose(frame.objects[0], frame.dataset_meta)
        assert frame.dataset_meta['classes'] == ('hand',)


@pytest.mark.models
def test_pose_node_matches_inference_topdown_box_by_box(tmp_path) -> None:
    """Several boxes on a real photo, weights shaped to give clear peaks: every object gets
    exactly mmpose's keypoints for its own box (a swap of x and y, or of two boxes, fails)."""
    pytest.importorskip('mmpose')
    from mmengine.config import Config
    from mmpose.apis import inference_topdown, init_model

    from nodes.models.openmmlab.checkpoints import load_checkpoint
    from nodes.models.openmmlab.model_zoo import resolve_model
    from tests.footage import photo
    from tests.nodes.onnx.shaped import pose_checkpoint
    config = resolve_model('hand', 'pose').config_path
    ckpt = str(pose_checkpoint(config, tmp_path / 'pose.pth'))
    image = photo('handSrc.jpg')
    boxes = [(150, 40, 520, 470), (20, 300, 200, 470), (400, 10, 660, 200)]
    objects = tuple(Object(b, 'hand', 0.9) for b in boxes)
    with NodeHarness(TopdownPoseEstimatorNode, model='hand', backend='pytorch', weights=ckpt, bbox_thr=0.0) as h:
        out = h.feed(frame=Frame(frame_id=0, image=image, objects=objects))['frame']
    cfg = Config.fromfile(config)
    cfg.model.test_cfg.flip_test = False            # the node's default
    model = init_model(cfg, None, device='cpu')
    load_checkpoint(model, ckpt)
    results = inference_topdown(model, image, np.array(boxes, np.float32), 'xyxy')
    for obj, box, result in zip(out.objects, boxes, results):
        assert obj.bbox == box
        assert np.allclose(obj.keypoints, result.pred_instances.keypoints[0], atol=1e-3)
        assert np.allclose(obj.keypoint_scores, result.pred_instances.keypoint_scores[0],
                           rtol=1e-4, atol=1e-4)
    first, second = out.objects[0].keypoints, out.objects[1].keypoints
    assert np.abs(first - second).max() > 20                     # boxes are told apart
    assert np.abs(first - first[:, ::-1]).max() > 20              # x and y are told apart
