"""The app as a user runs it, headless, on videos and images the tests generate."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).parents[1]
PREVIEW = ROOT / 'graphs' / 'preview.yaml'


def make_video(path: Path, frames: int = 24, size=(160, 120), fps: float = 10.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), fps, size)
    for i in range(frames):
        image = np.full((size[1], size[0], 3), 30, np.uint8)
        cv2.circle(image, (10 + i * 5 % size[0], size[1] // 2), 12, (0, 200, 255), -1)
        writer.write(image)
    writer.release()
    return path


def count_frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def preview_with_plugin(folder: Path, name: str, before_return: str) -> Path:
    """graphs/preview.yaml with its Monitor replaced by a plugin node ``name`` whose
    ``process(frame)`` runs ``before_return`` (Python lines) and returns the frame."""
    body = ''.join(f'        {line}\n' for line in before_return.splitlines())
    (folder / f'{name.lower()}.py').write_text(
        f'from webcam_app import Node\nclass {name}(Node):\n    def process(self, frame):\n'
        f'{body}        return frame\n')
    graph = PREVIEW.read_text().replace(
        'name: preview', f'name: {name.lower()}\nplugins: [{folder}/{name.lower()}.py]')
    graph = graph.replace('type: Monitor', f'type: {name}').replace('    enable_key: m\n', '')
    path = folder / f'{name.lower()}.yaml'
    path.write_text(graph)
    return path


def app(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    env = {**os.environ, 'PYTHONPATH': str(ROOT), **(env or {})}
    env.pop('DISPLAY', None)
    return subprocess.Popen([sys.executable, str(ROOT / 'run_webcam.py'), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def run_app(*args: str, timeout: float = 60, **kwargs) -> tuple[int, str, str]:
    proc = app(*args, **kwargs)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def test_replay_records_every_frame_and_writes_every_prediction(tmp_path):
    video = make_video(tmp_path / 'in.avi', frames=24)
    code, _, err = run_app('--config', str(PREVIEW), '--input', str(video), '--headless',
                           '--out', str(tmp_path / 'out.mp4'),
                           '--pred-out', str(tmp_path / 'pred.json'),
                           '--metrics-out', str(tmp_path / 'metrics.json'))
    assert code == 0, err
    assert count_frames(tmp_path / 'out.mp4') == 24
    predictions = json.loads((tmp_path / 'pred.json').read_text())
    assert [p['frame_id'] for p in predictions] == list(range(24))
    metrics = json.loads((tmp_path / 'metrics.json').read_text())
    assert metrics['mode'] == 'replay' and metrics['nodes']['source']['frames_out'] == 24


def test_max_frames(tmp_path):
    video = make_video(tmp_path / 'in.avi', frames=24)
    code, _, err = run_app('--config', str(PREVIEW), '--input', str(video), '--headless',
                           '--max-frames', '7', '--pred-out', str(tmp_path / 'p.json'))
    assert code == 0, err
    assert len(json.loads((tmp_path / 'p.json').read_text())) == 7


def test_folder_of_images_and_a_single_image(tmp_path):
    folder = tmp_path / 'photos'
    folder.mkdir()
    for i in (1, 2, 10):       # natural order: 1, 2, 10
        image = np.full((60, 80, 3), i * 20, np.uint8)
        cv2.imwrite(str(folder / f'img{i}.png'), image)
    code, _, err = run_app('--config', str(PREVIEW), '--input', str(folder),
                           '--pred-out', str(tmp_path / 'p.json'))
    assert code == 0, err
    assert len(json.loads((tmp_path / 'p.json').read_text())) == 3
    code, _, err = run_app('--config', str(PREVIEW), '--input', str(folder / 'img2.png'),
                           '--out', str(tmp_path / 'one.avi'))
    assert code == 0, err
    assert count_frames(tmp_path / 'one.avi') == 1


@pytest.mark.parametrize('source,message', [
    ('no/such/video.mp4', 'no/such/video.mp4'),
    ('rtsp://127.0.0.1:9/none', 'rtsp://127.0.0.1:9/none'),
    ('webcam:7', 'no camera found at index 7'),
])
def test_bad_inputs_exit_2_before_anything_starts(source, message):
    code, _, err = run_app('--config', str(PREVIEW), '--input', source, '--headless')
    assert code == 2
    assert message in err
    assert 'Traceback' not in err
    assert 'stopping' not in err          # no thread ever started


def test_sigint_during_realtime_replay_leaves_a_playable_video(tmp_path):
    video = make_video(tmp_path / 'in.avi', frames=200, fps=25)
    proc = app('--config', str(PREVIEW), '--input', str(video), '--headless',
               '--set', 'source.realtime=true', '--out', str(tmp_path / 'out.mp4'),
               '--pred-out', str(tmp_path / 'p.json'))
    for line in proc.stderr:   # wait until frames reach the recorder
        if 'recording' in line:
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)   # how fast: bench/stress_stop.py
    assert proc.returncode == 130, err
    assert 'stopping: Ctrl-C' in err
    recorded = count_frames(tmp_path / 'out.mp4')
    assert recorded > 0
    assert recorded == len(json.loads((tmp_path / 'p.json').read_text()))   # drained to both


def test_node_error_mid_run_exits_1_and_the_recording_is_playable(tmp_path):
    video = make_video(tmp_path / 'in.avi', frames=40)
    graph = preview_with_plugin(tmp_path, 'Faulty', 'if frame.frame_id == 20:\n'
                                '    raise ValueError("bad frame")')
    code, _, err = run_app('--config', str(graph), '--input', str(video),
                           '--out', str(tmp_path / 'out.mp4'))
    assert code == 1
    assert "node 'monitor' failed: ValueError: bad frame" in err
    assert count_frames(tmp_path / 'out.mp4') == 20


def test_a_node_frozen_in_native_code_holding_the_gil_ends_with_every_stack(tmp_path):
    """No Python code runs while a native call holds the GIL, not even a signal handler; the
    watchdog (a C thread) dumps every thread's stack and exits 1 (``WEBCAM_APP_FROZEN_S``)."""
    video = make_video(tmp_path / 'in.avi', frames=40)
    graph = preview_with_plugin(tmp_path, 'Frozen', 'if frame.frame_id == 5:\n'
                                '    import ctypes   # libc sleep, called holding the GIL\n'
                                '    ctypes.PyDLL(None).sleep(600)')
    proc = app('--config', str(graph), '--input', str(video), '--headless',
               '--set', 'source.realtime=true', env={'WEBCAM_APP_FROZEN_S': '3'})
    try:
        _, err = proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert proc.returncode == 1, err
    assert 'Timeout (0:00:03)!' in err
    assert 'in process' in err and 'frozen.py' in err     # the frozen node's frame is named


def test_set_overrides_and_typos(tmp_path):
    video = make_video(tmp_path / 'in.avi', frames=12)
    code, _, err = run_app('--config', str(PREVIEW), '--input', str(video), '--headless',
                           '--set', 'source.start=5', '--pred-out', str(tmp_path / 'p.json'))
    assert code == 0, err
    assert len(json.loads((tmp_path / 'p.json').read_text())) == 7
    code, _, err = run_app('--config', str(PREVIEW), '--set', 'source.strat=5')
    assert code == 2
    assert "--set source.strat=5: node 'source' (VideoSource) has no parameter 'strat'" in err
    assert "did you mean 'start'" in err


def test_list_nodes_shows_built_ins_with_ports_and_parameters():
    code, out, _ = run_app('--list-nodes')
    assert code == 0
    for name in ('VideoSource', 'Display', 'Recorder', 'PredictionWriter', 'Monitor',
                 'HelpBoard', 'PoseVisualizer', 'DetectorNode', 'TopdownPoseEstimatorNode',
                 'MediaPipeHands', 'MediaPipePose'):
        assert f'\n{name} (' in '\n' + out
    assert '    input: str or int = 0\n' in out and '    fps: float > 0 or null = None' in out


def test_print_graph_dot_of_preview():
    code, out, _ = run_app('--config', str(PREVIEW), '--print-graph', 'dot')
    assert code == 0
    assert '"source" -> "monitor"' in out and '"help" -> "display"' in out


def test_display_falls_back_to_headless_without_a_gui(tmp_path):
    video = make_video(tmp_path / 'in.avi', frames=5)
    code, _, err = run_app('--config', str(PREVIEW), '--input', str(video))   # no --headless
    assert code == 0, err
    assert 'not showing a window: no DISPLAY is set' in err
