"""WebView's access rules on a real server: parameters, port, token, hosts, keys and metrics."""
from __future__ import annotations

import http.client
import json
import logging
import shutil
import socket
import subprocess

import pytest

from nodes.io.web import WebView
from nodes.io.web.report import build_report, prometheus_text
from tests.mjpeg import get, metrics, post_key
from tests.nodes.web_view_kit import served
from webcam_app import Buffer, make_frame
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
    assert 'webcam_app_latency_seconds_p50{graph="harness"} 0.04' in text.decode()
    assert status_page == 200 and b'stream.mjpg' in page


def test_report_keys_latency_and_prometheus_escaping():
    snapshot = {'elapsed_s': 2.0, 'buffers': {},
                'nodes': {'cam"1': {'fps': 30.0, 'enabled': True},
                          'show': {'fps': 29.0, 'latency_ms_p50': 40.0, 'latency_ms_p95': 61.0,
                                   'enabled': False}}}
    report = build_report(snapshot, 'g', 'live', {'m': 'monitor'}, {'viewers': 2})
    assert report['latency_ms'] == {'p50': 40.0, 'p95': 61.0}
    assert [k['key'] for k in report['keys']] == ['m', 'q']
    text = prometheus_text(report)[0].decode()
    assert 'webcam_app_node_fps{graph="g",node="cam\\"1"} 30.0' in text
    assert 'webcam_app_node_enabled{graph="g",node="show"} 0.0' in text
    assert 'webcam_app_web_viewers{graph="g"} 2.0' in text
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


def live_prometheus_text() -> tuple[str, str]:
    """/metrics/prometheus of a running WebView whose run has every kind of figure: node rates
    and service times, a sink's latency, buffers with drops; and its Content-Type."""
    frames = Buffer('frames', 1, 'drop_oldest')
    for i in range(3):
        frames.put(i)                       # two dropped
    run_metrics = Metrics(['camera', 'web'], {'frames': frames}, reads={'web': ['frames']})
    stats = run_metrics.nodes['web']
    stats.latency.extend([0.030, 0.040, 0.050])
    stats.service.extend([0.001, 0.002])
    stats.frames_in = stats.frames_out = 3
    h = served()
    h.node.context.metrics = run_metrics
    with h:
        h.feed(frame=make_frame(0, 32, 24))
        host, port = h.node.url.split('//')[1].split('/')[0].rsplit(':', 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            conn.request('GET', '/metrics/prometheus')
            response = conn.getresponse()
            status, text = response.status, response.read()
        finally:
            conn.close()
    assert status == 200
    return text.decode(), response.getheader('Content-Type')


def test_prometheus_text_parses_with_prometheus_client_s_own_parser():
    from prometheus_client.parser import text_string_to_metric_families
    text, content_type = live_prometheus_text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert content_type.startswith('text/plain; version=')
    assert families['webcam_app_node_frames_in'].type == 'counter'
    assert families['webcam_app_node_fps'].type == 'gauge'
    latency = families['webcam_app_latency_seconds_p50']
    assert latency.type == 'gauge' and [s.value for s in latency.samples] == [0.04]
    for family in families.values():
        for sample in family.samples:
            assert family.type == 'summary' or 'quantile' not in sample.labels, sample
            assert sample.labels['graph'] == 'harness'
    nodes = {s.labels['node'] for s in families['webcam_app_node_fps'].samples}
    assert nodes == {'camera', 'web'}


def test_promtool_accepts_a_live_metrics_page():
    """Prometheus' own checker, as a scraper that validates would read it (CI installs
    promtool: Debian's prometheus package, see tools/install.sh)."""
    promtool = shutil.which('promtool')
    if promtool is None:
        pytest.fail('promtool is not installed: apt-get install prometheus (tools/install.sh '
                    'does it)')
    text, _ = live_prometheus_text()
    checked = subprocess.run([promtool, 'check', 'metrics'], input=text, capture_output=True,
                             text=True, timeout=30)
    assert checked.returncode == 0 and not checked.stdout.strip() \
        and not checked.stderr.strip(), checked.stdout + checked.stderr + text
