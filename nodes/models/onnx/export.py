"""Export an OpenMMLab model to ONNX plus its sidecar JSON (needs torch, mmdet/mmpose, onnx).

The model is built afresh from its config and checkpoint, never taken from a running node, and
exported with torch's TorchScript exporter (``dynamo=False``) up to the raw head outputs:
pose models with a dynamic batch axis; detectors before decoding and NMS (``det_codec`` does
those). The result is checked with ``onnx.checker`` and against torch on ONNX Runtime, and
simplified with onnxslim only when that leaves the outputs unchanged.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..openmmlab.checkpoints import load_checkpoint
from ..openmmlab.weights import building
from . import describe
from .describe import ExportError
from .sidecar import sha256_of, write_sidecar

__all__ = ['ExportError', 'export_model']

log = logging.getLogger(__name__)

OPSET = 17
#: ONNX Runtime must match torch this closely on the export's test input, relative to the
#: outputs' largest magnitude, or the export fails. A broken export is off by O(1); float32
#: rounding, amplified through an untrained network, reached 1e-3 here (torch's own float32
#: against float64 is as far off); the sidecar records the figure.
MAX_REL_DIFF = 1e-2


def _wrap_pose(model: Any) -> Any:
    import torch

    class PoseHead(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, x: torch.Tensor) -> Any:
            return self.model._forward(x)      # backbone, neck, head: the raw head outputs
    return PoseHead()


def _wrap_detector(model: Any) -> Any:
    import torch

    class DenseHead(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, x: torch.Tensor) -> Any:
            outs = self.model.bbox_head(self.model.extract_feat(x))
            return tuple(torch.cat([t.permute(0, 2, 3, 1).reshape(t.shape[0], -1, t.shape[1])
                                    for t in per_level], dim=1) for per_level in outs)
    return DenseHead()


def _build(spec: Any, checkpoint: str | None, trust: bool) -> tuple[Any, dict]:
    with building(random_weights=checkpoint is None):
        if spec.kind == 'pose':
            from mmpose.apis import init_model
            model = init_model(spec.config_path, None, device='cpu')
        else:
            from mmdet.apis import init_detector
            model = init_detector(spec.config_path, None, device='cpu')
        meta = load_checkpoint(model, checkpoint, trust=trust) if checkpoint else {}
    return model.eval(), meta


def _run_ort(path: Path, batch: np.ndarray) -> list[np.ndarray]:
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    return session.run(None, {session.get_inputs()[0].name: batch})


def _max_diff(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float:
    """The largest difference of two output lists, relative to each output's largest value."""
    return max(float(np.abs(np.asarray(x) - np.asarray(y)).max())
               / max(1.0, float(np.abs(np.asarray(y)).max())) for x, y in zip(a, b))


def _slim(path: Path, batch: np.ndarray, reference: list[np.ndarray], diff: float) -> bool:
    """Simplify ``path`` in place with onnxslim when that keeps it as close to torch as it is
    (``diff``); True if it did."""
    try:
        import onnx
        import onnxslim
    except ImportError:
        return False
    tmp = path.with_suffix('.slim.tmp')
    try:
        onnx.save(onnxslim.slim(onnx.load(str(path))), str(tmp))
        slim_diff = _max_diff(_run_ort(tmp, batch), reference)
        if slim_diff > max(2 * diff, 1e-5):
            log.info('onnxslim moved the outputs from torch by %.2g (before: %.2g); keeping the '
                     'unsimplified model', slim_diff, diff)
            return False
        os.replace(tmp, path)
        return True
    except Exception as exc:     # a failed simplification leaves a working model
        log.info('onnxslim failed (%s); keeping the unsimplified model', exc)
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _torch_export(wrapper: Any, batch: np.ndarray, path: Path, outputs: list[str],
                  dynamic_batch: bool) -> list[np.ndarray]:
    import torch
    x = torch.from_numpy(batch)
    with torch.no_grad():
        outs = wrapper(x)
        reference = [t.numpy() for t in (outs if isinstance(outs, (tuple, list)) else (outs,))]
        axes = {n: {0: 'batch'} for n in ['input', *outputs]} if dynamic_batch else None
        torch.onnx.export(wrapper, (x,), str(path), input_names=['input'], output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    return reference


def export_model(spec: Any, checkpoint: str | None, path: str | Path,
                 classes: Sequence[str] | None = None,
                 names: Sequence[str] = (), trust: bool = False) -> Path:
    """Export the model of ``spec`` (a ModelSpec) with ``checkpoint`` to ``path`` and its sidecar.

    ``classes``: a detector's class names when its checkpoint names none (the node's
    ``classes``). ``names``: what graphs call this model, recorded so they find the file again.
    ``trust``: unpickle a checkpoint that holds more than weights (it may run code).
    Writes to a temporary file first, so a failed export leaves nothing behind.
    """
    import onnx
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    log.info('exporting %s (%s) to %s ...', spec.name, Path(checkpoint).name if checkpoint
             else 'random weights', path)
    model, meta = _build(spec, checkpoint, trust)
    if spec.kind == 'pose':
        sidecar, outputs = describe.pose_sidecar(model, meta)
        wrapper, dynamic = _wrap_pose(model), True
        w, h = sidecar['input']['size']
        batch = np.random.default_rng(0).standard_normal((2, 3, h, w)).astype(np.float32)
    else:
        sidecar, outputs = describe.det_sidecar(model, meta, classes, spec.name, checkpoint)
        wrapper, dynamic = _wrap_detector(model), False
        w, h = sidecar['input']['size']
        batch = np.random.default_rng(0).standard_normal((1, 3, h, w)).astype(np.float32)
        sidecar['levels'] = describe.det_levels(model, batch)
        cat_ids = getattr(spec, 'cat_ids', None)
        sidecar['cat_ids'] = list(cat_ids) if cat_ids is not None else None
    tmp = path.with_suffix('.onnx.tmp')
    try:
        reference = _torch_export(wrapper, batch, tmp, outputs, dynamic)
        onnx.checker.check_model(str(tmp))
        diff = _max_diff(_run_ort(tmp, batch), reference)
        if diff > MAX_REL_DIFF:
            raise ExportError(f'{spec.name}: ONNX Runtime differs from torch by {diff:.3g} '
                              '(relative) on the export test input; keep backend: pytorch')
        slimmed = _slim(tmp, batch, reference, diff)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    sidecar.update(kind=spec.kind, model=spec.name, config=Path(spec.config_path).name,
                   names=sorted({spec.name, Path(spec.config_path).stem, *names}),
                   outputs=outputs, random_weights=checkpoint is None,
                   checkpoint=Path(checkpoint).name if checkpoint else None,
                   checkpoint_sha256=sha256_of(checkpoint) if checkpoint else None,
                   model_file={'name': path.name, 'sha256': sha256_of(path)},
                   export={'opset': OPSET, 'torch_vs_ort_max_rel': diff, 'onnxslim': slimmed})
    write_sidecar(path, sidecar)
    log.info('wrote %s (%.1f MB) and its sidecar in %.1f s', path,
             path.stat().st_size / 2**20, time.perf_counter() - start)
    return path
