"""The Python API's throughput: ``p.stream`` against the command line's replay and a ``p(image)``
loop, on the same frames and the same graph.

    python bench/python_api.py [--graph graphs/body.yaml] [--frames 30] [--objects 3]
                               [--repeat 2] [--threads 1]

* CLI replay: the graph as ``run_webcam.py --input clip.avi --headless --pred-out p.json``
  builds it (VideoSource decoding the clip), run in this process, timed from the end of the
  models' setup to the end of the run.
* stream: ``webcam_app.open(graph)`` and ``p.stream(frames)`` on the clip's decoded frames.
* p(image) loop: ``for frame in frames: p(frame)``, one frame through the whole graph at a time.

The graph's model nodes get random weights (``weights: none``), ``score_thr: 0`` and
``max_objects: --objects``, so every frame costs the same, and ``threads: --threads`` torch
threads each. With one thread each, the detector and the pose model are two heavy stages that
release the GIL inside torch: ``stream`` runs them side by side on two cores, the loop one
after the other. Each figure is the best of ``--repeat`` fresh runs (models built anew).
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import webcam_app  # noqa: E402
from webcam_app import Runner  # noqa: E402
from webcam_app.app.cli import build_parser, prepare_graph  # noqa: E402

from models import make_video  # noqa: E402  (bench/models.py)
from video import read_frames  # noqa: E402  (bench/video.py)

ROOT = Path(__file__).resolve().parent.parent


def model_params(objects: int, threads: int) -> dict[str, dict[str, Any]]:
    return {'detector': {'weights': 'none', 'score_thr': 0.0, 'max_objects': objects,
                         'threads': threads},
            'pose': {'weights': 'none', 'threads': threads}}


def cli_replay(graph: Path, video: Path, params: dict, folder: Path) -> tuple[int, float]:
    sets = [f'--set={node}.{key}={value}' for node, p in params.items() for key, value in p.items()]
    args = build_parser().parse_args(['--config', str(graph), '--input', str(video),
                                      '--headless', '--no-fallback',
                                      '--pred-out', str(folder / 'p.json'), *sets])
    runner = Runner(prepare_graph(args.config, args)).start()
    if not runner.wait_ready():
        runner.wait()
        raise RuntimeError(f'the graph failed to start: {runner.errors}')
    t0 = time.perf_counter()
    code = runner.wait()
    elapsed = time.perf_counter() - t0
    if code:
        raise RuntimeError(f'the graph failed (exit code {code}): {runner.errors}')
    return runner.metrics.nodes['source'].frames_out, elapsed


def api_run(graph: Path, frames: list, params: dict, loop: bool) -> tuple[int, float]:
    with webcam_app.open(graph, fallback=False, **params) as p:
        t0 = time.perf_counter()
        if loop:
            n = sum(1 for frame in frames if p(frame) is not None)
        else:
            n = sum(1 for _ in p.stream(frames))
        return n, time.perf_counter() - t0


def best(run: Callable[[], tuple[int, float]], repeat: int) -> dict[str, float]:
    runs = [run() for _ in range(repeat)]
    frames, elapsed = min(runs, key=lambda r: r[1])
    return {'frames': frames, 'fps': frames / elapsed, 'all_fps': [n / s for n, s in runs]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--graph', default=str(ROOT / 'graphs' / 'body.yaml'))
    p.add_argument('--frames', type=int, default=30)
    p.add_argument('--objects', type=int, default=3, help='people (boxes) posed per frame')
    p.add_argument('--threads', type=int, default=1, help='torch threads per model node')
    p.add_argument('--repeat', type=int, default=2)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    params = model_params(args.objects, args.threads)
    graph = Path(args.graph)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video = make_video(folder / 'clip.avi', args.frames)
        frames = list(read_frames(video))
        results = {
            'CLI replay': best(lambda: cli_replay(graph, video, params, folder), args.repeat),
            'p.stream(frames)': best(lambda: api_run(graph, frames, params, False), args.repeat),
            'p(image) loop': best(lambda: api_run(graph, frames, params, True), args.repeat),
        }
    stream = results['p.stream(frames)']['fps']
    print(f'{graph.name}: {args.frames} frames 640x480, {args.objects} boxes/frame, '
          f'{args.threads} torch thread(s) per model node, random weights, best of {args.repeat}')
    print(f'{"pipeline":<20}{"fps":>8}{"stream x":>10}   runs (fps)')
    for name, r in results.items():
        runs = ', '.join(f'{v:.2f}' for v in r['all_fps'])
        print(f'{name:<20}{r["fps"]:>8.2f}{stream / r["fps"]:>10.2f}   {runs}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
