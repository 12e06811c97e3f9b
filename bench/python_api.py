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
after the other. Each figure is the best of ``--repeat`` fresh runs (models built anew),
interleaved with the others'.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

import webcam_app  # noqa: E402
from webcam_app import Runner  # noqa: E402
from webcam_app.app.cli import build_parser, prepare_graph  # noqa: E402

from models import make_video  # noqa: E402  (bench/models.py)
from video import read_frames  # noqa: E402  (bench/video.py)

ROOT = Path(__file__).resolve().parent.parent


class Clock:
    """Wall time of a run, and the CPU time this process spent meanwhile (all its threads)."""

    cores: dict[float, float] = {}   # elapsed s -> cores used on average, for every run

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def stop(self) -> float:
        elapsed = time.perf_counter() - self.wall
        Clock.cores[elapsed] = (time.process_time() - self.cpu) / elapsed
        return elapsed


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
    clock = Clock()
    code = runner.wait()
    elapsed = clock.stop()
    if code:
        raise RuntimeError(f'the graph failed (exit code {code}): {runner.errors}')
    return runner.metrics.nodes['source'].frames_out, elapsed


STAGES: dict[float, dict[str, float]] = {}   # elapsed s -> model node -> median service ms


def api_run(graph: Path, frames: list, params: dict, loop: bool) -> tuple[int, float]:
    with webcam_app.open(graph, fallback=False, **params) as p:
        clock = Clock()
        if loop:
            n = sum(1 for frame in frames if p(frame) is not None)
        else:
            n = sum(1 for _ in p.stream(frames))
        elapsed = clock.stop()
        if not loop:
            nodes = p.metrics['nodes']
            STAGES[elapsed] = {name: nodes[name]['service_ms_p50'] for name in params}
        return n, elapsed


def rounds(runs: dict[str, Callable[[], tuple[int, float]]], repeat: int) -> dict[str, dict]:
    """Each run ``repeat`` times, interleaved (a, b, c, a, b, c, ...), so that a busy spell on
    a shared machine hits every pipeline alike; the best of each counts."""
    times: dict[str, list[tuple[int, float]]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            times[name].append(run())
    results = {}
    for name, runs_of in times.items():
        frames, elapsed = min(runs_of, key=lambda r: r[1])
        results[name] = {'frames': frames, 'fps': frames / elapsed, 'stages': STAGES.get(elapsed),
                         'cores': Clock.cores[elapsed], 'all_fps': [n / s for n, s in runs_of]}
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--graph', default=str(ROOT / 'graphs' / 'hand.yaml'))
    p.add_argument('--frames', type=int, default=30)
    p.add_argument('--objects', type=int, default=1, help='boxes posed per frame')
    p.add_argument('--threads', type=int, default=1, help='torch threads per model node')
    p.add_argument('--repeat', type=int, default=2)
    p.add_argument('--set', dest='overrides', action='append', default=[],
                   metavar='NODE.KEY=VALUE', help='another node parameter, as the CLI takes it')
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format='%(levelname)s %(name)s: %(message)s')
    logging.captureWarnings(True)   # library warnings (random weights, deprecations) are noise
    params = model_params(args.objects, args.threads)
    for text in args.overrides:
        target, _, value = text.partition('=')
        node, _, key = target.partition('.')
        params.setdefault(node, {})[key] = yaml.safe_load(value)
    graph = Path(args.graph)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video = make_video(folder / 'clip.avi', args.frames)
        frames = list(read_frames(video))
        load = os.getloadavg()[0]
        results = rounds({
            'CLI replay': lambda: cli_replay(graph, video, params, folder),
            'p.stream(frames)': lambda: api_run(graph, frames, params, False),
            'p(image) loop': lambda: api_run(graph, frames, params, True),
        }, args.repeat)
        load = max(load, os.getloadavg()[0])
    stream = results['p.stream(frames)']['fps']
    extra = ''.join(f', {o}' for o in args.overrides)
    print(f'{graph.name}{extra}: {args.frames} frames 640x480, {args.objects} boxes/frame, '
          f'{args.threads} torch thread(s) per model node, random weights, best of {args.repeat}, '
          f'{os.cpu_count()} cores, load average up to {load:.1f}')
    print(f'{"pipeline":<20}{"fps":>8}{"stream x":>10}{"cores used":>12}   runs (fps)')
    for name, r in results.items():
        runs = ', '.join(f'{v:.2f}' for v in r['all_fps'])
        print(f'{name:<20}{r["fps"]:>8.2f}{stream / r["fps"]:>10.2f}{r["cores"]:>12.2f}   {runs}')
    print('median service ms per frame (best stream run): ' + ', '.join(
        f'{name} {ms:.0f}' for name, ms in results['p.stream(frames)']['stages'].items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
