"""``python run_webcam.py --config graphs/hand.yaml``, weights on disk and no flag, runs OpenVINO.

The weights are fabricated (real RTMDet-nano and RTMPose-m architectures, shaped to give clear
peaks; ``tests/nodes/onnx/shaped.py``) under the file names the graph's models download to. The
first start exports both models once and checks their precision; the second compiles nothing
(both load from OpenVINO's cache) and checks nothing again. Nothing is written to ``~/intel``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.footage import hand_clip, write_clip

pytestmark = [pytest.mark.models, pytest.mark.timeout(900)]

ROOT = Path(__file__).parents[1]
HAND = ROOT / 'graphs' / 'hand.yaml'


def run(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'PYTHONPATH': str(ROOT),
           'HOME': str(home), 'WEBCAM_APP_OFFLINE': '1', 'TORCH_HOME': str(home / 'torch')}
    return subprocess.run([sys.executable, str(ROOT / 'run_webcam.py'), '--config', str(HAND),
                           *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope='module')
def setup(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(models folder with hand.yaml's two checkpoints, a clip of the hand photo, an empty HOME)."""
    pytest.importorskip('mmpose')
    pytest.importorskip('openvino')
    from nodes.models.openmmlab.model_zoo import resolve_model
    from tests.nodes.onnx.shaped import detector_checkpoint, pose_checkpoint
    folder = tmp_path_factory.mktemp('auto')
    models, home = folder / 'models', folder / 'home'
    models.mkdir()
    home.mkdir()
    det = resolve_model('rtmdet_nano_320-8xb32_hand', 'det')
    pose = resolve_model('rtmpose-m_8xb256-210e_hand5-256x256', 'pose')
    detector_checkpoint(det.config_path, models / Path(det.weights_url).name, ['hand'])
    pose_checkpoint(pose.config_path, models / Path(pose.weights_url).name)
    return models, write_clip(hand_clip(4).frames, folder / 'clip.avi'), home


def precision_record(models: Path, node: str) -> Path:
    """The precision check's record beside the export of the detector or the pose model."""
    kind = {'detector': 'det', 'pose': 'pose'}[node]
    sidecar = next(p for p in models.glob('*.json') if not p.name.endswith('.precision.json')
                   and json.loads(p.read_text()).get('kind') == kind)
    return sidecar.with_suffix('.precision.json')


def model_lines(stderr: str) -> dict[str, str]:
    """The setup log line of each model node."""
    return {node: next(line for line in stderr.splitlines() if f'node {node}: ' in line
                       and ' on cpu (' in line) for node in ('detector', 'pose')}


def test_hand_graph_runs_openvino_by_default_and_a_second_start_compiles_nothing(setup) -> None:
    models, clip, home = setup
    common = ['--input', str(clip), '--headless', '--models-dir', str(models), '--no-fallback']
    shown = run('--print-graph', '--models-dir', str(models), home=home)
    assert shown.returncode == 0, shown.stderr
    assert 'detector: DetectorNode [backend auto (openvino), precision auto]' in shown.stdout

    first = run(*common, '--metrics-out', str(models / 'm1.json'), home=home)
    assert first.returncode == 0, first.stderr
    assert first.stderr.count('to ONNX once') == 2, first.stderr        # both exported, once
    metrics = json.loads((models / 'm1.json').read_text())['nodes']
    lines = model_lines(first.stderr)
    for node, line in lines.items():
        info = metrics[node]['info']
        assert info['backend'] == 'openvino', line
        assert f"(openvino, {info['precision']}, compiled in" in line
        record = json.loads(precision_record(models, node).read_text())
        assert [c['precision'] for c in record['checks'].values()] == [info['precision']]

    second = run(*common, '--metrics-out', str(models / 'm2.json'), home=home)
    assert second.returncode == 0, second.stderr
    assert 'to ONNX once' not in second.stderr and 'checked on photos' not in second.stderr
    for node, line in model_lines(second.stderr).items():
        assert 'loaded from cache' in line, line                      # nothing compiled
        assert f'node {node}: precision auto: {metrics[node]["info"]["precision"]}, as checked ' \
            'on ' in second.stderr
    again = json.loads((models / 'm2.json').read_text())['nodes']
    assert {n: again[n]['info'] for n in lines} == {n: metrics[n]['info'] for n in lines}
    assert not (home / 'intel').exists()


def test_pytorch_stays_when_asked_for(setup) -> None:
    models, clip, home = setup
    done = run('--input', str(clip), '--headless', '--models-dir', str(models), '--no-fallback',
               '--backend', 'pytorch', '--max-frames', '1', home=home)
    assert done.returncode == 0, done.stderr
    assert all('(pytorch, f32)' in line for line in model_lines(done.stderr).values())
