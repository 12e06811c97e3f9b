"""An export is opened before the run starts: a cut or corrupt ``.onnx``, a sidecar that is not
JSON or lacks keys, and an export made from another checkpoint are refused (exit 2, naming the
file and the command that remakes it) or exported again, never run. Real exports of RTMDet-nano
(hand) from checkpoints made here."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from nodes.models.onnx import locate
from nodes.models.onnx.locate import locate_exported
from nodes.models.onnx.sidecar import sha256_of

pytestmark = [pytest.mark.models, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[3]
MODEL = 'rtmdet_nano_320-8xb32_hand'


def make_checkpoint(path: Path, seed: int) -> Path:
    """RTMDet-nano hand with seeded random weights, saved as a checkpoint."""
    import torch
    from mmdet.apis import init_detector

    from nodes.models.openmmlab.model_zoo import resolve_model
    from nodes.models.openmmlab.weights import building
    with building(random_weights=False):
        torch.manual_seed(seed)
        model = init_detector(resolve_model(MODEL, 'det').config_path, None, device='cpu')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def locate_det(folder: Path, weights: str | None = None) -> Path:
    return locate_exported('detector', 'det', MODEL, weights or str(folder / 'det.pth'),
                           str(folder / 'models'), str(folder), ['hand'])


@pytest.fixture(scope='module')
def exported(tmp_path_factory) -> Path:
    """A folder with det.pth and its export models/det.onnx + models/det.json."""
    pytest.importorskip('mmdet')
    pytest.importorskip('onnxruntime')
    folder = tmp_path_factory.mktemp('export_checks')
    make_checkpoint(folder / 'det.pth', seed=1)
    assert locate_det(folder) == folder / 'models' / 'det.onnx'
    return folder


@pytest.fixture
def copy(exported, tmp_path) -> Path:
    """A fresh copy of the exported folder, for a test to break."""
    folder = tmp_path / 'copy'
    shutil.copytree(exported, folder)
    return folder


def without_stack(monkeypatch) -> None:
    """As on a machine without torch and mmdet: the export is found, never made."""
    monkeypatch.setattr(locate, 'stack_available', lambda kind: False)


def refused(folder: Path, weights: str | None = None) -> str:
    with pytest.raises(ValueError) as caught:
        locate_det(folder, weights)
    return str(caught.value)


def cut(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def unrecorded(path: Path) -> None:
    """An export from before sidecars recorded the model file's hash: the structure is read."""
    side = path.with_suffix('.json')
    data = json.loads(side.read_text())
    del data['model_file']
    side.write_text(json.dumps(data))


@pytest.mark.parametrize('damage, says', [
    (cut, 'cut short or corrupt'),
    (flip_a_byte, 'the file changed since it was exported'),
    (lambda p: p.write_bytes(b''), 'cut short or corrupt'),
    (lambda p: p.write_bytes(b'<html>404 Not Found</html>'), 'cut short or corrupt'),
    (lambda p: (unrecorded(p), cut(p)), 'not a readable ONNX model'),
    (lambda p: (unrecorded(p), p.write_bytes(b'\x08\x07' * 100)), 'holds no ONNX graph'),
])
def test_a_broken_model_file_is_refused_naming_it_and_the_command(copy, monkeypatch, damage,
                                                                  says):
    without_stack(monkeypatch)
    onnx = copy / 'models' / 'det.onnx'
    damage(onnx)
    for weights in (None, str(onnx)):        # found by search, or named in weights:
        message = refused(copy, weights)
        assert f'{onnx}: ' in message and says in message, message
        assert f'fix: export it again: webcam-app export GRAPH.yaml --models-dir {onnx.parent}' \
            in message


@pytest.mark.parametrize('edit, says', [
    (lambda text: text[:len(text) // 2], 'not a readable sidecar JSON'),
    (lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != 'levels'}),
     'it lacks levels'),
    (lambda text: json.dumps({**json.loads(text), 'input': {'size': [320, 320]}}),
     'it lacks input.mean, input.std, input.channel_order'),
    (lambda text: json.dumps({**json.loads(text), 'postprocess': {}}), "it lacks 'score_thr'"),
])
def test_a_broken_sidecar_is_refused_naming_it(copy, monkeypatch, edit, says):
    side = copy / 'models' / 'det.json'
    side.write_text(edit(side.read_text()))
    message = refused(copy, str(copy / 'models' / 'det.onnx'))
    assert f'{side}: ' in message and says in message, message
    assert 'fix: export it again: webcam-app export' in message


def test_without_torch_an_export_of_another_checkpoint_is_refused_as_stale(copy, monkeypatch):
    without_stack(monkeypatch)
    assert locate_det(copy) == copy / 'models' / 'det.onnx'      # the file it was made from
    make_checkpoint(copy / 'det.pth', seed=2)                    # the checkpoint changes
    message = refused(copy)
    assert f"{copy / 'models' / 'det.onnx'} is stale" in message
    assert 'the sha256 its sidecar records differs' in message
    assert 'fix: export it again: webcam-app export' in message


def test_without_torch_an_export_of_a_checkpoint_of_another_name_is_not_taken(copy, monkeypatch):
    without_stack(monkeypatch)
    shutil.copy(copy / 'det.pth', copy / 'other.pth')
    message = refused(copy, str(copy / 'other.pth'))
    assert "no exported model for 'rtmdet_nano_320-8xb32_hand' made from other.pth" in message


def test_without_torch_two_exports_that_fit_are_an_error_listing_both(copy, monkeypatch):
    without_stack(monkeypatch)
    second = copy / 'more'
    second.mkdir()
    for name in ('det.onnx', 'det.json'):
        shutil.copy(copy / 'models' / name, second / name)
    with pytest.raises(ValueError) as caught:
        locate_exported('detector', 'det', MODEL, str(copy / 'det.pth'), str(second),
                        str(copy), ['hand'])
    message = str(caught.value)
    assert '2 exports fit model' in message and 'with checkpoint det.pth' in message
    assert str(copy / 'models' / 'det.onnx') in message and str(second / 'det.onnx') in message


def test_with_torch_a_changed_checkpoint_is_exported_again_never_reused(copy):
    onnx, side = copy / 'models' / 'det.onnx', copy / 'models' / 'det.json'
    before = json.loads(side.read_text())
    assert locate_det(copy) == onnx and json.loads(side.read_text()) == before   # reused
    make_checkpoint(copy / 'det.pth', seed=2)
    assert locate_det(copy) == onnx
    after = json.loads(side.read_text())
    assert after['checkpoint_sha256'] == sha256_of(copy / 'det.pth') \
        != before['checkpoint_sha256']
    assert after['model_file']['sha256'] == sha256_of(onnx) != before['model_file']['sha256']


def test_with_torch_a_broken_export_is_exported_again(copy):
    onnx = copy / 'models' / 'det.onnx'
    cut(onnx)
    assert locate_det(copy) == onnx
    assert json.loads(onnx.with_suffix('.json').read_text())['model_file']['sha256'] \
        == sha256_of(onnx)


def test_the_command_line_refuses_a_cut_export_before_any_thread_with_exit_2(copy, tmp_path):
    onnx = copy / 'models' / 'det.onnx'
    cut(onnx)
    cv2.imwrite(str(tmp_path / 'photo.png'), np.full((48, 64, 3), 90, np.uint8))
    graph = tmp_path / 'g.yaml'
    graph.write_text(yaml.safe_dump({'name': 'cut', 'nodes': [
        {'name': 'source', 'type': 'VideoSource', 'input': str(tmp_path / 'photo.png'),
         'outputs': {'frame': 'frames'}},
        {'name': 'detector', 'type': 'DetectorNode', 'model': MODEL, 'weights': str(onnx),
         'backend': 'onnxruntime', 'inputs': {'frame': 'frames'}, 'outputs': {'frame': 'dets'}},
        {'name': 'sink', 'type': 'Display', 'inputs': {'frame': 'dets'}}]}))
    done = subprocess.run([sys.executable, str(ROOT / 'run_webcam.py'), '--config', str(graph),
                           '--headless', '--log-level', 'DEBUG'], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={'PYTHONPATH': str(ROOT), 'PATH': '/usr/bin:/bin'})
    assert done.returncode == 2, done.stderr     # a node failing in setup() would exit 1
    assert re.search(rf"{graph}:\d+: node 'detector' \(DetectorNode\): {onnx}: ", done.stderr), \
        done.stderr
    assert 'cut short or corrupt' in done.stderr
    assert 'fix: export it again: webcam-app export' in done.stderr
    assert 'Traceback' not in done.stderr and 'failed' not in done.stderr
