"""What the OpenMMLab model nodes share: finding config, checkpoint or export before threads start.

``backend: pytorch`` runs the model in mmdet/mmpose; ``backend: onnxruntime`` runs its ONNX export
(``nodes/models/onnx``) with no torch at all. ``threads: auto`` (the default) takes the share of
the machine's cores that the runtime allots this node (``NodeContext.cores``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from webcam_app import Node
from webcam_app.params import Range

from ..onnx.engines import check_backend
from .checkpoints import CheckpointRefused, load_checkpoint, unsafe_globals
from .model_zoo import ModelSpec, resolve_model
from .weights import resolve_weights

__all__: list[str] = []   # _ModelNode is a base for this package's nodes, not a node type

#: where a model node runs its model
Backend = Literal['pytorch', 'onnxruntime']
#: intra-op threads: a number, 'auto' (the runtime's share of the cores), or null (the library's)
ModelThreads = Annotated[int, Range(1)] | Literal['auto'] | None
AUTO = 'auto'


class _ModelNode(Node):
    """Base of DetectorNode and TopdownPoseEstimatorNode (not a node type itself).

    Subclasses set ``model_kind`` and ``core_cost`` and the attributes ``model``, ``weights`` and
    ``models_dir`` from their parameters.
    """

    model_kind: ClassVar[str]   # 'det' or 'pose'; tools/download_models.py reads it too
    #: this node's claim on the cores beside other model nodes (threads: auto)
    core_cost: ClassVar[float] = 1.0
    model: str
    weights: str | None
    models_dir: str | None
    threads: int | str | None = AUTO
    backend: str = 'pytorch'
    trust_checkpoint = False        # True: unpickle the checkpoint in full (it may run code)
    _spec: ModelSpec | None = None
    _checkpoint: str | None = None     # None: random weights (weights: none)
    _exported: Path | None = None      # the .onnx a non-pytorch backend runs

    def _set_model(self, model: str, weights: str | None, device: str, models_dir: str | None,
                   threads: int | str | None, trust_checkpoint: bool = False,
                   backend: str = 'pytorch') -> None:
        """Keep the parameters every model node has."""
        self.trust_checkpoint = trust_checkpoint
        self.model, self.weights, self.device = model, weights, device
        self.models_dir, self.threads, self.backend = models_dir, threads, backend

    def core_weight(self) -> float:
        return self.core_cost if self.threads == AUTO else 0.0

    def thread_count(self) -> int | None:
        """Intra-op threads: the node's own number, its allotment (auto), or None (library's)."""
        if self.threads == AUTO:
            return (self.context.cores or {}).get(self.name)
        return self.threads

    def check(self) -> None:
        """Resolve the config and the weights (downloading them), or the export, before any
        thread starts, and refuse a checkpoint that holds more than weights, unless trusted."""
        if self.backend != 'pytorch':
            from ..onnx.locate import locate_exported
            check_backend(self.backend, self.device)
            self._exported = locate_exported(
                self.name, self.model_kind, self.model, self.weights, self.models_dir,
                self.context.graph_dir, getattr(self, 'classes_override', None),
                trust=self.trust_checkpoint)
            return
        self._spec = resolve_model(self.model, self.model_kind, base_dir=self.context.graph_dir)
        self._checkpoint = resolve_weights(self.name, self._spec.weights_url, self.weights,
                                           self.models_dir, self.context.graph_dir)
        if self._checkpoint and not self.trust_checkpoint:
            refused = unsafe_globals(self._checkpoint)
            if refused:
                raise CheckpointRefused(self._checkpoint, refused)

    def export(self) -> Path:
        """Write the model's ONNX file and sidecar JSON (beside the checkpoint or in
        ``models_dir``); the .onnx path. Raises ExportError, or WeightsUnavailable."""
        from ..onnx.export import export_model
        from ..onnx.locate import export_target
        spec = resolve_model(self.model, self.model_kind, base_dir=self.context.graph_dir)
        checkpoint = resolve_weights(self.name, spec.weights_url, self.weights, self.models_dir,
                                     self.context.graph_dir)
        target = export_target(spec.config_path, checkpoint, self.models_dir)
        return export_model(spec, checkpoint, target, getattr(self, 'classes_override', None),
                            [self.model], trust=self.trust_checkpoint)

    def _load_checkpoint(self, model: Any) -> dict:
        """Load the weights into ``model``; its ``meta`` dict ({} for random weights)."""
        if not self._checkpoint:
            return {}
        return load_checkpoint(model, self._checkpoint, trust=self.trust_checkpoint)

    def locate(self) -> ModelSpec | None:
        """The model's spec (check() found it), with torch's threads set for this thread."""
        threads = self.thread_count()
        if self.backend == 'pytorch' and threads is not None:   # for this node's thread
            import torch
            torch.set_num_threads(threads)
        return self._spec
