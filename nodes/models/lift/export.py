"""A pose lifter's ONNX export and its runner: like the 2D models (sidecar JSON, sha256).

The export is the torch ``LifterNet`` (backbone, head and flip test; see ``network.py``) with a
dynamic batch axis; MotionBERT's frames axis is dynamic too (up to ``window``), a TCN's is its
receptive field (causal or centred); the codec (``codecs.py``) runs in numpy on both sides. The file is
``<checkpoint-stem>.w<window>[.causal].onnx`` beside the checkpoint or in ``models_dir``
(random weights: ``<config-stem>.random...`` in the cache), exported once and reused while its
sidecar's checkpoint sha256 and window match.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..onnx.export import MAX_REL_DIFF, OPSET, _max_diff, _run_ort
from ..onnx.locate import export_target
from ..onnx.sidecar import FORMAT, export_is_current, sha256_of, sidecar_path, write_sidecar
from .codecs import make_codec
from .network import build_lifter, lifter_net

__all__ = ['OnnxLifter', 'export_lifter', 'lifter_target']

log = logging.getLogger(__name__)


def lifter_target(config_path: str, checkpoint: str | None, models_dir: str | None,
                  window: int, causal: bool) -> Path:
    base = export_target(config_path, checkpoint, models_dir)
    return base.with_name(f'{base.stem}.w{window}{".causal" if causal else ""}.onnx')


def export_lifter(config_path: str, checkpoint: str | None, path: Path, window: int,
                  causal: bool, names: tuple[str, ...] = (), trust: bool = False) -> Path:
    """Export a lifter for a ``window``-frame input (unless ``path`` is already that export)."""
    import onnx
    import torch
    if export_is_current(path, 'lift', checkpoint):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    log.warning('exporting the lifter %s to ONNX once (%s); later runs reuse it',
                Path(config_path).stem, path)
    model, cfg = build_lifter(config_path, checkpoint, causal=causal or None, trust=trust)
    codec = make_codec(cfg)
    seq_len = window if codec.seq2seq else int(cfg.test_dataloader.dataset.get('seq_len', 1))
    rng = np.random.default_rng(0)
    frames = rng.uniform(200, 800, (seq_len, 17, 2)).astype(np.float32)
    batch = np.stack([codec.encode(frames, 1000, 1000)] * 2)
    net = lifter_net(model)
    # MotionBERT takes any number of frames up to its window (a track's last, shorter part)
    frames_axis = {1: 'frames'} if codec.seq2seq else {}
    axes = {'input': {0: 'batch', **frames_axis}, 'output': {0: 'batch', **frames_axis}}
    tmp = path.with_suffix('.onnx.tmp')
    try:
        with torch.no_grad():
            reference = [net(torch.from_numpy(batch)).numpy()]
            torch.onnx.export(net, (torch.from_numpy(batch),), str(tmp), input_names=['input'],
                              output_names=['output'], opset_version=OPSET, dynamo=False,
                              dynamic_axes=axes)
        onnx.checker.check_model(str(tmp))
        diff = _max_diff(_run_ort(tmp, batch), reference)
        if diff > MAX_REL_DIFF:
            raise ValueError(f'the lifter export differs from torch by {diff:.3g}; keep '
                             'backend: pytorch')
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    decoder = dict(cfg.model.head.decoder)
    write_sidecar(path, dict(
        kind='lift', model=Path(config_path).stem, config=Path(config_path).name,
        names=sorted({Path(config_path).stem, *names}), codec=decoder, window=seq_len,
        causal=causal, flip_test=bool((model.test_cfg or {}).get('flip_test', False)),
        stats_info=dict(model.dataset_meta.get('stats_info') or {}),
        random_weights=checkpoint is None,
        checkpoint=Path(checkpoint).name if checkpoint else None,
        checkpoint_sha256=sha256_of(checkpoint) if checkpoint else None,
        export={'opset': OPSET, 'torch_vs_ort_max_rel': diff}))
    return path


class OnnxLifter:
    """``lifter(batch) -> raw output`` on an exported lifter, with its sidecar's settings."""

    def __init__(self, path: Path, backend: str = 'onnxruntime', device: str = 'cpu',
                 threads: int | None = None) -> None:
        from ..onnx.engines import make_engine
        self.sidecar: dict[str, Any] = json.loads(sidecar_path(path).read_text('utf-8'))
        if self.sidecar.get('format') != FORMAT or self.sidecar.get('kind') != 'lift':
            raise ValueError(f'{path} is not an exported pose lifter; export it again')
        self.engine = make_engine(backend, path, device, threads)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.engine(np.ascontiguousarray(batch, np.float32))[0]
