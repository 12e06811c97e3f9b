"""Read from a built OpenMMLab model and its config what its sidecar JSON must say."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from webcam_app import ExitCode, WebcamAppError

from ..openmmlab.classes import head_num_classes, resolve_classes

__all__ = ['ExportError', 'det_levels', 'det_sidecar', 'pose_sidecar']


class ExportError(WebcamAppError, ValueError):
    """A model that this exporter cannot turn into a self-contained ONNX file."""

    exit_code = ExitCode.CONFIG


#: Heads whose single output the numpy decoders read as mmpose's own ``decode`` does.
_HEADS = {'simcc': {'RTMCCHead', 'SimCCHead'}, 'heatmap': {'HeatmapHead', 'ViPNASHead'},
          'regression': {'RegressionHead'}}


def _error(message: str) -> Exception:
    return ExportError(message)


def _pipeline(cfg: Any) -> list[Any]:
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset['dataset']
    return list(dataset.get('pipeline') or cfg.get('test_pipeline') or [])


def _step(pipeline: list[Any], name: str) -> dict:
    for step in pipeline:
        kind = step.get('type')
        kind = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
        if kind.split('.')[-1] == name:
            return dict(step)
    return {}


def _normalization(preprocessor: Any, default_rgb: bool) -> dict[str, Any]:
    pre = dict(preprocessor or {})
    return {'mean': [float(v) for v in pre.get('mean') or (0.0, 0.0, 0.0)],
            'std': [float(v) for v in pre.get('std') or (1.0, 1.0, 1.0)],
            'channel_order': 'rgb' if pre.get('bgr_to_rgb', default_rgb) else 'bgr',
            'layout': 'NCHW'}


def pose_sidecar(model: Any, meta: dict) -> tuple[dict[str, Any], list[str]]:
    """The sidecar of a top-down pose model, and its output names."""
    cfg = model.cfg
    if cfg.model.get('type') != 'TopdownPoseEstimator':
        raise _error(f'{cfg.model.get("type")} is not a top-down pose estimator; only '
                     'TopdownPoseEstimator models can be exported')
    decoder = model.head.decoder
    kind = type(decoder).__name__
    test_cfg = dict(cfg.model.get('test_cfg') or {})
    codec: dict[str, Any] = {'type': kind, 'input_size': list(decoder.input_size)}
    if kind == 'SimCCLabel' and not decoder.use_dark:
        codec.update(head='simcc', simcc_split_ratio=float(decoder.simcc_split_ratio))
        outputs = ['simcc_x', 'simcc_y']
    elif kind == 'MSRAHeatmap' and not decoder.unbiased:
        codec.update(head='heatmap', heatmap_size=list(decoder.heatmap_size), shift=True,
                     flip_shift=bool(test_cfg.get('shift_heatmap', False)))
        if test_cfg.get('flip_mode', 'heatmap') != 'heatmap':
            raise _error(f"flip_mode {test_cfg['flip_mode']!r} is not supported; use 'heatmap'")
        outputs = ['heatmaps']
    elif kind == 'RegressionLabel':
        codec.update(head='regression', flip_shift=bool(test_cfg.get('shift_coords', True)))
        outputs = ['coords']
    else:
        detail = ' with use_dark/unbiased (DARK)' if kind in ('SimCCLabel', 'MSRAHeatmap') else ''
        raise _error(f'codec {kind}{detail} is not supported by the ONNX export; supported: '
                     'SimCCLabel (RTMPose), MSRAHeatmap (td-hm_*), RegressionLabel (td-reg_*)')
    head = type(model.head).__name__
    if head not in _HEADS[codec['head']]:   # e.g. RLEHead (sigma logits), CPMHead (per stage)
        raise _error(f'{head} is not supported by the ONNX export; supported heads for '
                     f"{kind}: {', '.join(sorted(_HEADS[codec['head']]))}")
    pipeline = _pipeline(cfg)
    dataset_meta = dict(meta.get('dataset_meta') or model.dataset_meta)
    sidecar = {
        'input': {'size': [int(v) for v in decoder.input_size],
                  **_normalization(cfg.model.get('data_preprocessor'), False)},
        'bbox_padding': float(_step(pipeline, 'GetBBoxCenterScale').get('padding', 1.25)),
        'use_udp': bool(_step(pipeline, 'TopdownAffine').get('use_udp', False)),
        'codec': codec,
        'flip_test': bool(test_cfg.get('flip_test', False)),
        'flip_indices': list(dataset_meta.get('flip_indices') or []),
        'dataset_meta': dataset_meta,
    }
    return sidecar, outputs


def _det_arch(model: Any) -> str:
    name = type(model).__name__
    if getattr(model, 'with_rpn', False) or hasattr(model, 'roi_head'):
        raise _error(f'{name} is a two-stage detector (RPN and RoI ops): it cannot be exported '
                     'without its own NMS; keep backend: pytorch for this node')
    head = type(getattr(model, 'bbox_head', None)).__name__
    if head in ('RTMDetHead', 'RTMDetSepBNHead'):
        return 'rtmdet'
    if head == 'YOLOXHead':
        return 'yolox'
    raise _error(f'{name} with a {head} is not supported by the ONNX export (RTMDet and YOLOX '
                 'heads are); keep backend: pytorch for this node')


def det_sidecar(model: Any, meta: dict, classes: Sequence[str] | None, name: str,
                checkpoint: str | None) -> tuple[dict[str, Any], list[str]]:
    """The sidecar of a one-stage detector (without its levels), and its output names."""
    arch = _det_arch(model)
    cfg = model.cfg
    pipeline = _pipeline(cfg)
    resize, pad = _step(pipeline, 'Resize'), _step(pipeline, 'Pad')
    if not resize.get('keep_ratio', False) or not pad:
        raise _error(f'{name}: only a keep-ratio Resize then Pad test pipeline is supported')
    scale = [int(v) for v in resize['scale']]
    square = bool(pad.get('pad_to_square', False))
    size = [max(scale)] * 2 if square else [int(v) for v in pad['size']]
    pad_val = pad.get('pad_val', {})
    pad_val = pad_val.get('img', 114) if isinstance(pad_val, dict) else pad_val
    pad_val = pad_val[0] if isinstance(pad_val, (list, tuple)) else pad_val
    test_cfg = dict(model.test_cfg or cfg.model.get('test_cfg') or {})
    nms = dict(test_cfg.get('nms') or {})
    names = resolve_classes(classes, meta, cfg, head_num_classes(model), checkpoint)
    sidecar = {
        'arch': arch,
        'input': {'size': size, 'resize_scale': scale, 'square': square,
                  'pad_value': float(pad_val),
                  **_normalization(cfg.model.get('data_preprocessor'), False)},
        'postprocess': {'score_thr': float(test_cfg.get('score_thr', 0.0)),
                        'nms_iou': float(nms.get('iou_threshold', 0.65)),
                        'nms_pre': int(test_cfg.get('nms_pre', 30000)),
                        'max_per_img': test_cfg.get('max_per_img') if arch == 'rtmdet' else None,
                        'min_bbox_size': (float(test_cfg.get('min_bbox_size', -1))
                                          if arch == 'rtmdet' else -1.0)},
        'classes': list(names),
    }
    outputs = ['cls_logits', 'bbox_regression'] + (['objectness'] if arch == 'yolox' else [])
    return sidecar, outputs


def det_levels(model: Any, batch: np.ndarray) -> list[list[int]]:
    """(height, width, stride) of each feature level for an input like ``batch``."""
    import torch
    with torch.no_grad():
        feats = model.extract_feat(torch.from_numpy(batch))
    strides = model.bbox_head.prior_generator.strides
    return [[int(f.shape[2]), int(f.shape[3]), int(s[0] if isinstance(s, (tuple, list)) else s)]
            for f, s in zip(feats, strides)]
