"""Randomized start/stop runs of the app, every output validated: python bench/stress_stop.py.

Each run starts ``run_webcam.py`` on a generated video (graphs: a chain, a fan-out and
graphs/hand_lite.yaml; live and replay) and ends it one way: end of file, ``q`` (typed on stdin,
read by a node as Display reads keys), an exception in a node, SIGINT, SIGTERM or a double
SIGINT, at a random time, 40% of them in the first 300 ms (an exit time then counts from the
app's first log line: until then it is importing). Checked: the video plays in OpenCV when the
recorder got frames, each JSON parses, the predictions hold a record per frame the writer got,
no temporary file is left. Printed: hangs, exits over 2 s, wrong exit codes, invalid outputs.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
KINDS = ('eof', 'q', 'exception', 'sigint', 'sigterm', 'double_sigint')
EXPECTED = {'eof': 0, 'q': 0, 'exception': 1, 'sigint': 130, 'sigterm': 143,
            'double_sigint': 130}
KILLED = {'sigint': -signal.SIGINT, 'double_sigint': -signal.SIGINT, 'sigterm': -signal.SIGTERM}
INPUTS = ('video.avi', 'graph.yaml', 'stress_nodes.py', '__pycache__')

PLUGIN = '''
import sys, threading
from webcam_app import Node

class FailAt(Node):
    """Raise at frame ``at`` (never when negative)."""
    def __init__(self, at: int = -1):
        self.at = at
    def process(self, frame):
        if frame.frame_id == self.at:
            raise RuntimeError(f'stress failure at frame {frame.frame_id}')
        return frame

class StdinKeys(Node):
    """Keys typed on stdin, published as Display publishes window keys (q quits)."""
    outputs = ()
    def setup(self):
        threading.Thread(target=self._read, daemon=True).start()
    def _read(self):
        for line in sys.stdin:
            if line.strip() == 'q':
                self.events.publish('quit', 'key q')
                return
    def process(self, frame):
        pass
'''

CHAIN = '''name: chain
plugins: [stress_nodes.py]
nodes:
  - {name: source, type: VideoSource, input: video.avi, outputs: {frame: [frames, keys]}}
  - {name: step, type: FailAt, at: %d, inputs: {frame: frames}, outputs: {frame: checked}}
  - {name: monitor, type: Monitor, inputs: {frame: checked}, outputs: {frame: shown}}
  - {name: keys, type: StdinKeys, inputs: {frame: keys}}
  - {name: display, type: Display, inputs: {frame: shown}}
'''

FANOUT = '''name: fanout
plugins: [stress_nodes.py]
nodes:
  - {name: source, type: VideoSource, input: video.avi, outputs: {frame: [a, b, c]}}
  - {name: fail, type: FailAt, at: %d, inputs: {frame: a}, outputs: {frame: checked}}
  - {name: preds, type: PredictionWriter, path: p.json, inputs: {frame: checked}}
  - {name: monitor, type: Monitor, inputs: {frame: b}, outputs: {frame: shown}}
  - {name: display, type: Display, inputs: {frame: shown}}
  - {name: keys, type: StdinKeys, inputs: {frame: c}}
'''

GRAPHS = {'chain': CHAIN, 'fanout': FANOUT, 'hand_lite': None}


@dataclass
class Run:
    index: int
    graph: str
    mode: str
    kind: str
    at: float          # seconds after launch when the stop is requested
    second: float      # seconds between the two SIGINTs
    fail_at: int       # frame that raises, for 'exception'


def make_video(path: Path, frames: int, size: tuple[int, int] = (160, 120)) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 25.0, size)
    for i in range(frames):
        writer.write(cv2.circle(np.full((size[1], size[0], 3), 40, np.uint8),
                                (10 + i * 3 % size[0], size[1] // 2), 10, (0, 200, 255), -1))
    writer.release()


def plan(rng: random.Random, index: int, graphs: list[str], max_at: float) -> Run:
    graph = rng.choice(graphs)
    kinds = KINDS if GRAPHS[graph] else ('eof', 'sigint', 'sigterm', 'double_sigint')
    at = rng.uniform(0.0, 0.3) if rng.random() < 0.4 else rng.uniform(0.3, max_at)
    return Run(index, graph, rng.choice(('live', 'replay')), rng.choice(kinds), at,
               rng.uniform(0.0, 0.5), rng.randrange(0, 40))


def command(run: Run, folder: Path) -> list[str]:
    if GRAPHS[run.graph]:
        (folder / 'stress_nodes.py').write_text(PLUGIN)
        fail_at = run.fail_at if run.kind == 'exception' else -1
        (folder / 'graph.yaml').write_text(GRAPHS[run.graph] % fail_at)
        config = folder / 'graph.yaml'
    else:
        config = ROOT / 'graphs' / f'{run.graph}.yaml'
    realtime = run.mode == 'live' or run.kind != 'eof'   # a stop must come before the end
    return [sys.executable, str(ROOT / 'run_webcam.py'), '--config', str(config), '--headless',
            '--input', str(folder / 'video.avi'), '--mode', run.mode,
            '--set', f'source.realtime={str(realtime).lower()}',
            '--out', str(folder / 'out.mp4'), '--pred-out', str(folder / 'p.json'),
            '--metrics-out', str(folder / 'metrics.json'), '--log-level', 'INFO']


def execute(run: Run, folder: Path) -> tuple[int | None, float | None, str]:
    """Launch, stop as planned; return (exit code or None if hung, seconds from the request to the
    exit, stderr). A request made before the app's first log line counts from that line: until
    then Python is still importing numpy and OpenCV, and the app records the request."""
    make_video(folder / 'video.avi', 30 if run.kind == 'eof' else 400)
    env = {**{k: v for k, v in os.environ.items() if k != 'DISPLAY'}, 'PYTHONFAULTHANDLER': '1',
           'PYTHONPATH': os.pathsep.join(p for p in (str(ROOT), os.environ.get('PYTHONPATH')) if p)}
    proc = subprocess.Popen(command(run, folder), cwd=folder, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    started = time.monotonic()
    lines: list[tuple[float, str]] = []
    reader = threading.Thread(target=lambda: lines.extend(
        (time.monotonic(), line) for line in proc.stderr), daemon=True)
    reader.start()
    requested = None
    if run.kind in ('q', 'sigint', 'sigterm', 'double_sigint'):
        time.sleep(max(0.0, started + run.at - time.monotonic()))
        requested = time.monotonic()
        if run.kind == 'q':
            proc.stdin.write('q\n')
            proc.stdin.flush()
        else:
            proc.send_signal(signal.SIGTERM if run.kind == 'sigterm' else signal.SIGINT)
        if run.kind == 'double_sigint':
            time.sleep(run.second)
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=30.0)   # else: a hang
    except subprocess.TimeoutExpired:   # hung: faulthandler dumps every thread's stack
        proc.send_signal(signal.SIGABRT)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        code = None
    ended = time.monotonic()
    reader.join(5)
    err = ''.join(f'[{t - started:6.2f}s] {line}' for t, line in lines)
    if run.kind == 'exception':   # the request is the failure, as the log reports it
        requested = next((t for t, line in lines if 'failed' in line), None)
    if requested is not None and lines:   # before its first log line the app is importing
        requested = max(requested, lines[0][0])
    return code, (None if requested is None else ended - requested), err


def dump(err: str) -> str:
    return f'stderr:\n{err[:1500]}\n...\n{err[-2500:]}'


def swallowed(err: str) -> bool:
    """CPython printed a KeyboardInterrupt raised in its own start-up code (e.g. while checking
    argv[0]) and ran the script on, as if no signal had come."""
    return 'KeyboardInterrupt' in err and 'Fatal Python error' not in err and not re.search(
        r'File "[^"]*(run_webcam|webcam_stop|webcam_app|/nodes/)', err)


def python_startup(run: Run, code: int | None, err: str) -> bool:
    """Whether a signal hit Python's own start-up, before the first line of run_webcam.py ran:
    Python then exits by the signal, fails to import its site module (exit 1), or, while it
    checks argv[0], prints the KeyboardInterrupt and runs the script as if none had come."""
    return run.kind in KILLED and (code == KILLED[run.kind] or swallowed(err) or (
        code == 1 and 'Fatal Python error: init_' in err))


def validate(run: Run, code: int | None, err: str, folder: Path) -> list[str]:
    """Every problem with a finished run's exit code and outputs."""
    if code is None:
        return ['hang', dump(err)]
    went_on = swallowed(err)   # then the run went on: its outputs are checked below
    if python_startup(run, code, err) and not went_on:
        return [] if not (folder / 'metrics.json').exists() \
            else [f'ended by the signal after the app began:\n{err}']
    if 'forced exit: second stop signal before the run began' in err:   # nothing was written
        written = [p.name for p in folder.iterdir() if p.name not in INPUTS]
        return [] if code == EXPECTED[run.kind] and not written else \
            [f'exit code {code} after a double stop before the run, files: {written}']
    problems = []
    if code != EXPECTED[run.kind] and not (went_on and code == 0):
        problems.append(f'exit code {code}, expected {EXPECTED[run.kind]}')
    if run.kind != 'exception' and 'Traceback' in err and not went_on:
        problems.append('a traceback')
    problems += [f'temporary file left: {p.name}' for p in folder.glob('*.tmp')]
    try:
        nodes = json.loads((folder / 'metrics.json').read_text())['nodes']
    except (OSError, ValueError, KeyError) as exc:
        return problems + [f'metrics: {exc}', dump(err)]
    for name, stats in nodes.items():
        frames = stats['frames_in']
        if name.startswith('pred') and (frames or (folder / 'p.json').exists()):
            try:
                records = json.loads((folder / 'p.json').read_text())
                if len(records) != frames:
                    problems.append(f'predictions: {len(records)} records for {frames} frames')
            except (OSError, ValueError) as exc:
                problems.append(f'predictions: {exc}')
        if name.startswith('recorder') and frames:
            capture, played = cv2.VideoCapture(str(folder / 'out.mp4')), 0
            while capture.read()[0]:
                played += 1
            if not 0 < played <= frames:
                problems.append(f'video: {played} frames play, the recorder got {frames}')
    if problems:
        problems.append(dump(err))
    return problems


def kind_of(problem: str) -> str:
    """The summary's category of one problem line."""
    for prefix, kind in (('hang', 'hangs'), ('exit code', 'wrong exit codes'),
                         ('exit ', 'slow exits'), ('a traceback', 'tracebacks'),
                         ('stderr', 'stderr')):
        if problem.startswith(prefix):
            return kind
    return 'invalid outputs'


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--runs', type=int, default=40)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--graphs', default=','.join(GRAPHS),
                   help=f'comma-separated, of {", ".join(GRAPHS)}')
    p.add_argument('--max-exit-s', type=float, default=2.0, help='an exit later than this '
                   'counts as slow; 0: not counted (tests assert no wall-clock duration)')
    p.add_argument('--max-at', type=float, default=3.0, help='latest stop request (s)')
    args = p.parse_args(argv)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:   # started as a background job: the
        signal.signal(signal.SIGINT, signal.default_int_handler)   # runs would inherit that
    graphs = args.graphs.split(',')
    rng = random.Random(args.seed)
    counts = {'hangs': 0, 'slow exits': 0, 'wrong exit codes': 0, 'tracebacks': 0,
              'invalid outputs': 0, 'stderr': 0}
    exit_times: dict[str, list[float]] = {}
    killed = 0
    for index in range(args.runs):
        run = plan(rng, index, graphs, args.max_at)
        with tempfile.TemporaryDirectory(prefix='stress_stop_') as tmp:
            code, exit_s, err = execute(run, Path(tmp))
            problems = validate(run, code, err, Path(tmp))
        startup = python_startup(run, code, err)
        killed += startup
        if exit_s is not None and code is not None and not startup:
            exit_times.setdefault(run.kind, []).append(exit_s)
            if args.max_exit_s and exit_s > args.max_exit_s:
                problems = [f'exit {exit_s:.2f} s after the request'] + (problems or [dump(err)])
        for problem in problems:
            counts[kind_of(problem)] += 1
        status = 'ok' if not problems else 'PROBLEM'
        print(f'{index:4d} {run.graph:9s} {run.mode:6s} {run.kind:13s} at {run.at:5.2f}s '
              f'exit {code} {"" if exit_s is None else f"after {exit_s:.2f}s"} {status}',
              flush=True)
        for problem in problems:
            print('     ' + problem.replace('\n', '\n     '), flush=True)
    for kind in ('stderr', '' if args.max_exit_s else 'slow exits'):   # stderr: beside one
        counts.pop(kind, None)
    print(f'\n{args.runs} runs (seed {args.seed}, graphs {args.graphs}): ' +
          ', '.join(f'{v} {k}' for k, v in counts.items()) +
          f'; {killed} signals hit Python\'s own start-up, before the app\'s first line')
    for kind, times in sorted(exit_times.items()):
        times.sort()
        print(f'  {kind:13s} exit after the request: median {times[len(times) // 2]:.2f} s, '
              f'max {times[-1]:.2f} s ({len(times)} runs)')
    return 1 if any(counts.values()) else 0


if __name__ == '__main__':
    sys.exit(main())
