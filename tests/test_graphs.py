"""Every shipped graph, run headless on a generated clip.

The model graphs build their real mmdet/mmpose architectures from the real configs; the weights,
which cannot be downloaded here, are switched off with ``weights: none`` (random init, tests
only). The outputs must have the shapes and meta that the visualizer and the writers need.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from webcam_app import load_config

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).parents[1]
GRAPHS = sorted((ROOT / 'graphs').glob('*.yaml'))
KEYPOINTS = {'hand': 21, 'body': 17, 'face': 106, 'wholebody': 133}
FRAMES = 3


@pytest.fixture(scope='module')
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp('clip') / 'clip.avi'
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10, (320, 240))
    rng = np.random.default_rng(0)
    for i in range(FRAMES):
        image = rng.integers(0, 255, (240, 320, 3), np.uint8)
        cv2.circle(image, (80 + 40 * i, 120), 50, (60, 120, 200), -1)
        writer.write(image)
    writer.release()
    return path


def test_every_graph_is_covered():
    assert {p.stem for p in GRAPHS} >= {'hand', 'body', 'face', 'wholebody', 'hand_lite',
                                        'body_lite', 'face_lite', 'wholebody_lite', 'preview'}


@pytest.mark.models
@pytest.mark.parametrize('graph', GRAPHS, ids=lambda p: p.stem)
def test_graph_runs_headless_on_a_clip(graph, clip, tmp_path):
    nodes = {n['name']: n['type'] for n in load_config(graph).data['nodes']}
    args = []
    if 'DetectorNode' in nodes.values():   # random init: weights cannot be downloaded here
        args = ['--set', 'detector.weights=none', '--set', 'pose.weights=none',
                '--set', 'detector.score_thr=0.0', '--no-fallback',
                '--backend', 'pytorch']   # graphs' wiring; backend auto: tests/test_backend_auto.py
    if 'PoseLifterNode' in nodes.values():   # random init too; a short window keeps it quick
        args += ['--set', 'lifter.weights=none', '--set', 'lifter.window=9']
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    env.pop('DISPLAY', None)
    result = subprocess.run(
        [sys.executable, str(ROOT / 'run_webcam.py'), '--config', str(graph), '--input',
         str(clip), '--headless', '--out', str(tmp_path / 'out.avi'),
         '--pred-out', str(tmp_path / 'p.json'), *args],
        env=env, capture_output=True, text=True, timeout=280)
    assert result.returncode == 0, result.stderr
    predictions = json.loads((tmp_path / 'p.json').read_text())
    assert [p['frame_id'] for p in predictions] == list(range(FRAMES))
    cap = cv2.VideoCapture(str(tmp_path / 'out.avi'))
    assert sum(1 for _ in iter(lambda: cap.read()[0], False)) == FRAMES
    if graph.stem in KEYPOINTS:
        instances = [i for p in predictions for i in p['instances']]
        assert instances, 'a random-init detector with score_thr 0 finds boxes'
        for instance in instances:
            assert np.asarray(instance['keypoints']).shape == (KEYPOINTS[graph.stem], 2)
            assert len(instance['keypoint_scores']) == KEYPOINTS[graph.stem]
            assert instance['label'] in ('hand', 'person', 'face')
