"""``backend: remote`` against a real KServe v2 server on loopback (PyTriton's tritonserver).

One module fixture exports a hand graph (shaped RTMDet-nano + RTMPose-m checkpoints) with
``webcam-app export --model-repository``, and one server serves that repository. The client runs
are the real CLI in subprocesses, with torch and the OpenMMLab stack made unimportable, and an
empty models folder: the sidecars come from the server. Outages are a real kill of the server's
process group and a real restart on the same ports; every wait has a deadline, and no test
asserts how long anything took (bench/remote.py measures that).
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.footage import hand_clip, write_clip
from tests.kserve import ROOT, ServerProcess, free_port, pytriton_runs
from tests.nodes.onnx.shaped import shaped_hand_graph
from tests.nodes.onnx.test_onnx_only import NO_TORCH

pytestmark = [pytest.mark.server, pytest.mark.models, pytest.mark.timeout(900)]

FRAMES = 6


#: a client of the server: no torch, no OpenMMLab, and no ONNX Runtime or onnx either
CLIENT = NO_TORCH.replace("'mmpose')", "'mmpose', 'onnxruntime', 'onnx')")


def cli(args: list[str], no_torch: bool = True, client: bool = True) -> subprocess.Popen:
    prelude = CLIENT if client else NO_TORCH
    command = [sys.executable, '-c', prelude] if no_torch else [sys.executable, 'run_webcam.py']
    return subprocess.Popen(command + args, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={'PYTHONPATH': str(ROOT), 'WEBCAM_APP_OFFLINE': '1',
                                 'PATH': '/usr/bin:/bin'})


def run(args: list[str], no_torch: bool = True, timeout: float = 600,
        client: bool = True) -> tuple[int, str]:
    proc = cli(args, no_torch, client)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, err


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """(graph, clip, exports folder, empty folder, the running server, local predictions)."""
    reason = pytriton_runs()
    if reason:
        pytest.skip(reason)
    pytest.importorskip('mmpose')
    folder = tmp_path_factory.mktemp('remote')
    path = shaped_hand_graph(folder, folder / 'graph' / 'hand_remote.yaml')
    clip = write_clip(hand_clip(FRAMES).frames, folder / 'clip.avi')
    exports, repository, empty = folder / 'exports', folder / 'repository', folder / 'empty'
    empty.mkdir()
    code, err = run(['export', str(path), '--models-dir', str(exports), '--model-repository',
                     str(repository), '--max-batch-size', '4'], no_torch=False)
    assert code == 0, err
    code, err = run(['--config', str(path), '--input', str(clip), '--headless', '--backend',
                     'onnxruntime', '--models-dir', str(exports), '--pred-out',
                     str(folder / 'local.json')], client=False)
    assert code == 0, err
    server = ServerProcess(repository, folder / 'server.log').start()
    yield path, clip, exports, empty, server, predictions(folder / 'local.json')
    server.kill()


def predictions(path: Path) -> list[dict]:
    text = path.read_text()
    return [json.loads(line) for line in text.splitlines()] if path.suffix == '.jsonl' \
        else json.loads(text)


def remote_args(setup, url: str, out: Path, *more: str) -> list[str]:
    graph, clip, _, empty, _, _ = setup
    return ['--config', str(graph), '--input', str(clip), '--headless', '--backend', 'remote',
            '--server', url, '--models-dir', str(empty), '--pred-out', str(out),
            '--metrics-out', str(out.with_suffix('.metrics.json')), *more]


def keypoint_errors(ours: list[dict], theirs: list[dict]) -> np.ndarray:
    assert [f['frame_id'] for f in ours] == [f['frame_id'] for f in theirs]
    errors = [np.zeros(1)]
    for a, b in zip(ours, theirs):
        assert len(a['instances']) == len(b['instances'])
        for x, y in zip(a['instances'], b['instances']):
            assert np.allclose(x['bbox'], y['bbox'], atol=0.01)
            errors.append(np.linalg.norm(np.subtract(x['keypoints'], y['keypoints']), axis=-1))
    return np.concatenate(errors)


def node_metrics(out: Path, name: str) -> dict:
    return json.loads(out.with_suffix('.metrics.json').read_text())['nodes'][name]


def test_the_repository_config_parses_as_a_triton_model_config(setup) -> None:
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2
    server = setup[4]
    configs = {p.parent.name: text_format.Parse(p.read_text(), model_config_pb2.ModelConfig())
               for p in server.repository.glob('*/config.pbtxt')}
    assert sorted(configs) == ['det', 'pose']
    pose, det = configs['pose'], configs['det']
    assert pose.platform == 'onnxruntime_onnx' and pose.max_batch_size == 4
    assert list(pose.input[0].dims) == [3, 256, 256] and pose.dynamic_batching is not None
    assert [o.name for o in pose.output] == ['simcc_x', 'simcc_y']
    assert det.max_batch_size == 0 and list(det.input[0].dims) == [1, 3, 320, 320]
    sidecar = json.loads(pose.parameters['webcam_app_sidecar'].string_value)
    assert sidecar == json.loads((setup[2] / 'pose.json').read_text())
    assert pose.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_CPU
    assert (server.repository / 'pose' / '1' / 'model.onnx').is_file()
    ovms = json.loads((server.repository / 'config.json').read_text())
    assert sorted(m['config']['base_path'] for m in ovms['model_config_list']) == ['det', 'pose']


@pytest.mark.parametrize('protocol', ['http', 'grpc'])
def test_keypoints_through_the_server_equal_onnxruntime(setup, protocol, tmp_path) -> None:
    server, local = setup[4], setup[5]
    before = len(server.requests('pose'))
    out = tmp_path / 'remote.json'
    code, err = run(remote_args(setup, getattr(server, protocol), out))
    assert code == 0, err
    errors = keypoint_errors(predictions(out), local)
    assert errors.max() <= 0.01, errors.max()
    boxes = [len(f['instances']) for f in local if f['instances']]
    assert server.requests('pose')[before:] == boxes       # all crops of a frame: one request
    stats = node_metrics(out, 'pose')
    assert stats['requests'] == len(boxes) and stats['failures'] == 0
    assert stats['request_ms_p50'] > 0


def test_no_server_is_exit_2_before_start(setup, tmp_path) -> None:
    url = f'http://127.0.0.1:{free_port()}'
    code, err = run(remote_args(setup, url, tmp_path / 'p.json'))
    assert code == 2, err
    assert f'server {url} is unreachable' in err and 'hand_remote.yaml' in err
    assert not (tmp_path / 'p.json').exists()


def test_an_unknown_or_mismatched_model_is_exit_2(setup, tmp_path) -> None:
    server, exports = setup[4], setup[2]
    code, err = run(remote_args(setup, server.http, tmp_path / 'p.json',
                                '--set', 'pose.model_name=nope'))
    assert code == 2 and "has no ready model 'nope'" in err and 'det, pose' in err, err
    args = remote_args(setup, server.grpc, tmp_path / 'p.json', '--set', 'pose.model_name=det')
    args[args.index('--models-dir') + 1] = str(exports)     # the pose sidecar is local
    code, err = run(args)
    assert code == 2 and "model 'det' takes input FP32 [1, 3, 320, 320]" in err, err


def test_replay_waits_for_a_restarted_server_and_skips_nothing(setup, tmp_path) -> None:
    server, local = setup[4], setup[5]
    server.restart(hang_after=4)       # the 5th request hangs: the kill lands mid-run
    out = tmp_path / 'replay.json'
    proc = cli(remote_args(setup, server.http, out, '--set', 'detector.timeout=120',
                           '--set', 'pose.timeout=120'))
    try:
        server.wait_for(lambda events: any(e[0] == 'HUNG' for e in events), 300, 'a hung request')
        server.restart()
        _, err = proc.communicate(timeout=300)
    except BaseException:
        proc.kill()
        server.restart()
        raise
    assert proc.returncode == 0, err
    assert keypoint_errors(predictions(out), local).max() <= 0.01
    stats = [node_metrics(out, name) for name in ('detector', 'pose')]
    assert sum(s['reconnects'] for s in stats) >= 1 and sum(s['retries'] for s in stats) >= 1
    assert 'is unavailable' in err and 'answers again' in err


class Lines:
    """The lines of a stream (the app's log), read on a thread, to wait for."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()

    def wait_for(self, text: str, timeout: float) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: any(text in line for line in self.lines),
                                       timeout):
                raise AssertionError(f'the app never logged {text!r}:\n'
                                     + ''.join(self.lines[-30:]))


def test_live_passes_frames_while_the_server_is_away_then_resumes(setup, tmp_path) -> None:
    server = setup[4]
    before = len(server.requests('pose'))
    out = tmp_path / 'live.jsonl'
    proc = cli(remote_args(setup, server.http, out, '--mode', 'live', '--set',
                           'source.realtime=true', '--set', 'source.loop=true'))
    log = Lines(proc.stderr)
    try:
        server.wait_for(lambda events: len(server.requests('pose')) >= before + 3, 300,
                        'pose requests')
        server.kill()
        log.wait_for('frames pass on without results until it is back', 120)
        server.start()
        log.wait_for('answers again', 120)
        # the 2nd request is sent once the 1st has its answer: a frame with results is out
        server.wait_for(lambda events: len(server.requests('pose')) >= 2, 120,
                        'pose requests after the restart')
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    except BaseException:
        proc.kill()
        if server.proc is None:
            server.start()
        raise
    assert proc.returncode == 130, ''.join(log.lines)
    results = [bool(f['instances']) for f in predictions(out)]
    first_gap = results.index(False, results.index(True))     # the server went away ...
    assert True in results[first_gap:]                          # ... and came back
    stats = node_metrics(out, 'detector')
    assert stats['passed_through'] >= 1 and stats['reconnects'] >= 1 and stats['failures'] >= 1


def test_ctrl_c_stops_a_run_whose_request_hangs(setup, tmp_path) -> None:
    server = setup[4]
    server.restart(hang_after=0)
    out = tmp_path / 'hung.json'
    proc = cli(remote_args(setup, server.http, out, '--set', 'detector.timeout=600'))
    try:
        server.wait_for(lambda events: any(e[0] == 'HUNG' for e in events), 300, 'a hung request')
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)      # generous: the assert is that it exits
    finally:
        proc.kill()
        server.restart()
    assert proc.returncode == 130, err
