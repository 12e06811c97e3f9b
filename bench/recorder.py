"""Recorder: CPU per frame and file size at 640x480, PyAV (H.264, MJPG) against OpenCV's writer.

CPU is the process's CPU time (every thread, the encoder's own included: ``time.process_time``),
not wall time, per frame written, colour conversion and muxing included. The footage is real:
opencv-doc's vtest.avi (pedestrians, 768x576) scaled to 640x480, played as 30 fps, or
(``--footage pan``) a photo moved like a handheld camera. The last
rows run the Recorder node itself, fed at 30 fps in live mode for ``--seconds``, and report its
drops: whether it keeps up with a live graph.

Run: python bench/recorder.py [--frames 300] [--seconds 10] [--footage vtest|pan]; the figures
go in bench/README.md.
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

from nodes.io.recorder import Recorder  # noqa: E402
from nodes.io.video_file import VideoFile  # noqa: E402
from tests.footage import affine_clip, photo, photo_path  # noqa: E402
from webcam_app import Frame, NodeHarness  # noqa: E402

FPS, SIZE = 30.0, (640, 480)


def footage(n: int, kind: str) -> list[np.ndarray]:
    """``vtest``: a still camera over a street; ``pan``: a photo of a person (messi5.jpg) that
    shifts, turns and zooms every frame, like a handheld camera (harder for the encoder)."""
    if kind == 'pan':
        image = cv2.resize(photo('messi5.jpg'), SIZE, interpolation=cv2.INTER_AREA)
        return list(affine_clip(image, n=n, max_shift=(60, 40), max_angle=10.0).frames)
    capture, frames = cv2.VideoCapture(str(photo_path('vtest.avi'))), []
    while len(frames) < n:
        ok, image = capture.read()
        if not ok:
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        frames.append(cv2.resize(image, SIZE, interpolation=cv2.INTER_AREA))
    capture.release()
    return frames


def opencv(path: Path, fourcc: str, frames: list[np.ndarray]) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), FPS, SIZE)
    for image in frames:
        writer.write(image)
    writer.release()


def pyav(path: Path, codec: str, frames: list[np.ndarray], **settings) -> None:
    writer = VideoFile(path, codec, FPS, SIZE, **settings)
    for i, image in enumerate(frames):
        writer.write(image, i / FPS)
    writer.close()


def cpu_ms(write, frames: list[np.ndarray]) -> float:
    start = time.process_time()
    write(frames)
    return (time.process_time() - start) / len(frames) * 1e3


def psnr(path: Path, frames: list[np.ndarray]) -> float:
    """Mean PSNR (dB) of the file's frames, read back by OpenCV, against what was written."""
    capture, values = cv2.VideoCapture(str(path)), []
    for original in frames:
        ok, image = capture.read()
        if not ok:
            break
        values.append(cv2.PSNR(original, image))
    capture.release()
    return float(np.mean(values)) if len(values) == len(frames) else float('nan')


def live(path: Path, frames: list[np.ndarray], seconds: float) -> tuple[float, int, int]:
    """The Recorder node fed at 30 fps in live mode: (CPU ms per frame, written, dropped)."""
    n = int(seconds * FPS)
    with NodeHarness(Recorder, run_mode='live', path=str(path)) as h:
        start, cpu = time.monotonic(), time.process_time()
        for i in range(n):
            due = start + i / FPS
            time.sleep(max(0.0, due - time.monotonic()))
            h.feed(frame=Frame(frame_id=i, image=frames[i % len(frames)], timestamp=due,
                               meta={'fps': FPS}))
    cpu = time.process_time() - cpu
    return cpu / n * 1e3, h.node.written, h.node.dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--frames', type=int, default=300)
    parser.add_argument('--seconds', type=float, default=10.0)
    parser.add_argument('--footage', choices=('vtest', 'pan'), default='vtest')
    args = parser.parse_args()
    frames = footage(args.frames, args.footage)
    cases = [
        ('OpenCV cv2.VideoWriter, .mp4 mp4v (before)', 'a.mp4', lambda p, f: opencv(p, 'mp4v', f)),
        ('OpenCV cv2.VideoWriter, .avi MJPG (before)', 'a.avi', lambda p, f: opencv(p, 'MJPG', f)),
    ]
    for preset in ('ultrafast', 'superfast', 'veryfast', 'faster'):
        cases.append((f'PyAV .mp4 libx264 {preset}, crf 23' + (' (default)' if preset ==
                                                              'veryfast' else ''),
                      f'{preset}.mp4', lambda p, f, s=preset: pyav(p, 'libx264', f, preset=s)))
    cases += [('PyAV .mkv libx264 veryfast, crf 23 (default)', 'b.mkv',
               lambda p, f: pyav(p, 'libx264', f)),
              ('PyAV .avi MJPG, quality 3 (default)', 'b.avi', lambda p, f: pyav(p, 'mjpeg', f)),
              ('PyAV .mp4 mpeg4 (codec: mp4v), quality 3', 'c.mp4',
               lambda p, f: pyav(p, 'mpeg4', f))]
    seconds = len(frames) / FPS
    print(f'{len(frames)} frames of {args.footage} at 640x480, written as {FPS:.0f} fps\n')
    print('| writer | CPU ms/frame | share of one core at 30 fps | kB per second | PSNR dB |')
    print('|---|---:|---:|---:|---:|')
    with tempfile.TemporaryDirectory() as tmp:
        for label, name, write in cases:
            path = Path(tmp) / name
            ms = cpu_ms(lambda f: write(path, f), frames)
            print(f'| {label} | {ms:.2f} | {ms * FPS / 10:.0f} % | '
                  f'{path.stat().st_size / 1024 / seconds:.0f} | {psnr(path, frames):.1f} |')
        print(f'\nThe Recorder node, live, fed at 30 fps for {args.seconds:.0f} s:\n')
        print('| file | CPU ms/frame (whole process) | written | dropped |')
        print('|---|---:|---:|---:|')
        for name in ('live.mp4', 'live.avi'):
            ms, written, dropped = live(Path(tmp) / name, frames, args.seconds)
            print(f'| {name} | {ms:.2f} | {written} | {dropped} |')


if __name__ == '__main__':
    main()
