"""What the OpenMMLab model nodes share: finding config, checkpoint or export before threads start.

``backend: pytorch`` runs the model in mmdet/mmpose; ``backend: onnxruntime`` runs its ONNX export
(``nodes/models/onnx``) with no torch at all. ``threads: auto`` (the default) takes the share of
the machine's cores that the runtime allots this node (``NodeContext.cores``).
"""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from webcam_app import Node

from ..onnx.engines import BACKENDS, check_backend
from .model_zoo import ModelSpec, resolve_model
from .weights import resolve_weights

__all__ = ['AUTO', '_ModelNode', 'check_threads']

AUTO = 'auto'


class _ModelNode(Node):
    """Base of DetectorNode and TopdownPoseEstimatorNode (not a node type itself).

    Subclasses set ``model_kind`` and ``core_cost`` and the attributes ``model``, ``weights`` and
    ``models_dir`` from their parameters.
    """

    model_kind: ClassVar[str]   # 'det' or 'pose'; tools/download_models.py reads it too
    #: this node's share of the cores beside other model nodes (threads: auto)
    core_cost: ClassVar[float] = 1.0
    model: str
    weights: str | None
    models_dir: str | None
    threads: int | str | None = AUTO   # intra-op threads; 'auto': the runtime's allotment
    backend: str = 'pytorch'
    _spec: ModelSpec | None = None
    _checkpoint: str | None = None     # None: random weights (weights: none)
    _exported: Path | None = None      # the .onnx a non-pytorch backend runs
    _located = False

    def _set_model(self, model: str, weights: str | None, device: str, models_dir: str | None,
                   threads: int | str | None, backend: str = 'pytorch') -> None:
        """Validate and keep the parameters every model node has."""
        if not isinstance(model, str) or not model:
            raise ValueError(f'model must be an alias, model name or config, but got {model!r}')
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, but got {backend!r}")
        self.model, self.weights, self.device = model, weights, str(device)
        self.models_dir, self.threads = models_dir, check_threads(threads)
        self.backend = backend

    def core_weight(self) -> float:
        return self.core_cost if self.threads == AUTO else 0.0

    def thread_count(self) -> int | None:
        """Intra-op threads for this node: its own number, its allotment, or None (library's)."""
        if self.threads == AUTO:
            return (self.context.cores or {}).get(self.name)
        return self.threads

    def check(self) -> None:
        """Resolve the config and the weights, or the export, before any thread starts."""
        if self.backend != 'pytorch':
            from ..onnx.locate import locate_exported
            check_backend(self.backend, self.device)
            self._exported = locate_exported(
                self.name, self.model_kind, self.model, self.weights, self.models_dir,
                self.context.graph_dir, getattr(self, 'classes_override', None))
        else:
            self._spec = resolve_model(self.model, self.model_kind,
                                       base_dir=self.context.graph_dir)
            self._checkpoint = resolve_weights(self.name, self._spec.weights_url, self.weights,
                                               self.models_dir, self.context.graph_dir)
        self._located = True

    def locate(self) -> ModelSpec | None:
        """The model's spec, resolving it first when check() did not run (e.g. reuse)."""
        if not self._located:
            self.check()
        threads = self.thread_count()
        if self.backend == 'pytorch' and threads is not None:   # for this node's thread
            import torch
            torch.set_num_threads(threads)
        return self._spec


def check_threads(threads: int | str | None) -> int | str | None:
    """Validate a model node's ``threads`` parameter."""
    if threads == AUTO or threads is None:
        return threads
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be 'auto', an integer >= 1 or null, but got {threads!r}")
    return threads
