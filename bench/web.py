"""The web view under load: graph fps with 10 MJPEG viewers (one never reading) against none.

Run: python bench/web.py [--seconds 20] [--warmup 4]. Each case runs one graph twice in the
same process, first with the WebView and no viewer, then with 10 viewers on /stream.mjpg, of
which 9 read as fast as they can and 1 never reads a byte. Measured after ``--warmup`` s:

* fps: frames the WebView got per second (the graph's output rate), and the model's rate;
* memory: the process' RSS every second while the viewers watch (it must stay flat);
* shutdown: from ``Runner.stop()`` to every thread joined, with the 10 viewers connected.

Cases:
* lite: a camera-like 30 fps source (a hand clip, paced, looping), live mode, MediaPipe Hands,
  the pose visualizer and the WebView: what a user runs. The goal: fps within 5 %.
* unpaced: a replay of vtest.avi as fast as the CPU allows, straight into the WebView. Every
  core is busy, so the JPEG encoding (one per frame) competes with the graph: the worst case.
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).parents[1]))

import nodes  # noqa: E402,F401  (registers the built-in nodes)
from tests.footage import hand_clip, photo_path, write_clip  # noqa: E402
from tests.mjpeg import MjpegViewer, StalledViewer  # noqa: E402
from webcam_app import Runner, load_graph  # noqa: E402

WEB = {'port': 0, 'stall_timeout': 600.0}   # the viewer that never reads stays the whole run


def lite_graph(video: Path) -> dict:
    return {'name': 'lite', 'mode': 'live', 'nodes': [
        {'name': 'source', 'type': 'VideoSource', 'input': str(video), 'realtime': True,
         'loop': True, 'outputs': {'frame': ['video', 'model_in']}},
        {'name': 'hands', 'type': 'MediaPipeHands', 'inputs': {'frame': 'model_in'},
         'outputs': {'frame': 'poses'}},
        {'name': 'visualizer', 'type': 'PoseVisualizer',
         'inputs': {'frame': 'video', 'poses': 'poses'}, 'outputs': {'frame': 'drawn'}},
        {'name': 'web', 'type': 'WebView', **WEB, 'inputs': {'frame': 'drawn'}}]}


def unpaced_graph(video: Path) -> dict:
    return {'name': 'unpaced', 'mode': 'replay', 'nodes': [
        {'name': 'source', 'type': 'VideoSource', 'input': str(video), 'loop': True,
         'outputs': {'frame': 'frames'}},
        {'name': 'web', 'type': 'WebView', **WEB, 'inputs': {'frame': 'frames'}}]}


def start_viewers(url: str, n: int) -> tuple[list[Any], list[threading.Thread]]:
    """n - 1 viewers reading on threads of their own, and one that never reads."""
    def read(viewer: MjpegViewer) -> None:
        try:
            while True:
                viewer.read_jpeg()
        except (EOFError, OSError, ValueError):
            pass
    viewers: list[Any] = [MjpegViewer(url) for _ in range(n - 1)]
    threads = [threading.Thread(target=read, args=(v,), daemon=True) for v in viewers]
    for thread in threads:
        thread.start()
    return viewers + [StalledViewer(url)], threads


def measure(config: dict, viewers: int, seconds: float, warmup: float) -> dict[str, Any]:
    graph = load_graph(config)
    web = graph.nodes['web'].node
    runner = Runner(graph).start()
    if not runner.wait_ready(60):
        raise RuntimeError(f'the graph did not start: {runner.errors}')
    clients, threads = start_viewers(web.url, viewers) if viewers else ([], [])
    time.sleep(warmup)
    process, stats = psutil.Process(), runner.metrics.nodes
    model = 'hands' if 'hands' in stats else 'source'
    t0, web0, model0 = time.monotonic(), stats['web'].frames_in, stats[model].frames_out
    rss = []
    while time.monotonic() - t0 < seconds:
        rss.append(process.memory_info().rss / 2 ** 20)
        time.sleep(1.0)
    elapsed = time.monotonic() - t0
    fps = (stats['web'].frames_in - web0) / elapsed
    model_fps = (stats[model].frames_out - model0) / elapsed
    report = web.report()['web']
    stop = time.monotonic()
    runner.stop('bench')
    runner.wait()
    shutdown = time.monotonic() - stop
    for client in clients:
        client.close()
    for thread in threads:
        thread.join(2.0)
    return {'fps': fps, 'model_fps': model_fps, 'rss': rss, 'shutdown': shutdown,
            'web': report, 'exit': runner.exit_code}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=20.0)
    parser.add_argument('--warmup', type=float, default=4.0)
    parser.add_argument('--viewers', type=int, default=10)
    parser.add_argument('--repeats', type=int, default=2,
                        help='alternate no viewers and viewers this many times')
    parser.add_argument('--cases', nargs='+', default=['lite', 'unpaced'])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        clips = {'lite': (lite_graph, write_clip(list(hand_clip(60).frames),
                                                 Path(tmp) / 'hand.avi', fps=30)),
                 'unpaced': (unpaced_graph, photo_path('vtest.avi'))}
        print(f'{args.viewers} viewers (1 never reads) against none; {args.seconds:.0f} s each '
              f'after {args.warmup:.0f} s of warm-up')
        print(f'{"case":8} {"viewers":>7} {"web fps":>8} {"model fps":>9} '
              f'{"rss MB first/last/max":>22} {"encoded":>8} {"viewer drops":>12} '
              f'{"shutdown s":>10}')
        for case in args.cases:
            make, video = clips[case]
            best = {0: 0.0, args.viewers: 0.0}
            for _ in range(args.repeats):
                for n in best:
                    r = measure(make(video), n, args.seconds, args.warmup)
                    best[n] = max(best[n], r['fps'])
                    rss, web = r['rss'], r['web']
                    print(f'{case:8} {web["viewers"]:7d} {r["fps"]:8.1f} {r["model_fps"]:9.1f} '
                          f'{f"{rss[0]:.0f}/{rss[-1]:.0f}/{max(rss):.0f}":>22} '
                          f'{web["frames_encoded"]:8d} {web["viewer_drops"]:12d} '
                          f'{r["shutdown"]:10.2f}')
            print(f'{case}: web fps with {args.viewers} viewers / with none, best of '
                  f'{args.repeats}: {best[args.viewers] / best[0]:.3f}')


if __name__ == '__main__':
    main()
