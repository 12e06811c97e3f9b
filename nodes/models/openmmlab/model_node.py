"""What the OpenMMLab model nodes share: finding config, checkpoint or export before threads start.

``backend: auto`` (the default) runs the model's export on the fastest engine installed
(OpenVINO, then ONNX Runtime; ``nodes/models/onnx``), exporting it once when the OpenMMLab stack
is here, and PyTorch only where the model cannot be exported. ``backend: pytorch`` runs it in
mmdet/mmpose; ``openvino``, ``onnxruntime`` and ``mnn`` run its export with no torch at all;
``remote`` sends the crops to that export on an inference server (``server: URL``, KServe v2:
Triton, OpenVINO Model Server), where a model that is away makes live frames pass on without
its results (``extra_metrics`` says so).
``precision: auto`` (the default) takes the fastest precision that keeps the model's answers
(``nodes/models/onnx/auto_precision.py``). ``threads: auto`` (the default) takes the share of the
machine's cores that the runtime allots this node (``NodeContext.cores``).

Model nodes are reentrant: with ``workers: N`` (``auto``, the default: in replay mode, one
single-thread worker per core, up to 4) the runtime runs N frames through the node at once,
and the node keeps one engine per worker (``EnginePool``; on OpenVINO they share one compiled
model, with a stream and an infer request each). On PyTorch a node is not reentrant (mmdet's
and mmpose's inference helpers are not known to be thread-safe), so it has one worker.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Mapping

from webcam_app import Node
from webcam_app.params import Range

from ..onnx.engines import check_backend, pick_backend
from .checkpoints import CheckpointRefused, load_checkpoint, unsafe_globals
from .model_zoo import ModelSpec, resolve_model
from .weights import resolve_weights

__all__: list[str] = []   # _ModelNode is a base for this package's nodes, not a node type

log = logging.getLogger(__name__)

#: where a model node runs its model
Backend = Literal['auto', 'pytorch', 'onnxruntime', 'openvino', 'mnn', 'remote']
#: the precision it runs at (auto: the fastest that holds the keypoint bound against f32)
Precision = Literal['auto', 'f32', 'bf16', 'f16']
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
    backend: str = AUTO
    precision: str = AUTO
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
    _runs_on: str | None = None        # the backend check() chose (auto: resolved)
    _runs_at: str | None = None        # the precision setup() compiled
    _load_note = ''
    reentrant = True                # process() may run on several frames at once (see above)
    default_workers = AUTO

    def _set_model(self, model: str, weights: str | None, device: str, models_dir: str | None,
                   threads: int | str | None, trust_checkpoint: bool = False,
                   backend: str = AUTO, precision: str = AUTO) -> None:
        """Keep the parameters every model node has."""
        self.trust_checkpoint = trust_checkpoint
        self.model, self.weights, self.device = model, weights, device
        self.models_dir, self.threads, self.backend = models_dir, threads, backend
        self.precision = precision
        # torch runs one frame at a time (a lock): more workers would gain nothing; a remote
        # engine is one per node (it is interrupted and closed as one)
        self.reentrant = type(self).reentrant and backend not in ('pytorch', 'remote')

    @property
    def runs_on(self) -> str:
        """The backend the model runs on: ``backend``, or for auto what check() chose."""
        return self._runs_on or (self.backend if self.backend != AUTO else 'pytorch')

    def info(self) -> dict[str, str]:
        """The backend and precision, as chosen once checked and set up (else as asked)."""
        backend = self._runs_on or self.backend
        if self._runs_on is None and self.backend == AUTO:
            backend = f'auto ({pick_backend(self.device, self.precision)})'
        return {'backend': backend, 'precision': self._runs_at or self.precision}

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
        """Resolve the config and the weights (downloading them), or the export (making it),
        before any thread starts, and refuse a checkpoint that holds more than weights, unless
        trusted."""
        check_backend(self.backend, self.device, self.precision)
        backend = self.backend
        if backend == 'remote':
            self._runs_on, self._runs_at = backend, None
            self._exported = self._find_remote()
            return
        if backend == AUTO:
            backend = pick_backend(self.device, self.precision)
            check_backend(backend, self.device, self.precision)
        self._runs_on, self._runs_at = backend, None
        if self.backend == AUTO:
            from ..onnx.locate import stack_available
            if backend == 'pytorch' or stack_available(self.model_kind):
                self._check_torch()     # weights first: a missing file is the fallback's cue
        if backend != 'pytorch':
            self._exported = self._locate_export()
        if self._runs_on == 'pytorch':
            self.reentrant = False      # the graph then gives it one worker, all its threads
            if self._spec is None:
                self._check_torch()

    def _locate_export(self) -> Path | None:
        """The export to run; for backend auto, None (and PyTorch) when the model cannot be
        exported, said once."""
        from ..onnx.describe import ExportError
        from ..onnx.locate import locate_exported
        try:
            return locate_exported(self.name, self.model_kind, self.model, self.weights,
                                   self.models_dir, self.context.graph_dir,
                                   getattr(self, 'classes_override', None),
                                   trust=self.trust_checkpoint)
        except (ExportError, ImportError, RuntimeError, NotImplementedError) as exc:
            if self.backend != AUTO:
                raise
            log.warning('node %s: backend auto runs PyTorch: %s cannot be exported (%s)',
                        self.name, self.model, exc)
            self._runs_on = 'pytorch'
            return None

    def _find_remote(self) -> Any:
        from ..onnx.locate import find_local_export
        from ..onnx.remote import find_remote
        from .weights import weights_disabled
        local = find_local_export(self.model_kind, self.model, self.weights, self.models_dir,
                                  self.context.graph_dir)
        return find_remote(self.model_kind, self.model, self.server, self.model_name,
                           self.timeout, local, weights_disabled(self.weights))

    def _engine_options(self) -> dict[str, Any]:
        """What the remote engine takes beyond path, device, threads and precision; and the
        engine to interrupt, close and report on is kept by setup() (``_keep_engine``)."""
        if self.runs_on != 'remote':
            return {}
        return {'live': self.context.mode == 'live', 'timeout': self.timeout}

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

    def _check_torch(self) -> None:
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

    def add_to_repository(self, exported: Path, repository: Path, **options: Any) -> str:
        """``repository/<name>/config.pbtxt`` and ``1/model.onnx`` (see onnx/repository.py); on
        the node's device unless ``options`` name one."""
        from ..onnx.repository import write_model
        return write_model(exported, repository, **{'device': str(self.device), **options}).name

    def _load_checkpoint(self, model: Any) -> dict:
        """Load the weights into ``model``; its ``meta`` dict ({} for random weights)."""
        if not self._checkpoint:
            return {}
        return load_checkpoint(model, self._checkpoint, trust=self.trust_checkpoint)

    def locate(self) -> ModelSpec | None:
        """The model's spec (check() found it), with torch's threads set for this thread."""
        if self._runs_on is None:       # set up without check() (a harness that skips it)
            self.check()
        threads = self.thread_count()
        if self.runs_on == 'pytorch' and threads is not None:   # for this node's thread
            import torch
            torch.set_num_threads(threads)
        return self._spec

    def _engines_loaded(self, model: Any) -> None:
        """With several workers, give ``model`` one engine per worker, at the precision its
        first one runs; then note how it was loaded."""
        workers = (self.context.workers or {}).get(self.name, 1)
        if workers > 1 and self.runs_on != 'remote':
            from ..onnx.engines import engine_for_workers
            model.engine = engine_for_workers(workers, model.engine, self.runs_on,
                                              self._exported, self.device, self.thread_count())
        self._engine_loaded(model.engine)

    def _engine_loaded(self, engine: Any) -> None:
        """Note the precision an exported model's engine runs, and how it was loaded; keep a
        remote engine, to interrupt, close and report on."""
        self._runs_at = engine.precision
        self.passed_through = 0
        self._engine = engine if self.runs_on == 'remote' else None
        seconds = getattr(engine, 'seconds', None)
        if seconds is not None:
            how = 'loaded from cache' if getattr(engine, 'from_cache', False) else 'compiled'
            self._load_note = f', {how} in {seconds:.1f} s'

    def _describe_run(self) -> str:
        """'openvino, bf16, loaded from cache in 0.3 s' for the setup log line."""
        return f'{self.runs_on}, {self._runs_at or "f32"}{self._load_note}'
