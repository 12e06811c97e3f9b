"""WebView's access rules on a real server: parameters, port, token, hosts, keys and metrics."""
from __future__ import annotations

import json
import logging
import socket

import pytest

from nodes.io.web import WebView
from nodes.io.web.report import build_report, prometheus_text
from tests.mjpeg import get, metrics, post_key
from tests.nodes.web_view_kit import served
from webcam_app.metrics import Metrics

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize('params,message', [
    ({'port': 70000}, 'port must be int in \\[0, 65535\\]'),
    ({'port': '80'}, 'port must be int'),
    ({'quality': 0}, 'quality must be int in \\[1, 100\\]'),
    ({'token': ''}, 'token must be a non-empty string'),
    ({'max_clients': 0}, 'max_clients must be int >= 1'),
    ({'stall_timeout': 0}, 'stall_timeout must be float > 0'),
])
def test_bad_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        served(**params)


def test_a_busy_port_is_reported_by_check_before_any_thread():
    with socket.create_server(('127.0.0.1', 0)) as busy:
        port = busy.getsockname()[1]
        node = WebView(port=port)
        with pytest.raises(ValueError, match=f'cannot serve on 127.0.0.1:{port}: .*fix: choose '
                                             'another port'):
            node.check()


def test_check_holds_no_port():
    """A graph that is checked but never run (one that falls back) leaves its port free."""
    with socket.create_server(('127.0.0.1', 0)) as probe:
        port = probe.getsockname()[1]
    WebView(port=port).check()
    WebView(port=port).check()
    with served(port=port) as h:
        assert h.node.url == f'http://127.0.0.1:{port}/'


def test_every_route_needs_the_token_when_one_is_set():
    with served(token='s3cret') as h:
        url = h.node.url
        for path in ('/', '/stream.mjpg', '/metrics', '/metrics/prometheus'):
            assert get(url, path)[0] == 401
            assert get(url, path + '?token=wrong')[0] == 401
        assert get(url, '/?token=s3cret')[0] == 200
        assert get(url, '/metrics', {'Authorization': 'Bearer s3cret'})[0] == 200
        assert post_key(url, 'm')[0] == 401
        assert post_key(url, 'm', token='s3cret')[0] == 200


def test_keys_from_the_page_act_as_key_presses():
    with served() as h:
        keys, quits = [], []
        h.events.subscribe('key', keys.append)
        h.events.subscribe('quit', quits.append)
        assert post_key(h.node.url, 'm')[0] == 200
        assert post_key(h.node.url, 'Escape')[0] == 200
        assert post_key(h.node.url, 'm', content_type='application/x-www-form-urlencoded'
                        )[0] == 415    # a form posted from another site cannot press keys
        assert post_key(h.node.url, '\x01')[0] == 400
    assert keys == ['m']
    assert quits == ['key ESC (web)']


def test_metrics_as_json_and_prometheus():
    run_metrics = Metrics(['camera', 'web'], {})
    run_metrics.nodes['web'].latency.extend([0.030, 0.040, 0.050])
    h = served()
    h.node.context.metrics = run_metrics
    with h:
        report = metrics(h.node.url)
        status, text = get(h.node.url, '/metrics/prometheus')
        status_page, page = get(h.node.url, '/')
    assert report['graph'] == 'harness' and set(report['nodes']) == {'camera', 'web'}
    assert report['latency_ms'] == {'p50': 40.0, 'p95': 50.0}
    assert status == 200
    assert 'webcam_app_node_fps{graph="harness",node="camera"} ' in text.decode()
    assert 'webcam_app_latency_seconds{graph="harness",quantile="0.5"} 0.04' in text.decode()
    assert status_page == 200 and b'stream.mjpg' in page


def test_report_keys_latency_and_prometheus_escaping():
    snapshot = {'elapsed_s': 2.0, 'buffers': {},
                'nodes': {'cam"1': {'fps': 30.0, 'enabled': True},
                          'show': {'fps': 29.0, 'latency_ms_p50': 40.0, 'latency_ms_p95': 61.0,
                                   'enabled': False}}}
    report = build_report(snapshot, 'g', 'live', {'m': 'monitor'}, {'viewers': 2})
    assert report['latency_ms'] == {'p50': 40.0, 'p95': 61.0}
    assert [k['key'] for k in report['keys']] == ['m', 'q']
    text = prometheus_text(report)
    assert 'webcam_app_node_fps{graph="g",node="cam\\"1"} 30.0' in text
    assert 'webcam_app_node_enabled{graph="g",node="show"} 0' in text
    assert 'webcam_app_web_viewers{graph="g"} 2' in text
    assert text.count('# TYPE webcam_app_node_fps gauge') == 1
    assert json.loads(json.dumps(report)) == report


def test_a_public_bind_without_token_warns(caplog):
    caplog.set_level(logging.WARNING)
    with served(host='0.0.0.0'):
        pass
    with served(host='0.0.0.0', token='t'):
        pass
    warnings = [r.getMessage() for r in caplog.records if 'without a token' in r.getMessage()]
    assert len(warnings) == 1


def test_without_a_token_only_addresses_are_answered():
    """A site whose name was made to resolve to 127.0.0.1 (DNS rebinding) gets nothing."""
    with served() as h:
        assert get(h.node.url, '/metrics', {'Host': 'evil.example:8080'})[0] == 403
        assert get(h.node.url, '/metrics', {'Host': 'localhost:8080'})[0] == 200
        assert get(h.node.url, '/metrics', {'Host': '[::1]:8080'})[0] == 200
    with served(token='t') as h:
        assert get(h.node.url, '/metrics?token=t', {'Host': 'robot.lan:8080'})[0] == 200
    with served(host='0.0.0.0') as h:   # open to the network anyway (and warned about)
        assert get(h.node.url, '/metrics', {'Host': 'robot.lan:8080'})[0] == 200
