"""3D from the command line, offline: body3d.yaml and hand3d.yaml fall back to MediaPipe's world
landmarks and write 3D keypoints for every person and hand, with the 3D view in --out.

``WEBCAM_APP_SCREENSHOTS=DIR`` keeps the body run's picture as DIR/view3d.png: the README's
screenshot (docs/view3d.png) is made this way.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.footage import hand_clip, photo_path, write_clip

pytest.importorskip('mediapipe', reason="the offline models need: pip install -e '.[lite]'")
pytestmark = [pytest.mark.models, pytest.mark.timeout(300)]

ROOT = Path(__file__).parents[1]


def run(graph: str, source: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'WEBCAM_APP_OFFLINE': '1'}
    env.pop('DISPLAY', None)
    return subprocess.run([sys.executable, str(ROOT / 'run_webcam.py'), '--config',
                           str(ROOT / 'graphs' / graph), '--input', str(source), '--headless',
                           *args], env=env, capture_output=True, text=True, timeout=280)


def test_body3d_offline_on_a_photo_writes_3d_people_and_draws_the_view(tmp_path):
    messi = photo_path('messi5.jpg')
    result = run('body3d.yaml', messi, '--out', str(tmp_path / 'out.png'),
                 '--pred-out', str(tmp_path / 'preds') + '/')
    assert result.returncode == 0, result.stderr
    assert 'body3d_lite.yaml runs instead' in result.stderr or 'fallback' in result.stderr
    [person] = json.loads((tmp_path / 'preds' / 'messi5.json').read_text())
    assert np.asarray(person['keypoints']).shape == (17, 3)
    assert np.asarray(person['keypoints_2d']).shape == (17, 2)
    assert len(person['keypoint_scores']) == 17 and len(person['bbox'][0]) == 4
    drawn, source = cv2.imread(str(tmp_path / 'out.png')), cv2.imread(str(messi))
    assert drawn.shape[0] == source.shape[0] and drawn.shape[1] > source.shape[1]  # the panel
    panel = drawn[:, source.shape[1]:]
    assert ((panel == (255, 255, 255)).all(axis=2).mean() > 0.5           # the page
            and (np.abs(panel.astype(int) - (0, 255, 0)).sum(axis=2) < 60).any())   # left limbs
    if os.environ.get('WEBCAM_APP_SCREENSHOTS'):
        shutil.copy(tmp_path / 'out.png', Path(os.environ['WEBCAM_APP_SCREENSHOTS']) /
                    'view3d.png')


def test_hand3d_offline_on_a_clip_writes_a_hand_sized_3d_hand_per_frame(tmp_path):
    clip = write_clip(hand_clip(n=10).frames, tmp_path / 'hand.avi')
    result = run('hand3d.yaml', clip, '--pred-out', str(tmp_path / 'p.json'),
                 '--out', str(tmp_path / 'out.avi'))
    assert result.returncode == 0, result.stderr
    frames = json.loads((tmp_path / 'p.json').read_text())
    assert [f['frame_id'] for f in frames] == list(range(10))
    for f in frames:
        [hand] = f['instances']
        points = np.asarray(hand['keypoints'])
        assert points.shape == (21, 3) and np.asarray(hand['keypoints_2d']).shape == (21, 2)
        assert 0.05 <= np.linalg.norm(points[0] - points[9]) <= 0.12   # wrist to middle MCP


def test_the_python_api_gives_3d_predictions_with_the_2d_beside():
    import webcam_app
    with webcam_app.open(str(ROOT / 'graphs' / 'hand3d_lite.yaml')) as p:
        result = p(str(photo_path('handSrc.jpg')))
    [hand] = result.predictions
    assert np.asarray(hand['keypoints']).shape == (21, 3)
    assert np.asarray(hand['keypoints_2d']).shape == (21, 2) and hand['label'] == 'hand'
    assert result.image.shape[1] > 640                                  # the 3D view beside
