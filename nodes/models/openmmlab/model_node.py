"""What the OpenMMLab model nodes share: finding config and checkpoint before threads start."""
from __future__ import annotations

from typing import Any, ClassVar

from webcam_app import Node

from .checkpoints import CheckpointRefused, load_checkpoint, unsafe_globals
from .model_zoo import ModelSpec, resolve_model
from .weights import resolve_weights

__all__: list[str] = []   # _ModelNode is a base for this package's nodes, not a node type


class _ModelNode(Node):
    """Base of DetectorNode and TopdownPoseEstimatorNode (not a node type itself).

    Subclasses set ``model_kind`` and the attributes ``model``, ``weights`` and
    ``models_dir`` from their parameters.
    """

    model_kind: ClassVar[str]   # 'det' or 'pose'; tools/download_models.py reads it too
    model: str
    weights: str | None
    models_dir: str | None
    threads: int | None = None      # torch threads for this node; None: torch decides
    trust_checkpoint = False        # True: unpickle the checkpoint in full (it may run code)
    _spec: ModelSpec | None = None
    _checkpoint: str | None = None     # None: random weights (weights: none)

    def _set_model(self, model: str, weights: str | None, device: str, models_dir: str | None,
                   threads: int | None, trust_checkpoint: bool = False) -> None:
        """Keep the parameters every model node has."""
        if not model:
            raise ValueError('model must be an alias, model name or config, but got nothing')
        self.trust_checkpoint = trust_checkpoint
        self.model, self.weights, self.device = model, weights, str(device)
        self.models_dir, self.threads = models_dir, threads

    def check(self) -> None:
        """Resolve the config and the weights (downloading them) before any thread starts, and
        refuse a checkpoint that holds more than weights, unless it is trusted."""
        self._spec = resolve_model(self.model, self.model_kind, base_dir=self.context.graph_dir)
        self._checkpoint = resolve_weights(self.name, self._spec.weights_url, self.weights,
                                           self.models_dir, self.context.graph_dir)
        if self._checkpoint and not self.trust_checkpoint:
            refused = unsafe_globals(self._checkpoint)
            if refused:
                raise CheckpointRefused(self._checkpoint, refused)

    def _load_checkpoint(self, model: Any) -> dict:
        """Load the weights into ``model``; its ``meta`` dict ({} for random weights)."""
        if not self._checkpoint:
            return {}
        return load_checkpoint(model, self._checkpoint, trust=self.trust_checkpoint)

    def locate(self) -> ModelSpec:
        """The model's spec (check() found it), with torch's threads set for this thread."""
        if self.threads is not None:   # torch's intra-op threads, for this node's thread
            import torch
            torch.set_num_threads(self.threads)
        return self._spec
