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

import numpy as np
import pytest

from tests.footage import hand_clip, photo, write_clip

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


@pytest.fixture(scope='module')
def starts(setup) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """Two starts of hand.yaml with no flag; each writes its metrics (m1.json, m2.json)."""
    models, clip, home = setup
    common = ['--input', str(clip), '--headless', '--models-dir', str(models), '--no-fallback']
    return tuple(run(*common, '--metrics-out', str(models / f'm{i}.json'), home=home)
                 for i in (1, 2))


def test_hand_graph_runs_openvino_by_default_and_a_second_start_compiles_nothing(
        setup, starts) -> None:
    models, clip, home = setup
    shown = run('--print-graph', '--models-dir', str(models), home=home)
    assert shown.returncode == 0, shown.stderr
    assert 'detector: DetectorNode [backend auto (openvino), precision auto]' in shown.stdout

    first, second = starts
    assert first.returncode == 0, first.stderr
    assert first.stderr.count('later runs reuse it') == 2, first.stderr   # both exported, once
    metrics = json.loads((models / 'm1.json').read_text())['nodes']
    lines = model_lines(first.stderr)
    for node, line in lines.items():
        info = metrics[node]['info']
        assert info['backend'] == 'openvino', line
        assert f"(openvino, {info['precision']}, compiled in" in line
        record = json.loads(precision_record(models, node).read_text())
        assert [c['precision'] for c in record['checks'].values()] == [info['precision']]

    assert second.returncode == 0, second.stderr
    assert 'later runs reuse it' not in second.stderr and 'checked on photos' not in second.stderr
    for node, line in model_lines(second.stderr).items():
        assert 'loaded from cache' in line, line                      # nothing compiled
        assert f'node {node}: precision auto: {metrics[node]["info"]["precision"]}, as checked ' \
            'on ' in second.stderr
    again = json.loads((models / 'm2.json').read_text())['nodes']
    assert {n: again[n]['info'] for n in lines} == {n: metrics[n]['info'] for n in lines}
    assert not (home / 'intel').exists()


def test_what_auto_picked_holds_the_bound_and_what_it_refused_misses_it(setup, starts) -> None:
    """On other real photos and boxes than the check's, against f32."""
    from nodes.models.onnx.engines import native_precisions
    from nodes.models.onnx.exported import ExportedDetector, ExportedPose
    from nodes.models.onnx.precision import detections_miss, keypoints_miss
    from tests.nodes.onnx.test_pose_parity import BOXES
    models = setup[0]
    assert starts[0].returncode == 0, starts[0].stderr
    paths = {node: precision_record(models, node).with_name(
        precision_record(models, node).name.replace('.precision.json', '.onnx'))
        for node in ('detector', 'pose')}

    def crop_keypoints(pose: ExportedPose) -> np.ndarray:
        return np.concatenate([pose.codec.decode(pose.engine(pose.codec.preprocess(
            photo(name), np.array(boxes, np.float32))[0]))[0] for name, boxes in BOXES.items()])

    def detections(det: ExportedDetector) -> list:
        return [det.detect(photo(name), 0.3)[:2] for name in ('handSrc.jpg', 'basketball2.png')]
    for node, make, answers, miss in (
            ('pose', ExportedPose, crop_keypoints, keypoints_miss),
            ('detector', ExportedDetector, detections, detections_miss)):
        model = make(paths[node], 'openvino', 'cpu', 2, 'auto')
        reference = answers(make(paths[node], 'openvino', 'cpu', 2, 'f32'))
        assert miss(reference, answers(model))[0] is None, (node, model.precision)
        for refused in native_precisions('openvino', 'cpu'):
            if refused != model.precision:
                other = answers(make(paths[node], 'openvino', 'cpu', 2, refused))
                assert miss(reference, other)[0] is not None, (node, refused)
