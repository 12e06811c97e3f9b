"""Inference engines for exported models, made by one factory: ONNX Runtime (CPU or CUDA),
OpenVINO (CPU, GPU; f32, bf16, f16) and MNN (CPU; f32, f16 weights), and the choice
``backend: auto`` makes between the first two.

An engine is a callable ``engine(batch) -> list of outputs`` over float32 NCHW batches.
"""
from __future__ import annotations

import importlib.util
import logging
import queue
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ['AUTO', 'BACKENDS', 'ENGINE_BACKENDS', 'PRECISIONS', 'EnginePool', 'OrtEngine',
           'check_backend', 'engine_for_workers', 'make_engine', 'native_precisions',
           'pick_backend', 'runtime_version']

log = logging.getLogger(__name__)

AUTO = 'auto'
#: engines that run an exported file, fastest first: what ``backend: auto`` tries, in order
ENGINE_BACKENDS = ('openvino', 'onnxruntime')
#: model node backends: auto, PyTorch (the OpenMMLab stack), the engines (MNN only when asked
#: for: slower than OpenVINO here, see bench/README.md), and a server's (remote)
BACKENDS = (AUTO, 'pytorch', *ENGINE_BACKENDS, 'mnn', 'remote')
#: model node precisions; ``auto`` picks per model and machine (see ``auto_precision``)
PRECISIONS = (AUTO, 'f32', 'bf16', 'f16')
#: the precisions each backend runs (f32 always; OpenVINO also what the device has natively)
_RUNS = {'pytorch': ('f32',), 'onnxruntime': ('f32',), 'openvino': ('f32', 'bf16', 'f16'),
         'mnn': ('f32', 'f16')}
_MODULES = {'openvino': 'openvino', 'onnxruntime': 'onnxruntime', 'mnn': 'MNN'}


def _installed(backend: str) -> bool:
    return importlib.util.find_spec(_MODULES[backend]) is not None


def _fits(backend: str, device: str, precision: str) -> bool:
    """Whether an installed ``backend`` can run ``device`` at ``precision`` (cheap checks)."""
    if not _installed(backend):
        return False
    cuda = device.startswith('cuda')
    if backend == 'openvino':
        return not cuda and (precision in (AUTO, 'f32') or precision in native_precisions(
            'openvino', device))
    if precision not in (AUTO, 'f32') or device.upper().startswith(('GPU', 'NPU')):
        return False
    if cuda:
        import onnxruntime as ort
        return 'CUDAExecutionProvider' in ort.get_available_providers()
    return device == 'cpu'


def pick_backend(device: str = 'cpu', precision: str = AUTO) -> str:
    """``backend: auto``: the fastest engine installed for ``device`` (OpenVINO, then ONNX
    Runtime), else ``pytorch``."""
    return next((b for b in ENGINE_BACKENDS if _fits(b, str(device), precision)), 'pytorch')


def native_precisions(backend: str, device: str = 'cpu') -> tuple[str, ...]:
    """The precisions below f32 that ``backend`` runs natively on ``device``, fastest first."""
    if backend == 'openvino':
        from .openvino_engine import native_precisions as openvino_natives
        return openvino_natives(device)
    return ()


def runtime_version(backend: str) -> str:
    """``backend`` and its library's version, e.g. ``openvino 2026.4.1-...``."""
    if backend == 'openvino':
        from .openvino_engine import openvino_version
        return f'openvino {openvino_version()}'
    if backend == 'onnxruntime':
        import onnxruntime as ort
        return f'onnxruntime {ort.__version__}'
    if backend == 'mnn':
        from .mnn_engine import mnn_version
        return f'mnn {mnn_version()}'
    return backend


def check_backend(backend: str, device: str, precision: str = 'f32') -> None:
    """Raise ValueError, before anything starts, when ``backend`` cannot run on ``device`` at
    ``precision``."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, but got {backend!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, but got "
                         f'{precision!r}')
    if backend == AUTO:
        return
    if backend == 'remote':     # the server has the device and the precision; here the client
        if importlib.util.find_spec('tritonclient') is None:
            raise ValueError("backend remote needs tritonclient: pip install -e '.[remote]'")
        return
    if precision not in (AUTO, *_RUNS[backend]):
        raise ValueError(f'backend {backend} runs {", ".join(_RUNS[backend])} only, but '
                         f'precision is {precision}; use precision: auto or f32, or backend: '
                         'openvino')
    if backend == 'openvino':
        from .openvino_engine import check_openvino
        check_openvino(device, precision)
    elif backend == 'onnxruntime':
        _check_ort(device)
    elif backend == 'mnn':
        from .mnn_engine import check_mnn
        check_mnn(device, 'f32' if precision == AUTO else precision)


def _check_ort(device: str) -> None:
    try:
        import onnxruntime as ort
    except ImportError:
        raise ValueError('backend onnxruntime needs the onnxruntime package: '
                         "pip install -e '.[onnx]'") from None
    if device.startswith('cuda') and 'CUDAExecutionProvider' not in ort.get_available_providers():
        raise ValueError(f'device {device} needs onnxruntime-gpu, but this onnxruntime '
                         f'{ort.__version__} has only {", ".join(ort.get_available_providers())}; '
                         'pip install onnxruntime-gpu (instead of onnxruntime), or use '
                         '--device cpu')
    if device != 'cpu' and not device.startswith('cuda'):
        raise ValueError(f"device must be cpu or cuda[:N] with onnxruntime, but got {device!r}")


class OrtEngine:
    """An ONNX Runtime session; ``threads`` intra-op threads that sleep when idle."""

    precision = 'f32'

    def __init__(self, path: str | Path, device: str = 'cpu', threads: int | None = None) -> None:
        import onnxruntime as ort
        check_backend('onnxruntime', device)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.inter_op_num_threads = 1
        if threads:
            opts.intra_op_num_threads = int(threads)
        # idle threads must not spin: two models share the cores (see threads: auto)
        opts.add_session_config_entry('session.intra_op.allow_spinning', '0')
        opts.log_severity_level = 3
        providers: list[Any] = ['CPUExecutionProvider']
        if device.startswith('cuda'):
            index = int(device.partition(':')[2] or 0)
            providers.insert(0, ('CUDAExecutionProvider', {'device_id': index}))
        self.session = ort.InferenceSession(str(path), opts, providers=providers)
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        return self.session.run(self.output_names, {self.input_name: batch})


class EnginePool:
    """Engines of one model for callers on several threads (a node's workers): each call runs
    on an engine no other call is using. An OpenVINO infer request and an MNN session are not
    thread-safe; separate engines also run in parallel where one would queue the calls."""

    def __init__(self, engines: list[Any]) -> None:
        self.engines = engines
        first = engines[0]
        self.precision = first.precision
        self.seconds = getattr(first, 'seconds', None)
        self.from_cache = getattr(first, 'from_cache', False)
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        for engine in engines:
            self._free.put(engine)

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        engine = self._free.get()   # never waits: a node has no more workers than engines
        try:
            return engine(batch)
        finally:
            self._free.put(engine)


def engine_for_workers(workers: int, first: Any, backend: str, path: Any, device: str,
                       threads: int | None) -> EnginePool:
    """An engine per worker, at ``first``'s precision, that ``workers`` threads may call at
    once. On OpenVINO they share one compiled model, with a stream each (``first``, compiled
    for one stream, is dropped); the other runtimes load the model once per worker."""
    if backend != 'openvino':
        return EnginePool([first] + [make_engine(backend, path, device, threads, first.precision)
                                     for _ in range(workers - 1)])
    from .openvino_engine import OpenVinoEngine
    shared = OpenVinoEngine(path, device, threads, first.precision, streams=workers)
    # the start's log tells how the model was first loaded (compiled, or from the cache); the
    # shared one then loads the same blob from the cache
    shared.from_cache, shared.seconds = first.from_cache, first.seconds + shared.seconds
    return EnginePool([shared] + [shared.sharing() for _ in range(workers - 1)])


def make_engine(backend: str, path: Any, device: str = 'cpu', threads: int | None = None,
                precision: str = 'f32', **remote: Any) -> Any:
    """The engine that runs ``path`` for ``backend`` at ``precision`` (never ``auto``: see
    ``auto_precision.load_engine``); it has a ``precision`` attribute. For ``remote``, ``path``
    is the RemoteModel that check() found, and ``remote`` holds ``live`` and ``timeout``."""
    if backend == 'remote':
        from .remote_engine import RemoteEngine
        return RemoteEngine(path, **remote)
    if precision not in _RUNS.get(backend, ('f32',)):
        raise ValueError(f'backend {backend} runs {", ".join(_RUNS.get(backend, ("f32",)))}, '
                         f'not precision {precision!r}')
    if backend == 'onnxruntime':
        return OrtEngine(path, device, threads)
    if backend == 'openvino':
        from .openvino_engine import OpenVinoEngine
        return OpenVinoEngine(path, device, threads, precision)
    if backend == 'mnn':
        from .mnn_engine import MnnEngine
        return MnnEngine(path, device, threads, precision)
    raise ValueError(f'backend {backend!r} runs no exported file')
