"""Inference engines for exported models: ONNX Runtime (CPU or CUDA), and a model on an inference
server (``remote``: KServe v2, see remote_engine.py).

An engine is a callable ``engine(batch) -> list of outputs`` over float32 NCHW batches.
"""
from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ['BACKENDS', 'OrtEngine', 'check_backend', 'make_engine']

log = logging.getLogger(__name__)

#: model node backends: PyTorch (the OpenMMLab stack), and engines that run an exported file
BACKENDS = ('pytorch', 'onnxruntime', 'remote')


def check_backend(backend: str, device: str) -> None:
    """Raise ValueError, before anything starts, when ``backend`` cannot run on ``device``."""
    if backend == 'pytorch':
        return
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, but got {backend!r}")
    if backend == 'remote':     # the server has the device; here only the client is needed
        if importlib.util.find_spec('tritonclient') is None:
            raise ValueError("backend remote needs tritonclient: pip install -e '.[remote]'")
        return
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


def make_engine(backend: str, path: Any, device: str = 'cpu', threads: int | None = None,
                **options: Any) -> Any:
    """The engine that runs ``path`` for ``backend``; for ``remote``, ``path`` is the
    RemoteModel that check() found, and ``options`` are ``live`` and ``timeout``."""
    if backend == 'onnxruntime':
        return OrtEngine(path, device, threads)
    if backend == 'remote':
        from .remote_engine import RemoteEngine
        return RemoteEngine(path, **options)
    raise ValueError(f'backend {backend!r} runs no exported file')
