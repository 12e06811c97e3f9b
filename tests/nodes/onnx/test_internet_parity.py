"""InterNet on ONNX Runtime against mmpose's inference_topdown (the pytorch node): both hands'
keypoints within 0.5 px in the image and 1 mm in depth, on real photos.

The weights are the real architecture's, seeded and shaped as ``shaped.py`` shapes the 2D
models' (BatchNorm statistics measured on photos, the heatmap layers sharpened), so each
keypoint's 3D heatmap has a clear peak and a broken decode cannot hide in a near-tie.
"""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from nodes.models.lift.internet import INTERNET, InterNetNode
from tests.footage import photo
from tests.nodes.onnx.shaped import PHOTOS, calibrate
from webcam_app import Frame, NodeHarness

pytest.importorskip('onnxruntime')
pytest.importorskip('mmpose')
pytestmark = [pytest.mark.models, pytest.mark.timeout(600)]


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    import cv2
    import torch
    from mmpose.apis import init_model

    from nodes.models.openmmlab.model_zoo import resolve_model
    from nodes.models.openmmlab.weights import building
    with building(random_weights=True):
        model = init_model(resolve_model(INTERNET, 'pose').config_path, None, device='cpu')
    mean, std = np.float32([123.675, 116.28, 103.53]), np.float32([58.395, 57.12, 57.375])
    batch = np.stack([cv2.resize(photo(p), (256, 256))[..., ::-1] for p in PHOTOS])
    batch = ((batch.astype(np.float32) - mean) / std).transpose(0, 3, 1, 2)
    calibrate(model, lambda x: model.head.forward(model.extract_feat(x)),
              np.ascontiguousarray(batch))
    with torch.no_grad():
        for head in (model.head.right_hand_head, model.head.left_hand_head):
            head.final_layer.weight *= 8.0
    path = tmp_path_factory.mktemp('internet') / 'internet_shaped.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def hands(backend: str, checkpoint, models_dir, images: list[np.ndarray]) -> list[Frame]:
    with NodeHarness(InterNetNode, weights=str(checkpoint), backend=backend,
                     models_dir=str(models_dir), threads=2) as h:
        return [h.feed(frame=Frame(frame_id=i, image=im))['frame'] for i, im in enumerate(images)]


def test_exported_internet_matches_inference_topdown(checkpoint, tmp_path):
    images = [photo('handSrc.jpg'), photo('messi5.jpg')]
    reference = hands('pytorch', checkpoint, tmp_path, images)
    engines = [b for b in ('onnxruntime', 'openvino') if importlib.util.find_spec(b)]
    runs = [(ref, out) for engine in engines
            for ref, out in zip(reference, hands(engine, checkpoint, tmp_path, images))]
    for ref, out in runs:
        [a], [b] = ref.objects, out.objects
        assert a.keypoints.shape == (42, 2) and a.extras['keypoints_3d'].shape == (42, 3)
        assert out.dataset_meta['num_keypoints'] == 42 and 'meta_3d' in out.dataset_meta
        assert np.ptp(a.keypoints, axis=0).min() > 10              # not one point
        assert np.abs(a.keypoints - b.keypoints).max() <= 0.5       # px
        depth_a, depth_b = a.extras['keypoints_3d'][:, 1], b.extras['keypoints_3d'][:, 1]
        assert np.abs(depth_a - depth_b).max() <= 1.0               # mm
        assert a.extras['hand_type'] == b.extras['hand_type']
        assert a.extras['rel_root_depth'] == pytest.approx(b.extras['rel_root_depth'], abs=1.0)
    [sidecar] = [json.loads(p.read_text()) for p in tmp_path.glob('*.json')]
    assert sidecar['kind'] == 'hand3d' and len(sidecar['checkpoint_sha256']) == 64
