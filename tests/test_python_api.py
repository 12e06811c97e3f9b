"""webcam_app.open on real models and real footage: the same JSON as the command line writes."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import webcam_app
from tests.footage import hand_clip, photo_path, write_clip

pytestmark = [pytest.mark.models, pytest.mark.timeout(600)]

ROOT = Path(__file__).parents[1]
FPS = 10.0
RANDOM_MODELS = {'detector': {'weights': 'none', 'score_thr': 0.0, 'backend': 'pytorch'},
                 'pose': {'weights': 'none', 'backend': 'pytorch'}}


def cli_predictions(graph: Path, clip: Path, out: Path, *args: str) -> list[dict]:
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    env.pop('DISPLAY', None)
    ran = subprocess.run([sys.executable, str(ROOT / 'run_webcam.py'), '--config', str(graph),
                          '--input', str(clip), '--headless', '--pred-out', str(out), *args],
                         env=env, capture_output=True, text=True, timeout=500)
    assert ran.returncode == 0, ran.stderr
    return json.loads(out.read_text())


def decoded(clip: Path) -> list[np.ndarray]:
    """The clip's frames as the command line's source decodes them."""
    cap, frames = cv2.VideoCapture(str(clip)), []
    while True:
        ok, image = cap.read()
        if not ok:
            cap.release()
            return frames
        frames.append(image)


def api_predictions(graph: Path, frames: list[np.ndarray], **overrides) -> list[dict]:
    with webcam_app.open(graph, fps=FPS, **overrides) as p:
        records = [result.record for result in p.stream(frames)]
    return json.loads(json.dumps(records, allow_nan=False))   # as a JSON file holds them


@pytest.fixture(scope='module')
def clip(tmp_path_factory) -> Path:
    return write_clip(hand_clip(48).frames, tmp_path_factory.mktemp('clip') / 'hand.avi', FPS)


def test_stream_on_the_lite_graph_gives_the_command_lines_json(clip, tmp_path):
    graph = ROOT / 'graphs' / 'hand_lite.yaml'
    frames = decoded(clip)
    assert len(frames) == 48
    expected = cli_predictions(graph, clip, tmp_path / 'cli.json')
    assert api_predictions(graph, frames) == expected
    assert sum(len(r['instances']) for r in expected) >= 40   # MediaPipe finds the hand


def test_stream_on_an_openmmlab_graph_gives_the_command_lines_json(clip, tmp_path):
    graph = ROOT / 'graphs' / 'hand.yaml'
    frames = decoded(clip)[:8]
    expected = cli_predictions(graph, clip, tmp_path / 'cli.json', '--max-frames', '8',
                               '--no-fallback', *[f'--set={node}.{key}={value}'
                                                  for node, params in RANDOM_MODELS.items()
                                                  for key, value in params.items()])
    assert len(expected) == 8
    assert api_predictions(graph, frames, fallback=False, **RANDOM_MODELS) == expected
    instances = [i for r in expected for i in r['instances']]
    assert instances and all(len(i['keypoints']) == 21 for i in instances)


def readme_example() -> str:
    text = (ROOT / 'README.md').read_text()
    start = text.index('## Use from Python')
    section = text[start:text.find('\n## ', start + 1)]
    return re.findall(r'```python\n(.*?)```', section, re.S)[0]


def test_readme_python_example_runs_as_written(tmp_path):
    (tmp_path / 'graphs').symlink_to(ROOT / 'graphs')
    (tmp_path / 'hand.jpg').symlink_to(photo_path('handSrc.jpg'))
    write_clip(hand_clip(12).frames, tmp_path / 'clip.mp4', FPS)
    (tmp_path / 'example.py').write_text(readme_example())
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    env.pop('DISPLAY', None)
    ran = subprocess.run([sys.executable, 'example.py'], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0].startswith('hand ') and lines[0].endswith(' 21 keypoints')
    assert lines[-1] == 'frames: 12'


def test_missing_weights_run_the_graphs_fallback_unless_told_not_to(monkeypatch):
    monkeypatch.setenv('WEBCAM_APP_OFFLINE', '1')    # weights are neither on disk nor fetched
    with webcam_app.open(ROOT / 'graphs' / 'hand.yaml', models_dir=str(ROOT / 'no-models')) as p:
        assert p.graph.name == 'hand_lite'
        assert p(photo_path('handSrc.jpg')).predictions[0]['label'] == 'hand'
    with pytest.raises(webcam_app.WeightsUnavailable, match="node 'detector'"):
        webcam_app.open(ROOT / 'graphs' / 'hand.yaml', fallback=False,
                        models_dir=str(ROOT / 'no-models'))
