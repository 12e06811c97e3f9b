"""The OpenVINO engine on a small real ONNX model: no telemetry, the model cache (a second start
compiles nothing, a corrupt cache is replaced with a warning), devices and precisions checked
before start."""
from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nodes.models.onnx import openvino_engine as ov
from nodes.models.onnx.engines import check_backend, make_engine, pick_backend

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[3]


def small_model(path: Path) -> Path:
    """Conv, ReLU, Conv on a dynamic batch: what our exports look like, in miniature."""
    onnx = pytest.importorskip('onnx')
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n)
               for n, s in (('w1', (16, 3, 3, 3)), ('w2', (4, 16, 3, 3)))]
    nodes = [helper.make_node('Conv', ['input', 'w1'], ['a'], pads=[1, 1, 1, 1]),
             helper.make_node('Relu', ['a'], ['b']),
             helper.make_node('Conv', ['b', 'w2'], ['out'], pads=[1, 1, 1, 1])]
    graph = helper.make_graph(
        nodes, 'small', [helper.make_tensor_value_info('input', TensorProto.FLOAT,
                                                       ['batch', 3, 32, 32])],
        [helper.make_tensor_value_info('out', TensorProto.FLOAT, ['batch', 4, 32, 32])], weights)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), str(path))
    return path


@pytest.fixture
def model(tmp_path) -> Path:
    return small_model(tmp_path / 'small.onnx')


def test_same_outputs_as_onnxruntime_and_a_second_start_compiles_nothing(model) -> None:
    pytest.importorskip('onnxruntime')
    batch = np.random.default_rng(1).standard_normal((2, 3, 32, 32)).astype(np.float32)
    first = make_engine('openvino', model, 'cpu', threads=1, precision='f32')
    assert not first.from_cache and first.precision == 'f32'
    blobs = sorted((model.parent / 'openvino_cache' / 'small').iterdir())
    assert blobs, 'the compiled model is cached beside the export'
    second = make_engine('openvino', model, 'cpu', threads=1, precision='f32')
    assert second.from_cache                                    # loaded, not compiled
    assert sorted((model.parent / 'openvino_cache' / 'small').iterdir()) == blobs
    reference = make_engine('onnxruntime', model)(batch)[0]
    assert np.allclose(second(batch)[0], reference, atol=1e-4)


def test_a_corrupt_cache_is_compiled_again_with_a_warning(model, caplog) -> None:
    make_engine('openvino', model, 'cpu', 1, 'f32')
    for blob in (model.parent / 'openvino_cache' / 'small').iterdir():
        blob.write_bytes(b'not a compiled model' * 40)
    with caplog.at_level(logging.WARNING, logger='nodes.models.onnx.openvino_engine'):
        engine = make_engine('openvino', model, 'cpu', 1, 'f32')
    assert not engine.from_cache
    assert 'could not be read' in caplog.text and 'compiled the model again' in caplog.text
    assert engine(np.ones((1, 3, 32, 32), np.float32))[0].shape == (1, 4, 32, 32)
    assert make_engine('openvino', model, 'cpu', 1, 'f32').from_cache       # replaced


def test_missing_devices_and_precisions_are_refused_before_start() -> None:
    with pytest.raises(ValueError, match=r"device 'GPU' is not available to OpenVINO here; it "
                                         r'has CPU.*use --device CPU'):
        check_backend('openvino', 'GPU')
    with pytest.raises(ValueError, match='a CUDA device runs on backend onnxruntime or pytorch'):
        check_backend('openvino', 'cuda:0')
    with pytest.raises(ValueError, match='backend onnxruntime runs f32 only, but precision is '
                                         'bf16'):
        check_backend('onnxruntime', 'cpu', 'bf16')
    with pytest.raises(ValueError, match='precision must be one of auto, f32, bf16, f16'):
        check_backend('openvino', 'cpu', 'int8')
    check_backend('openvino', 'CPU', 'auto')
    if 'f16' not in ov.native_precisions('cpu'):
        with pytest.raises(ValueError, match='precision f16 does not run natively on OpenVINO'):
            check_backend('openvino', 'cpu', 'f16')
    assert pick_backend('cpu') == 'openvino'
    assert pick_backend('cpu', 'f32') == 'openvino'


#: imports the engine, runs a model, and reports what telemetry modules and files exist
TELEMETRY = """
import sys, pathlib
{before}
from nodes.models.onnx.engines import make_engine
import numpy as np
make_engine('openvino', sys.argv[1], 'cpu', 1, 'f32')(np.ones((1, 3, 32, 32), np.float32))
print('telemetry module:', sys.modules.get('openvino_telemetry'))
print('stub:', 'openvino.tools.ovc.telemetry_stub' in sys.modules)
print('intel:', (pathlib.Path.home() / 'intel').exists())
"""


def run_isolated(model: Path, home: Path, before: str = '',
                 **env: str) -> subprocess.CompletedProcess:
    env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': str(home),
           'PYTHONPATH': str(ROOT), **env}        # no CI=true: telemetry would be on
    return subprocess.run([sys.executable, '-c', TELEMETRY.format(before=before), str(model)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)


def test_no_telemetry_module_loads_and_nothing_is_written_home(model, tmp_path) -> None:
    home = tmp_path / 'home'
    home.mkdir()
    done = run_isolated(model, home)
    assert done.returncode == 0, done.stderr
    assert 'telemetry module: None' in done.stdout and 'stub: True' in done.stdout
    assert 'intel: False' in done.stdout and not (home / 'intel').exists()


def test_telemetry_imported_before_us_is_reported(model, tmp_path) -> None:
    # CI=true keeps the real telemetry that this test lets in from sending anything
    done = run_isolated(model, tmp_path, before='import logging; logging.basicConfig()\n'
                        'import openvino_telemetry', CI='true')
    assert done.returncode == 0, done.stderr
    assert 'openvino_telemetry was imported before webcam-app could block it' in done.stderr


def test_the_app_stops_before_start_on_a_device_openvino_has_not_got(tmp_path) -> None:
    if 'GPU' in ov._get_core().available_devices:
        pytest.skip('this machine has an OpenVINO GPU')
    env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'PYTHONPATH': str(ROOT),
           'HOME': str(tmp_path), 'WEBCAM_APP_OFFLINE': '1'}
    done = subprocess.run([sys.executable, str(ROOT / 'run_webcam.py'), '--config',
                           str(ROOT / 'graphs' / 'hand.yaml'), '--device', 'GPU', '--headless'],
                          env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode == 2, done.stderr
    assert re.search(r"hand\.yaml:\d+: node 'detector' \(DetectorNode\): device 'GPU' is not "
                     r'available to OpenVINO here; it has CPU', done.stderr), done.stderr
    assert 'Traceback' not in done.stderr and 'weights are unavailable' not in done.stderr


#: four engines make their first inference at the same moment, with the GIL switched as often
#: as it can be; before the warm-up in ``_get_core``, this deadlocked in 19 of 20 processes
FIRST_AT_ONCE = """
import sys, threading
import numpy as np
from nodes.models.onnx.engines import make_engine
sys.setswitchinterval(1e-5)
engines = [make_engine('openvino', sys.argv[1], 'cpu', 1, 'f32') for _ in range(4)]
start = threading.Barrier(len(engines))
def first(engine):
    start.wait()
    engine(np.ones((1, 3, 32, 32), np.float32))
threads = [threading.Thread(target=first, args=(e,)) for e in engines]
for t in threads: t.start()
for t in threads: t.join()
print('all done')
"""


@pytest.mark.parametrize('attempt', range(3))
def test_engines_making_their_first_inference_at_once_do_not_deadlock(model, attempt) -> None:
    """Two workers of one node start inferring together: openvino's bindings must not
    deadlock on their first numpy conversion (pybind11's npy_api call_once against a static)."""
    try:
        done = subprocess.run([sys.executable, '-c', FIRST_AT_ONCE, str(model)], cwd=ROOT,
                              env={**os.environ, 'PYTHONPATH': str(ROOT)}, capture_output=True,
                              text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail('four engines making their first inference at once deadlocked')
    assert done.returncode == 0 and 'all done' in done.stdout, done.stderr


def test_workers_share_one_compiled_model_with_a_stream_each(model) -> None:
    """``engine_for_workers`` on OpenVINO: one compilation, an infer request per worker, and
    the same answers, called from two threads at once, as one engine alone gives."""
    from concurrent.futures import ThreadPoolExecutor

    from nodes.models.onnx.engines import engine_for_workers
    first = make_engine('openvino', model, 'cpu', threads=1, precision='f32')
    shared = engine_for_workers(2, first, 'openvino', model, 'cpu', threads=1)
    one, two = shared.engines
    assert first not in shared.engines and one.compiled is two.compiled
    assert one.request is not two.request
    assert one.compiled.get_property('NUM_STREAMS') == 2
    batches = [np.random.default_rng(i).standard_normal((1, 3, 32, 32)).astype(np.float32)
               for i in range(8)]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda b: shared(b)[0], batches))
    for batch, answer in zip(batches, answers):
        np.testing.assert_allclose(answer, first(batch)[0], atol=1e-5)
