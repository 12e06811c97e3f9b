"""End to end: ``export`` a graph, then run it with ``--backend onnxruntime``, and with the
default ``backend: auto`` (OpenVINO), where torch, mmcv, mmengine, mmdet and mmpose cannot be
imported, and compare with the PyTorch run. OpenVINO's telemetry must stay blocked."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.footage import hand_clip, write_clip
from tests.nodes.onnx.shaped import shaped_hand_graph

pytestmark = [pytest.mark.models, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[3]
BLOCKED = ('torch', 'torchvision', 'mmcv', 'mmengine', 'mmdet', 'mmpose')
#: runs the CLI with the OpenMMLab stack made unimportable (as if not installed) and fails if
#: any of it is loaded anyway
NO_TORCH = (f'import sys\nfor m in {BLOCKED!r}: sys.modules[m] = None\n'
            'from webcam_app.app.cli import main\ncode = main(sys.argv[1:])\n'
            f'loaded = [m for m in {BLOCKED!r} if sys.modules.get(m) is not None]\n'
            'assert not loaded, loaded\n'
            "assert sys.modules.get('openvino_telemetry') is None, 'telemetry loaded'\n"
            'sys.exit(code)\n')


def run_cli(args: list[str], no_torch: bool = False,
            home: Path | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, '-c', NO_TORCH] if no_torch else [sys.executable, 'run_webcam.py']
    env = {'PYTHONPATH': str(ROOT), 'WEBCAM_APP_OFFLINE': '1', 'PATH': '/usr/bin:/bin'}
    if home is not None:        # and no CI=true: OpenVINO's telemetry would be on
        env['HOME'] = str(home)
    return subprocess.run(command + args, cwd=ROOT, capture_output=True, text=True, timeout=240,
                          env=env)


@pytest.fixture(scope='module')
def hand_graph(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A hand graph on shaped checkpoints, a clip of the hand photo, and an empty models dir."""
    pytest.importorskip('mmpose')
    pytest.importorskip('onnxruntime')
    folder = tmp_path_factory.mktemp('onnx_only')
    path = shaped_hand_graph(folder, folder / 'hand_onnx.yaml')
    clip = write_clip(hand_clip(4).frames, folder / 'clip.avi')
    models = folder / 'models'
    return path, clip, models


def predictions(path: Path) -> list[dict]:
    return json.loads(path.read_text())


@pytest.fixture(scope='module')
def exported(hand_graph) -> subprocess.CompletedProcess:
    """``webcam-app export`` of the hand graph into its models folder, once."""
    graph, _, models = hand_graph
    return run_cli(['export', str(graph), '--models-dir', str(models)])


def test_export_then_run_without_torch_matches_pytorch(hand_graph, exported, tmp_path) -> None:
    graph, clip, models = hand_graph
    assert exported.returncode == 0, exported.stderr
    assert {'det.json', 'det.onnx', 'pose.json', 'pose.onnx'} <= {p.name for p in
                                                                  models.iterdir()}
    sidecar = json.loads((models / 'det.json').read_text())
    assert sidecar['classes'] == ['hand'] and len(sidecar['checkpoint_sha256']) == 64
    common = ['--config', str(graph), '--input', str(clip), '--headless', '--models-dir',
              str(models)]
    onnx = run_cli(common + ['--backend', 'onnxruntime', '--pred-out', str(tmp_path / 'o.json')],
                   no_torch=True)
    assert onnx.returncode == 0, onnx.stderr
    torch = run_cli(common + ['--backend', 'pytorch', '--pred-out', str(tmp_path / 't.json')])
    assert torch.returncode == 0, torch.stderr
    assert 'on cpu (pytorch, f32)' in torch.stderr        # --backend pytorch stays
    ours, theirs = predictions(tmp_path / 'o.json'), predictions(tmp_path / 't.json')
    assert [f['frame_id'] for f in ours] == [f['frame_id'] for f in theirs] == [0, 1, 2, 3]
    errors = []
    for a, b in zip(ours, theirs):
        assert len(a['instances']) == len(b['instances']) >= 1
        for x, y in zip(a['instances'], b['instances']):
            assert np.allclose(x['bbox'], y['bbox'], atol=1.0)
            errors.append(np.linalg.norm(np.subtract(x['keypoints'], y['keypoints']), axis=-1))
    errors = np.concatenate(errors)
    assert np.median(errors) <= 0.05 and errors.max() <= 2.0, (np.median(errors), errors.max())


def test_without_torch_a_missing_export_says_what_to_run(hand_graph, tmp_path) -> None:
    graph, clip, _ = hand_graph
    alone = tmp_path / graph.name            # away from the exports in models/ beside the graph
    alone.write_text(graph.read_text())
    done = run_cli(['--config', str(alone), '--input', str(clip), '--headless', '--backend',
                    'onnxruntime', '--models-dir', str(tmp_path)], no_torch=True)
    assert done.returncode == 2
    assert 'no exported model' in done.stderr and 'webcam-app export' in done.stderr


def test_without_torch_auto_runs_openvino_and_nothing_phones_home(hand_graph, exported,
                                                                  tmp_path) -> None:
    graph, clip, models = hand_graph
    assert exported.returncode == 0, exported.stderr
    home = tmp_path / 'home'
    home.mkdir()
    done = run_cli(['--config', str(graph), '--input', str(clip), '--headless', '--models-dir',
                    str(models), '--pred-out', str(tmp_path / 'v.json'), '--metrics-out',
                    str(tmp_path / 'm.json')], no_torch=True, home=home)
    assert done.returncode == 0, done.stderr
    assert not (home / 'intel').exists(), 'OpenVINO telemetry wrote its client id'
    metrics = json.loads((tmp_path / 'm.json').read_text())['nodes']
    for node in ('detector', 'pose'):
        assert metrics[node]['info']['backend'] == 'openvino'
        assert metrics[node]['info']['precision'] in ('f32', 'bf16', 'f16')
        assert f"node {node}: " in done.stderr and '(openvino, ' in done.stderr
    ours = predictions(tmp_path / 'v.json')
    assert [f['frame_id'] for f in ours] == [0, 1, 2, 3]
    assert all(len(f['instances']) >= 1 for f in ours)


def test_two_workers_per_model_give_the_same_keypoints_as_one(hand_graph, exported,
                                                              tmp_path) -> None:
    """Replay with detector and pose on two workers each (two frames at once): the same
    predictions, frame for frame, as one worker each. One thread per engine in both runs, so
    that nothing but the workers differs."""
    graph, _, models = hand_graph
    assert exported.returncode == 0, exported.stderr
    clip = write_clip(hand_clip(10).frames, tmp_path / 'clip10.avi')
    runs = {}
    for workers in (1, 2):
        done = run_cli(['--config', str(graph), '--input', str(clip), '--headless',
                        '--models-dir', str(models),
                        '--pred-out', str(tmp_path / f'{workers}.json'),
                        '--metrics-out', str(tmp_path / f'm{workers}.json'),
                        *[f'--set={node}.{key}={value}' for node in ('detector', 'pose')
                          for key, value in (('workers', workers), ('threads', 1))]],
                       no_torch=True)
        assert done.returncode == 0, done.stderr
        metrics = json.loads((tmp_path / f'm{workers}.json').read_text())['nodes']
        assert metrics['pose']['workers'] == metrics['detector']['workers'] == workers
        runs[workers] = predictions(tmp_path / f'{workers}.json')
    assert [f['frame_id'] for f in runs[2]] == list(range(10))
    assert sum(len(f['instances']) for f in runs[2]) >= 10
    assert runs[2] == runs[1]
