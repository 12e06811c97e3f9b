"""The command line as a user runs it: a subprocess, signals, exit codes, messages."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.footage import photo_path
from tests.webcam_app import plugin_text

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).parents[2]

TICKER = plugin_text.TICKER + '''
class Sink(Node):
    """Logs once it has frames, so a test knows the graph runs."""
    outputs = ()
    def process(self, frame):
        if frame.frame_id == 5:
            import logging
            logging.getLogger('ticker').warning('running')

class PassThrough(Node):
    def process(self, frame):
        return frame

class Explode(Node):
    def process(self, frame):
        if frame.frame_id >= 3:   # live mode may skip any one frame id
            raise RuntimeError('kaboom')
        return frame
'''

GRAPH = '''
name: ticker
plugins: [ticker.py]
nodes:
  - name: camera
    type: Ticker
    outputs: {frame: frames}
  - name: middle
    type: %s
    inputs: {frame: frames}
    outputs: {frame: shown}
  - name: sink
    type: Sink
    inputs: {frame: shown}
'''


def write_graph(tmp_path: Path, middle: str = 'Explode') -> Path:
    (tmp_path / 'ticker.py').write_text(TICKER)
    path = tmp_path / 'ticker.yaml'
    path.write_text(GRAPH % middle)
    return path


def cli(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    return subprocess.Popen([sys.executable, str(ROOT / 'run_webcam.py'), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def wait_for_line(proc: subprocess.Popen, text: str) -> None:
    for line in proc.stderr:
        if text in line:
            return
    raise AssertionError(f'the app ended without printing {text!r}')


@pytest.mark.parametrize('sig,code', [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_a_live_run(tmp_path, sig, code):
    proc = cli('--config', str(write_graph(tmp_path, 'PassThrough')))
    wait_for_line(proc, 'running')
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)   # how fast: bench/stress_stop.py
    assert proc.returncode == code
    assert 'stopping: ' + ('Ctrl-C' if sig == signal.SIGINT else 'SIGTERM') in err
    assert 'Traceback' not in err


def test_node_error_exits_1_and_names_the_node(tmp_path):
    proc = cli('--config', str(write_graph(tmp_path)))
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert "error: node 'middle' failed: RuntimeError: kaboom" in err


def test_config_error_exits_2_without_traceback(tmp_path):
    path = write_graph(tmp_path)
    path.write_text(path.read_text().replace('type: Sink', 'type: Snk'))
    proc = cli('--config', str(path))
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert f"{path}:13: node 'sink': unknown node type 'Snk'" in err
    assert "did you mean 'Sink'" in err
    assert 'Traceback' not in err


def test_set_typo_is_caught(tmp_path):
    proc = cli('--config', str(write_graph(tmp_path)), '--set', 'camera.fsp=5')
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert "--set camera.fsp=5: node 'camera' (Ticker) has no parameter 'fsp'" in err
    assert "did you mean 'fps'" in err


def test_print_graph_dot(tmp_path):
    proc = cli('--config', str(write_graph(tmp_path)), '--print-graph', 'dot')
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out.startswith('digraph "ticker"')
    assert '"camera" -> "middle" [label="frames\\ndrop_oldest 1"];' in out


def test_help_reads_well():
    proc = cli('--help')
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    for flag in ('--config', '--input', '--headless', '--out', '--pred-out', '--mode',
                 '--max-frames', '--device', '--set', '--metrics-out', '--print-graph',
                 '--list-nodes', '--log-level', '--serve', '--serve-token', 'exit codes'):
        assert flag in out


def test_serve_adds_a_web_view_beside_the_display(tmp_path):
    path = tmp_path / 'graph.yaml'
    path.write_text((ROOT / 'graphs' / 'preview.yaml').read_text())
    proc = cli('--config', str(path), '--serve', '0.0.0.0:8089', '--print-graph')
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert '  webview: WebView' in out
    assert '-> frame webview_in [' in out and '<- frame (trigger) webview_in [' in out


@pytest.mark.parametrize('args,message', [
    (('--serve', '80000'), "argument --serve: must be PORT or HOST:PORT"),
    (('--serve', 'host:'), "argument --serve: must be PORT or HOST:PORT"),
    (('--serve-token', 'x'), '--serve-token is given, but nothing is served'),
])
def test_bad_serve_options_exit_2(tmp_path, args, message):
    proc = cli('--config', str(ROOT / 'graphs' / 'preview.yaml'), '--print-graph', *args)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert message in err


@pytest.mark.parametrize('value,expected', [
    ('8080', ('127.0.0.1', 8080)), ('0.0.0.0:80', ('0.0.0.0', 80)),
    ('[::1]:9000', ('::1', 9000)), ('localhost:0', ('localhost', 0))])
def test_serve_address_defaults_to_loopback(value, expected):
    from webcam_app.app.cli import serve_address
    assert serve_address(value) == expected


def test_a_busy_serve_port_exits_2_before_anything_runs():
    import socket
    with socket.create_server(('127.0.0.1', 0)) as busy:
        port = busy.getsockname()[1]
        proc = cli('--config', str(ROOT / 'graphs' / 'preview.yaml'), '--headless',
                   '--input', str(photo_path('vtest.avi')), '--serve', str(port))
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert f"node 'webview' (WebView): cannot serve on 127.0.0.1:{port}:" in err
    assert 'opened' not in err   # the source never started


def test_command_line_inputs_resolve_paths_and_keep_cameras_and_urls(tmp_path, monkeypatch):
    from webcam_app.app.paths import cli_input, cli_path
    monkeypatch.chdir(tmp_path)
    assert cli_input('webcam_demo.mp4') == str(tmp_path / 'webcam_demo.mp4')
    for device in ('0', 'webcam', 'cam', 'camera:1', 'http://127.0.0.1:8080/stream.mjpg'):
        assert cli_input(device) == device
    assert cli_path('webcam.json') == str(tmp_path / 'webcam.json')     # outputs: always paths
    assert cli_path('out/') == str(tmp_path / 'out') + os.sep
