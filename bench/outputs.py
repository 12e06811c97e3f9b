"""Output sinks: cost per 640x480 frame of each --out / --pred-out form, side by side.

A folder of images (MMPoseInferencer's vis_out_dir) against one video file, and a folder of
per-image JSON (its pred_out_dir) against one JSON file. Each sink runs in the single-node
harness on the calling thread; the total includes close() (the recorder's writer thread
finishing its queue), so it is the time the run spends on its outputs.

Run: python bench/outputs.py [--frames 100]; the figures go in bench/README.md.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))

from nodes.io.images import ImageWriter  # noqa: E402
from nodes.io.predictions import PredictionWriter  # noqa: E402
from nodes.io.recorder import Recorder  # noqa: E402
from webcam_app import Frame, NodeHarness, Object  # noqa: E402


def frames(n: int, still: bool) -> list[Frame]:
    """Textured 640x480 frames (so codecs do real work), each with two 17-keypoint poses."""
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), (7, 7), 0)
    poses = tuple(Object(bbox=(100 + 200 * i, 50, 250 + 200 * i, 450), label='person',
                         keypoints=rng.uniform(50, 450, (17, 2)).astype(np.float32),
                         keypoint_scores=rng.uniform(0, 1, 17).astype(np.float32))
                  for i in range(2))
    out = []
    for i in range(n):
        meta = {'path': f'/photos/img{i}.jpg', 'input_name': f'img{i}.jpg'} if still else {
            'input_name': 'clip.mp4', 'fps': 30.0}
        out.append(Frame(frame_id=i, image=np.roll(base, i * 4, axis=1), objects=poses,
                         meta=meta))
    return out


def measure(sink: type, path: str, batch: list[Frame]) -> tuple[float, float, float]:
    """(median ms in process, p95 ms, total ms per frame including close)."""
    times = []
    start = time.perf_counter()
    with NodeHarness(sink, path=path) as h:
        for frame in batch:
            t0 = time.perf_counter()
            h.feed(frame=frame)
            times.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    return (float(np.median(times)) * 1e3, float(np.percentile(times, 95)) * 1e3,
            total / len(batch) * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--frames', type=int, default=100)
    args = parser.parse_args()
    stills, video = frames(args.frames, True), frames(args.frames, False)
    cases = [('--out out.mp4 (Recorder, H.264)', Recorder, 'out.mp4', video),
             ('--out out.avi (Recorder, MJPG)', Recorder, 'out.avi', video),
             ('--out out/ (ImageWriter, .jpg)', ImageWriter, 'out/', stills),
             ('--out out/ (ImageWriter, video frames)', ImageWriter, 'frames/', video),
             ('--pred-out p.json (one file)', PredictionWriter, 'p.json', stills),
             ('--pred-out preds/ (a JSON per image)', PredictionWriter, 'preds/', stills),
             ('--pred-out preds/ (video: one JSON)', PredictionWriter, 'vpreds/', video)]
    print(f'{args.frames} frames of 640x480, 2 poses of 17 keypoints each\n')
    print(f'| {"output":<40} | process median ms | p95 ms | total ms/frame |')
    print(f'|{"-" * 42}|---:|---:|---:|')
    with tempfile.TemporaryDirectory() as tmp:
        for label, sink, path, batch in cases:
            median, p95, total = measure(sink, str(Path(tmp) / path) + (
                '/' if path.endswith('/') else ''), batch)
            print(f'| {label:<40} | {median:.2f} | {p95:.2f} | {total:.2f} |')


if __name__ == '__main__':
    main()
