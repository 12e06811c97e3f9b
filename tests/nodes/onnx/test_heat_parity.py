"""draw_heatmap's maps: the pose node's heat maps (PyTorch and ONNX Runtime) against mmpose's
own, which MMPoseInferencer draws (``output_heatmaps``, merged onto the image by
``merge_data_samples``), on real photos with seeded weights shaped to give clear peaks."""
from __future__ import annotations

import numpy as np
import pytest

from tests.footage import photo
from tests.nodes.onnx.shaped import pose_checkpoint
from tests.nodes.onnx.test_pose_parity import BOXES, MODELS
from webcam_app import Frame, NodeHarness, Object

pytestmark = [pytest.mark.models, pytest.mark.timeout(600)]

PHOTO = 'handSrc.jpg'


def mmpose_heat(name: str, ckpt: str) -> np.ndarray:
    """The image-space map MMPoseInferencer draws: merged heatmaps, maximum over keypoints."""
    from mmengine.config import Config
    from mmpose.apis import inference_topdown, init_model
    from mmpose.structures import merge_data_samples

    from nodes.models.openmmlab.checkpoints import load_checkpoint
    from nodes.models.openmmlab.model_zoo import resolve_model
    cfg = Config.fromfile(resolve_model(name, 'pose').config_path)
    cfg.model.test_cfg.update(flip_test=True, output_heatmaps=True)
    model = init_model(cfg, None, device='cpu')
    load_checkpoint(model, ckpt)
    results = inference_topdown(model, photo(PHOTO), np.array(BOXES[PHOTO], np.float32), 'xyxy')
    return np.asarray(merge_data_samples(results).pred_fields.heatmaps).max(axis=0)


def node_heat(name: str, ckpt: str, folder, backend: str) -> np.ndarray:
    from nodes.draw.heatmap import heat_image
    from nodes.models.openmmlab.pose import TopdownPoseEstimatorNode
    node = TopdownPoseEstimatorNode(name, weights=ckpt, models_dir=str(folder), flip_test=True,
                                    bbox_thr=0.0, backend=backend, output_heatmaps=True)
    image = photo(PHOTO)
    frame = Frame(frame_id=0, image=image, objects=tuple(Object(b, 'hand', 0.9)
                                                         for b in BOXES[PHOTO]))
    with NodeHarness(node, name='pose') as h:
        objects = h.feed(frame=frame)['frame'].objects
    assert all('heatmap' in o.extras for o in objects)
    return heat_image(objects, (image.shape[1], image.shape[0]))


@pytest.mark.parametrize('head', ['simcc', 'heatmap'])
def test_heat_maps_match_mmpose_on_both_backends(tmp_path, head):
    pytest.importorskip('mmpose')
    pytest.importorskip('onnxruntime')
    from nodes.models.openmmlab.model_zoo import resolve_model
    name = MODELS[head]
    ckpt = str(pose_checkpoint(resolve_model(name, 'pose').config_path, tmp_path / 'w.pth'))
    theirs = mmpose_heat(name, ckpt)
    torch_heat = node_heat(name, ckpt, tmp_path, 'pytorch')
    onnx_heat = node_heat(name, ckpt, tmp_path, 'onnxruntime')
    assert theirs.shape == torch_heat.shape == onnx_heat.shape
    assert theirs.max() > 0.5, 'the shaped weights give clear peaks'
    for ours in (torch_heat, onnx_heat):
        # resampling differs (we warp each box's maximum over keypoints, mmpose warps every
        # keypoint's map and then takes it), so compare the pictures: the same places are hot
        corr = np.corrcoef(ours.ravel(), theirs.ravel())[0, 1]
        hot, their_hot = ours > 0.5, theirs > 0.5
        covered = (hot & their_hot).sum() / their_hot.sum()   # the max of interpolations
        mean = np.abs(ours - np.clip(theirs, 0, 1)).mean()    # is never below theirs
        assert covered > 0.9 and (corr > 0.9 or mean < 0.01), (head, corr, covered, mean)
    assert np.abs(torch_heat - onnx_heat).max() < 0.02, head     # the two backends agree


def test_blending_colours_only_where_the_model_sees_something():
    from nodes.draw.heatmap import blend_heatmaps
    from nodes.models.heatmaps import heat_patch
    image = np.full((120, 160, 3), 100, np.uint8)
    heat = np.zeros((64, 48), np.float32)
    heat[32, 24] = 1.0                              # the middle of the box's map
    obj = Object((40, 20, 88, 84), 'hand', 1.0,      # a 48 x 64 box: one map pixel a pixel
                 extras={'heatmap': heat_patch(heat, (64, 52), (48, 64))})
    assert blend_heatmaps(image, [obj])
    changed = np.argwhere((image != 100).any(axis=2))
    assert len(changed) and np.abs(changed.mean(axis=0) - (52, 64)).max() <= 1.0
    assert not blend_heatmaps(image, [Object((0, 0, 5, 5))])
