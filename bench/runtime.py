"""Runtime benchmarks: buffer-hop latency, no-op chain throughput, pipelining, live overload.

Run: python bench/runtime.py [--overload-seconds 120]; the figures go in bench/README.md.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))

from webcam_app import EOS, Frame, Node, load_graph, run_graph  # noqa: E402
from webcam_app.metrics import percentile  # noqa: E402

IMAGE = np.zeros((480, 640, 3), np.uint8)
WORK = os.urandom(1 << 21)   # 2 MiB: hashing it releases the GIL


class BenchSource(Node):
    """640x480 frames, as fast as possible or at a fixed rate."""

    inputs = {}

    def __init__(self, n: int = 1000, fps: float = 0.0):
        self.n, self.fps, self.i = n, fps, 0
        self._tick, self._next = threading.Event(), time.monotonic()

    def process(self):
        if self.n >= 0 and self.i >= self.n:
            return EOS
        if self.fps:
            self._next += 1 / self.fps
            self._tick.wait(max(0.0, self._next - time.monotonic()))
        self.i += 1
        return Frame(frame_id=self.i - 1, image=IMAGE)


class NoOp(Node):
    def process(self, frame):
        return frame


class Hash(Node):
    """Equal-cost, GIL-releasing work: sha256 over 2 MiB, `rounds` times (~1.4 ms each)."""

    def __init__(self, rounds: int = 1):
        self.rounds = rounds

    def process(self, frame):
        for _ in range(self.rounds):
            hashlib.sha256(WORK).digest()
        return frame


class Busy(Node):
    """Work that takes `seconds` (GIL released), to overload a live graph."""

    def __init__(self, seconds: float = 0.05):
        self.seconds, self._event = seconds, threading.Event()

    def process(self, frame):
        self._event.wait(self.seconds)
        return frame


class Latency(Node):
    """A sink that records (capture time, end-to-end latency) for every frame."""

    outputs = ()
    records: list = []

    def process(self, frame):
        now = time.monotonic()
        Latency.records.append((now, now - frame.timestamp, frame.stamps))


def chain(middle: list[dict], mode: str = 'replay', **source) -> dict:
    nodes = [{'name': 'source', 'type': 'BenchSource', **source, 'outputs': {'frame': 'b0'}}]
    for i, node in enumerate(middle):
        nodes.append({'name': f'n{i}', **node, 'inputs': {'frame': f'b{i}'},
                      'outputs': {'frame': f'b{i + 1}'}})
    nodes.append({'name': 'sink', 'type': 'Latency', 'inputs': {'frame': f'b{len(middle)}'}})
    return {'name': 'bench', 'mode': mode, 'nodes': nodes}


def run(config: dict) -> tuple[float, list]:
    Latency.records = []
    graph = load_graph(config)
    start = time.perf_counter()
    runner = run_graph(graph)
    assert runner.exit_code == 0, runner.errors
    return time.perf_counter() - start, Latency.records


def hop_latency(frames: int) -> tuple[float, float]:
    """Exit of one no-op node to entry of the next, with empty buffers (paced source)."""
    _, records = run(chain([{'type': 'NoOp'}] * 4, n=frames, fps=500))
    hops = [b[1] - a[2] for _, _, stamps in records for a, b in zip(stamps, stamps[1:])]
    return percentile(hops, 50) * 1e3, percentile(hops, 99) * 1e3


def chain_throughput(frames: int) -> float:
    elapsed, records = run(chain([{'type': 'NoOp'}] * 5, n=frames))
    return len(records) / elapsed


def pipelining(frames: int, rounds: int) -> tuple[float, float]:
    serial_start = time.perf_counter()
    stage = Hash(rounds)
    for i in range(frames):
        frame = Frame(frame_id=i, image=IMAGE)
        for _ in range(3):
            frame = stage.process(frame)
    serial = frames / (time.perf_counter() - serial_start)
    elapsed, records = run(chain([{'type': 'Hash', 'rounds': rounds}] * 3, n=frames))
    return serial, len(records) / elapsed


def overload(seconds: float, windows: int = 6,
             stage_s: float = 0.05) -> tuple[list[tuple[float, float, int]], float]:
    """Live mode, a 30 fps source into a slower stage: latency per time window, and the
    stage's frames per second."""
    fps = 30.0
    _, records = run(chain([{'type': 'Busy', 'seconds': stage_s}], mode='live',
                           n=int(seconds * fps), fps=fps))
    t0, span = records[0][0], (records[-1][0] - records[0][0]) / windows
    rows = []
    for w in range(windows):
        lat = [lat for t, lat, _ in records if t0 + w * span <= t < t0 + (w + 1) * span + 1e-9]
        rows.append((percentile(lat, 50) * 1e3, percentile(lat, 99) * 1e3, len(lat)))
    return rows, (len(records) - 1) / (records[-1][0] - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--frames', type=int, default=20000)
    p.add_argument('--overload-seconds', type=float, default=120.0)
    args = p.parse_args()
    print(f'cores: {os.cpu_count()}, python {sys.version.split()[0]}')
    p50, p99 = hop_latency(2000)
    print(f'| buffer hop latency, 640x480, no-op nodes | p50 {p50:.3f} ms | p99 {p99:.3f} ms '
          '| target p50 <= 0.1 ms, p99 <= 1 ms |')
    fps = chain_throughput(args.frames)
    print(f'| 5-node no-op chain throughput | {fps:,.0f} frames/s | | target >= 5,000 |')
    serial, piped = pipelining(200, 3)
    print(f'| 3 equal GIL-releasing stages | serial {serial:.1f} fps | graph {piped:.1f} fps '
          f'| speed-up {piped / serial:.2f}x (target >= 1.8x) |')
    rows, _ = overload(args.overload_seconds)
    print(f'| live overload, 30 fps into a 20 fps stage, {args.overload_seconds:.0f} s '
          '| window: p50 / p99 ms (frames) |')
    for i, (a, b, n) in enumerate(rows):
        print(f'|   window {i + 1}/{len(rows)} | {a:.1f} | {b:.1f} | {n} |')


if __name__ == '__main__':
    main()
