"""InterNet's ONNX export and runner: the network to its three raw outputs, the rest in numpy.

Pre-processing is the 2D top-down one (``pose_codec``: the whole image as a box, padded 1.25,
warped to 256x256, normalised); decoding is mmpose's ``Hand3DHeatmap.decode`` (the 3D argmax
of each keypoint's 64x64x64 heatmap, its depth and the root depth mapped to millimetres, the
hand type thresholded at 0), then the crop's x, y back into the image as
``TopdownPoseEstimator`` maps them. The sidecar (kind ``hand3d``) holds every number.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..onnx.describe import _normalization, _pipeline, _step
from ..onnx.export import MAX_REL_DIFF, OPSET, _max_diff, _run_ort
from ..onnx.pose_codec import bbox_to_center_scale, crop, fix_aspect_ratio, normalize, to_image
from ..onnx.sidecar import sha256_of, sidecar_path, write_sidecar

__all__ = ['ExportedInterNet', 'decode_internet', 'export_internet']

log = logging.getLogger(__name__)


def decode_internet(heatmaps: np.ndarray, root: np.ndarray, hand_type: np.ndarray,
                    codec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """One image's (K, D, H, W) heatmaps, (1,) root and (2,) hand-type logits -> (K, 3) crop
    points (x, y in input pixels, z in mm), (K,) scores, the root depth and the hand type."""
    k, d, h, w = heatmaps.shape
    flat = heatmaps.reshape(k, -1)
    z, y, x = np.unravel_index(np.argmax(flat, axis=1), (d, h, w))
    points = np.stack([x, y, z], axis=-1).astype(np.float32)
    scores = np.amax(flat, axis=1)
    points[scores <= 0] = -1
    points[:, 2] = (points[:, 2] / codec['depth_size'] - 0.5) * codec['heatmap3d_depth_bound']
    points[:, :2] *= np.float32(codec['image_size']) / np.float32(codec['heatmap_size'][:2])
    depth = (float(root.reshape(-1)[0]) / codec['root_heatmap_size'] - 0.5) * \
        codec['root_depth_bound']
    return points, scores, depth, (hand_type.reshape(-1) > 0).astype(int)


def _sidecar(model: Any) -> dict[str, Any]:
    cfg, decoder = model.cfg, model.head.decoder
    if (cfg.model.get('test_cfg') or {}).get('flip_test'):
        raise ValueError('InterNet with flip_test is not supported by the export')
    return {'kind': 'hand3d',
            'input': {'size': [int(v) for v in decoder.image_size],
                      **_normalization(cfg.model.get('data_preprocessor'), False)},
            'bbox_padding': float(_step(_pipeline(cfg), 'GetBBoxCenterScale')
                                  .get('padding', 1.25)),
            'codec': {'image_size': [int(v) for v in decoder.image_size],
                      'heatmap_size': [int(v) for v in decoder.heatmap_size],
                      'depth_size': int(decoder.depth_size),
                      'heatmap3d_depth_bound': float(decoder.heatmap3d_depth_bound),
                      'root_heatmap_size': int(decoder.root_heatmap_size),
                      'root_depth_bound': float(decoder.root_depth_bound)},
            'dataset_meta': dict(model.dataset_meta)}


def export_internet(model: Any, path: Path, checkpoint: str | None, names: tuple[str, ...] = ()
                    ) -> Path:
    """Export a built InterNet (mmpose model) to ``path`` with its sidecar."""
    import onnx
    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, x: torch.Tensor) -> Any:
            return tuple(self.model.head.forward(self.model.extract_feat(x)))

    sidecar = _sidecar(model)
    w, h = sidecar['input']['size']
    batch = np.random.default_rng(0).standard_normal((1, 3, h, w)).astype(np.float32)
    outputs = ['heatmaps', 'root', 'hand_type']
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix('.onnx.tmp')
    net = Net().eval()
    try:
        with torch.no_grad():
            reference = [t.numpy() for t in net(torch.from_numpy(batch))]
            torch.onnx.export(net, (torch.from_numpy(batch),), str(tmp), input_names=['input'],
                              output_names=outputs, opset_version=OPSET, dynamo=False,
                              dynamic_axes={n: {0: 'batch'} for n in ['input', *outputs]})
        onnx.checker.check_model(str(tmp))
        diff = _max_diff(_run_ort(tmp, batch), reference)
        if diff > MAX_REL_DIFF:
            raise ValueError(f'the InterNet export differs from torch by {diff:.3g}')
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    sidecar.update(model=Path(model.cfg.filename).stem, names=sorted(names), outputs=outputs,
                   random_weights=checkpoint is None,
                   checkpoint=Path(checkpoint).name if checkpoint else None,
                   checkpoint_sha256=sha256_of(checkpoint) if checkpoint else None,
                   export={'opset': OPSET, 'torch_vs_ort_max_rel': diff})
    write_sidecar(path, sidecar)
    return path


class ExportedInterNet:
    """An exported InterNet on an engine: ``estimate(image)`` -> what ``inference_topdown``'s
    prediction holds for the whole image as one box."""

    def __init__(self, path: Path, backend: str = 'onnxruntime', device: str = 'cpu',
                 threads: int | None = None) -> None:
        from ..onnx.engines import make_engine
        from ..onnx.sidecar import dataset_meta_from_json
        self.sidecar = json.loads(sidecar_path(path).read_text(encoding='utf-8'))
        self.dataset_meta = dataset_meta_from_json(self.sidecar['dataset_meta'])
        self.engine = make_engine(backend, path, device, threads)

    def estimate(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
        """(K, 3) points (image x, y; z in mm), (K,) scores, the root depth, the hand type."""
        inp = self.sidecar['input']
        height, width = image.shape[:2]
        centers, scales = bbox_to_center_scale(np.array([[0, 0, width, height]], np.float32),
                                               self.sidecar['bbox_padding'])
        scales = fix_aspect_ratio(scales, inp['size'][0] / inp['size'][1])
        batch = normalize(crop(image, centers[0], scales[0], inp['size'])[None], inp['mean'],
                          inp['std'], inp['channel_order'] == 'rgb')
        heatmaps, root, hand_type = self.engine(batch)
        points, scores, depth, kind = decode_internet(heatmaps[0], root[0], hand_type[0],
                                                      self.sidecar['codec'])
        points[:, :2] = to_image(points[None, :, :2], centers, scales, inp['size'])[0]
        return points, scores, depth, kind
