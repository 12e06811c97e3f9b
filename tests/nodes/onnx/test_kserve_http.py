"""``KServeHttp`` against a stand-in server on loopback: the binary tensor framing both ways,
JSON outputs, HTTP errors as transient or not, and a new connection after a broken one. The
real server (PyTriton's tritonserver) is in ``test_remote.py``."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator

import numpy as np
import pytest

from nodes.models.onnx.kserve_http import KServeHttp, KServeHttpError
from nodes.models.onnx.remote_client import is_transient

pytestmark = pytest.mark.timeout(60)


class StandIn(BaseHTTPRequestHandler):
    """Answers with ``server.answer(handler, header, tensor)``; records what it was sent."""
    protocol_version = 'HTTP/1.1'

    def do_POST(self) -> None:     # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers['Content-Length']))
        length = int(self.headers['Inference-Header-Content-Length'])
        header = json.loads(body[:length])
        shape = header['inputs'][0]['shape']
        tensor = np.frombuffer(body, np.float32, offset=length).reshape(shape)
        self.server.seen.append((self.path, header, tensor, self.client_address))
        self.server.answer(self, header, tensor)

    def reply(self, status: int, header: dict[str, Any], binary: bytes = b'') -> None:
        text = json.dumps(header).encode()
        self.send_response(status)
        self.send_header('Content-Length', str(len(text) + len(binary)))
        if binary:
            self.send_header('Inference-Header-Content-Length', str(len(text)))
        self.end_headers()
        self.wfile.write(text + binary)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Callable[[Callable], str]]:
    servers = []

    def start(answer: Callable) -> str:
        s = ThreadingHTTPServer(('127.0.0.1', 0), StandIn)
        s.daemon_threads = True
        s.answer, s.seen = answer, []
        threading.Thread(target=s.serve_forever, daemon=True).start()
        servers.append(s)
        return s
    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def doubled(handler: StandIn, header: dict, tensor: np.ndarray) -> None:
    """Two outputs: the input doubled (binary, FP32) and its sum per item (JSON, INT64)."""
    out = (tensor * 2).astype(np.float32)
    handler.reply(200, {'outputs': [
        {'name': 'twice', 'shape': list(out.shape), 'datatype': 'FP32',
         'parameters': {'binary_data_size': out.nbytes}},
        {'name': 'sums', 'shape': [len(tensor)], 'datatype': 'INT64',
         'data': [int(v) for v in tensor.reshape(len(tensor), -1).sum(1)]}]}, out.tobytes())


def test_binary_tensors_both_ways_on_one_kept_connection(server) -> None:
    s = server(doubled)
    client = KServeHttp(f'127.0.0.1:{s.server_port}', timeout=5)
    batch = np.arange(2 * 3 * 4 * 4, dtype=np.float64).reshape(2, 3, 4, 4)   # cast to float32
    for _ in range(2):
        sums, twice = client.infer('pose', 'input', batch, ['sums', 'twice'])
        np.testing.assert_array_equal(twice, batch.astype(np.float32) * 2)
        np.testing.assert_array_equal(sums, batch.reshape(2, -1).sum(1))
    path, header, tensor, _ = s.seen[0]
    assert path == '/v2/models/pose/infer'
    assert header['inputs'][0] == {'name': 'input', 'shape': [2, 3, 4, 4], 'datatype': 'FP32',
                                   'parameters': {'binary_data_size': batch.size * 4}}
    assert [o['name'] for o in header['outputs']] == ['sums', 'twice']
    assert s.seen[0][3] == s.seen[1][3]          # the same client port: the connection was kept
    client.close()


def test_an_error_status_names_the_servers_message_and_503_is_transient(server) -> None:
    s = server(lambda h, header, tensor: h.reply(503, {'error': 'model pose is not ready'}))
    client = KServeHttp(f'127.0.0.1:{s.server_port}', timeout=5)
    with pytest.raises(KServeHttpError, match='HTTP 503: model pose is not ready') as caught:
        client.infer('pose', 'input', np.ones((1, 3), np.float32), ['out'])
    assert is_transient(caught.value)
    s.answer = lambda h, header, tensor: h.reply(400, {'error': 'bad input shape'})
    with pytest.raises(KServeHttpError) as caught:
        client.infer('pose', 'input', np.ones((1, 3), np.float32), ['out'])
    assert not is_transient(caught.value) and caught.value.status() == '400'


def test_a_missing_output_is_an_error_not_a_wrong_array(server) -> None:
    s = server(doubled)
    client = KServeHttp(f'127.0.0.1:{s.server_port}', timeout=5)
    with pytest.raises(KServeHttpError, match='no output heat'):
        client.infer('pose', 'input', np.ones((1, 3), np.float32), ['twice', 'heat'])


def test_a_broken_answer_is_transient_and_the_next_request_reconnects(server) -> None:
    def cut(handler: StandIn, header: dict, tensor: np.ndarray) -> None:
        handler.wfile.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"outp')
        handler.close_connection = True
    s = server(cut)
    client = KServeHttp(f'127.0.0.1:{s.server_port}', timeout=5)
    with pytest.raises(ConnectionError) as caught:
        client.infer('pose', 'input', np.ones((1, 3), np.float32), ['twice'])
    assert is_transient(caught.value)
    s.answer = doubled
    out, = client.infer('pose', 'input', np.ones((1, 3), np.float32), ['twice'])
    np.testing.assert_array_equal(out, np.full((1, 3), 2, np.float32))
    assert s.seen[0][3] != s.seen[1][3]          # a new connection


def test_no_server_is_a_transient_connection_error() -> None:
    import socket
    with socket.socket() as free:
        free.bind(('127.0.0.1', 0))
        port = free.getsockname()[1]
    client = KServeHttp(f'127.0.0.1:{port}', timeout=5)
    with pytest.raises(OSError) as caught:
        client.infer('pose', 'input', np.ones((1, 3), np.float32), ['twice'])
    assert is_transient(caught.value)
