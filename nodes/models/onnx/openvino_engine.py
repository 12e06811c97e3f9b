"""The OpenVINO engine: the only module that imports openvino, with its telemetry blocked.

In openvino 2026.4, a bare ``import openvino`` imports ``openvino.tools.ovc``, which starts
``openvino_telemetry``; with no consent file it assumes consent, writes a client id under
``~/intel`` and sends an "import" event. ``sys.modules['openvino_telemetry'] = None``, set before
the first import, makes openvino use its own ``telemetry_stub`` instead. Models are read with
``Core().read_model`` and compiled with ``compile_model``; never ``convert_model`` or ``ovc``.

Compiled models are cached (``CACHE_DIR``) in ``openvino_cache/<model stem>/`` beside the model,
so a later start loads instead of compiling. A cache that cannot be read is replaced, with a
warning.
"""
from __future__ import annotations

import copy
import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ['OpenVinoEngine', 'check_openvino', 'native_precisions', 'openvino_device',
           'openvino_version']

log = logging.getLogger(__name__)

#: our precision names -> OpenVINO's INFERENCE_PRECISION_HINT and its OPTIMIZATION_CAPABILITIES
_HINTS = {'f32': 'f32', 'bf16': 'bf16', 'f16': 'f16'}
_CAPABILITIES = {'bf16': 'BF16', 'f16': 'FP16'}
_core: Any = None
_lock = threading.Lock()
_warned = False


def _openvino() -> Any:
    """``openvino``, imported with its telemetry blocked (see the module docstring)."""
    global _warned
    loaded = sys.modules.get('openvino_telemetry')
    if loaded is None and 'openvino' not in sys.modules:
        sys.modules['openvino_telemetry'] = None         # openvino falls back to its stub
    elif loaded is not None and not _warned:
        _warned = True
        log.warning('openvino_telemetry was imported before webcam-app could block it, so '
                    'OpenVINO may send usage data; opt out with `opt_in_out --opt_out` '
                    '(from the openvino-telemetry package), or set CI=true')
    import openvino
    return openvino


def _get_core() -> Any:
    global _core
    with _lock:     # model nodes set up on their own threads, at once
        if _core is None:
            core = _openvino().Core()
            _first_inference(core)
            _core = core
        return _core


def _first_inference(core: Any) -> None:
    """Run one tiny inference the way ``OpenVinoEngine.__call__`` does, before any engine runs.

    The first numpy conversion in openvino's bindings initializes a function-local static
    whose initializer releases the GIL inside pybind11's ``npy_api`` ``call_once``. Two threads
    making their first inference at once (two workers of one node) then deadlock: one holds the
    static's guard and waits for the GIL, the other holds the GIL and waits for the guard. Done
    once here, under the module lock, it is over before two engines can run at once.
    """
    from openvino import Model, opset13
    data = opset13.parameter([1], np.float32)
    compiled = core.compile_model(Model([opset13.relu(data)], [data]), 'CPU')
    outputs = compiled.create_infer_request().infer({0: np.zeros(1, np.float32)})
    for out in compiled.outputs:
        np.asarray(outputs[out])


def openvino_version() -> str:
    return str(_openvino().__version__)


def openvino_device(device: str) -> str:
    """A model node's device as OpenVINO names it: ``cpu`` -> ``CPU``, ``gpu.1`` -> ``GPU.1``."""
    return str(device).upper()


def check_openvino(device: str, precision: str = 'f32') -> None:
    """Raise ValueError, before anything starts, when OpenVINO is missing, has no ``device``,
    or would not run ``precision`` natively there (``auto`` is always fine)."""
    try:
        core = _get_core()
    except ImportError:
        raise ValueError("backend openvino needs the openvino package: pip install -e '.[onnx]'"
                         ) from None
    name = openvino_device(device)
    available = list(core.available_devices)
    if name not in available and not any(d.startswith(name + '.') for d in available):
        hint = ('a CUDA device runs on backend onnxruntime or pytorch'
                if name.startswith('CUDA') else f'use --device {available[0]}' if available
                else 'install a device plugin')
        raise ValueError(f'device {device!r} is not available to OpenVINO here; it has '
                         f'{", ".join(available) or "no device"}; {hint}')
    if precision not in ('auto', 'f32') and precision not in native_precisions(device):
        raise ValueError(f'precision {precision} does not run natively on OpenVINO {name} here '
                         f'(it runs {", ".join(["f32", *native_precisions(device)])}); use '
                         'precision: auto or f32')


def native_precisions(device: str) -> tuple[str, ...]:
    """The precisions below f32 that ``device`` runs natively, fastest first (e.g. ('bf16',))."""
    caps = set(_get_core().get_property(openvino_device(device), 'OPTIMIZATION_CAPABILITIES'))
    return tuple(p for p in ('bf16', 'f16') if _CAPABILITIES[p] in caps)


def _cache_files(folder: Path) -> dict[Path, float]:
    return {p: p.stat().st_mtime for p in folder.glob('*') if p.is_file()} \
        if folder.is_dir() else {}


class OpenVinoEngine:
    """A model compiled by OpenVINO for one device, precision and thread count.

    ``streams``: the model is compiled with this many streams of ``threads`` threads each, so
    that as many engines, ``sharing()`` it with an infer request each, run at once (a node's
    workers). ``from_cache`` says whether it was loaded from the model cache, not compiled.
    """

    def __init__(self, path: str | Path, device: str = 'cpu', threads: int | None = None,
                 precision: str = 'f32', cache: bool = True, streams: int = 1) -> None:
        if precision not in _HINTS:
            raise ValueError(f'precision must be one of {", ".join(_HINTS)}, but got '
                             f'{precision!r}')
        core = _get_core()
        self.path, self.device, self.precision = Path(path), openvino_device(device), precision
        config: dict[str, Any] = {'INFERENCE_PRECISION_HINT': _HINTS[precision],
                                  'PERFORMANCE_HINT': 'LATENCY', 'NUM_STREAMS': int(streams)}
        if self.device.startswith('CPU'):
            # two models share the cores (threads: auto): neither may pin threads to them
            config['ENABLE_CPU_PINNING'] = False
            if threads:
                config['INFERENCE_NUM_THREADS'] = int(threads) * int(streams)
        self.cache_dir = self.path.parent / 'openvino_cache' / self.path.stem if cache else None
        start = time.perf_counter()
        model = core.read_model(str(self.path))
        self.compiled = self._compile(core, model, config)
        self.from_cache = bool(self.cache_dir) and self._loaded_from_cache()
        self.seconds = time.perf_counter() - start
        self.request = self.compiled.create_infer_request()
        log.debug('%s: OpenVINO %s %s, %d stream(s), %s in %.2f s', self.path.name, self.device,
                  precision, streams, 'loaded from cache' if self.from_cache else 'compiled',
                  self.seconds)

    def _loaded_from_cache(self) -> bool:
        try:
            return bool(self.compiled.get_property('LOADED_FROM_CACHE'))
        except RuntimeError:
            return False

    def _compile(self, core: Any, model: Any, config: dict[str, Any]) -> Any:
        """Compile with the cache; a cache that fails or is not read is replaced, with a warning."""
        if self.cache_dir is None:
            return core.compile_model(model, self.device, config)
        before = _cache_files(self.cache_dir)
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            compiled = core.compile_model(model, self.device,
                                          {**config, 'CACHE_DIR': str(self.cache_dir)})
        except (OSError, RuntimeError) as exc:
            log.warning('%s: the OpenVINO cache %s failed (%s); compiling without it',
                        self.path.name, self.cache_dir, exc)
            self._clear(before)
            self.cache_dir = None
            return core.compile_model(model, self.device, config)
        self.compiled = compiled
        if before and not self._loaded_from_cache():
            stale = [p for p, mtime in before.items()
                     if not p.exists() or p.stat().st_mtime == mtime]
            log.warning('%s: the OpenVINO cache %s could not be read (corrupt, or from another '
                        'OpenVINO build); compiled the model again and replaced it',
                        self.path.name, self.cache_dir)
            self._clear(dict.fromkeys(stale, 0.0))
        return compiled

    def _clear(self, files: dict[Path, float]) -> None:
        for path in files:
            path.unlink(missing_ok=True)

    def sharing(self) -> 'OpenVinoEngine':
        """Another engine on the same compiled model, with an infer request of its own."""
        other = copy.copy(self)
        other.request = self.compiled.create_infer_request()
        return other

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        outputs = self.request.infer({0: np.ascontiguousarray(batch, np.float32)})
        return [np.asarray(outputs[out]) for out in self.compiled.outputs]
