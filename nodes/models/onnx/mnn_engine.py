"""MNN engine: the exported ``.onnx`` converted once to ``.mnn`` (cached beside it), run by MNN.

Only MNN's runtime (``_mnncengine``, through ``MNN``) and its converter's C extension (the
top-level ``_tools`` module) are used. ``MNN.tools`` is never imported: its logger runs
``pip install -U aliyun-log-python-sdk`` and sends usage logs to Alibaba's log service.

- The converter runs in a child Python that imports ``_tools`` alone, so its console chatter is
  captured (logged at DEBUG) and a converter crash cannot take the app down with it.
- The cache file is named by the sha256 of the ``.onnx``, MNN's version and the precision:
  ``pose.onnx`` -> ``pose.<key>.f32.mnn``. A changed export or MNN is converted again, and the
  stale file of that precision removed. A cache that will not load is deleted and reconverted.
- ``precision: f16`` stores the weights as fp16 (``--fp16``); the arithmetic stays fp32 on CPUs.
- Winograd convolutions are off: their rounding (3e-4 of the range after one 3x3 conv, 0.6 logits
  at RTMPose-m's output) flipped a near-tied SimCC peak by 40 px on the shaped weights of
  ``tests/nodes/onnx``; without them MNN is within 0.003 logits of ONNX Runtime, and slower.
- It runs with the session API (``Interpreter.runSession``), which releases the GIL while it
  computes; ``MNN.nn`` modules hold it through ``forward``, which would serialize the graph's
  model threads. One session per input shape, so the batch of boxes can change size freely.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .sidecar import sha256_of

__all__ = ['PRECISIONS', 'MnnEngine', 'check_mnn', 'convert', 'converted_path', 'mnn_version']

log = logging.getLogger(__name__)

#: what ``precision`` may be with MNN: fp32, or fp16 weights (fp32 arithmetic on CPUs)
PRECISIONS = ('f32', 'f16')
#: the converter, in a child Python that imports nothing but the C extension
_CONVERTER = ("import sys, _tools\n"
              "sys.exit(0 if _tools.mnnconvert(['mnnconvert', *sys.argv[1:]]) else 1)\n")
_SESSIONS = 4     # input shapes kept compiled (boxes per frame, with and without flip test)
_WINOGRAD_MEMORY_LEVEL = 3    # MNN::Interpreter::HintMode; 0 turns Winograd convolutions off
_FORMATS = {'.onnx': 'ONNX', '.tflite': 'TFLITE'}


def check_mnn(device: str = 'cpu', precision: str = 'f32') -> None:
    """Raise ValueError, before anything starts, when MNN cannot run this."""
    if importlib.util.find_spec('MNN') is None or importlib.util.find_spec('_tools') is None:
        raise ValueError("backend mnn needs the MNN package, which is not installed: "
                         "pip install -e '.[mnn]' (or pip install MNN==3.6.1), or use another "
                         'backend')
    if device.lower() != 'cpu':
        raise ValueError(f"device must be cpu with backend mnn, but got {device!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)} with backend mnn, "
                         f'but got {precision!r} (f16: fp16 weights, fp32 arithmetic)')
    _import_mnn()


#: fds 1 and 2 are the process's: one redirection at a time (model nodes set up at once)
_REDIRECT_LOCK = threading.Lock()


@contextlib.contextmanager
def _native_output_to_log() -> Iterator[None]:
    """Send what C code prints on fds 1 and 2 to this module's DEBUG log instead."""
    with _REDIRECT_LOCK, tempfile.TemporaryFile() as sink:
        saved = [os.dup(1), os.dup(2)]
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            said = sink.read().decode(errors='replace').strip()
            if said:
                log.debug('MNN said: %s', said)


def _import_mnn() -> Any:
    """``MNN``, imported once with its start-up line ("The device supports: ...") kept quiet."""
    if 'MNN' not in sys.modules:
        # never MNN.tools (it runs pip and sends usage logs): an MNN whose package imports it
        # fails here with ImportError rather than load it
        sys.modules.setdefault('MNN.tools', None)
        with _native_output_to_log():
            import MNN  # noqa: F401  (the runtime only)
    return sys.modules['MNN']


def mnn_version() -> str:
    return str(_import_mnn().version())


def converted_path(source: str | Path, precision: str = 'f32') -> Path:
    """Where the ``.mnn`` of ``source`` at ``precision`` is cached: beside it."""
    source = Path(source)
    key = hashlib.sha256(f'{sha256_of(source)} MNN {mnn_version()} {precision}'.encode())
    return source.with_name(f'{source.stem}.{key.hexdigest()[:16]}.{precision}.mnn')


def convert(source: str | Path, target: str | Path, precision: str = 'f32') -> Path:
    """Convert ``source`` (.onnx or .tflite) to ``target`` with MNN's converter."""
    source, target = Path(source), Path(target)
    fmt = _FORMATS.get(source.suffix.lower())
    if fmt is None:
        raise ValueError(f'MNN converts {", ".join(_FORMATS)} files, but got {source}')
    tmp = target.with_name(target.name + f'.{os.getpid()}.tmp')
    args = ['-f', fmt, '--modelFile', str(source), '--MNNModel', str(tmp),
            '--bizCode', 'webcam-app'] + (['--fp16'] if precision == 'f16' else [])
    try:
        done = subprocess.run([sys.executable, '-c', _CONVERTER, *args], capture_output=True,
                              text=True, timeout=900, stdin=subprocess.DEVNULL)
        said = (done.stdout + done.stderr).strip()
        log.debug('mnnconvert %s: %s', source.name, said)
        if done.returncode or not tmp.is_file() or tmp.stat().st_size == 0:
            tail = '\n'.join([line for line in said.splitlines()
                              if not line.startswith('The device supports')][-4:])
            raise RuntimeError(f'MNN could not convert {source} (exit code {done.returncode}): '
                               f'{tail or "no output"}; use backend onnxruntime for this model')
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _cached(source: Path, precision: str) -> Path:
    """The converted file, made now when missing; stale conversions of ``source`` removed."""
    target = converted_path(source, precision)
    if target.is_file():
        return target
    stale = re.compile(rf'{re.escape(source.stem)}\.[0-9a-f]{{16}}\.{precision}\.mnn')
    for old in source.parent.iterdir():
        if stale.fullmatch(old.name):
            log.info('removing %s: made from another export or MNN version', old.name)
            old.unlink(missing_ok=True)
    log.info('converting %s to MNN (%s) ...', source.name, precision)
    return convert(source, target, precision)


class MnnEngine:
    """``engine(batch) -> outputs`` on MNN's CPU runtime, ``threads`` threads (None: MNN's)."""

    def __init__(self, path: str | Path, device: str = 'cpu', threads: int | None = None,
                 precision: str = 'f32') -> None:
        check_mnn(device, precision)
        self.precision, self.threads = precision, threads
        self.source = Path(path)
        self.path = _cached(self.source, precision)
        try:
            self._load()
        except Exception as exc:     # a truncated or foreign cache file: make it again
            log.warning('%s would not load (%s): deleting it and converting %s again',
                        self.path, exc.__cause__ or exc, self.source.name)
            self.path.unlink(missing_ok=True)
            self.path = _cached(self.source, precision)
            self._load()

    def _load(self) -> None:
        mnn = _import_mnn()
        from MNN import nn
        with _native_output_to_log():
            # the output order of the source file (a session lists its outputs by name)
            info = nn.load_module_from_file(str(self.path), [], []).get_info()
            self.interpreter = mnn.Interpreter(str(self.path))
        self.interpreter.setSessionHint(_WINOGRAD_MEMORY_LEVEL, 0)
        self.input_name = info['inputNames'][0]
        self.output_names: list[str] = list(info['outputNames'])
        self._config = {'precision': 'normal', **({'numThread': int(self.threads)}
                                                   if self.threads else {})}
        self._sessions: OrderedDict[tuple[int, ...], Any] = OrderedDict()

    def _session(self, shape: tuple[int, ...]) -> Any:
        session = self._sessions.pop(shape, None)
        if session is None:
            session = self.interpreter.createSession(self._config)
            self.interpreter.resizeTensor(self.interpreter.getSessionInput(session), shape)
            self.interpreter.resizeSession(session)
            if len(self._sessions) >= _SESSIONS:
                self._sessions.popitem(last=False)      # freed with its Python object
        self._sessions[shape] = session
        return session

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        mnn = sys.modules['MNN']
        batch = np.ascontiguousarray(batch, np.float32)
        session = self._session(batch.shape)
        tensor = self.interpreter.getSessionInput(session)
        # in the layout the model declares: NCHW from ONNX, NHWC from TFLite
        tensor.copyFrom(mnn.Tensor(batch.shape, mnn.Halide_Type_Float, batch,
                                   _host_layout(mnn, tensor)))
        self.interpreter.runSession(session)
        outputs = self.interpreter.getSessionOutputAll(session)
        results = []
        for name in self.output_names:
            tensor = outputs[name]
            host = mnn.Tensor(tensor.getShape(), mnn.Halide_Type_Float, _host_layout(mnn, tensor))
            tensor.copyToHostTensor(host)
            results.append(np.array(host.getNumpyData(), copy=True))
        return results


def _host_layout(mnn: Any, tensor: Any) -> int:
    """A tensor's own dimension order, with MNN's packed NC4HW4 read as plain NCHW."""
    kind = tensor.getDimensionType()
    return mnn.Tensor_DimensionType_Caffe if kind == mnn.Tensor_DimensionType_Caffe_C4 else kind
