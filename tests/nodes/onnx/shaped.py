"""Seeded real architectures whose outputs have clear peaks, saved as checkpoints, for parity tests.

A random-init OpenMMLab model in eval mode passes almost nothing through: its BatchNorm layers
keep running statistics of (0, 1), activations shrink layer after layer (RTMDet's features reach
1e-10), and every output is a near-tie, where an argmax hides a broken decode. So the BatchNorm
statistics are measured on real photos (one pass in train mode), and the last layer is scaled so
the outputs have clear peaks. The result depends on the image, as a trained model does.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from tests.footage import photo

PHOTOS = ('handSrc.jpg', 'messi5.jpg', 'basketball1.png', 'basketball2.png')


def calibrate(model: Any, forward: Callable[[Any], Any], batch: np.ndarray) -> None:
    """Set every BatchNorm's statistics to those of ``forward(batch)``, then eval mode."""
    import torch
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None       # a plain average over the pass
        m.train()
    with torch.no_grad():
        forward(torch.from_numpy(batch))
    model.eval()


def _photo_batch(size: Sequence[int], mean: Sequence[float], std: Sequence[float],
                 rgb: bool) -> np.ndarray:
    images = [cv2.resize(photo(name), tuple(size)) for name in PHOTOS]
    batch = np.stack(images)[..., ::-1] if rgb else np.stack(images)
    batch = (batch.astype(np.float32) - np.float32(mean)) / np.float32(std)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


def _preprocessor(model: Any) -> tuple[list[float], list[float], bool]:
    pre = model.data_preprocessor
    rgb = bool(getattr(pre, '_channel_conversion', False))
    if not getattr(pre, '_enable_normalize', True):     # YOLOX: raw pixels
        return [0.0] * 3, [1.0] * 3, rgb
    return pre.mean.flatten().tolist(), pre.std.flatten().tolist(), rgb


def pose_checkpoint(config: str, path: Path, sharpen: float = 4.0) -> Path:
    """A pose model from ``config``, calibrated on photos, its last layer times ``sharpen``."""
    import torch
    from mmpose.apis import init_model

    from nodes.models.openmmlab.weights import building
    with building(random_weights=True):
        model = init_model(config, None, device='cpu')
    size = model.head.decoder.input_size
    calibrate(model, model._forward, _photo_batch(size, *_preprocessor(model)))
    head = model.head
    with torch.no_grad():
        if hasattr(head, 'cls_x'):                        # SimCC: sharper 1-D peaks
            head.cls_x.weight *= sharpen
            head.cls_y.weight *= sharpen
        elif hasattr(head, 'final_layer') and head.final_layer is not None:   # heatmaps
            head.final_layer.weight *= sharpen
        elif hasattr(head, 'fc'):                         # regression: coordinates near the crop
            head.fc.weight *= 0.2
            head.fc.bias.fill_(0.5)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def detector_checkpoint(config: str, path: Path, classes: Sequence[str],
                        sharpen: float = 1.0) -> Path:
    """A one-stage detector from ``config``, calibrated on photos letterboxed to its input,
    its class logits times ``sharpen`` and its box regressions tamed to a few strides."""
    import torch
    from mmdet.apis import init_detector

    from nodes.models.onnx.det_codec import letterbox
    from nodes.models.onnx.export import _wrap_detector
    from nodes.models.openmmlab.weights import building
    with building(random_weights=True):
        model = init_detector(config, None, device='cpu')
    mean, std, rgb = _preprocessor(model)
    size = _det_input(model)
    images = [letterbox(photo(name), (size, size))[0] for name in PHOTOS]
    batch = np.stack(images)[..., ::-1] if rgb else np.stack(images)
    batch = ((batch.astype(np.float32) - np.float32(mean)) / np.float32(std)).transpose(0, 3, 1, 2)
    calibrate(model, _wrap_detector(model), np.ascontiguousarray(batch))
    head = model.bbox_head
    exp_on_reg = getattr(head, 'exp_on_reg', True)     # YOLOX sizes are exp() too
    with torch.no_grad():
        for conv in getattr(head, 'rtm_cls', None) or head.multi_level_conv_cls:
            conv.weight *= sharpen
        # boxes of a few strides, not exp(8): sane sizes, and float noise not blown up
        for conv in getattr(head, 'rtm_reg', None) or head.multi_level_conv_reg:
            conv.weight *= 0.1
            conv.bias.fill_(1.0 if exp_on_reg else 2.0)
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': tuple(classes)}}}, path)
    return path


def _det_input(model: Any) -> int:
    for step in model.cfg.test_dataloader.dataset.pipeline:
        if step['type'].endswith('Resize'):
            return max(step['scale'])
    raise ValueError('no Resize in the test pipeline')


def shaped_hand_graph(folder: Path, path: Path) -> Path:
    """Write a hand graph (camera, RTMDet-nano hand, RTMPose-m hand5, Display) on shaped
    checkpoints made in ``folder`` to ``path``, as YAML; ``path``."""
    import yaml
    from nodes.models.openmmlab.model_zoo import resolve_model
    det = detector_checkpoint(resolve_model('hand', 'det').config_path, folder / 'det.pth',
                              ['hand'])
    pose = pose_checkpoint(resolve_model('hand', 'pose').config_path, folder / 'pose.pth')
    graph = {'name': path.stem, 'nodes': [
        {'name': 'source', 'type': 'VideoSource', 'input': 0, 'outputs': {'frame': 'frames'}},
        {'name': 'detector', 'type': 'DetectorNode', 'model': 'hand', 'weights': str(det),
         'classes': ['hand'], 'score_thr': 0.3, 'max_objects': 2,
         'inputs': {'frame': 'frames'}, 'outputs': {'frame': 'dets'}},
        {'name': 'pose', 'type': 'TopdownPoseEstimatorNode', 'model': 'hand',
         'weights': str(pose), 'inputs': {'frame': 'dets'}, 'outputs': {'frame': 'poses'}},
        {'name': 'sink', 'type': 'Display', 'inputs': {'frame': 'poses'}}]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(graph))
    return path
