"""`webcam-app infer` on the OpenMMLab path, beside MMPoseInferencer itself: the same seeded
checkpoint, the same photo, the same JSON; then the printed graph, and the ONNX Runtime backend.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests import footage
from tests.test_end_to_end import run_app
from tests.test_inferencer_compat import (KEYPOINT_TOLERANCE_PX, VALUE_TOLERANCE,
                                          assert_same_layout, seeded_checkpoint)

pytestmark = [pytest.mark.timeout(900), pytest.mark.models]
OFFLINE = {'WEBCAM_APP_OFFLINE': '1'}


def assert_same_poses(ours: list, theirs: list, px: float = KEYPOINT_TOLERANCE_PX) -> None:
    assert_same_layout(ours, theirs)
    for a, b in zip(ours, theirs):
        assert np.linalg.norm(np.subtract(a['keypoints'], b['keypoints']), axis=1).max() <= px
        np.testing.assert_allclose(a['keypoint_scores'], b['keypoint_scores'], atol=1e-2)
        np.testing.assert_allclose(a['bbox'], b['bbox'], atol=VALUE_TOLERANCE)


def test_show_alias_prints_what_the_inferencer_demo_prints(tmp_path):
    mmpose = pytest.importorskip('mmpose')
    demo = Path(mmpose.__file__).parent / '.mim' / 'demo' / 'inferencer_demo.py'
    theirs = subprocess.run([sys.executable, str(demo), '--show-alias'], capture_output=True,
                            text=True, timeout=300, cwd=tmp_path)
    assert theirs.returncode == 0, theirs.stderr
    code, ours, err = run_app('--show-alias', cwd=tmp_path, timeout=120)
    assert code == 0, err
    assert ours == theirs.stdout
    assert 'human3d' in ours and 'hand3d' in ours


def test_infer_matches_mmpose_inferencer_then_yaml_and_onnx(tmp_path):
    pytest.importorskip('mmpose')
    pytest.importorskip('onnxruntime')
    from mmpose.apis import MMPoseInferencer

    from nodes.models.openmmlab.model_zoo import resolve_model
    config = resolve_model('hand', 'pose').config_path
    ckpt = seeded_checkpoint(config, tmp_path / 'seeded.pth')
    image = str(footage.photo_path('handSrc.jpg'))
    inferencer = MMPoseInferencer(pose2d='hand', pose2d_weights=str(ckpt),
                                  det_model='whole_image', device='cpu')
    for _ in inferencer(image, pred_out_dir=str(tmp_path / 'theirs')):
        pass
    theirs = json.loads((tmp_path / 'theirs' / 'handSrc.json').read_text())

    line = ('infer', image, '--pose2d', 'hand', '--pose2d-weights', str(ckpt), '--det-model',
            'whole_image', '--draw-heatmap', '--backend', 'pytorch')   # like for like
    code, _, err = run_app(*line, '--pred-out-dir', 'ours', '--vis-out-dir', 'vis',
                           cwd=tmp_path, env=OFFLINE, timeout=600)
    assert code == 0, err
    assert 'runs instead' not in err      # the OpenMMLab models ran, not the fallback
    assert_same_poses(json.loads((tmp_path / 'ours' / 'handSrc.json').read_text()), theirs)

    code, text, err = run_app(*line, '--pred-out-dir', 'yaml_preds', '--print-graph',
                              cwd=tmp_path, env=OFFLINE, timeout=120)
    assert code == 0, err
    (tmp_path / 'g.yaml').write_text(text)
    code, _, err = run_app('--config', 'g.yaml', cwd=tmp_path, env=OFFLINE, timeout=600)
    assert code == 0, err
    assert json.loads((tmp_path / 'yaml_preds' / 'handSrc.json').read_text()) == json.loads(
        (tmp_path / 'ours' / 'handSrc.json').read_text())

    code, _, err = run_app(*line, '--backend', 'onnxruntime', '--models-dir', 'models',
                           '--pred-out-dir', 'onnx', '--vis-out-dir', 'vis_onnx', cwd=tmp_path,
                           env=OFFLINE, timeout=600)
    assert code == 0, err
    assert_same_poses(json.loads((tmp_path / 'onnx' / 'handSrc.json').read_text()), theirs)
    torch_vis = cv2.imread(str(tmp_path / 'vis' / 'handSrc.jpg')).astype(float)
    onnx_vis = cv2.imread(str(tmp_path / 'vis_onnx' / 'handSrc.jpg')).astype(float)
    plain = cv2.imread(image).astype(float)
    assert np.abs(torch_vis - plain).mean() > 5          # the heat map is drawn
    assert np.abs(torch_vis - onnx_vis).mean() < 2       # the same on both backends
