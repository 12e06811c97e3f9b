"""DetectorNode: class names normalized at the boundary (never 'h'), checkpoints, det_interval."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from nodes.common import normalize_classes
from nodes.models.openmmlab import detector as detector_module
from nodes.models.openmmlab.detector import (ClassNamesMismatch, DetectorNode, head_num_classes,
                                             resolve_classes)
from webcam_app import Frame, NodeHarness, Object, WebcamAppError, make_frame


@pytest.mark.parametrize('value,expected', [
    ('hand', ('hand',)), (['hand'], ('hand',)), (('a', 'b'), ('a', 'b')), (None, ()),
    (np.array(['x', 'y']), ('x', 'y')), (b'hand', ('hand',))])
def test_normalize_classes(value: object, expected: tuple) -> None:
    assert normalize_classes(value) == expected


def test_normalize_classes_rejects_a_number() -> None:
    with pytest.raises(ValueError, match='classes must be a name or a list of names'):
        normalize_classes(3)


CFG = {'train_dataloader': {'dataset': {'metainfo': {'classes': ('from_config',)}}}}


@pytest.mark.parametrize('override,meta,expected', [
    (['mine'], {'dataset_meta': {'classes': 'hand'}}, ('mine',)),
    (None, {'dataset_meta': {'classes': 'hand'}, 'CLASSES': 'other'}, ('hand',)),
    (None, {'dataset_meta': {'CLASSES': ['hand']}}, ('hand',)),
    (None, {'CLASSES': 'hand'}, ('hand',)),
    (None, {'CLASSES': ['hand']}, ('hand',)),
    (None, {}, ('from_config',))])
def test_class_names_resolution_order(override, meta, expected) -> None:
    assert resolve_classes(override, meta, CFG, 1, 'x.pth') == expected


def test_config_wrapped_dataset_and_top_level_metainfo() -> None:
    wrapped = {'train_dataloader': {'dataset': {'dataset': {'metainfo': {'CLASSES': ['w']}}}}}
    assert resolve_classes(None, {}, wrapped, 1, None) == ('w',)
    assert resolve_classes(None, {}, {'metainfo': {'classes': ('t',)}}, 1, None) == ('t',)


def test_mismatch_names_checkpoint_classes_and_head_size() -> None:
    with pytest.raises(ClassNamesMismatch) as info:
        resolve_classes(None, {'dataset_meta': {'classes': ('a', 'b')}}, {}, 1, 'ckpt/det.pth')
    text = str(info.value)
    assert 'ckpt/det.pth' in text and "('a', 'b')" in text and 'head has 1' in text
    assert isinstance(info.value, (ValueError, WebcamAppError))
    with pytest.raises(ClassNamesMismatch, match='no class names found'):
        resolve_classes(None, {}, {}, 1, None)


def test_head_num_classes_one_and_two_stage() -> None:
    assert head_num_classes(SimpleNamespace(bbox_head=SimpleNamespace(num_classes=1))) == 1
    two = SimpleNamespace(roi_head=SimpleNamespace(bbox_head=[SimpleNamespace(num_classes=5)]))
    assert head_num_classes(two) == 5
    assert head_num_classes(SimpleNamespace()) is None


@pytest.mark.parametrize('params,message', [
    ({'score_thr': 1.5}, r'score_thr must be float in \[0, 1\]'),
    ({'max_objects': 0}, 'max_objects must be'),
    ({'det_interval': 0}, 'det_interval must be'), ({'model': ''}, 'model must be')])
def test_bad_parameters(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NodeHarness(DetectorNode, **{'model': 'hand', **params})


def test_det_interval_tracks_boxes_from_the_latest_poses(monkeypatch: pytest.MonkeyPatch) -> None:
    tracked_calls = []

    def boxes_from_keypoints(objects, scale=1.25, kpt_thr=0.3, image_size=None):
        tracked_calls.append((len(objects), scale, kpt_thr, image_size))
        return tuple(o.replace(bbox=(1, 2, 3, 4)) for o in objects)
    monkeypatch.setattr(detector_module, 'boxes_from_keypoints', boxes_from_keypoints)
    node = DetectorNode('hand', det_interval=3)
    node.classes, node.dataset_meta = ('hand',), {'classes': ('hand',)}   # as setup() sets them
    detected = []
    monkeypatch.setattr(node, 'detect', lambda image: detected.append(1) or (
        Object((0, 0, 10, 10), label='hand', score=0.9),))
    pose = Object((0, 0, 10, 10), label='hand', keypoints=np.zeros((21, 2), np.float32),
                  keypoint_scores=np.ones(21, np.float32))
    poses = make_frame(0, 32, 24, objects=[pose])
    outs = [node.process(make_frame(i, 32, 24), poses=poses if i else None) for i in range(7)]
    assert len(detected) == 3                    # frames 0, 3 and 6
    assert [o.objects[0].bbox for o in outs[:4]] == [(0, 0, 10, 10), (1, 2, 3, 4),
                                                     (1, 2, 3, 4), (0, 0, 10, 10)]
    assert tracked_calls[0] == (1, 1.25, 0.3, (32, 24))
    assert outs[1].objects[0].keypoints is None       # boxes only; the pose node re-estimates
    assert all(o.dataset_meta['classes'] == ('hand',) for o in outs)
    empty = node.process(make_frame(7, 32, 24), poses=make_frame(6, 32, 24))
    assert len(detected) == 4 and empty.objects[0].bbox == (0, 0, 10, 10)


# -- real architectures, random or fabricated weights ----------------------------------------

def noise_frame(frame_id: int = 0, seed: int = 0) -> Frame:
    rng = np.random.default_rng(seed)
    return Frame(frame_id=frame_id, image=rng.integers(0, 255, (480, 640, 3), dtype=np.uint8),
                 meta={'source': 'test'})


@pytest.fixture(scope='module')
def hand_detector():
    """A random-init RTMDet-nano hand detector built from mmpose's real config."""
    pytest.importorskip('mmdet')
    from mmdet.apis import init_detector
    from mmpose.utils import adapt_mmdet_pipeline

    from nodes.models.openmmlab.model_zoo import resolve_model
    from nodes.models.openmmlab.weights import building
    with building(random_weights=True):     # seeded: this model finds boxes on noise
        model = init_detector(resolve_model('hand', 'det').config_path, None, device='cpu')
    model.cfg = adapt_mmdet_pipeline(model.cfg)
    return model


@pytest.fixture(scope='module')
def checkpoints(hand_detector, tmp_path_factory):
    """The hand detector's real state dict saved with each style of class meta."""
    import torch
    folder = tmp_path_factory.mktemp('ckpt')
    state = hand_detector.state_dict()
    metas = {'v2_str': {'CLASSES': 'hand'}, 'v3_str': {'dataset_meta': {'classes': 'hand'}},
             'v2_list': {'CLASSES': ['hand']}, 'v3_list': {'dataset_meta': {'classes': ['hand']}},
             'mismatch': {'dataset_meta': {'classes': ('a', 'b')}}}
    paths = {}
    for name, meta in metas.items():
        paths[name] = folder / f'{name}.pth'
        torch.save({'state_dict': state, 'meta': meta}, paths[name])
    return paths


@pytest.fixture(scope='module')
def reference(hand_detector):
    """A noise frame and what the saved model itself detects on it."""
    from mmdet.apis import inference_detector
    frame = noise_frame()
    return frame, inference_detector(hand_detector, frame.image).pred_instances


@pytest.mark.models
@pytest.mark.parametrize('style', ['v2_str', 'v3_str', 'v2_list', 'v3_list'])
def test_single_class_checkpoints_label_every_box_hand(style, checkpoints, reference) -> None:
    frame, expected = reference
    with NodeHarness(DetectorNode, name='det', model='hand', backend='pytorch', weights=str(checkpoints[style]),
                     score_thr=0.0) as h:
        out = h.feed(frame=frame)['frame']
        assert h.node.classes == ('hand',)
    assert out.objects, 'a random detector with score_thr=0 still finds boxes'
    assert {o.label for o in out.objects} == {'hand'} and {o.label_id for o in out.objects} == {0}
    assert out.dataset_meta['classes'] == ('hand',) and out.meta['source'] == 'test'
    assert len(out.objects) == len(expected.scores)           # the saved weights were loaded
    height, width = frame.image.shape[:2]                      # boxes are clipped to the image
    clipped = np.clip(expected.bboxes[0].numpy(), 0, [width, height, width, height])
    assert np.allclose(out.objects[0].bbox, clipped, atol=1e-3)
    assert out.objects[0].score == pytest.approx(float(expected.scores[0]), abs=1e-5)


@pytest.mark.models
def test_mismatched_checkpoint_is_a_clear_error(checkpoints) -> None:
    path = str(checkpoints['mismatch'])
    with pytest.raises(ClassNamesMismatch) as info:
        with NodeHarness(DetectorNode, model='hand', backend='pytorch', weights=path):
            pass
    assert path in str(info.value) and "('a', 'b')" in str(info.value)
    assert 'head has 1' in str(info.value)


@pytest.mark.models
def test_random_weights_need_class_names_and_then_filter(checkpoints) -> None:
    with pytest.raises(ClassNamesMismatch, match='no class names found for a head of 1'):
        with NodeHarness(DetectorNode, model='hand', backend='pytorch', weights='none'):
            pass
    with NodeHarness(DetectorNode, model='hand', backend='pytorch', weights='none', classes='hand',
                     score_thr=0.0, max_objects=3, labels=['hand']) as h:
        out = h.feed(frame=noise_frame())['frame']
    assert 1 <= len(out.objects) <= 3 and {o.label for o in out.objects} == {'hand'}
    scores = [o.score for o in out.objects]
    assert scores == sorted(scores, reverse=True)
    with pytest.raises(ValueError, match=r"labels \['cat'\] are not classes"):
        with NodeHarness(DetectorNode, model='hand', backend='pytorch', weights=str(checkpoints['v3_str']),
                         labels=['cat']):
            pass


@pytest.mark.models
def test_high_threshold_and_read_only_image(checkpoints) -> None:
    frame = noise_frame()
    assert not frame.image.flags.writeable
    with NodeHarness(DetectorNode, model='hand', backend='pytorch', weights=str(checkpoints['v2_str']),
                     score_thr=1.0) as h:
        assert h.feed(frame=frame)['frame'].objects == ()


def test_weights_path_is_checked_before_setup(tmp_path: Path) -> None:
    pytest.importorskip('mmdet')
    node = DetectorNode('hand', weights=str(tmp_path / 'missing.pth'))
    with pytest.raises(ValueError, match='weights file not found'):
        node.check()
