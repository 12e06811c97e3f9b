"""Per-frame cost of the 3D view (Pose3DView) beside a 640x480 video: 1, 2 and 5 people, and
the view orbiting every frame; the target is <= 5 ms per frame.

Run: python bench/view3d.py [--frames 300]. Prints a table (median and p95 ms per frame).
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))

from nodes.draw.view3d import Pose3DView  # noqa: E402
from nodes.models.lift.skeletons import H36M_META, points_3d, with_meta_3d  # noqa: E402
from nodes.models.mediapipe.meta import COCO_META  # noqa: E402
from tests.nodes.test_view3d import STANDING  # noqa: E402
from webcam_app import Frame, NodeHarness, Object  # noqa: E402
from webcam_app.metrics import percentile  # noqa: E402

WIDTH, HEIGHT = 640, 480
META = with_meta_3d(COCO_META, H36M_META)


def frames(n: int, people: int) -> list[Frame]:
    rng = np.random.default_rng(people)
    image = rng.integers(0, 256, (HEIGHT, WIDTH, 3), np.uint8)
    out = []
    for t in range(n):
        objs = tuple(Object(bbox=(0, 0, 10, 10), track_id=i,
                            keypoints=rng.uniform(0, 400, (17, 2)).astype(np.float32),
                            keypoint_scores=np.ones(17, np.float32),
                            extras=points_3d(STANDING + rng.normal(0, 0.02, STANDING.shape),
                                             np.ones(17)))
                     for i in range(people))
        out.append(Frame(t, image=image, objects=objs, dataset_meta=META))
    return out


def measure(n: int, people: int, orbit: bool, **params) -> tuple[float, float]:
    times = []
    with NodeHarness(Pose3DView, **params) as h:
        for frame in frames(n, people):
            if orbit:
                h.press('l')
            t0 = time.perf_counter()
            h.feed(frame=frame)
            times.append((time.perf_counter() - t0) * 1000)
    return percentile(times, 50), percentile(times, 95)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--frames', type=int, default=300)
    args = p.parse_args()
    print(f'# Pose3DView beside a {WIDTH}x{HEIGHT} video, {args.frames} frames, '
          f'{platform.processor() or platform.machine()}')
    print('| scene | median ms | p95 ms |\n|---|---|---|')
    for people, orbit, params in ((1, False, {}), (2, False, {}), (5, False, {}),
                                  (5, True, {}), (5, False, {'black_background': True})):
        med, p95 = measure(args.frames, people, orbit, **params)
        what = f'{people} people' + (', orbiting' if orbit else '') + \
            (', black_background' if params else '')
        print(f'| {what} | {med:.2f} | {p95:.2f} |')


if __name__ == '__main__':
    main()
