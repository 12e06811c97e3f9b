"""Our --pred-out-dir JSON against MMPoseInferencer's pred_out_dir, on the same photo and model.

Both run the same seeded random-weight RTMPose checkpoint, with detection bypassed by one box
over the whole image (MMPoseInferencer's ``det_model='whole_image'``; our ``FixedBoxes`` node in
place of the graph's detector). Our side is the real body or hand graph, run by the command line.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import footage

pytestmark = [pytest.mark.timeout(600), pytest.mark.models]

ROOT = Path(__file__).parents[1]
KEYPOINT_TOLERANCE_PX = 0.5
VALUE_TOLERANCE = 1e-3        # our JSON rounds to 3 decimals


def seeded_checkpoint(config_path: str, path: Path) -> Path:
    """A checkpoint of the model's random initial weights under a fixed seed: tensors only."""
    import torch
    from mmpose.apis import init_model
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1234)
        model = init_model(config_path, None, device='cpu')
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def our_graph(graph: str, checkpoint: Path, flip_test: bool, out: Path) -> Path:
    """The shipped graph with its detector swapped for FixedBoxes and the pose model's weights
    set to the checkpoint."""
    config = yaml.safe_load((ROOT / 'graphs' / graph).read_text())
    config.pop('fallback', None)
    nodes = {n['name']: n for n in config['nodes']}
    det = nodes['detector']
    nodes['detector'] = {'name': 'detector', 'type': 'FixedBoxes', 'label': det['labels'][0],
                         'inputs': det['inputs'], 'outputs': det['outputs']}
    nodes['pose'].update(weights=str(checkpoint), flip_test=flip_test, backend='pytorch')
    config['nodes'] = list(nodes.values())
    out.write_text(yaml.safe_dump(config, sort_keys=False))
    return out


def assert_same_layout(ours: Any, theirs: Any, where: str = '') -> None:
    """Every key, nesting level, type and length the same; numbers compared elsewhere."""
    assert type(ours) is type(theirs), f'{where}: {type(ours).__name__} != {type(theirs).__name__}'
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs), f'{where}: keys {list(ours)} != {list(theirs)}'
        for key in theirs:
            assert_same_layout(ours[key], theirs[key], f'{where}.{key}')
    elif isinstance(theirs, list):
        assert len(ours) == len(theirs), f'{where}: {len(ours)} items != {len(theirs)}'
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same_layout(a, b, f'{where}[{i}]')


@pytest.mark.parametrize('graph,photo', [('body.yaml', 'messi5.jpg'),
                                         ('hand.yaml', 'handSrc.jpg')])
def test_pred_out_dir_matches_mmpose_inferencer(tmp_path, graph, photo):
    pytest.importorskip('mmpose')
    import numpy as np
    from mmengine.config import Config
    from mmpose.apis import MMPoseInferencer

    from nodes.models.openmmlab.model_zoo import resolve_model
    pose = next(n for n in yaml.safe_load((ROOT / 'graphs' / graph).read_text())['nodes']
                if n['name'] == 'pose')
    config_path = resolve_model(pose['model'], 'pose').config_path
    checkpoint = seeded_checkpoint(config_path, tmp_path / 'seeded.pth')
    flip_test = bool(Config.fromfile(config_path).model.test_cfg.get('flip_test', False))
    image = footage.photo_path(photo)

    inferencer = MMPoseInferencer(pose2d=config_path, pose2d_weights=str(checkpoint),
                                  det_model='whole_image', device='cpu')
    for _ in inferencer(str(image), pred_out_dir=str(tmp_path / 'theirs')):
        pass

    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'WEBCAM_APP_OFFLINE': '1'}
    env.pop('DISPLAY', None)
    yaml_path = our_graph(graph, checkpoint, flip_test, tmp_path / graph)
    result = subprocess.run([sys.executable, str(ROOT / 'run_webcam.py'), '--config',
                             str(yaml_path), '--input', str(image), '--headless',
                             '--pred-out-dir', 'ours'], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=500)
    assert result.returncode == 0, result.stderr

    name = Path(photo).stem + '.json'
    assert [p.name for p in (tmp_path / 'ours').iterdir()] == [name]
    theirs = json.loads((tmp_path / 'theirs' / name).read_text())
    ours = json.loads((tmp_path / 'ours' / name).read_text())
    assert len(theirs) == 1 and len(theirs[0]['keypoints']) in (17, 21)
    assert_same_layout(ours, theirs)
    for a, b in zip(ours, theirs):
        distance = np.linalg.norm(np.subtract(a['keypoints'], b['keypoints']), axis=1)
        assert distance.max() <= KEYPOINT_TOLERANCE_PX, distance
        np.testing.assert_allclose(a['keypoint_scores'], b['keypoint_scores'],
                                   atol=VALUE_TOLERANCE)
        np.testing.assert_allclose(a['bbox'], b['bbox'], atol=VALUE_TOLERANCE)
        assert a['bbox_score'] == pytest.approx(b['bbox_score'], abs=VALUE_TOLERANCE)
