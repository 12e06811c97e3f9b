"""ONNX Runtime detector nodes against mmdet's ``inference_detector``, on real photos.

RTMDet (hand, person) and YOLOX (face), real architectures with seeded weights calibrated on
photos (``shaped.py``) so that scores spread out instead of tying. The node exports its
checkpoint once into the models folder, then decodes and runs NMS in numpy.
"""
from __future__ import annotations

import logging
import re

import numpy as np
import pytest

from tests.footage import photo
from tests.nodes.onnx.shaped import detector_checkpoint
from webcam_app import Frame, NodeHarness

pytestmark = [pytest.mark.models, pytest.mark.timeout(900)]

#: graph model name, its class, how much to sharpen the class logits. The untrained RTMDet-m
#: amplifies float32 rounding: on messi5.jpg its logits move by 1e-3 between torch float32 and
#: float64, and by 1e-2 on ONNX Runtime, so its logits are kept small (scores near 0.5, where
#: that is < 1e-3 in score). A trained model is far better conditioned.
DETECTORS = {'rtmdet_hand': ('rtmdet_nano_320-8xb32_hand', 'hand', 1.0),
             'rtmdet_person': ('rtmdet_m_640-8xb32_coco-person', 'person', 0.1),
             'yolox_face': ('yolox-s_8xb8-300e_coco-face', 'face', 1.0)}
PHOTOS = ('handSrc.jpg', 'messi5.jpg', 'basketball1.png')


@pytest.fixture(scope='module', params=list(DETECTORS))
def shaped(request, tmp_path_factory):
    pytest.importorskip('mmdet')
    pytest.importorskip('onnxruntime')
    from nodes.models.openmmlab.model_zoo import resolve_model
    name, label, sharpen = DETECTORS[request.param]
    folder = tmp_path_factory.mktemp(request.param)
    ckpt = detector_checkpoint(resolve_model(name, 'det').config_path, folder / f'{name}.pth',
                               [label], sharpen)
    return name, label, str(ckpt), folder


def mmdet_boxes(name: str, ckpt: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from mmdet.apis import inference_detector, init_detector
    from mmpose.utils import adapt_mmdet_pipeline

    from nodes.models.openmmlab.model_zoo import resolve_model
    from nodes.models.openmmlab.checkpoints import load_checkpoint
    model = init_detector(resolve_model(name, 'det').config_path, None, device='cpu')
    load_checkpoint(model, ckpt)
    model.cfg = adapt_mmdet_pipeline(model.cfg)
    out = {}
    for image_name in PHOTOS:
        image = photo(image_name)
        pred = inference_detector(model, image).pred_instances
        h, w = image.shape[:2]
        boxes = np.clip(pred.bboxes.numpy(), 0, [w, h, w, h])
        out[image_name] = boxes, pred.scores.numpy()
    return out


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in a (N, 4) against every box in b (M, 4); two equal empty boxes
    (clipped away at the image border) count as 1."""
    lt, rb = np.maximum(a[:, None, :2], b[None, :, :2]), np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = lambda x: np.prod(x[:, 2:] - x[:, :2], axis=1)  # noqa: E731
    union = area(a)[:, None] + area(b)[None] - inter
    same = (np.abs(a[:, None] - b[None]) < 0.5).all(axis=2)
    return np.where(union > 0, inter / np.maximum(union, 1e-12), same)


def gap_threshold(per_image: list[np.ndarray], cap: int = 50) -> float:
    """A threshold with no score within 2e-3 of it, so that both sides keep the same boxes,
    and at most ``cap`` boxes above it per image, well inside the detector's ``max_per_img``."""
    scores = np.concatenate(per_image)
    for thr in np.arange(0.3, 0.95, 0.005):
        crowded = any((s >= thr).sum() > cap for s in per_image)
        if not (np.abs(scores - thr) < 2e-3).any() and not crowded:
            return float(thr)
    raise AssertionError('no gap in the scores')


def assert_boxes_match(node, theirs: dict, thr: float, label: str | None = None) -> None:
    """``node``'s boxes on the photos equal mmdet's above ``thr``: one to one at IoU >= 0.98,
    scores within 1e-3 (and all labelled ``label``); at least 3 boxes compared."""
    compared = 0
    with NodeHarness(node, name='detector') as h:
        if label is not None:
            assert h.node.classes == (label,)
        for image_name in PHOTOS:
            out = h.feed(frame=Frame(frame_id=0, image=photo(image_name)))['frame']
            boxes, scores = theirs[image_name]
            keep = scores >= thr
            ours = np.array([o.bbox for o in out.objects]).reshape(-1, 4)
            assert len(ours) == keep.sum(), (image_name, len(ours), keep.sum())
            if not len(ours):
                continue
            overlap = iou(ours, boxes[keep])
            best = overlap.argmax(axis=1)
            assert (overlap.max(axis=1) >= 0.98).all(), overlap.max(axis=1).min()
            assert len(set(best)) == len(best)            # one to one
            assert np.allclose([o.score for o in out.objects], scores[keep][best], atol=1e-3)
            if label is not None:
                assert {o.label for o in out.objects} == {label}
            compared += len(ours)
    assert compared >= 3, f'only {compared} boxes above {thr}: the test would prove little'


def test_boxes_and_scores_match_inference_detector(shaped) -> None:
    from nodes.models.openmmlab.detector import DetectorNode
    name, label, ckpt, folder = shaped
    theirs = mmdet_boxes(name, ckpt)
    thr = gap_threshold([s for _, s in theirs.values()])
    assert_boxes_match(DetectorNode(name, weights=ckpt, models_dir=str(folder), score_thr=thr,
                                    backend='onnxruntime'), theirs, thr, label)


def test_openvino_at_f32_finds_the_boxes_onnxruntime_finds(shaped) -> None:
    """The same export, sidecar and decoding on OpenVINO, against ONNX Runtime."""
    pytest.importorskip('openvino')
    from nodes.models.onnx.exported import ExportedDetector
    from nodes.models.openmmlab.detector import DetectorNode
    name, label, ckpt, folder = shaped
    node = DetectorNode(name, weights=ckpt, models_dir=str(folder), backend='onnxruntime')
    with NodeHarness(node, name='detector'):      # exports it, if no test did
        path = node._exported
    ort, ov = (ExportedDetector(path, backend, precision='f32')
               for backend in ('onnxruntime', 'openvino'))
    theirs = {n: ort.detect(photo(n), 0.05)[:2] for n in PHOTOS}
    thr = gap_threshold([s for _, s in theirs.values()])
    compared = 0
    for image_name in PHOTOS:
        boxes, scores, _ = ov.detect(photo(image_name), thr)
        ref_boxes, ref_scores = (a[theirs[image_name][1] >= thr] for a in theirs[image_name])
        assert len(boxes) == len(ref_boxes), image_name
        if len(boxes):
            overlap = iou(boxes, ref_boxes)
            assert (overlap.max(axis=1) >= 0.98).all(), overlap.max(axis=1).min()
            assert np.allclose(scores, ref_scores[overlap.argmax(axis=1)], atol=1e-3)
            compared += len(boxes)
    assert compared >= 3, f'only {compared} boxes above {thr}: the test would prove little'


def test_backend_auto_runs_pytorch_where_the_model_cannot_be_exported(tmp_path, caplog) -> None:
    """A two-stage detector (RoI ops) is refused by the exporter, once, with the reason."""
    pytest.importorskip('mmdet')
    from nodes.models.openmmlab.detector import DetectorNode
    node = DetectorNode('faster-rcnn_r50_fpn_1x_coco', weights='none', models_dir=str(tmp_path))
    node.name = 'detector'
    with caplog.at_level(logging.WARNING):
        node.check()
    assert node.runs_on == 'pytorch' and node.info()['backend'] == 'pytorch'
    said = [r.getMessage() for r in caplog.records if 'backend auto runs PyTorch' in r.getMessage()]
    assert len(said) == 1 and re.search('two-stage detector.*keep backend: pytorch', said[0]), said
    assert not list(tmp_path.iterdir())     # the refused export left nothing half-written
