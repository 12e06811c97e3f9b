"""Stopping: a signal from the first millisecond is honoured; a 2nd Ctrl-C still finalizes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import pytest

import webcam_stop
from webcam_app import Runner, load_graph
from tests.webcam_app import plugin_text, toy_nodes  # noqa: F401

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).parents[2]

PLUGIN = plugin_text.TICKER + '''
class Stall(Node):
    """Holds its first frame for a long time: the drain cannot finish."""
    outputs = ()
    def process(self, frame):
        threading.Event().wait(30)

class StuckClose(Node):
    """A sink whose close never returns in time."""
    outputs = ()
    def process(self, frame):
        pass
    def close(self):
        threading.Event().wait(30)
'''

GRAPH = '''
name: stop
plugins: [plugin.py]
nodes:
  - name: camera
    type: Ticker
    width: 64
    height: 48
    outputs: {frame: [a, b, c]}
  - name: stall
    type: %s
    inputs: {frame: a}
  - name: recorder
    type: Recorder
    path: out.mp4
    inputs: {frame: b}
  - name: preds
    type: PredictionWriter
    path: out.json
    inputs: {frame: c}
'''


def app(tmp_path: Path, *args: str, stall: str = 'Stall', code: str = '') -> subprocess.Popen:
    (tmp_path / 'plugin.py').write_text(PLUGIN)
    (tmp_path / 'stop.yaml').write_text(GRAPH % stall)
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get('PYTHONPATH')) if p)
    launch = code or 'import run_webcam, sys; sys.exit(run_webcam.main())'
    return subprocess.Popen(
        [sys.executable, '-c', launch, '--config', str(tmp_path / 'stop.yaml'), '--headless',
         '--metrics-out', str(tmp_path / 'metrics.json'), *args],
        env={**os.environ, 'PYTHONPATH': path}, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_line(proc: subprocess.Popen, text: str) -> list[str]:
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f'the app ended without printing {text!r}: {"".join(lines)}')


def count_frames(path: Path) -> int:
    capture, n = cv2.VideoCapture(str(path)), 0
    while capture.read()[0]:
        n += 1
    capture.release()
    return n


def assert_outputs_finalized(folder: Path, exit_code: int) -> None:
    """The video plays, the predictions hold every frame the writer got, metrics are written."""
    metrics = json.loads((folder / 'metrics.json').read_text())
    assert metrics['exit_code'] == exit_code
    assert count_frames(folder / 'out.mp4') > 0     # the recorder had logged its first frame
    predictions = json.loads((folder / 'out.json').read_text())
    assert len(predictions) == metrics['nodes']['preds']['frames_in']
    assert not list(folder.glob('.*.tmp'))


def test_a_signal_before_numpy_imports_is_honoured(tmp_path):
    code = ('import os, signal, sys, webcam_stop\n'
            'webcam_stop.install()\n'
            "assert 'numpy' not in sys.modules\n"
            'os.kill(os.getpid(), signal.SIGINT)\n'
            'import run_webcam\n'
            'sys.exit(run_webcam.main())\n')
    proc = app(tmp_path, code=code)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert 'Traceback' not in err and 'error' not in err.lower()
    assert 'stopping: Ctrl-C' in err
    assert json.loads((tmp_path / 'metrics.json').read_text())['exit_code'] == 130
    assert not list(tmp_path.glob('.*.tmp'))


def test_second_ctrl_c_skips_the_drain_and_still_finalizes_every_output(tmp_path):
    proc = app(tmp_path)
    wait_for_line(proc, 'recording')        # frames reach the sinks
    proc.send_signal(signal.SIGINT)
    wait_for_line(proc, 'stopping: Ctrl-C')   # the stall node now holds up the drain
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert 'skipping the drain' in err
    assert 'forced exit' not in err and 'Traceback' not in err
    assert_outputs_finalized(tmp_path, 130)


def test_a_node_that_cannot_close_is_given_up_on_and_the_others_finalize(tmp_path):
    proc = app(tmp_path, stall='StuckClose')
    wait_for_line(proc, 'recording')
    proc.send_signal(signal.SIGTERM)
    wait_for_line(proc, 'stopping: SIGTERM')
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err   # the first signal names the code
    assert 'threads still busy after shutdown: node:stall' in err
    assert_outputs_finalized(tmp_path, 143)


@pytest.mark.parametrize('signals,listening,message', [
    (3, True, 'forced exit: third stop signal'),
    (2, True, 'forced exit: outputs not finalized within 1 s'),
    (2, False, 'forced exit: second stop signal before the run began'),
])
def test_a_third_signal_or_the_deadline_after_the_second_forces_the_exit(
        signals, listening, message):
    code = ('import os, signal, threading, webcam_stop\n'
            'webcam_stop.install()\n'
            f'if {listening}:\n'
            '    webcam_stop.listen(lambda signum, n: None)   # a run that never finishes\n'
            f'for _ in range({signals}):\n'
            '    os.kill(os.getpid(), signal.SIGINT)\n'
            'threading.Event().wait(30)\n')   # a main thread that never finishes by itself
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=30, env={**os.environ, 'PYTHONPATH': str(ROOT)})
    assert proc.returncode == 130
    assert message in proc.stderr


def test_signals_are_recorded_and_handed_to_a_listener_later():
    previous = signal.getsignal(signal.SIGTERM)
    heard = threading.Event()
    got = []
    with webcam_stop.installed():
        os.kill(os.getpid(), signal.SIGTERM)
        assert webcam_stop.count() == 1 and webcam_stop.exit_code() == 143
        webcam_stop.listen(lambda signum, n: (got.append((signum, n)), heard.set()))
        assert heard.wait(10)
    assert got == [(signal.SIGTERM, 1)]
    assert signal.getsignal(signal.SIGTERM) is previous   # restored, requests forgotten
    assert webcam_stop.count() == 0


def test_hurry_skips_a_drain_that_would_never_end():
    graph = load_graph({'name': 'hold', 'nodes': [
        {'name': 'source', 'type': 'CountSource', 'n': -1, 'fps': 100,
         'outputs': {'frame': 'frames'}},
        {'name': 'hold', 'type': 'HoldFirst', 'inputs': {'frame': 'frames'},
         'outputs': {'frame': 'out'}},
        {'name': 'sink', 'type': 'Collect', 'key': 'hold', 'inputs': {'frame': 'out'}}]})
    runner = Runner(graph, drain_timeout=3600)
    graph.nodes['hold'].node.opened = runner.cancelled   # holds frame 0 until buffers close
    hurried = threading.Event()
    graph.nodes['hold'].node.events.subscribe('hurry', lambda _: hurried.set())
    runner.start()
    runner.stop('Ctrl-C', 130)
    runner.hurry('Ctrl-C again', 130)
    assert hurried.is_set()
    assert runner.wait(timeout=30) == 130       # not the hour-long drain
    assert not any(t.is_alive() for t in runner.threads)


def slow_setup_graph():
    return load_graph({'name': 'slow', 'nodes': [
        {'name': 'source', 'type': 'CountSource', 'n': -1, 'fps': 100,
         'outputs': {'frame': 'frames'}},
        {'name': 'model', 'type': 'SlowSetup', 'inputs': {'frame': 'frames'},
         'outputs': {'frame': 'out'}},
        {'name': 'sink', 'type': 'Collect', 'key': 'slow', 'inputs': {'frame': 'out'}}]})


def test_a_stop_during_a_setup_lets_it_finish_within_the_grace_and_closes_it():
    graph = slow_setup_graph()
    model = graph.nodes['model'].node
    runner = Runner(graph, drain_timeout=3600)
    runner.setup_grace = 3600                   # a sink opening its file is done well within
    runner.start()
    assert model.entered.wait(10)
    runner.stop('SIGTERM', 143)
    model.loaded.set()
    assert runner.wait(timeout=30) == 143      # no drain: nothing had started
    assert model.closed.is_set()                # setup succeeded, so close ran: files final
    assert not any(t.is_alive() for t in runner.threads)


def test_a_stop_during_a_slow_setup_does_not_wait_past_the_grace():
    graph = slow_setup_graph()
    model = graph.nodes['model'].node
    runner = Runner(graph, drain_timeout=3600)
    runner.setup_grace = 0                      # a model loading for longer than the grace
    runner.start()
    assert model.entered.wait(10)
    runner.stop('SIGTERM', 143)
    assert runner.wait(timeout=30) == 143      # returns while the model is still loading
    loading = next(t for t in runner.threads if t.name == 'node:model')
    assert loading.is_alive() and runner.stuck_threads == []
    model.loaded.set()                          # it finishes by itself, and is closed
    loading.join(10)
    assert not loading.is_alive() and model.closed.is_set()


def test_a_signal_the_parent_ignores_stays_ignored():
    code = ('import signal, sys, webcam_stop\n'
            'signal.signal(signal.SIGINT, signal.SIG_IGN)   # as in a background job\n'
            'webcam_stop.install()\n'
            'sys.exit(0 if signal.getsignal(signal.SIGINT) is signal.SIG_IGN\n'
            '         and signal.getsignal(signal.SIGTERM) is webcam_stop._handle else 1)\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=30, env={**os.environ, 'PYTHONPATH': str(ROOT)})
    assert proc.returncode == 0, proc.stderr
