"""Benchmark the request clients of ``backend: remote`` on one model, in one process.

    python bench/remote_client.py [--rounds 5] [--requests 40] [--busy]

One tritonserver (``tests/kserve_server.py``) serves the hand graph's detector (RTMDet-nano,
random weights, 1×3×320×320 float32 in: 1.2 MB a request). The same request goes through
tritonclient.http (gevent), our ``KServeHttp`` (standard library) and tritonclient.grpc,
alternating, ``--rounds`` times ``--requests`` each; the table gives each client's median of the
per-round p50 request times, and their range. ``--busy`` runs a thread that keeps the GIL busy
meanwhile (numpy and Python work, as the app's other nodes do).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / 'bench')]

from models import make_models  # noqa: E402


def clients(address: dict[str, str], outputs: list[str]) -> dict[str, Callable]:
    """name -> one request of ``x``, for each client; all give the same arrays."""
    import tritonclient.http as httpclient

    from nodes.models.onnx.kserve_http import KServeHttp
    from nodes.models.onnx.remote_client import RemoteModel, infer, make_client
    plain = httpclient.InferenceServerClient(address['http'])
    ours = KServeHttp(address['http'], 10.0)
    grpc = make_client('grpc', address['grpc'], 10.0)
    grpc_model = RemoteModel('', 'grpc', address['grpc'], 'det', {}, 'input', outputs)

    def tritonclient_http(x: np.ndarray) -> list[np.ndarray]:
        tensor = httpclient.InferInput('input', list(x.shape), 'FP32')
        tensor.set_data_from_numpy(x)
        wanted = [httpclient.InferRequestedOutput(n, binary_data=True) for n in outputs]
        result = plain.infer('det', [tensor], outputs=wanted)
        return [result.as_numpy(n) for n in outputs]
    return {'tritonclient.http': tritonclient_http,
            'KServeHttp (ours, http)': lambda x: ours.infer('det', 'input', x, outputs),
            'tritonclient.grpc': lambda x: infer(grpc, grpc_model, x)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--rounds', type=int, default=5)
    p.add_argument('--requests', type=int, default=40)
    p.add_argument('--busy', action='store_true', help='a GIL-busy thread runs meanwhile')
    args = p.parse_args(argv)
    from nodes.models.onnx.export import export_model
    from nodes.models.onnx.repository import write_model
    from nodes.models.openmmlab.model_zoo import resolve_model
    from tests.kserve import ServerProcess
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        m = make_models(folder, 1)
        path = export_model(resolve_model(m['det_cfg'], 'det'), m['det_ckpt'], folder / 'det.onnx')
        write_model(path, folder / 'repository', max_batch_size=8, queue_delay_us=2000)
        server = ServerProcess(folder / 'repository', folder / 'server.log', threads=2)
        server.restart(no_batching=False)
        try:
            import onnx
            outputs = [o.name for o in onnx.load(str(path)).graph.output]
            run = clients({p: getattr(server, p).split('://')[1] for p in ('http', 'grpc')},
                          outputs)
            x = np.random.default_rng(0).random((1, 3, 320, 320), np.float32)
            first = [f(x) for f in run.values()]
            assert all(np.allclose(a, b) for other in first[1:] for a, b in zip(first[0], other))
            stop = threading.Event()
            if args.busy:
                threading.Thread(target=_busy, args=(stop,), daemon=True).start()
            p50s: dict[str, list[float]] = {name: [] for name in run}
            for _ in range(args.rounds):
                for name, request in run.items():
                    times = []
                    for _ in range(args.requests):
                        start = time.perf_counter()
                        request(x)
                        times.append(time.perf_counter() - start)
                    p50s[name].append(1e3 * statistics.median(times))
            stop.set()
        finally:
            server.kill()
    print(f'{args.rounds} alternating rounds of {args.requests} requests (1.2 MB in) per client'
          f'{", a GIL-busy thread running" if args.busy else ""}: p50 per request, ms')
    for name, values in p50s.items():
        print(f'{name:26} median {statistics.median(values):6.2f}  range {min(values):.2f} '
              f'to {max(values):.2f}')
    return 0


def _busy(stop: threading.Event) -> None:
    frame = np.random.default_rng(1).random((480, 640, 3))
    while not stop.is_set():
        (frame * 2).sum()
        sum(range(2000))


if __name__ == '__main__':
    sys.exit(main())
