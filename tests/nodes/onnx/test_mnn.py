"""backend: mnn. The exported ONNX converted by MNN's C converter and run by its runtime: parity
with mmpose and mmdet at fp32, a cache that is reused and repaired, nothing that phones home
(no ``MNN.tools``, no ``aliyun``, no pip, no socket), and a clear error without MNN."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import nodes  # noqa: F401  (registers the built-in node types)
from webcam_app import ConfigError, NodeHarness, build_graph, load_config

ROOT = Path(__file__).resolve().parents[3]
#: the issue's bound for MNN at fp32 against mmpose (ONNX Runtime's own parity is 0.05 px)
MEDIAN_PX, MAX_PX = 0.5, 2.0


def tiny_onnx(path: Path) -> Path:
    """A conv net with a dynamic batch and two outputs (no torch needed)."""
    onnx = pytest.importorskip('onnx')
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), 'w'),
               numpy_helper.from_array(rng.standard_normal((5, 8)).astype(np.float32), 'fc')]
    graph = helper.make_graph(
        [helper.make_node('Conv', ['input', 'w'], ['c'], pads=[1, 1, 1, 1]),
         helper.make_node('Relu', ['c'], ['features']),
         helper.make_node('GlobalAveragePool', ['features'], ['g']),
         helper.make_node('Flatten', ['g'], ['f']),
         helper.make_node('Gemm', ['f', 'fc'], ['logits'], transB=1)],
        'tiny', [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['N', 3, 16, 16])],
        # outputs in an order that is not alphabetical: the engine must keep it
        [helper.make_tensor_value_info('logits', TensorProto.FLOAT, ['N', 5]),
         helper.make_tensor_value_info('features', TensorProto.FLOAT, ['N', 8, 16, 16])],
        weights)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)]), path)
    return path


@pytest.fixture()
def mnn_engine():
    pytest.importorskip('MNN')
    from nodes.models.onnx import mnn_engine
    return mnn_engine


def test_engine_matches_onnxruntime_caches_and_repairs(mnn_engine, tmp_path, caplog) -> None:
    ort = pytest.importorskip('onnxruntime')
    path = tiny_onnx(tmp_path / 'tiny.onnx')
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    engine = mnn_engine.MnnEngine(path, threads=1)
    assert engine.path.parent == tmp_path and engine.path.name.endswith('.f32.mnn')
    rng = np.random.default_rng(1)
    for n in (1, 3, 2, 1, 4, 5, 6):          # more shapes than sessions kept
        batch = rng.random((n, 3, 16, 16), np.float32)
        ours, theirs = engine(batch), session.run(None, {'input': batch})
        assert [o.shape for o in ours] == [(n, 5), (n, 8, 16, 16)]
        for a, b in zip(ours, theirs):
            assert np.abs(a - b).max() <= 1e-4 * max(1.0, np.abs(b).max())
    made = engine.path.stat().st_mtime_ns
    assert mnn_engine.MnnEngine(path).path.stat().st_mtime_ns == made        # cached
    half = mnn_engine.MnnEngine(path, precision='f16')
    assert half.path != engine.path and half.path.name.endswith('.f16.mnn')
    assert np.abs(half(batch)[0] - theirs[0]).max() < 0.1 * np.abs(theirs[0]).max()
    engine.path.write_bytes(b'not a model')           # a corrupt cache: warned, made again
    with caplog.at_level('WARNING'):
        again = mnn_engine.MnnEngine(path, threads=1)
    assert 'would not load' in caplog.text and again.path == engine.path
    assert np.allclose(again(batch)[0], theirs[0], atol=1e-4 * np.abs(theirs[0]).max())
    tiny_onnx(path)
    path.write_bytes(path.read_bytes() + b'\0')       # a new export: a new file, the old gone
    assert mnn_engine.MnnEngine(path).path != engine.path and not engine.path.exists()


def test_converter_failure_is_a_clear_error(mnn_engine, tmp_path) -> None:
    broken = tmp_path / 'broken.onnx'
    broken.write_bytes(b'\x08\x07garbage')
    with pytest.raises(RuntimeError, match='(?s)MNN could not convert .*broken.onnx.*'
                                           'not onnx model.*onnxruntime'):
        mnn_engine.MnnEngine(broken)
    assert [p.name for p in tmp_path.iterdir()] == ['broken.onnx']     # nothing half-written
    with pytest.raises(ValueError, match='precision must be one of f32, f16 with backend mnn'):
        mnn_engine.check_mnn('cpu', 'bf16')
    with pytest.raises(ValueError, match='device must be cpu with backend mnn'):
        mnn_engine.check_mnn('cuda:0')


#: run in every Python process of the test's tree (the app and the converter child): record
#: imported modules, process starts and network calls in a JSON file per process
SITECUSTOMIZE = textwrap.dedent('''
    import atexit, json, os, sys
    _events = []
    _WATCH = ('subprocess.Popen', 'os.system', 'os.exec', 'os.posix_spawn', 'os.spawn',
              'os.fork', 'socket.connect', 'socket.getaddrinfo', 'urllib.Request')
    def _hook(event, args):
        if event in _WATCH:
            _events.append([event, repr(args)[:500]])
    sys.addaudithook(_hook)
    def _dump():
        with open(os.path.join(os.environ['AUDIT_DIR'], f'{os.getpid()}.json'), 'w') as f:
            json.dump({'argv': sys.argv, 'events': _events,
                       'modules': sorted(k for k, m in sys.modules.items() if m is not None)}, f)
    atexit.register(_dump)
''')
APP = textwrap.dedent('''
    import sys
    import numpy as np
    from nodes.models.onnx.engines import make_engine
    engine = make_engine('mnn', sys.argv[1], 'cpu', 1, sys.argv[2])
    assert engine(np.ones((2, 3, 16, 16), np.float32))[0].shape == (2, 5)
''')


@pytest.mark.timeout(300)
def test_nothing_phones_home(mnn_engine, tmp_path) -> None:
    """Conversion and inference, audited in every process: no MNN.tools, no aliyun, no pip
    (nor any other process than the converter), no network."""
    path = tiny_onnx(tmp_path / 'tiny.onnx')
    (tmp_path / 'hook').mkdir()
    (tmp_path / 'hook' / 'sitecustomize.py').write_text(SITECUSTOMIZE)
    audit = tmp_path / 'audit'
    audit.mkdir()
    env = {'PYTHONPATH': f'{tmp_path / "hook"}:{ROOT}', 'AUDIT_DIR': str(audit),
           'HOME': str(tmp_path / 'home'), 'PATH': '/usr/bin:/bin'}
    for precision in ('f32', 'f16'):
        done = subprocess.run([sys.executable, '-c', APP, str(path), precision], env=env,
                              capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stderr
    records = [json.loads(p.read_text()) for p in audit.iterdir()]
    apps = [r for r in records if r['argv'][:1] == ['-c'] and 'MNN' in r['modules']]
    converters = [r for r in records if r not in apps]
    assert len(apps) == 2 and len(converters) == 2          # one conversion per precision
    assert all('_tools' in r['modules'] for r in converters)
    for r in records:
        loaded = [m for m in r['modules'] if m.startswith(('MNN.tools', 'aliyun'))]
        assert not loaded, loaded
        assert not [e for e in r['events'] if e[0].startswith(('socket', 'urllib'))], r['events']
        assert not [e for e in r['events'] if 'pip' in e[1]], r['events']
    for r in apps:          # the only process started: the converter, this Python
        starts = [e for e in r['events'] if not e[0].startswith('socket')]
        assert len(starts) == 1 and starts[0][0] == 'subprocess.Popen', starts
        assert repr(sys.executable) in starts[0][1] and '_tools.mnnconvert' in starts[0][1]
    for r in converters:
        assert not r['events'], r['events']
    assert not (tmp_path / 'home').exists()


def test_backend_mnn_without_mnn_stops_before_start(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, 'MNN', None)       # as if not installed
    config = load_config(ROOT / 'graphs' / 'hand.yaml')
    with pytest.raises(ConfigError, match=r"hand.yaml:\d+: node 'detector'.*backend mnn needs "
                                          r"the MNN package.*pip install -e '.\[mnn\]'"):
        build_graph(config, set_all={'headless': True, 'backend': 'mnn'})


def test_cli_backend_mnn_without_mnn_exits_2(monkeypatch, capsys, tmp_path) -> None:
    from webcam_app.app.cli import main
    monkeypatch.setitem(sys.modules, 'MNN', None)
    clip = tmp_path / 'clip.avi'
    clip.write_bytes(b'')
    code = main(['--config', str(ROOT / 'graphs' / 'hand.yaml'), '--backend', 'mnn',
                 '--headless', '--input', str(clip), '--models-dir', str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and 'Traceback' not in err
    assert "hand.yaml:" in err and 'backend mnn needs the MNN package' in err, err


# -- parity with mmpose and mmdet at fp32, shaped weights on real photos ----------------------

@pytest.mark.models
@pytest.mark.timeout(900)
def test_pose_parity_with_mmpose(mnn_engine, tmp_path) -> None:
    """RTMPose-m (SimCC), the hand graph's model. With MNN's Winograd convolutions on, one
    near-tied keypoint of these boxes moved by 40 px: this test is what keeps them off."""
    head = 'simcc'
    pytest.importorskip('mmpose')
    from nodes.models.openmmlab.model_zoo import resolve_model
    from tests.nodes.onnx.shaped import pose_checkpoint
    from tests.nodes.onnx.test_pose_parity import (MODELS, errors, mmpose_keypoints,
                                                   node_keypoints, pose_node)
    name = MODELS[head]
    ckpt = str(pose_checkpoint(resolve_model(name, 'pose').config_path, tmp_path / f'{name}.pth'))
    with NodeHarness(pose_node(name, ckpt, tmp_path, False, backend='mnn'), name='pose') as h:
        ours = node_keypoints(h)
        assert type(h.node._model.engine).__name__ == 'MnnEngine'
    theirs = mmpose_keypoints(name, ckpt, False)
    err = errors(ours, theirs)
    assert np.median(err) <= MEDIAN_PX and err.max() <= MAX_PX, (head, np.median(err), err.max())
    points = np.concatenate([t[0].reshape(-1, 2) for t in theirs.values()])
    assert (points.std(axis=0) > 5).all(), 'the shaped model must not give one point everywhere'
    assert list(tmp_path.glob('*.f32.mnn')), 'converted beside the export'


@pytest.mark.models
@pytest.mark.timeout(900)
def test_detector_parity_with_mmdet(mnn_engine, tmp_path) -> None:
    pytest.importorskip('mmdet')
    from nodes.models.openmmlab.detector import DetectorNode
    from nodes.models.openmmlab.model_zoo import resolve_model
    from tests.nodes.onnx.shaped import detector_checkpoint
    from tests.nodes.onnx.test_det_parity import assert_boxes_match, gap_threshold, mmdet_boxes
    name = 'rtmdet_nano_320-8xb32_hand'
    ckpt = str(detector_checkpoint(resolve_model(name, 'det').config_path, tmp_path / 'det.pth',
                                   ['hand']))
    theirs = mmdet_boxes(name, ckpt)
    thr = gap_threshold([s for _, s in theirs.values()])
    assert_boxes_match(DetectorNode(name, weights=ckpt, models_dir=str(tmp_path), score_thr=thr,
                                    backend='mnn'), theirs, thr, 'hand')


def test_cli_choices_are_the_engines() -> None:
    """The CLI (which imports no nodes module) writes the choices out; they must stay the same."""
    from nodes.models.onnx.engines import BACKENDS, PRECISIONS
    from webcam_app.app.cli import build_parser
    actions = {a.dest: a for a in build_parser()._actions}
    assert set(actions['backend'].choices) == set(BACKENDS) and 'mnn' in BACKENDS
    assert set(actions['precision'].choices) == set(PRECISIONS)
