"""Live mode: the hand graph against a bare MediaPipe loop on the same realtime 30 fps clip; a
live MJPEG stream restarted mid-run; and the flow limiter under overload.

Run: python bench/live.py [--seconds 10] [--overload-seconds 20]; the figures go in
bench/README.md.

* hand: ``graphs/hand_lite.yaml`` in live mode (headless) reads a 30 fps clip made from
  opencv-doc's handSrc.jpg, paced like a camera. The bare loop reads the same frames, paced the
  same way (a frame it was too busy to read is lost, as with a camera), calls MediaPipe Hands,
  draws the keypoints, and "shows" the frame. Reported: shown fps, model fps, video latency
  (capture to display) and result age (capture of the frame the drawn keypoints come from, to
  display), p50 and p99. In the bare loop the result age is its latency.
* stream: a ``VideoSource`` reads an MJPEG stream served over HTTP on the loopback by this
  script; the server is killed mid-run and restarted a second later. Reported: time from the
  restart to the first frame.
* overload: a 30 fps source into one stage of 60 and of 100 ms: latency per window, p99 against
  the stage time, and the stage's fps against 1 / stage time.
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

import cv2
import numpy as np

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

import nodes  # noqa: E402,F401  (registers the built-in nodes)
from nodes.draw.visualizer import PoseVisualizer, draw_poses  # noqa: E402
from nodes.models.mediapipe.meta import HAND_META  # noqa: E402
from tests.footage import hand_clip, write_clip  # noqa: E402
from tests.mjpeg_server import MjpegServer  # noqa: E402
from webcam_app import Frame, Node, Runner, build_graph, load_config, load_graph  # noqa: E402
from webcam_app.metrics import percentile  # noqa: E402

from runtime import overload  # noqa: E402,F401  (bench/runtime.py; registers BenchSource, Busy)

FPS = 30.0


def ms(samples: Any, q: float) -> float:
    return percentile(list(samples), q) * 1e3


class TracedVisualizer(PoseVisualizer):
    """PoseVisualizer that notes, for each frame it draws, where the drawn results' age comes
    from: capture to model start (waiting for a slot), the model, and model end to drawing."""

    parts: list[tuple[float, float, float]] = []

    def process(self, frame: Frame, poses: Frame | None = None) -> Frame:
        if poses is not None:
            model = next(s for s in poses.stamps if s[0] == 'hands')
            now = time.monotonic()
            TracedVisualizer.parts.append((model[1] - poses.timestamp, model[2] - model[1],
                                           now - model[2]))
        return super().process(frame, poses)


def hand_graph(video: Path, seconds: float) -> dict[str, float]:
    config = load_config(ROOT / 'graphs/hand_lite.yaml')
    next(n for n in config.data['nodes'] if n['name'] == 'visualizer')['type'] = \
        'TracedVisualizer'
    TracedVisualizer.parts = []
    graph = build_graph(config, mode='live',
                        set_all={'input': str(video), 'realtime': True, 'headless': True})
    runner = Runner(graph, metrics_interval=3600).start()
    runner.wait(timeout=seconds + 30)
    end = time.monotonic()    # the end of the clip: the graph drains in milliseconds
    stats = runner.metrics.nodes
    display, hands = stats['display'], stats['hands']

    def rate(s: Any) -> float:
        return s.frames_in / (end - s.started)

    return {'shown fps': rate(display),
            'model fps': rate(hands), 'model ms p50': ms(hands.service, 50),
            'latency p50': ms(display.latency, 50), 'latency p99': ms(display.latency, 99),
            'age p50': ms(display.result_age, 50), 'age p99': ms(display.result_age, 99),
            'skipped at source': stats['source'].skipped_at_source,
            'parts': [ms(part, 50) for part in zip(*TracedVisualizer.parts)]}


def bare_loop(images: list[np.ndarray]) -> dict[str, float]:
    """Read the newest frame due (a camera), infer, draw, show; as fast as it can."""
    import mediapipe as mp
    latencies, service, shown = [], [], 0
    tick = threading.Event()
    with mp.solutions.hands.Hands(static_image_mode=False, max_num_hands=2, model_complexity=1,
                                  min_detection_confidence=0.5,
                                  min_tracking_confidence=0.5) as solution:
        start = time.monotonic()
        last = -1
        while True:
            index = int((time.monotonic() - start) * FPS)   # the newest frame captured
            if index == last:                               # wait for the next one
                tick.wait(start + (index + 1) / FPS - time.monotonic())
                continue
            if index >= len(images):
                break
            last, captured, image = index, start + index / FPS, images[index]
            t0 = time.monotonic()
            result = solution.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
            service.append(time.monotonic() - t0)
            h, w = image.shape[:2]
            drawn = image.copy()
            for hand in result.multi_hand_landmarks or []:
                points = np.array([(p.x * w, p.y * h) for p in hand.landmark], np.float32)
                draw_poses(drawn, [_hand(points)], HAND_META)
            latencies.append(time.monotonic() - captured)
            shown += 1
        elapsed = time.monotonic() - start
    return {'shown fps': shown / elapsed, 'model fps': shown / elapsed,
            'model ms p50': ms(service, 50),
            'latency p50': ms(latencies, 50), 'latency p99': ms(latencies, 99),
            'age p50': ms(latencies, 50), 'age p99': ms(latencies, 99)}


def _hand(points: np.ndarray) -> Any:
    from webcam_app import Object
    x1, y1 = points.min(0)
    x2, y2 = points.max(0)
    return Object(bbox=(x1, y1, x2, y2), label='hand', keypoints=points,
                  keypoint_scores=np.ones(len(points), np.float32))


class Arrivals(Node):
    """A sink that records each frame's capture time."""

    outputs = ()

    def __init__(self) -> None:
        self.times: list[float] = []

    def process(self, frame: Frame) -> None:
        self.times.append(frame.timestamp)


def synthetic(model_s: float, seconds: float) -> dict[str, float]:
    """The hand graph's layout with a stand-in model that takes ``model_s`` (GIL released), so
    the runtime's own share shows on a busy machine; the bare loop equivalent is its latency."""
    n = int(seconds * FPS)
    graph = load_graph({'name': 'synthetic', 'mode': 'live', 'nodes': [
        {'name': 'source', 'type': 'BenchSource', 'n': n, 'fps': FPS,
         'outputs': {'frame': ['video', 'model_in']}},
        {'name': 'model', 'type': 'Busy', 'seconds': model_s, 'inputs': {'frame': 'model_in'},
         'outputs': {'frame': 'poses'}},
        {'name': 'visualizer', 'type': 'PoseVisualizer',
         'inputs': {'frame': 'video', 'poses': 'poses'}, 'outputs': {'frame': 'shown'}},
        {'name': 'display', 'type': 'Display', 'headless': True, 'inputs': {'frame': 'shown'}}]})
    runner = Runner(graph, metrics_interval=3600).start()
    runner.wait(timeout=seconds + 30)
    end = time.monotonic()
    display, model = runner.metrics.nodes['display'], runner.metrics.nodes['model']
    return {'shown fps': display.frames_in / (end - display.started),
            'model fps': model.frames_in / (end - model.started),
            'latency p50': ms(display.latency, 50), 'age p50': ms(display.result_age, 50),
            'age p99': ms(display.result_age, 99)}


def stream_restart(down_s: float = 1.0) -> dict[str, float]:
    """An MJPEG stream killed after 2 s and restarted ``down_s`` later."""
    with MjpegServer(fps=FPS) as server:
        graph = load_graph({'name': 'stream', 'mode': 'live', 'nodes': [
            {'name': 'source', 'type': 'VideoSource', 'input': server.url,
             'outputs': {'frame': 'frames'}},
            {'name': 'sink', 'type': 'Arrivals', 'inputs': {'frame': 'frames'}}]})
        runner = Runner(graph, metrics_interval=3600).start()
        pause = threading.Event()
        pause.wait(2.0)
        server.stop()
        stopped = time.monotonic()
        pause.wait(down_s)
        server.start()
        restarted = server.started_at
        pause.wait(2.0)
        runner.stop('bench')
        runner.wait()
    times = graph.nodes['sink'].node.times
    after = [t for t in times if t > stopped]
    return {'frames': len(times), 'down s': restarted - stopped,
            'recovery s': (after[0] - restarted) if after else float('nan'),
            'fps after': (len(after) - 1) / (after[-1] - after[0]) if len(after) > 1 else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=10.0, help='length of the hand clip')
    parser.add_argument('--overload-seconds', type=float, default=20.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    images = list(hand_clip(int(args.seconds * FPS)).frames)
    with tempfile.TemporaryDirectory() as tmp:
        video = write_clip(images, Path(tmp) / 'clip.avi', fps=FPS)
        bare = bare_loop(images)
        graph = hand_graph(video, args.seconds)
    print(f'hand: {len(images)} frames at {FPS:.0f} fps, live, MediaPipe Hands')
    print(f'| {"":20} | {"bare loop":>9} | {"graph":>9} | {"ratio":>6} |')
    for key in ('shown fps', 'model fps', 'model ms p50', 'latency p50', 'latency p99',
                'age p50', 'age p99'):
        print(f'| {key:20} | {bare[key]:9.1f} | {graph[key]:9.1f} | '
              f'{graph[key] / bare[key]:6.2f} |')
    wait, model, after = graph['parts']
    print(f'graph result age, p50 of its parts: capture to model start {wait:.1f} ms (waiting '
          f'for a slot), model {model:.1f} ms, model end to drawing {after:.1f} ms')
    print(f'graph: {graph["skipped at source"]} frames skipped at the source; '
          f'result age p50 / bare latency p50: {graph["age p50"] / bare["latency p50"]:.2f} '
          '(goal <= 1.2); model fps ratio goal >= 0.95')
    for model_s in (0.021, 0.045):
        fake = synthetic(model_s, args.seconds)
        print(f'stand-in model of {model_s * 1e3:.0f} ms (sleeps), same layout: shown '
              f'{fake["shown fps"]:.1f} fps, model {fake["model fps"]:.1f} fps '
              f'(of {min(FPS, 1 / model_s):.1f}), video latency p50 {fake["latency p50"]:.1f} ms,'
              f' result age p50 {fake["age p50"]:.1f} ms, p99 {fake["age p99"]:.1f} ms')
    stream = stream_restart()
    print(f'stream: MJPEG over HTTP, down {stream["down s"]:.2f} s, first frame '
          f'{stream["recovery s"]:.3f} s after the restart (goal <= 0.5 s), then '
          f'{stream["fps after"]:.1f} fps')
    for stage in (0.06, 0.1):
        rows, fps = overload(args.overload_seconds, stage_s=stage)
        worst = max(p99 for _, p99, _ in rows)
        print(f'overload: 30 fps into a {stage * 1e3:.0f} ms stage, {args.overload_seconds:.0f} s:'
              f' p50 per window {" ".join(f"{p50:.0f}" for p50, _, _ in rows)} ms; worst p99 '
              f'{worst:.0f} ms = {worst / (stage * 1e3):.2f}x the stage (goal <= 1.5x); stage '
              f'{fps:.1f} fps of {1 / stage:.1f}')


if __name__ == '__main__':
    main()
