"""A pose lifter's network in torch: built from its mmpose config, run on numpy batches.

``LifterNet`` is the network as mmpose's ``PoseLifter.predict`` runs it, up to the raw head
output: backbone and head, and with ``flip_test`` the flipped input (x negated, left and right
swapped) through them too, flipped back and averaged. The codec (``codecs.py``) does the rest,
so the ONNX export of this module and the torch model share every other number.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..openmmlab.checkpoints import load_checkpoint
from ..openmmlab.weights import building

__all__ = ['TorchLifter', 'build_lifter', 'lifter_net']

log = logging.getLogger(__name__)


def build_lifter(config_path: str, checkpoint: str | None, causal: bool | None = None,
                 device: str = 'cpu', trust: bool = False) -> tuple[Any, Any]:
    """The mmpose PoseLifter of a config (with its checkpoint, or seeded random weights) and
    its config; ``causal`` set on a TCN backbone and the dataset when not None."""
    with building(random_weights=checkpoint is None):
        from mmengine.config import Config
        from mmpose.apis import init_model
        cfg = Config.fromfile(config_path)
        if cfg.model.get('type') != 'PoseLifter':
            raise ValueError(f'{config_path} is a {cfg.model.get("type")}, not a PoseLifter')
        if causal is not None and cfg.model.backbone.get('type') == 'TCN':
            cfg.model.backbone.causal = causal
            cfg.test_dataloader.dataset.causal = causal
        model = init_model(cfg, None, device=device)
        meta = load_checkpoint(model, checkpoint, trust=trust) if checkpoint else {}
    if meta.get('dataset_meta'):
        model.dataset_meta = meta['dataset_meta']
    return model.eval(), cfg


def lifter_net(model: Any) -> Any:
    """The torch module ``x -> raw head output`` (see the module's docstring)."""
    import torch

    flip = bool((model.test_cfg or {}).get('flip_test', False))
    flip_indices = list(model.dataset_meta.get('flip_indices') or [])

    class LifterNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.model.head.forward(self.model.extract_feat(x))
            if not flip:
                return out
            x_flip = x[:, :, flip_indices].clone()
            x_flip[..., 0] = -x_flip[..., 0]
            out_flip = self.model.head.forward(self.model.extract_feat(x_flip))
            out_flip = out_flip[:, :, flip_indices]
            sign = torch.ones(out_flip.shape[-1], dtype=out_flip.dtype)
            sign[0] = -1
            return (out + out_flip * sign) * 0.5
    return LifterNet().eval()


class TorchLifter:
    """``lifter(batch) -> raw output``, on numpy arrays, with torch's threads as set."""

    def __init__(self, model: Any) -> None:
        self.net = lifter_net(model)
        self.device = next(model.parameters()).device

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        import torch
        with torch.no_grad():
            out = self.net(torch.from_numpy(np.ascontiguousarray(batch)).to(self.device))
        return out.cpu().numpy()
