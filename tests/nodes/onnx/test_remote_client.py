"""``backend: remote`` without a server: URLs, the model config text, parameters, and the engine's
retry rules over a stand-in for the request (the real server: test_remote.py)."""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest

import nodes  # noqa: F401  (registers the node types)
from nodes.models.onnx import remote_engine
from nodes.models.onnx.remote_client import RemoteModel, is_transient, parse_server
from nodes.models.onnx.remote_engine import (RemoteEngine, RemoteError, RequestCancelled,
                                             ServerUnavailable)
from nodes.models.onnx.repository import config_text, model_name_for
from webcam_app import ConfigError
from webcam_app.builder import build_graph
from webcam_app.config import load_config

pytestmark = pytest.mark.timeout(60)


def test_server_urls_are_http_or_grpc_with_a_host() -> None:
    assert parse_server('http://10.0.0.5:8000') == ('http', '10.0.0.5:8000')
    assert parse_server('grpc://triton') == ('grpc', 'triton:8001')
    assert parse_server('http://[::1]:9000/') == ('http', '[::1]:9000')
    for bad in ('10.0.0.5:8000', 'https://x:8000', 'http://:8000', 'http://x:8000/v2',
                'grpc://x:port'):
        with pytest.raises(ValueError, match='server|port'):
            parse_server(bad)


def load_graph(data: dict):
    """Built and validated, its nodes not checked (that would ask the server)."""
    return build_graph(load_config(data), check=False)


def test_a_remote_node_needs_a_server_and_graph_defaults_give_one() -> None:
    node = {'name': 'pose', 'type': 'TopdownPoseEstimatorNode', 'model': 'hand',
            'backend': 'remote', 'inputs': {'frame': 'b'}}
    source = [{'name': 'source', 'type': 'VideoSource', 'outputs': {'frame': 'f'}},
              {'name': 'boxes', 'type': 'FixedBoxes', 'boxes': [[0, 0, 10, 10]],
               'inputs': {'frame': 'f'}, 'outputs': {'frame': 'b'}}]
    with pytest.raises(ConfigError, match='backend remote needs server: URL'):
        load_graph({'name': 'g', 'nodes': [*source, node]})
    with pytest.raises(ConfigError, match='http://HOST:PORT or grpc://HOST:PORT'):
        load_graph({'name': 'g', 'nodes': [*source, {**node, 'server': 'triton:8000'}]})
    graph = load_graph({'name': 'g', 'defaults': {'backend': 'remote', 'server':
                                                  'grpc://127.0.0.1:8001', 'timeout': 3},
                        'nodes': [*source, {k: v for k, v in node.items() if k != 'backend'}]})
    pose = graph.nodes['pose'].node
    assert (pose.backend, pose.server, pose.timeout) == ('remote', 'grpc://127.0.0.1:8001', 3.0)


def test_the_config_text_is_a_triton_model_config() -> None:
    text_format = pytest.importorskip('google.protobuf.text_format')
    model_config_pb2 = pytest.importorskip('tritonclient.grpc.model_config_pb2')
    sidecar = {'format': 'webcam-app-onnx/1', 'kind': 'pose', 'note': 'a "quoted" \\ value é'}
    text = config_text('pose', [{'name': 'input', 'type': 'TYPE_FP32', 'dims': [-1, 3, 8, 8]}],
                       [{'name': 'simcc_x', 'type': 'TYPE_FP32', 'dims': [-1, 2, 16]}], sidecar,
                       max_batch_size=4, queue_delay_us=500, device='cuda:1', instances=2)
    config = text_format.Parse(text, model_config_pb2.ModelConfig())
    assert (config.name, config.platform, config.max_batch_size) == ('pose', 'onnxruntime_onnx', 4)
    assert list(config.input[0].dims) == [3, 8, 8] and list(config.output[0].dims) == [2, 16]
    assert config.dynamic_batching.max_queue_delay_microseconds == 500
    group = config.instance_group[0]
    assert (group.kind, group.count, list(group.gpus)) == (group.KIND_GPU, 2, [1])
    assert json.loads(config.parameters['webcam_app_sidecar'].string_value) == sidecar
    fixed = text_format.Parse(config_text(
        'det', [{'name': 'input', 'type': 'TYPE_FP32', 'dims': [1, 3, 8, 8]}],
        [{'name': 'cls', 'type': 'TYPE_FP32', 'dims': [1, 5, 1]}], sidecar, backend='openvino'),
        model_config_pb2.ModelConfig())
    assert fixed.max_batch_size == 0 and list(fixed.input[0].dims) == [1, 3, 8, 8]
    assert not fixed.HasField('dynamic_batching') and fixed.backend == 'openvino'
    assert fixed.instance_group[0].kind == fixed.instance_group[0].KIND_CPU
    assert model_name_for('models/rtmpose-m_hand.random.onnx') == 'rtmpose-m_hand_random'


def test_which_errors_mean_the_server_is_away() -> None:
    assert is_transient(ConnectionRefusedError(111, 'Connection refused'))
    assert is_transient(TimeoutError())
    assert is_transient(RuntimeError("Request for unknown model: 'pose' is not found"))
    assert not is_transient(RuntimeError('unexpected shape for input: expected [3,256,256]'))


class StandIn:
    """``infer`` replaced: fails with a refused connection while ``down``, hangs while
    ``hang``, else echoes the batch doubled."""

    def __init__(self, down: int = 0) -> None:
        self.down, self.calls = down, 0
        self.hang = threading.Event()
        self.release = threading.Event()
        self.entered = threading.Event()

    def __call__(self, client, model, batch):
        self.calls += 1
        if self.hang.is_set():
            self.entered.set()
            self.release.wait(30)
        if self.down > 0:
            self.down -= 1
            raise ConnectionRefusedError(111, 'Connection refused')
        return [batch * 2]


@pytest.fixture
def engine(monkeypatch):
    made = []

    def make(stand_in: StandIn, live: bool, timeout: float = 10.0) -> RemoteEngine:
        monkeypatch.setattr(remote_engine, 'infer', stand_in)
        monkeypatch.setattr('nodes.models.onnx.remote_client.make_request_client',
                            lambda *args: type('Client', (), {'close': lambda self: None})())
        model = RemoteModel('http://127.0.0.1:1', 'http', '127.0.0.1:1', 'pose', {},
                            'input', ['out'], max_batch_size=2)
        made.append(RemoteEngine(model, live=live, timeout=timeout))
        monkeypatch.setattr(made[-1], '_read_queue_time', lambda: None)
        return made[-1]
    yield make
    for e in made:
        e.close()


def test_replay_retries_until_the_server_answers(engine) -> None:
    stand_in = StandIn(down=3)
    e = engine(stand_in, live=False)
    batch = np.ones((5, 3), np.float32)
    out = e(batch)          # 5 crops, at most 2 a request: 3 requests, joined in order
    np.testing.assert_array_equal(out[0], batch * 2)
    stats = e.stats()
    assert (stats['retries'], stats['failures'], stats['reconnects']) == (3, 3, 1)
    assert stats['requests'] == 3 and not stats['server_down']


def test_replay_gives_up_after_timeout_naming_the_server(engine) -> None:
    e = engine(StandIn(down=10 ** 6), live=False, timeout=0.3)
    with pytest.raises(RemoteError, match=r'http://127\.0\.0\.1:1 gave no answer for 0\.3 s'):
        e(np.ones((1, 3), np.float32))


def test_live_passes_at_once_then_tries_again(engine) -> None:
    stand_in = StandIn(down=1)
    e = engine(stand_in, live=True)
    with pytest.raises(ServerUnavailable, match='Connection refused'):
        e(np.ones((1, 3), np.float32))
    with pytest.raises(ServerUnavailable):      # within the retry interval: no request at all
        e(np.ones((1, 3), np.float32))
    assert stand_in.calls == 1 and e.stats()['server_down']
    e._next_try = 0.0                           # the retry interval has passed
    assert e(np.ones((1, 3), np.float32))[0].shape == (1, 3)
    assert e.stats()['reconnects'] == 1 and not e.stats()['server_down']


def test_interrupt_ends_a_hung_request(engine) -> None:
    stand_in = StandIn()
    stand_in.hang.set()
    e = engine(stand_in, live=False, timeout=30)
    errors = []

    def call() -> None:
        try:
            e(np.ones((1, 3), np.float32))
        except Exception as exc:
            errors.append(exc)
    caller = threading.Thread(target=call)
    caller.start()
    assert stand_in.entered.wait(10)
    e.interrupt()
    caller.join(10)
    stand_in.release.set()
    assert not caller.is_alive() and isinstance(errors[0], RequestCancelled)
