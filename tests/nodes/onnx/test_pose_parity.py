"""ONNX Runtime pose nodes against mmpose itself: raw outputs, then decoded keypoints on photos.

Three heads (SimCC: RTMPose; heatmap: ResNet-50 OneHand10K; regression: DeepPose ResNet-50),
each a real architecture with seeded weights shaped to give clear peaks (``shaped.py``), saved
as a checkpoint. The node finds no ``.onnx`` and exports one into the models folder, then runs
it; mmpose's ``inference_topdown`` runs the same checkpoint on the same boxes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.footage import photo
from tests.nodes.onnx.shaped import pose_checkpoint
from webcam_app import Frame, NodeHarness, Object

pytestmark = [pytest.mark.models, pytest.mark.timeout(600)]

MODELS = {'simcc': 'rtmpose-m_8xb256-210e_hand5-256x256',
          'heatmap': 'td-hm_res50_8xb32-210e_onehand10k-256x256',
          'regression': 'td-reg_res50_8xb64-210e_onehand10k-256x256'}
#: several boxes per photo, of different sizes and aspect ratios, one partly outside the image
BOXES = {'handSrc.jpg': [(150, 40, 520, 470), (20, 300, 200, 470), (400, 10, 660, 200)],
         'messi5.jpg': [(60, 55, 465, 340), (195, 55, 280, 135)],
         'basketball1.png': [(30, 75, 170, 480), (425, 15, 640, 480)]}
#: the decode must be exact up to float noise: a half-pixel slip in the crop is far above this
MEDIAN_PX, MAX_PX = 0.05, 2.0


@pytest.fixture(scope='module', params=list(MODELS))
def shaped(request, tmp_path_factory):
    """(head, model name, checkpoint, models folder) for one head."""
    pytest.importorskip('mmpose')
    pytest.importorskip('onnxruntime')
    from nodes.models.openmmlab.model_zoo import resolve_model
    folder = tmp_path_factory.mktemp(request.param)
    name = MODELS[request.param]
    ckpt = pose_checkpoint(resolve_model(name, 'pose').config_path, folder / f'{name}.pth')
    return request.param, name, str(ckpt), folder


def mmpose_keypoints(name: str, ckpt: str, flip: bool) -> dict[str, tuple]:
    from mmengine.config import Config
    from mmpose.apis import inference_topdown, init_model

    from nodes.models.openmmlab.model_zoo import resolve_model
    from nodes.models.openmmlab.checkpoints import load_checkpoint
    cfg = Config.fromfile(resolve_model(name, 'pose').config_path)
    cfg.model.test_cfg.flip_test = flip
    model = init_model(cfg, None, device='cpu')
    load_checkpoint(model, ckpt)
    out = {}
    for image_name, boxes in BOXES.items():
        results = inference_topdown(model, photo(image_name), np.array(boxes, np.float32), 'xyxy')
        out[image_name] = (np.stack([r.pred_instances.keypoints[0] for r in results]),
                           np.stack([r.pred_instances.keypoint_scores[0] for r in results]))
    return out


def node_keypoints(harness: NodeHarness) -> dict[str, tuple]:
    out = {}
    for image_name, boxes in BOXES.items():
        objects = tuple(Object(b, 'hand', 0.9) for b in boxes)
        frame = Frame(frame_id=0, image=photo(image_name), objects=objects)
        frame = harness.feed(frame=frame)['frame']
        out[image_name] = (np.stack([o.keypoints for o in frame.objects]),
                           np.stack([o.keypoint_scores for o in frame.objects]))
    return out


def errors(a: dict, b: dict) -> np.ndarray:
    return np.concatenate([np.linalg.norm(a[k][0] - b[k][0], axis=-1).ravel() for k in a])


@pytest.mark.parametrize('flip', [False, True])
def test_decoded_keypoints_match_inference_topdown(shaped, flip: bool) -> None:
    head, name, ckpt, folder = shaped
    with NodeHarness(pose_node(name, ckpt, folder, flip), name='pose') as h:
        ours = node_keypoints(h)
        model = h.node._model
    theirs = mmpose_keypoints(name, ckpt, flip)
    err = errors(ours, theirs)
    assert np.median(err) <= MEDIAN_PX and err.max() <= MAX_PX, (head, np.median(err), err.max())
    points = np.concatenate([t[0].reshape(-1, 2) for t in theirs.values()])
    assert (points.std(axis=0) > 5).all(), 'the shaped model must not give one point everywhere'
    for image_name in BOXES:
        assert np.allclose(ours[image_name][1], theirs[image_name][1], rtol=1e-4, atol=1e-4)
    # the tolerance is well below a half-pixel slip in the crop, on every box
    from nodes.models.onnx.pose_codec import bbox_to_center_scale, fix_aspect_ratio
    _, scales = bbox_to_center_scale(np.concatenate(list(BOXES.values())), model.codec.padding)
    w, h = model.codec.input_size
    assert (0.5 * fix_aspect_ratio(scales, w / h)[:, 0] / w).min() > 2 * MEDIAN_PX
    if not flip:     # and a swapped channel order is far outside it
        model.codec.bgr_to_rgb = not model.codec.bgr_to_rgb
        image = photo('handSrc.jpg')
        swapped, _ = model.estimate(image, np.array(BOXES['handSrc.jpg'], np.float32))
        assert np.median(np.linalg.norm(swapped - theirs['handSrc.jpg'][0], axis=-1)) > 1.0


def test_raw_outputs_match_torch(shaped) -> None:
    """ONNX Runtime on the exported file against the torch model, on real crops."""
    import onnxruntime as ort
    import torch
    from mmpose.apis import init_model

    from nodes.models.onnx.locate import export_target
    from nodes.models.onnx.pose_codec import PoseCodec
    from nodes.models.onnx.sidecar import read_sidecar
    from nodes.models.openmmlab.model_zoo import resolve_model
    from nodes.models.openmmlab.checkpoints import load_checkpoint
    head, name, ckpt, folder = shaped
    spec = resolve_model(name, 'pose')
    path = export_target(spec.config_path, ckpt, str(folder))
    if not path.is_file():
        with NodeHarness(pose_node(name, ckpt, folder, False)):     # exports it
            pass
    sidecar = read_sidecar(path)
    assert sidecar['codec']['head'] == head and sidecar['checkpoint_sha256']
    assert sidecar['dataset_meta']['num_keypoints'] == 21 == len(sidecar['flip_indices'])
    batch, _, _ = PoseCodec(sidecar).preprocess(photo('handSrc.jpg'),
                                                np.array(BOXES['handSrc.jpg'], np.float32), True)
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    ours = session.run(None, {'input': batch})
    model = init_model(spec.config_path, None, device='cpu')
    load_checkpoint(model, ckpt)
    with torch.no_grad():
        theirs = model.eval()._forward(torch.from_numpy(batch))
    theirs = theirs if isinstance(theirs, (tuple, list)) else (theirs,)
    assert len(ours) == len(theirs) and ours[0].shape[0] == 2 * len(BOXES['handSrc.jpg'])
    for a, b in zip(ours, theirs):     # within 1e-4 of the outputs' range (float32 rounding)
        scale = max(1.0, float(np.abs(b.numpy()).max()))
        assert np.abs(a - b.numpy()).max() <= 1e-4 * scale, (head, np.abs(a - b.numpy()).max())


def pose_node(name: str, ckpt: str, folder: Path, flip: bool, backend: str = 'onnxruntime',
              precision: str = 'auto'):
    from nodes.models.openmmlab.pose import TopdownPoseEstimatorNode
    return TopdownPoseEstimatorNode(name, weights=ckpt, models_dir=str(folder), flip_test=flip,
                                    bbox_thr=0.0, backend=backend, precision=precision)


def test_openvino_at_f32_decodes_as_onnxruntime(shaped) -> None:
    """The same export, sidecar and codecs on OpenVINO: the parity bound against ONNX Runtime."""
    pytest.importorskip('openvino')
    head, name, ckpt, folder = shaped
    with NodeHarness(pose_node(name, ckpt, folder, True), name='pose') as h:
        reference = node_keypoints(h)
    with NodeHarness(pose_node(name, ckpt, folder, True, 'openvino', 'f32'), name='pose') as h:
        assert h.node.info() == {'backend': 'openvino', 'precision': 'f32'}
        ours = node_keypoints(h)
    err = errors(ours, reference)
    assert np.median(err) <= MEDIAN_PX and err.max() <= MAX_PX, (head, np.median(err), err.max())


@pytest.mark.parametrize('config,head', [
    ('body_2d_keypoint/topdown_regression/coco/'
     'td-reg_mobilenetv2_rle-pretrained-8xb64-210e_coco-256x192.py', 'RLEHead'),
    ('body_2d_keypoint/topdown_heatmap/mpii/td-hm_cpm_8xb64-210e_mpii-368x368.py', 'CPMHead')])
def test_heads_the_decoders_would_misread_are_refused(config: str, head: str) -> None:
    """RLE outputs sigma logits, CPM one heatmap per stage: both would export and decode wrong."""
    import mmpose
    from mmpose.apis import init_model

    from nodes.models.onnx.describe import ExportError, pose_sidecar
    path = Path(mmpose.__file__).parent / '.mim' / 'configs' / config
    model = init_model(str(path), None, device='cpu')
    with pytest.raises(ExportError, match=f'{head} is not supported by the ONNX export'):
        pose_sidecar(model, {})
