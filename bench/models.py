"""Benchmark the hand graph: webcam_app's pipeline vs a serial loop vs mmpose's MMPoseInferencer.

    python bench/models.py [--frames 60] [--boxes 1] [--threads N] [--json out.json]

All three run the same models (RTMDet-nano hand, then RTMPose-m hand5) with the same random
weights, saved once as checkpoints, on the same generated 640x480 video, in one process. The
detector's config is derived from mmpose's with ``max_per_img = --boxes`` and ``score_thr = 0``,
so every pipeline estimates exactly that many hands per frame whatever the random weights say.
Frames per second count the steady state: from the first finished frame to the last.

The hand graph runs RTMPose with ``flip_test: false`` (the node's default, for speed), while the
inferencer uses the config's ``flip_test=True`` (a second, flipped forward pass per hand); the
``flip_test on`` rows run the graph and the serial loop that way too, for a like-for-like figure.
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

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nodes.models.openmmlab.detector import DetectorNode  # noqa: E402
from nodes.models.openmmlab.model_zoo import resolve_model  # noqa: E402
from nodes.models.openmmlab.pose import TopdownPoseEstimatorNode  # noqa: E402
from nodes.models.openmmlab.weights import building  # noqa: E402
from webcam_app import Frame, Node, NodeHarness, load_graph, run_graph  # noqa: E402

from video import read_frames  # noqa: E402  (bench/video.py)

log = logging.getLogger('bench.models')


class BenchSink(Node):
    """Record when each frame arrives, how many objects have keypoints, and the keypoints."""

    outputs = ()

    def __init__(self) -> None:
        self.times: list[float] = []
        self.posed: list[int] = []
        self.keypoints: list[np.ndarray] = []     # (N, K, 2) per frame

    def process(self, frame: Frame) -> None:
        self.times.append(time.perf_counter())
        posed = [np.asarray(o.keypoints) for o in frame.objects if o.keypoints is not None]
        self.posed.append(len(posed))
        self.keypoints.append(np.stack(posed) if posed else np.zeros((0, 0, 2), np.float32))


def make_video(path: Path, n: int, width: int = 640, height: int = 480) -> Path:
    """A textured clip with a moving skin-colored blob (content does not change the compute)."""
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.integers(0, 255, (height, width, 3), np.uint8), (9, 9), 3)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 30.0, (width, height))
    for i in range(n):
        image = background.copy()
        center = (int(width * (0.3 + 0.4 * (i % 30) / 30)), height // 2)
        cv2.ellipse(image, center, (70, 110), 10 * i, 0, 360, (120, 160, 220), -1)
        writer.write(image)
    writer.release()
    return path


def make_models(folder: Path, boxes: int) -> dict[str, str]:
    """Derived detector config plus random-weight checkpoints for both models."""
    import torch
    from mmdet.apis import init_detector
    from mmpose.apis import init_model
    det_spec, pose_spec = resolve_model('hand', 'det'), resolve_model('hand', 'pose')
    det_cfg = folder / 'bench_rtmdet_nano_hand.py'
    det_cfg.write_text(f'_base_ = {det_spec.config_path!r}\n'
                       f'model = dict(test_cfg=dict(max_per_img={boxes}, score_thr=0.0))\n')
    with building(random_weights=True):     # seeded: the same detector (and boxes) every run
        det = init_detector(str(det_cfg), None, device='cpu')
        pose = init_model(pose_spec.config_path, None, device='cpu')
    paths = {'det_cfg': str(det_cfg), 'pose_cfg': pose_spec.config_path,
             'det_ckpt': str(folder / 'det.pth'), 'pose_ckpt': str(folder / 'pose.pth')}
    torch.save({'state_dict': det.state_dict(), 'meta': {'dataset_meta': {'classes': ('hand',)}}},
               paths['det_ckpt'])
    torch.save({'state_dict': pose.state_dict(), 'meta': {}}, paths['pose_ckpt'])
    return paths


THREADS: int | None = None   # --threads: torch threads of every model, node threads included


def det_params(m: dict[str, str], device: str) -> dict[str, Any]:
    return dict(model=m['det_cfg'], weights=m['det_ckpt'], device=device, score_thr=0.0,
                threads=THREADS, backend='pytorch')


def pose_params(m: dict[str, str], device: str, flip_test: bool = False) -> dict[str, Any]:
    return dict(model=m['pose_cfg'], weights=m['pose_ckpt'], device=device, bbox_thr=0.0,
                flip_test=flip_test, threads=THREADS, backend='pytorch')


def steady_fps(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else float('nan')


def bench_graph(video: Path, m: dict[str, str], device: str, flip_test: bool = False,
                det_interval: int = 1) -> dict[str, Any]:
    """Source, detector and pose each on their own thread (replay mode: every frame, in order).

    With ``det_interval`` > 1 the detector runs every that many frames and takes the boxes of
    the others from the previous frame's keypoints (a feedback edge from the pose node).
    """
    detector = {'name': 'detector', 'type': 'DetectorNode', **det_params(m, device),
                'det_interval': det_interval, 'inputs': {'frame': 'frames'},
                'outputs': {'frame': 'dets'}}
    pose = {'name': 'pose', 'type': 'TopdownPoseEstimatorNode',
            **pose_params(m, device, flip_test), 'inputs': {'frame': 'dets'},
            'outputs': {'frame': 'poses'}}
    if det_interval > 1:
        detector['inputs']['poses'] = 'feedback'
        pose['outputs']['frame'] = ['poses', 'feedback']
    config = {'name': 'bench_hand', 'mode': 'replay', 'nodes': [
        {'name': 'source', 'type': 'VideoSource', 'input': str(video),
         'outputs': {'frame': 'frames'}},
        detector, pose, {'name': 'sink', 'type': 'BenchSink', 'inputs': {'frame': 'poses'}}]}
    import nodes  # noqa: F401  (registers VideoSource)
    graph = load_graph(config)
    sink = graph.nodes['sink'].node
    runner = run_graph(graph, timeout=3600)
    if runner.exit_code:
        raise RuntimeError(f'the graph failed (exit code {runner.exit_code}): {runner.errors}')
    return {'frames': len(sink.times), 'fps': steady_fps(sink.times),
            'boxes': float(np.mean(sink.posed))}


def bench_serial(video: Path, m: dict[str, str], device: str,
                 flip_test: bool = False) -> dict[str, Any]:
    """The same two nodes called one after the other on the calling thread."""
    times, posed = [], []
    with NodeHarness(DetectorNode, name='detector', **det_params(m, device)) as det, \
            NodeHarness(TopdownPoseEstimatorNode, name='pose',
                        **pose_params(m, device, flip_test)) as pose:
        for i, image in enumerate(read_frames(video)):
            out = pose.feed(frame=det.feed(frame=Frame(frame_id=i, image=image))['frame'])
            times.append(time.perf_counter())
            posed.append(sum(o.keypoints is not None for o in out['frame'].objects))
    return {'frames': len(times), 'fps': steady_fps(times), 'boxes': float(np.mean(posed))}


def bench_inferencer(video: Path, m: dict[str, str], device: str) -> dict[str, Any]:
    """mmpose 1.3's MMPoseInferencer with the same configs and checkpoints, one call a frame."""
    from mmpose.apis import MMPoseInferencer
    inferencer = MMPoseInferencer(pose2d=m['pose_cfg'], pose2d_weights=m['pose_ckpt'],
                                  det_model=m['det_cfg'], det_weights=m['det_ckpt'],
                                  det_cat_ids=(0,), device=device)
    times, posed, keypoints = [], [], []
    for image in read_frames(video):
        # bbox_thr=0 and nms_thr=1 keep every detected box, as the graph does
        for result in inferencer(image, bbox_thr=0.0, nms_thr=1.0):
            found = result['predictions'][0]
            posed.append(len(found))
            keypoints.append(np.array([p['keypoints'] for p in found], np.float32))
        times.append(time.perf_counter())
    return {'frames': len(times), 'fps': steady_fps(times), 'boxes': float(np.mean(posed)),
            'keypoints': keypoints}


def table(results: dict[str, dict[str, Any]]) -> str:
    base = results.get('MMPoseInferencer', {}).get('fps')
    lines = [f'{"pipeline":<26}{"frames":>7}{"fps":>8}{"ms/frame":>10}{"hands/frame":>13}'
             f'{"x inferencer":>14}']
    for name, r in results.items():
        ratio = f'{r["fps"] / base:.2f}' if base else '-'
        lines.append(f'{name:<26}{r["frames"]:>7}{r["fps"]:>8.2f}{1000 / r["fps"]:>10.1f}'
                     f'{r["boxes"]:>13.2f}{ratio:>14}')
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--frames', type=int, default=60, help='frames in the generated video')
    p.add_argument('--boxes', type=int, default=1, help='hands per frame (detector max_per_img)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, help='torch.set_num_threads (default: torch decides)')
    p.add_argument('--skip', nargs='*', default=[], choices=('graph', 'serial', 'inferencer'))
    p.add_argument('--det-interval', type=int, default=1, metavar='N',
                   help='add a graph row that detects every N frames (boxes from keypoints)')
    p.add_argument('--no-flip-rows', dest='flip_rows', action='store_false',
                   help="skip the 'flip_test on' rows (like-for-like with the inferencer)")
    p.add_argument('--json', metavar='PATH', help='also write the figures as JSON')
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    import torch
    if args.threads:
        global THREADS
        THREADS = args.threads
        torch.set_num_threads(args.threads)
    runs = {'webcam_app graph': ('graph', bench_graph, {}),
            'serial loop (same nodes)': ('serial', bench_serial, {}),
            'graph, flip_test on': ('graph', bench_graph, {'flip_test': True}),
            'serial, flip_test on': ('serial', bench_serial, {'flip_test': True}),
            'MMPoseInferencer': ('inferencer', bench_inferencer, {})}
    if args.det_interval > 1:
        runs[f'graph, det_interval {args.det_interval}'] = (
            'graph', bench_graph, {'det_interval': args.det_interval})
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video = make_video(folder / 'bench.avi', args.frames)
        models = make_models(folder, args.boxes)
        for label, (key, run, kwargs) in runs.items():
            if key not in args.skip and (args.flip_rows or 'flip_test' not in kwargs):
                result = run(video, models, args.device, **kwargs)
                results[label] = {k: v for k, v in result.items() if k != 'keypoints'}
    info = (f'{args.frames} frames 640x480, {args.boxes} hand(s)/frame, device {args.device}, '
            f'torch threads {torch.get_num_threads()}, random weights; the inferencer uses '
            'flip_test=True (its config), the graph flip_test=false unless the row says so')
    print(info)
    print(table(results))
    if any(r['boxes'] != args.boxes for r in results.values()):
        print(f'WARNING: a pipeline did not get {args.boxes} hand(s) every frame (the inferencer '
              'falls back to the whole image when it detects none): the figures differ in work')
    if args.json:
        Path(args.json).write_text(json.dumps({'setup': info, 'results': results}, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
