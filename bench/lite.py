"""The lite hand graph's frames/s against a bare loop calling MediaPipe Hands on the same frames.

Run: python bench/lite.py [--frames 200] [--warmup 10]. Both sides process the same clip (made
from opencv-doc's handSrc.jpg by known shifts, scales and rotations), one after the other in
the same process, with fresh models; the first ``--warmup`` frames are left out of both timings.

* memory: [MemoryFrames -> MediaPipeHands -> Timestamps] in replay mode, against
  ``for image in frames: hands.process(cvtColor(image))``. The ratio is the runtime's overhead.
* file: [VideoSource(clip.avi) -> MediaPipeHands -> Timestamps], against a loop that reads the
  same file with cv2.VideoCapture and calls MediaPipe Hands. Decoding runs on the source's own
  thread in the graph, so pipelining can win back some of the overhead here.

The goal is graph / bare >= 0.95, that is at most 5 % runtime overhead.
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))

import nodes  # noqa: E402,F401  (registers VideoSource and MediaPipeHands)
from tests.footage import hand_clip, write_clip  # noqa: E402
from webcam_app import EOS, Frame, Node, load_graph, run_graph  # noqa: E402

from video import read_frames  # noqa: E402  (bench/video.py)

log = logging.getLogger(__name__)


class MemoryFrames(Node):
    """Frames from a list in memory (set ``images`` after building the graph)."""

    inputs: dict = {}

    def __init__(self) -> None:
        self.images: list[np.ndarray] = []
        self.i = 0
        self.mode_hint = 'replay'

    def process(self) -> Frame | Any:
        if self.i >= len(self.images):
            return EOS
        self.i += 1
        return Frame(frame_id=self.i - 1, image=self.images[self.i - 1])


class Timestamps(Node):
    """A sink that records when each frame arrives and how many hands it holds."""

    outputs = ()

    def __init__(self) -> None:
        self.times: list[float] = []
        self.hands: list[int] = []
        self.tips: list[np.ndarray] = []

    def process(self, frame: Frame) -> None:
        self.times.append(time.perf_counter())
        self.hands.append(len(frame.objects))
        self.tips.append(frame.objects[0].keypoints[4::4] if frame.objects else np.zeros((5, 2)))


def fps(times: list[float], warmup: int) -> tuple[float, float]:
    """Frames per second after the first ``warmup`` frames, from their finish times: over the
    whole run, and from the median frame period (robust to a busy machine's stalls)."""
    times = times[warmup:]
    return (len(times) - 1) / (times[-1] - times[0]), 1.0 / float(np.median(np.diff(times)))


def run_graph_once(source: dict, images: list[np.ndarray] | None) -> Timestamps:
    graph = load_graph({'name': 'lite-bench', 'mode': 'replay', 'nodes': [
        {'name': 'source', **source, 'outputs': {'frame': 'frames'}},
        {'name': 'hands', 'type': 'MediaPipeHands', 'inputs': {'frame': 'frames'},
         'outputs': {'frame': 'hands'}},
        {'name': 'sink', 'type': 'Timestamps', 'inputs': {'frame': 'hands'}}]})
    if images is not None:
        graph.nodes['source'].node.images = images
    runner = run_graph(graph, timeout=600)
    if runner.exit_code != 0:
        raise RuntimeError(f'the graph failed: {runner.errors}')
    return graph.nodes['sink'].node


def bare_loop(images: Any) -> tuple[list[float], list[int], list[np.ndarray]]:
    """Calls MediaPipe Hands (the node's defaults) on each image; returns finish times."""
    import mediapipe as mp
    times, hands, tips = [], [], []
    with mp.solutions.hands.Hands(static_image_mode=False, max_num_hands=2, model_complexity=1,
                                  min_detection_confidence=0.5,
                                  min_tracking_confidence=0.5) as solution:
        for image in images:
            h, w = image.shape[:2]
            result = solution.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
            found = result.multi_hand_landmarks or []
            times.append(time.perf_counter())
            hands.append(len(found))
            tips.append(np.array([(p.x * w, p.y * h) for p in found[0].landmark[4::4]],
                                 np.float32) if found else np.zeros((5, 2)))
    return times, hands, tips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--frames', type=int, default=200)
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--repeats', type=int, default=3,
                        help='alternate bare loop and graph this many times; keep the best of each')
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    images = list(hand_clip(args.frames).frames)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        video = write_clip(images, Path(tmp) / 'clip.avi', fps=30)
        cases = [('memory', {'type': 'MemoryFrames'}, images, lambda: images),
                 ('file', {'type': 'VideoSource', 'input': str(video)}, None,
                  lambda: read_frames(video))]
        for label, source, in_memory, bare_images in cases:
            bare, graph, same = (0.0, 0.0), (0.0, 0.0), True
            for _ in range(args.repeats):
                bare_times, bare_hands, bare_tips = bare_loop(bare_images())
                sink = run_graph_once(source, in_memory)
                same &= (sink.hands == bare_hands and all(
                    np.array_equal(a, b) for a, b in zip(sink.tips, bare_tips)))
                bare = tuple(map(max, bare, fps(bare_times, args.warmup)))
                graph = tuple(map(max, graph, fps(sink.times, args.warmup)))
            rows.append((label, bare, graph, sum(h > 0 for h in sink.hands), len(sink.hands),
                         same))
    print(f'MediaPipe Hands on {args.frames} frames of {images[0].shape[1]}x'
          f'{images[0].shape[0]} (first {args.warmup} left out), replay mode, '
          f'best of {args.repeats}')
    print(f'{"input":8} {"fps from":14} {"bare loop":>9} {"graph":>7} {"ratio":>6}  hands    '
          'same output')
    for label, bare, graph, found, total, same in rows:
        for i, how in enumerate(('whole run', 'median period')):
            print(f'{label:8} {how:14} {bare[i]:9.1f} {graph[i]:7.1f} {graph[i] / bare[i]:6.3f}  '
                  f'{found}/{total}  {same}')
    ratio = min(graph[0] / bare[0] for _, bare, graph, *_ in rows)
    print(f'ratio (graph / bare loop, whole run, worst input): {ratio:.3f}  '
          f'({"meets" if ratio >= 0.95 else "misses"} the 0.95 goal)')


if __name__ == '__main__':
    main()
