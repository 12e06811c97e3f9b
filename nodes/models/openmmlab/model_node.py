"""What the OpenMMLab model nodes share: finding config, checkpoint or export before threads start.

``backend: pytorch`` runs the model in mmdet/mmpose; ``backend: onnxruntime`` runs its ONNX export
(``nodes/models/onnx``) with no torch at all; ``backend: remote`` sends the crops to that export on
an inference server (``server: URL``, KServe v2: Triton, OpenVINO Model Server), where a model
that is away makes live frames pass on without its results (``extra_metrics`` says so).
``threads: auto`` (the default) takes the share of the machine's cores that the runtime allots
this node (``NodeContext.cores``).
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Mapping

from webcam_app import Node
from webcam_app.params import Range

from ..onnx.engines import check_backend
from .checkpoints import CheckpointRefused, load_checkpoint, unsafe_globals
from .model_zoo import ModelSpec, resolve_model
from .weights import resolve_weights

__all__: list[str] = []   # _ModelNode is a base for this package's nodes, not a node type

#: where a model node runs its model
Backend = Literal['pytorch', 'onnxruntime', 'remote']
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
    _exported: Any = None      # the .onnx a non-pytorch backend runs (remote: a RemoteModel)
    server: str | None = None          # backend remote: http://HOST:8000 or grpc://HOST:8001
    model_name: str | None = None      # backend remote: the model's name on the server
    timeout = 10.0                     # backend remote: seconds without an answer, then fail
    passed_through = 0                 # live frames that went on without results (server away)
    _engine: Any = None                # backend remote: the RemoteEngine
    _last_metrics: Mapping[str, Any] = {}     # its numbers when it closed

    def _set_model(self, model: str, weights: str | None, device: str, models_dir: str | None,
                   threads: int | str | None, trust_checkpoint: bool = False,
                   backend: str = 'pytorch') -> None:
        """Keep the parameters every model node has."""
        if not model:
            raise ValueError('model must be an alias, model name or config, but got nothing')
        self.trust_checkpoint = trust_checkpoint
        self.model, self.weights, self.device = model, weights, str(device)
        self.models_dir, self.threads, self.backend = models_dir, threads, backend

    def _set_remote(self, server: str | None, model_name: str | None, timeout: float) -> None:
        """Keep the parameters of ``backend: remote``, checking the URL."""
        if server is not None:
            from ..onnx.remote_client import parse_server
            parse_server(server)        # ValueError: what a URL must look like
        elif self.backend == 'remote':
            raise ValueError('backend remote needs server: URL, e.g. server: '
                             'http://127.0.0.1:8000 (or --server URL)')
        self.server, self.model_name, self.timeout = server, model_name, float(timeout)

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
        if self.backend == 'remote':
            self._exported = self._find_remote()
            return
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

    def _find_remote(self) -> Any:
        from ..onnx.locate import find_local_export
        from ..onnx.remote import find_remote
        from .weights import weights_disabled
        check_backend('remote', self.device)
        local = find_local_export(self.model_kind, self.model, self.weights, self.models_dir,
                                  self.context.graph_dir)
        return find_remote(self.model_kind, self.model, self.server, self.model_name,
                           self.timeout, local, weights_disabled(self.weights))

    def _engine_options(self) -> dict[str, Any]:
        """What make_engine takes beyond the backend's path, device and threads."""
        if self.backend != 'remote':
            return {}
        return {'live': self.context.mode == 'live', 'timeout': self.timeout}

    def _keep_engine(self, engine: Any) -> None:
        """setup(): the engine to interrupt, close and report on (remote only)."""
        self.passed_through = 0
        self._engine = engine if self.backend == 'remote' else None

    def extra_metrics(self) -> Mapping[str, Any]:
        engine = self._engine
        if engine is None:      # after the run: its last numbers (for --metrics-out)
            return self._last_metrics
        out = {**engine.stats(), 'passed_through': self.passed_through}
        if out['server_down']:
            out['warning'] = (f'{self.name}: {engine.down_reason}; ' + (
                'frames pass without results' if engine.live else 'waiting for it'))
        return out

    def interrupt(self) -> None:
        engine = self._engine
        if engine is not None:
            engine.interrupt()

    def _close_engine(self) -> None:
        if self._engine is not None:
            self._last_metrics = {k: v for k, v in self.extra_metrics().items()
                                  if k != 'warning'}
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()

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
