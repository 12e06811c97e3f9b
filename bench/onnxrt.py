"""Benchmark the hand graph on ONNX Runtime against PyTorch, MMPoseInferencer and rtmlib
(named onnxrt.py: a bench/onnx.py would shadow the onnx package for the scripts here).

    python bench/onnxrt.py [--frames 40] [--boxes 1] [--json out.json]

One run, one clip, the same models (RTMDet-nano hand, RTMPose-m hand5, random weights saved as
checkpoints, exported once to ONNX), every row with the machine's cores:

- ``onnxruntime graph``: the graph with ``backend: onnxruntime``, ``threads: auto``;
- ``pytorch graph``: the same graph with ``backend: pytorch``, ``threads: auto``;
- ``MMPoseInferencer``: mmpose's own loop (flip test on, from the config);
- ``rtmlib``: rtmlib's ``RTMPose`` class on our exported pose file, one box at a time, as rtmlib
  runs it (no flip test). rtmlib's ``RTMDet`` expects mmdeploy's single-output file, not ours,
  so that row detects with our exported detector, alone on its thread, before each pose call.
- ``physical limit``: cores / (detector + pose model time per frame, each on one ORT thread).

Rows run with flip test on (like the inferencer) and off (like rtmlib). Frames per second count
the steady state, from the first finished frame to the last.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# BenchSink registers itself as the graphs' sink node type
from models import (BenchSink, bench_inferencer, make_models, make_video,  # noqa: E402,F401
                    steady_fps)
from nodes.models.onnx.exported import ExportedDetector, ExportedPose  # noqa: E402
from nodes.models.onnx.export import export_model  # noqa: E402
from nodes.models.openmmlab.model_zoo import resolve_model  # noqa: E402
from video import read_frames  # noqa: E402  (bench/video.py)
from webcam_app import load_graph, run_graph  # noqa: E402
from webcam_app.cores import available_cores  # noqa: E402

log = logging.getLogger('bench.onnx')


def export_models(m: dict[str, str], folder: Path) -> dict[str, str]:
    """``<checkpoint-stem>.onnx`` for both models, where the graph's nodes will look."""
    det_spec = resolve_model(m['det_cfg'], 'det')
    pose_spec = resolve_model(m['pose_cfg'], 'pose')
    return {'det_onnx': str(export_model(det_spec, m['det_ckpt'], folder / 'det.onnx')),
            'pose_onnx': str(export_model(pose_spec, m['pose_ckpt'], folder / 'pose.onnx'))}


def bench_graph(video: Path, m: dict[str, str], backend: str, flip: bool,
                models_dir: Path) -> dict[str, Any]:
    """Source, detector and pose on their own threads, replay mode; per-node service times."""
    common = {'backend': backend, 'models_dir': str(models_dir), 'threads': 'auto'}
    config = {'name': f'bench_{backend}', 'mode': 'replay', 'nodes': [
        {'name': 'source', 'type': 'VideoSource', 'input': str(video),
         'outputs': {'frame': 'frames'}},
        {'name': 'detector', 'type': 'DetectorNode', 'model': m['det_cfg'],
         'weights': m['det_ckpt'], 'score_thr': 0.0, **common,
         'inputs': {'frame': 'frames'}, 'outputs': {'frame': 'dets'}},
        {'name': 'pose', 'type': 'TopdownPoseEstimatorNode', 'model': m['pose_cfg'],
         'weights': m['pose_ckpt'], 'bbox_thr': 0.0, 'flip_test': flip, **common,
         'inputs': {'frame': 'dets'}, 'outputs': {'frame': 'poses'}},
        {'name': 'sink', 'type': 'BenchSink', 'inputs': {'frame': 'poses'}}]}
    import nodes  # noqa: F401  (registers VideoSource)
    graph = load_graph(config)
    sink = graph.nodes['sink'].node
    cores = graph.nodes['pose'].node.context.cores
    runner = run_graph(graph, timeout=3600)
    if runner.exit_code:
        raise RuntimeError(f'the graph failed (exit code {runner.exit_code}): {runner.errors}')
    stats = runner.metrics.snapshot()['nodes']
    return {'frames': len(sink.times), 'fps': steady_fps(sink.times),
            'boxes': float(np.mean(sink.posed)), 'threads': dict(cores),
            'det_ms': stats['detector']['service_ms_p50'],
            'pose_ms': stats['pose']['service_ms_p50']}


def bench_rtmlib(video: Path, onnx: dict[str, str]) -> dict[str, Any]:
    """rtmlib's RTMPose on our pose file, after our exported detector, one loop."""
    from rtmlib import RTMPose
    det = ExportedDetector(onnx['det_onnx'])
    pose = RTMPose(onnx['pose_onnx'], model_input_size=(256, 256), backend='onnxruntime')
    times, posed = [], []
    for image in read_frames(video):
        boxes, _, _ = det.detect(image)
        keypoints, _ = pose(image, bboxes=list(boxes))
        posed.append(len(boxes))
        times.append(time.perf_counter())
    return {'frames': len(times), 'fps': steady_fps(times), 'boxes': float(np.mean(posed))}


def one_thread_ms(video: Path, onnx: dict[str, str], flip: bool, n: int = 10) -> dict[str, float]:
    """Median detector and pose time per frame on one ONNX Runtime thread each."""
    det = ExportedDetector(onnx['det_onnx'], threads=1)
    pose = ExportedPose(onnx['pose_onnx'], threads=1)
    det_ms, pose_ms = [], []
    for i, image in enumerate(read_frames(video)):
        if i >= n:
            break
        start = time.perf_counter()
        boxes, _, _ = det.detect(image)
        middle = time.perf_counter()
        pose.estimate(image, boxes, flip)
        det_ms.append(middle - start)
        pose_ms.append(time.perf_counter() - middle)
    return {'det_ms': 1e3 * float(np.median(det_ms)), 'pose_ms': 1e3 * float(np.median(pose_ms))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--frames', type=int, default=40)
    p.add_argument('--boxes', type=int, default=1, help='hands per frame (detector max_per_img)')
    p.add_argument('--json', metavar='PATH')
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    cores = available_cores()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video = make_video(folder / 'clip.avi', args.frames)
        m = make_models(folder, args.boxes)
        onnx = export_models(m, folder)
        for flip in (True, False):
            tag = 'flip on' if flip else 'flip off'
            limit = one_thread_ms(video, onnx, flip)
            results[f'physical limit, {tag}'] = {
                'fps': cores / (limit['det_ms'] + limit['pose_ms']) * 1e3, **limit}
            results[f'onnxruntime graph, {tag}'] = bench_graph(video, m, 'onnxruntime', flip,
                                                               folder)
            results[f'pytorch graph, {tag}'] = bench_graph(video, m, 'pytorch', flip, folder)
        results['MMPoseInferencer, flip on'] = bench_inferencer(video, m, 'cpu')
        results['rtmlib (RTMPose), flip off'] = bench_rtmlib(video, onnx)
    print(f'{cores} cores, {args.frames} frames 640x480, {args.boxes} hand(s) per frame')
    for name, r in results.items():
        extra = ', '.join(f'{k} {v:.1f}' if isinstance(v, float) else f'{k} {v}'
                          for k, v in r.items() if k != 'fps')
        print(f'{name:32} {r["fps"]:6.2f} fps   {extra}')
    ratios = {'onnx / pytorch (flip on)': ('onnxruntime graph, flip on', 'pytorch graph, flip on'),
              'onnx / rtmlib (flip off)': ('onnxruntime graph, flip off',
                                           'rtmlib (RTMPose), flip off'),
              'onnx / physical limit (flip on)': ('onnxruntime graph, flip on',
                                                  'physical limit, flip on'),
              'pytorch / inferencer (flip on)': ('pytorch graph, flip on',
                                                 'MMPoseInferencer, flip on')}
    for name, (a, b) in ratios.items():
        print(f'{name:32} {results[a]["fps"] / results[b]["fps"]:.2f}x')
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
