"""Per-frame cost of the visualizer, each effect, the tracker and the smoother, on 640x480 frames.

Scenes: 2 hands (mmpose OneHand10K meta, one of them pinching) and 5 bodies (COCO-17 and
BlazePose-33 metas), moving a little every frame so trails and filters do real work.
Run: python bench/visualizer.py [--frames 300]. Prints a table (median and p95 ms per frame).
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))

from nodes.draw.effects import Background  # noqa: E402
from nodes.draw.effects_face import BigEye, Sunglasses  # noqa: E402
from nodes.draw.effects_hand import FingertipTrail, PinchDetector  # noqa: E402
from nodes.tracking.tracker import Smoother, Tracker  # noqa: E402
from nodes.draw.visualizer import PoseVisualizer  # noqa: E402
from tests.nodes.metas import (blazepose33_meta, body_object, coco17_meta,  # noqa: E402
                               hand_object, onehand10k_meta)
from webcam_app import Frame, NodeHarness  # noqa: E402
from webcam_app.metrics import percentile  # noqa: E402

WIDTH, HEIGHT = 640, 480


def _image(seed: int = 0) -> np.ndarray:
    """A textured picture (smooth noise), so blurs and warps have something to do."""
    small = np.random.default_rng(seed).integers(0, 256, (HEIGHT // 8, WIDTH // 8, 3), np.uint8)
    return cv2.resize(small, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)


def hand_frames(n: int) -> list[Frame]:
    meta, image = onehand10k_meta(), _image(1)
    frames = []
    for t in range(n):
        dx = 40 * np.sin(t / 10)
        objs = (hand_object(meta, (190 + dx, 240), 200, angle=10, track_id=0),
                hand_object(meta, (450 - dx, 250), 180, angle=-15, pinch=True, track_id=1))
        frames.append(Frame(t, image=image, timestamp=t / 30, objects=objs, dataset_meta=meta,
                            meta={'source_timestamp_ms': 1000 * t / 30}))
    return frames


def body_frames(n: int, meta_fn: Callable[[], dict]) -> list[Frame]:
    meta, image = meta_fn(), _image(2)
    frames = []
    for t in range(n):
        dx = 10 * np.sin(t / 10)
        objs = tuple(body_object(meta, (70 + 125 * i + dx, 250), 300 + 20 * (i % 2), track_id=i)
                     for i in range(5))
        frames.append(Frame(t, image=image, timestamp=t / 30, objects=objs, dataset_meta=meta,
                            meta={'source_timestamp_ms': 1000 * t / 30}))
    return frames


def measure(node: Any, frames: list[Frame], count: int, warmup: int = 20) -> list[float]:
    """Milliseconds per process() call over ``count`` frames (cycling), after a warm-up."""
    times = []
    with NodeHarness(node) as h:
        for i in range(warmup + count):
            frame = frames[i % len(frames)]
            t0 = time.perf_counter()
            h.feed(frame=frame)
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1000)
    return times


def cases() -> list[tuple[str, str, Callable[[], Any]]]:
    """(scene, label, node factory)."""
    return [
        ('2 hands', 'PoseVisualizer', PoseVisualizer),
        ('2 hands', 'PoseVisualizer (no boxes/labels)',
         lambda: PoseVisualizer(draw_bbox=False, show_labels=False)),
        ('2 hands', 'FingertipTrail', FingertipTrail),
        ('2 hands', 'PinchDetector', PinchDetector),
        ('2 hands', 'Background blur', lambda: Background(keep='boxes')),
        ('2 hands', 'Tracker iou', Tracker),
        ('2 hands', 'Tracker keypoints', lambda: Tracker(match='keypoints')),
        ('2 hands', 'Smoother', Smoother),
        ('5 bodies COCO-17', 'PoseVisualizer', PoseVisualizer),
        ('5 bodies COCO-17', 'PoseVisualizer openpose',
         lambda: PoseVisualizer(skeleton_style='openpose')),
        ('5 bodies COCO-17', 'Sunglasses', Sunglasses),
        ('5 bodies COCO-17', 'BigEye', BigEye),
        ('5 bodies COCO-17', 'Background blur', lambda: Background(keep='boxes')),
        ('5 bodies COCO-17', 'Background color', lambda: Background(mode='color', keep='boxes')),
        ('5 bodies COCO-17', 'Tracker iou', Tracker),
        ('5 bodies COCO-17', 'Smoother', Smoother),
        ('5 bodies BlazePose-33', 'PoseVisualizer', PoseVisualizer),
        ('5 bodies BlazePose-33', 'Sunglasses', Sunglasses),
        ('5 bodies BlazePose-33', 'BigEye', BigEye),
        ('5 bodies BlazePose-33', 'FingertipTrail', FingertipTrail),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--frames', type=int, default=300, help='timed frames per case')
    args = parser.parse_args(argv)
    scenes = {'2 hands': hand_frames(60), '5 bodies COCO-17': body_frames(60, coco17_meta),
              '5 bodies BlazePose-33': body_frames(60, blazepose33_meta)}
    print(f'# {platform.processor() or platform.machine()}, python {platform.python_version()}, '
          f'opencv {cv2.__version__} ({cv2.getNumThreads()} threads), numpy {np.__version__}, '
          f'{WIDTH}x{HEIGHT}, {args.frames} frames per case')
    print(f'| {"scene":<22} | {"node":<34} | {"median ms":>9} | {"p95 ms":>7} |')
    print(f'|{"-" * 24}|{"-" * 36}|{"-" * 11}:|{"-" * 8}:|')
    for scene, label, factory in cases():
        times = measure(factory(), scenes[scene], args.frames)
        print(f'| {scene:<22} | {label:<34} | {percentile(times, 50):>9.3f} | '
              f'{percentile(times, 95):>7.3f} |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
