"""Benchmark ``backend: remote``: 1, 2 and 4 cameras against one inference server on loopback.

    python bench/remote.py [--frames 30] [--boxes 1] [--threads 2] [--rounds 3] [--json out.json]

The hand graph (RTMDet-nano, RTMPose-m hand5, random weights saved as checkpoints) is exported
once with ``--model-repository`` logic (``write_model``) and served by PyTriton's tritonserver
(``tests/kserve_server.py``: ONNX Runtime inside a bound function, ``--threads`` per model),
once with dynamic batching (the pose model joins requests of different cameras, up to 8 crops,
waiting up to 2 ms) and once without (every request alone). The detector's export has a fixed
batch of 1, so it is never batched.

Each camera is its own process, as in production: the graph in replay mode on the same clip,
started together. Per camera: frames/s (first to last frame) and per-frame latency p50/p95
(the detector's plus the pose node's time on the frame: requests, pre- and post-processing;
not the wait between the nodes, which replay fills whenever the pose node is busier).
Aggregate frames/s: all cameras' frames over the time from the first frame to the last.
Added latency, measured two ways: the remote camera's p50 minus the local one's (noisy on a
shared machine), and, per request, the client's request time p50 minus the server's own mean
compute time for it (Triton's statistics): what transport, queueing and (de)serialization add;
this one is measured for HTTP and gRPC, alternating, ``--rounds`` times each (median and range).
The local camera is the same graph with ``backend: onnxruntime`` (``--threads`` per model).
Request size per frame: the float32 tensors that go over the wire, each way.
"""
from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'bench'))

from models import BenchSink, make_models, make_video, steady_fps  # noqa: E402,F401

log = logging.getLogger('bench.remote')
CAMERAS = (1, 2, 4)
PROTOCOLS = ('http', 'grpc')


def worker(args: argparse.Namespace) -> int:
    """One camera: build the graph, say ready, wait for 'go' on stdin, run, print JSON."""
    import nodes  # noqa: F401  (registers the node types)
    from webcam_app import load_graph, run_graph
    m = json.loads(args.worker)
    common: dict[str, Any] = {'backend': m['backend'], 'threads': m['threads'],
                              'models_dir': m['models_dir']}
    if m['backend'] == 'remote':
        common = {'backend': 'remote', 'server': m['server'], 'timeout': 120.0}

    def names(model: str) -> dict[str, str]:      # the repository's names: det, pose
        return {'model_name': model} if m['backend'] == 'remote' else {}

    config = {'name': 'bench_remote', 'mode': 'replay', 'nodes': [
        {'name': 'source', 'type': 'VideoSource', 'input': m['video'],
         'outputs': {'frame': 'frames'}},
        {'name': 'detector', 'type': 'DetectorNode', 'model': m['det_cfg'],
         'weights': m['det_ckpt'], 'score_thr': 0.0, **common, **names('det'),
         'inputs': {'frame': 'frames'}, 'outputs': {'frame': 'dets'}},
        {'name': 'pose', 'type': 'TopdownPoseEstimatorNode', 'model': m['pose_cfg'],
         'weights': m['pose_ckpt'], 'bbox_thr': 0.0, **common, **names('pose'),
         'inputs': {'frame': 'dets'}, 'outputs': {'frame': 'poses'}},
        {'name': 'sink', 'type': 'BenchSink', 'inputs': {'frame': 'poses'}}]}
    graph = load_graph(config)
    graph.check_nodes()
    sink = graph.nodes['sink'].node
    frames: list[Any] = []
    sink.process = lambda frame, _f=sink.process: (frames.append(frame), _f(frame))[1]
    print('ready', flush=True)
    sys.stdin.readline()
    runner = run_graph(graph, timeout=3600)
    if runner.exit_code:
        raise RuntimeError(f'exit code {runner.exit_code}: {runner.errors}')
    latency = []        # the models' own time per frame: queueing between the nodes left out
    for frame in frames:
        latency.append(sum(leave - enter for name, enter, leave in frame.stamps
                           if name in ('detector', 'pose')))
    nodes_ = runner.metrics.snapshot()['nodes']
    print(json.dumps({'frames': len(sink.times), 'fps': steady_fps(sink.times),
                      'start': sink.times[0], 'end': sink.times[-1],
                      'latency_ms_p50': 1e3 * float(np.percentile(latency, 50)),
                      'latency_ms_p95': 1e3 * float(np.percentile(latency, 95)),
                      'det_request_ms_p50': nodes_['detector'].get('request_ms_p50'),
                      'pose_request_ms_p50': nodes_['pose'].get('request_ms_p50'),
                      'server_queue_ms': nodes_['pose'].get('server_queue_ms')}), flush=True)
    return 0


def cameras(n: int, spec: dict[str, Any]) -> dict[str, Any]:
    """``n`` camera processes started together; per camera and aggregate figures."""
    procs = [subprocess.Popen([sys.executable, __file__, '--worker', json.dumps(spec)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
             for _ in range(n)]
    for p in procs:
        if p.stdout.readline().strip() != 'ready':
            raise RuntimeError('a camera process failed to start')
    for p in procs:
        p.stdin.write('go\n')
        p.stdin.flush()
    results = [json.loads(p.communicate(timeout=3600)[0].strip().splitlines()[-1])
               for p in procs]
    span = max(r['end'] for r in results) - min(r['start'] for r in results)
    return {'cameras': n, 'aggregate_fps': sum(r['frames'] for r in results) / span,
            'fps': [round(r['fps'], 2) for r in results],
            'p50_ms': [round(r['latency_ms_p50'], 1) for r in results],
            'p95_ms': [round(r['latency_ms_p95'], 1) for r in results],
            'queue_ms': [r['server_queue_ms'] for r in results], 'raw': results}


def server_ms(url: str) -> dict[str, tuple[int, float]]:
    """Per model: (requests, total ns of compute) so far, from Triton's statistics."""
    import tritonclient.http as httpclient
    client = httpclient.InferenceServerClient(url.split('://')[1])
    out = {}
    for entry in client.get_inference_statistics('')['model_stats']:
        stats = entry['inference_stats']
        out[entry['name']] = (int(stats['success']['count']), sum(
            int(stats[k]['ns']) for k in ('compute_input', 'compute_infer', 'compute_output')))
    client.close()
    return out


def overhead(url: str, spec: dict[str, Any]) -> dict[str, float]:
    """One camera: client request p50 minus the server's mean compute, per model (ms)."""
    before = server_ms(url)
    result = cameras(1, spec)
    after = server_ms(url)
    out = {}
    for name, key in (('det', 'det_request_ms_p50'), ('pose', 'pose_request_ms_p50')):
        count = after[name][0] - before[name][0]
        compute = (after[name][1] - before[name][1]) / max(count, 1) / 1e6
        out[name] = {'request_ms_p50': result['raw'][0][key], 'server_compute_ms': compute,
                     'added_ms': result['raw'][0][key] - compute}
    return out


def request_sizes(repository: Path, boxes: int) -> dict[str, float]:
    """KB per frame over the wire, from the served models' tensor shapes (float32)."""
    from tests.kserve_server import read_config
    sizes = {}
    for config_path in repository.glob('*/config.pbtxt'):
        config = read_config(config_path)
        items = 1 if config.max_batch_size == 0 else boxes
        sizes[config.name] = {
            'in_kb': items * 4 * sum(int(np.prod(t.dims)) for t in config.input) / 1024,
            'out_kb': items * 4 * sum(int(np.prod(t.dims)) for t in config.output) / 1024}
    return sizes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--frames', type=int, default=30)
    p.add_argument('--boxes', type=int, default=1, help='hands per frame')
    p.add_argument('--threads', type=int, default=2, help='ONNX Runtime threads per model')
    p.add_argument('--rounds', type=int, default=3,
                   help='alternating rounds of the added-latency measure, per protocol')
    p.add_argument('--json', metavar='PATH')
    p.add_argument('--worker', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.worker:
        return worker(args)
    from nodes.models.onnx.export import export_model
    from nodes.models.onnx.repository import write_model
    from nodes.models.openmmlab.model_zoo import resolve_model
    from tests.kserve import ServerProcess
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video = make_video(folder / 'clip.avi', args.frames)
        m = make_models(folder, args.boxes)
        repository = folder / 'repository'
        for kind, cfg, ckpt in (('det', 'det_cfg', 'det_ckpt'), ('pose', 'pose_cfg', 'pose_ckpt')):
            path = export_model(resolve_model(m[cfg], kind), m[ckpt], folder / f'{kind}.onnx')
            write_model(path, repository, max_batch_size=8, queue_delay_us=2000)
        spec = {**m, 'video': str(video), 'models_dir': str(folder), 'threads': args.threads,
                'backend': 'onnxruntime'}
        results['local'] = cameras(1, spec)
        server = ServerProcess(repository, folder / 'server.log', threads=args.threads)
        for batching in (True, False):
            server.restart(no_batching=not batching)
            remote = {**spec, 'backend': 'remote', 'server': server.http}
            if batching:
                results['overhead'] = {protocol: [] for protocol in PROTOCOLS}
                for _ in range(args.rounds):
                    for protocol in PROTOCOLS:
                        results['overhead'][protocol].append(overhead(
                            server.http, {**remote, 'server': getattr(server, protocol)}))
            for n in CAMERAS:
                results[f'{n} cameras, {"dynamic batching" if batching else "no batching"}'] = \
                    cameras(n, remote)
        server.kill()
        results['request_kb_per_frame'] = request_sizes(repository, args.boxes)
    report(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    print(f'{args.frames} frames 640x480 per camera, {args.boxes} hand(s) per frame, '
          f'{args.threads} ONNX Runtime threads per model, flip test off')
    for name, r in results.items():
        if 'aggregate_fps' in r:
            print(f'{name:34} {r["aggregate_fps"]:6.2f} fps  per camera fps {r["fps"]}  '
                  f'p50 {r["p50_ms"]} ms  p95 {r["p95_ms"]} ms  queue {r["queue_ms"]} ms')
    with_b = results['4 cameras, dynamic batching']['aggregate_fps']
    without = results['4 cameras, no batching']['aggregate_fps']
    added = (results['1 cameras, dynamic batching']['p50_ms'][0]
             - results['local']['p50_ms'][0])
    print(f'4 cameras, dynamic batching / none: {with_b / without:.2f}x (target >= 1.2x)')
    print(f'remote - local, 1 camera, p50 per frame: {added:+.1f} ms (target <= 5 ms)')
    for protocol, rounds in results['overhead'].items():
        per_frame = [sum(v['added_ms'] for v in over.values()) for over in rounds]
        last = rounds[-1]
        print(f'{protocol}: added per frame (client request p50 - server compute mean, det + '
              f'pose), median {np.median(per_frame):+.1f} ms, range {min(per_frame):+.1f} to '
              f'{max(per_frame):+.1f} over {len(rounds)} rounds (target <= 5 ms); last round: '
              + ', '.join(f'{k} {v["request_ms_p50"]:.1f} - {v["server_compute_ms"]:.1f} ms'
                          for k, v in last.items()))
    for name, size in results['request_kb_per_frame'].items():
        print(f'request {name}: {size["in_kb"]:.0f} KB in, {size["out_kb"]:.0f} KB out per frame')


if __name__ == '__main__':
    sys.exit(main())
