"""A real KServe v2 server for tests and benches: PyTriton's ``tritonserver``, serving a model
repository that ``webcam-app export --model-repository`` wrote.

    LD_LIBRARY_PATH=<sys.base_prefix>/lib python tests/kserve_server.py REPO --http-port 8000 \
        --grpc-port 8001 [--no-batching] [--hang-after N]

PyTriton's server has no ONNX Runtime backend, so each model is a bound Python function that runs
its ``1/model.onnx`` on ONNX Runtime. Each ``config.pbtxt`` gives the model's inputs, outputs,
``max_batch_size``, ``dynamic_batching`` and ``parameters`` (the sidecar); ``--no-batching``
serves every model unbatched (each request alone), for the bench's comparison.

It prints one line per event on stdout, for the test to follow: ``KSERVE READY`` when every
model is ready, ``KSERVE REQUEST <model> <items>`` per request, and ``KSERVE HUNG <model>`` when
``--hang-after N`` makes the request after the N-th hang until the process is killed.
"""
from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

_DTYPES = {'TYPE_FP32': np.float32, 'TYPE_FP16': np.float16, 'TYPE_INT64': np.int64,
           'TYPE_INT32': np.int32, 'TYPE_UINT8': np.uint8}
_lock = threading.Lock()
_served = 0


def say(*words: Any) -> None:
    with _lock:
        sys.stdout.write('KSERVE ' + ' '.join(str(w) for w in words) + '\n')
        sys.stdout.flush()


def read_config(path: Path) -> Any:
    """A config.pbtxt as tritonclient's ModelConfig message."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2
    return text_format.Parse(path.read_text(encoding='utf-8'), model_config_pb2.ModelConfig())


def _infer_func(name: str, model_path: Path, inputs: list[str], outputs: list[str],
                threads: int, hang_after: int | None) -> Any:
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.add_session_config_entry('session.intra_op.allow_spinning', '0')
    session = ort.InferenceSession(str(model_path), opts, providers=['CPUExecutionProvider'])
    never = threading.Event()

    def run(**tensors: np.ndarray) -> dict[str, np.ndarray]:
        global _served
        with _lock:
            _served += 1
            hang = hang_after is not None and _served > hang_after
        items = len(tensors[inputs[0]])
        if hang:
            say('HUNG', name)
            never.wait()
        say('REQUEST', name, items)
        results = session.run(outputs, {n: tensors[n] for n in inputs})
        return dict(zip(outputs, results))

    def infer(requests: list[Any]) -> list[dict[str, np.ndarray]]:
        if len(requests) == 1:      # one request (batched or not): no copy
            return [run(**{n: requests[0][n] for n in inputs})]
        joined = run(**{n: np.concatenate([r[n] for r in requests]) for n in inputs})
        sizes = np.cumsum([len(r[inputs[0]]) for r in requests])[:-1]
        return [dict(zip(outputs, parts)) for parts in
                zip(*(np.split(joined[o], sizes) for o in outputs))]
    return infer


def bind(triton: Any, folder: Path, batching: bool, threads: int,
         hang_after: int | None) -> str:
    """Bind the model of ``folder`` (config.pbtxt, 1/model.onnx); its name."""
    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
    from pytriton.models.model import Model
    config = read_config(folder / 'config.pbtxt')
    batched = batching and config.max_batch_size > 0

    def tensors(specs: Any) -> list[Any]:
        unbatched = config.max_batch_size > 0 and not batched    # the batch dim becomes a dim
        return [Tensor(name=s.name, dtype=_DTYPES[model_config_type(s.data_type)],
                       shape=tuple(_dims(s.dims, unbatched))) for s in specs]
    parameters = {k: v.string_value for k, v in config.parameters.items()}
    _add_parameters(Model, config.name, parameters)
    model_config = (ModelConfig(max_batch_size=config.max_batch_size, batcher=DynamicBatcher(
        max_queue_delay_microseconds=config.dynamic_batching.max_queue_delay_microseconds))
        if batched else ModelConfig(batching=False))
    triton.bind(model_name=config.name,
                infer_func=_infer_func(config.name, folder / '1' / 'model.onnx',
                                       [s.name for s in config.input],
                                       [s.name for s in config.output], threads, hang_after),
                inputs=tensors(config.input), outputs=tensors(config.output),
                config=model_config)
    return config.name


def model_config_type(value: int) -> str:
    from tritonclient.grpc import model_config_pb2
    return model_config_pb2.DataType.Name(value)


def _dims(dims: Any, add_batch: bool) -> list[int]:
    """A batched config's dims, as the full shape of an unbatched model (``-1`` first)."""
    return ([-1] if add_batch else []) + [int(d) for d in dims]


_PARAMETERS: dict[str, dict[str, str]] = {}


def _add_parameters(model_class: Any, name: str, parameters: dict[str, str]) -> None:
    """PyTriton writes its own config.pbtxt: add each model's parameters (the sidecar) to it."""
    _PARAMETERS[name] = parameters
    if getattr(model_class, '_webcam_app_patched', False):
        return
    original = model_class._get_triton_model_config

    def with_parameters(self: Any) -> Any:
        config = original(self)
        config.backend_parameters.update(_PARAMETERS.get(self.model_name, {}))
        return config
    model_class._get_triton_model_config = with_parameters
    model_class._webcam_app_patched = True


def wait_ready(port: int, names: list[str], timeout: float = 120.0) -> None:
    """Until every model answers ready (the server's own health comes seconds earlier)."""
    deadline = time.monotonic() + timeout
    for name in names:
        url = f'http://127.0.0.1:{port}/v2/models/{name}/ready'
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f'model {name} not ready after {timeout} s')
            time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('repository', type=Path)
    p.add_argument('--http-port', type=int, required=True)
    p.add_argument('--grpc-port', type=int, required=True)
    p.add_argument('--metrics-port', type=int, default=0, help='0: no metrics endpoint')
    p.add_argument('--no-batching', action='store_true', help='every request alone')
    p.add_argument('--threads', type=int, default=1, help='ONNX Runtime threads per model')
    p.add_argument('--hang-after', type=int, help='hang every request after this many')
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from pytriton.triton import Triton, TritonConfig, TritonSecurityConfig
    config = TritonConfig(http_address='127.0.0.1', http_port=args.http_port,
                          grpc_address='127.0.0.1', grpc_port=args.grpc_port,
                          allow_metrics=bool(args.metrics_port),
                          metrics_port=args.metrics_port or None, exit_timeout_secs=1,
                          log_verbose=0)
    # as a plain tritonserver: statistics and the repository index open (loopback only)
    security = TritonSecurityConfig(restricted_endpoints=[])
    folders = sorted(p.parent for p in args.repository.glob('*/config.pbtxt'))
    if not folders:
        sys.stderr.write(f'error: no */config.pbtxt in {args.repository}\n')
        return 2
    with Triton(config=config, security_config=security) as triton:
        names = [bind(triton, f, not args.no_batching, args.threads, args.hang_after)
                 for f in folders]
        triton.run()
        wait_ready(args.http_port, names)
        say('READY', *names)
        threading.Event().wait()      # until killed
    return 0


if __name__ == '__main__':
    sys.exit(main())
