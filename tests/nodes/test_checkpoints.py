"""Safe checkpoint loading: what OpenMMLab saves loads; a pickle that would run code is refused."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip('torch')
mmengine_logging = pytest.importorskip('mmengine.logging')

from nodes.models.openmmlab.checkpoints import (  # noqa: E402
    CheckpointRefused, load_checkpoint, unsafe_globals)

ROOT = Path(__file__).parents[2]


def plant_marker(path: str) -> None:
    """The stand-in for any code a checkpoint could run."""
    Path(path).write_text('code ran')


class RunsCode:
    """Unpickling this calls ``plant_marker``: code runs."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (plant_marker, (str(self.marker),))


class ReachesFurther:
    """Tries to use the allowed getattr to reach beyond mmengine's HistoryBuffer methods."""

    def __reduce__(self):
        return (getattr, (np.ndarray, '__class__'))


def tiny_model() -> torch.nn.Module:
    model = torch.nn.Linear(2, 1)
    torch.nn.init.zeros_(model.weight)
    return model


def training_checkpoint(path: Path) -> Path:
    """What an mmengine training run saves: weights, meta, the message hub's history buffers."""
    hub = mmengine_logging.MessageHub.get_instance('test_checkpoints')
    hub.update_scalar('train/loss', 0.5)
    hub.update_scalar('train/loss', np.float32(0.25))
    hub.update_info('iter', np.int64(1200))
    weights = {'module.weight': torch.ones(1, 2), 'module.bias': torch.full((1,), 2.0)}
    torch.save({'meta': {'epoch': 3, 'seed': np.int64(7), 'dataset_meta': {'classes': ('hand',)},
                         'hook_msgs': {'best_score': np.float64(0.7)}},
                'state_dict': weights, 'message_hub': hub.state_dict(),
                'optimizer': {'state': {}, 'param_groups': [{'lr': 0.004}]}}, path)
    return path


def test_an_openmmlab_training_checkpoint_loads_safely(tmp_path):
    path = training_checkpoint(tmp_path / 'trained.pth')
    assert unsafe_globals(str(path)) == []
    model = tiny_model()
    meta = load_checkpoint(model, str(path))
    assert meta['dataset_meta'] == {'classes': ('hand',)} and meta['seed'] == 7
    assert model.weight.tolist() == [[1.0, 1.0]] and model.bias.tolist() == [2.0]


@pytest.mark.parametrize('legacy', [False, True], ids=['zip', 'legacy'])
def test_a_checkpoint_that_would_run_code_is_refused_and_nothing_runs(tmp_path, legacy):
    marker = tmp_path / 'ran'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': {'x': RunsCode(marker)}}, path,
               _use_new_zipfile_serialization=not legacy)
    if not legacy:   # statically, before anything starts
        assert unsafe_globals(str(path)) == [f'{__name__}.plant_marker']
    with pytest.raises(CheckpointRefused) as info:
        load_checkpoint(tiny_model(), str(path))
    assert str(path) in str(info.value) and 'plant_marker' in str(info.value)
    assert 'trust_checkpoint: true' in str(info.value)
    assert not marker.exists()


def test_getattr_reaches_only_history_buffer_methods(tmp_path):
    path = tmp_path / 'reach.pth'
    torch.save({'state_dict': {}, 'meta': {'x': ReachesFurther()}}, path)
    with pytest.raises(CheckpointRefused, match=r"getattr\(<class 'numpy.ndarray'>, '__class__'\)"):
        load_checkpoint(tiny_model(), str(path))


def test_trust_loads_it_in_full(tmp_path):
    marker = tmp_path / 'ran'
    path = tmp_path / 'trusted.pth'
    torch.save({'state_dict': {}, 'meta': {'x': RunsCode(marker)}}, path)
    load_checkpoint(tiny_model(), str(path), trust=True)
    assert marker.exists()


GRAPH = """
name: evil
nodes:
  - name: source
    type: VideoSource
    input: clip.avi
    outputs: {frame: frames}
  - name: detector
    type: DetectorNode
    model: hand
    weights: evil.pth
    classes: [hand]
    inputs: {frame: frames}
"""


def test_the_app_refuses_it_before_start_at_the_nodes_line(tmp_path, make_video):
    pytest.importorskip('mmdet')
    make_video(5, name='clip.avi')
    marker = tmp_path / 'ran'
    torch.save({'state_dict': {}, 'meta': {'x': RunsCode(marker)}}, tmp_path / 'evil.pth')
    (tmp_path / 'evil.yaml').write_text(GRAPH)
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get('PYTHONPATH')) if p)
    proc = subprocess.run([sys.executable, str(ROOT / 'run_webcam.py'), '--config',
                           str(tmp_path / 'evil.yaml'), '--headless'], capture_output=True,
                          text=True, timeout=120, env={**os.environ, 'PYTHONPATH': path})
    assert proc.returncode == 2, proc.stderr
    assert f"{tmp_path / 'evil.yaml'}:8: node 'detector' (DetectorNode): checkpoint " in proc.stderr
    assert 'evil.pth was refused: it holds tests.nodes.test_checkpoints.plant_marker' in proc.stderr
    assert 'trust_checkpoint: true' in proc.stderr and '--trust-checkpoints' in proc.stderr
    assert 'stopping' not in proc.stderr and not marker.exists()
