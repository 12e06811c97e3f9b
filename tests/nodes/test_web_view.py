"""WebView on a real aiohttp server and real sockets: stream, metrics, keys, token, slow viewers."""
from __future__ import annotations

import json
import logging
import socket
import threading
import time

import cv2
import numpy as np
import psutil
import pytest

from nodes.io.web import WebView
from nodes.io.web.report import build_report, prometheus_text
from tests.mjpeg import MjpegViewer, StalledViewer, get, metrics, post_key
from webcam_app import NodeHarness, make_frame
from webcam_app.metrics import Metrics

pytestmark = pytest.mark.timeout(60)


def served(**params) -> NodeHarness:
    """A WebView on a free port that encodes every frame (no max_fps), unless told otherwise."""
    return NodeHarness(WebView, name='web', **{'port': 0, 'max_fps': None, **params})


def color_of(image: np.ndarray) -> tuple[int, ...]:
    return tuple(int(round(c)) for c in image.reshape(-1, 3).mean(axis=0))


def close_to(image: np.ndarray, color: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 3 for a, b in zip(color_of(image), color))


def noise(i: int, width: int = 320, height: int = 240) -> object:
    """A frame of noise: it stays big as JPEG (~0.5 MB at 640x480), so sockets fill at once."""
    rng = np.random.default_rng(i)
    frame = make_frame(i, width, height)
    return frame.replace(image=rng.integers(0, 255, (height, width, 3), np.uint8))


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


def test_the_stream_shows_the_newest_frame():
    with served() as h:
        h.feed(frame=make_frame(0, 160, 120, color=(0, 0, 200)))
        viewer = MjpegViewer(h.node.url)
        assert viewer.status == 200
        assert viewer.content_type.startswith('multipart/x-mixed-replace')
        assert close_to(viewer.read_image(), (0, 0, 200))
        h.feed(frame=make_frame(1, 160, 120, color=(200, 100, 0)))
        assert close_to(viewer.read_image(), (200, 100, 0))
        viewer.close()


def test_each_frame_is_encoded_once_whatever_the_number_of_viewers():
    with served() as h:
        h.feed(frame=make_frame(0, 160, 120, color=(10, 10, 10)))
        viewers = [MjpegViewer(h.node.url) for _ in range(5)]
        for viewer in viewers:
            viewer.read_jpeg()
        for i in range(1, 6):
            h.feed(frame=make_frame(i, 160, 120, color=(10 * i, 10, 10)))
            for viewer in viewers:   # every viewer has frame i before frame i + 1 comes
                assert close_to(viewer.read_image(), (10 * i, 10, 10))
        web = metrics(h.node.url)['web']
        for viewer in viewers:
            viewer.close()
    assert web['frames_encoded'] == 6
    assert web['viewers'] == 5 and web['viewer_drops'] == 0


def test_max_fps_caps_the_encoding_however_fast_frames_come():
    with served(max_fps=2.0) as h:
        h.feed(frame=noise(0))
        viewer = MjpegViewer(h.node.url)
        viewer.read_jpeg()
        start = time.monotonic()
        for i in range(1, 101):
            h.feed(frame=noise(i))
        web = metrics(h.node.url)['web']
        elapsed = time.monotonic() - start
        viewer.close()
    assert web['frames_encoded'] <= 2 + 2.0 * elapsed   # the first, then 2 a second at most
    assert web['frames_encoded'] + web['frames_skipped'] + 1 >= 101   # the rest are counted


def test_a_stalled_viewer_slows_nobody_and_its_drops_are_counted():
    with served() as h:
        h.feed(frame=noise(0))
        stalled = StalledViewer(h.node.url)
        reader = MjpegViewer(h.node.url)
        reader.read_jpeg()
        for i in range(1, 151):
            h.feed(frame=noise(i, 640, 480))
        last = make_frame(151, 640, 480, color=(0, 220, 0))
        h.feed(frame=last)
        while not close_to(reader.read_image(), (0, 220, 0)):
            pass   # the reader skips what it was too slow for, and gets the newest frame
        report = metrics(h.node.url)
        stalled.close()
        reader.close()
    web = report['web']
    assert web['frames_in'] == 152 and web['viewers'] == 2
    assert web['viewer_drops'] > web['frames_encoded'] // 2   # the stalled one misses most
    assert web['frames_encoded'] + web['frames_skipped'] == 152


def test_closing_with_viewers_connected_closes_their_connections():
    h = served()
    with h:
        h.feed(frame=noise(0))
        readers = [MjpegViewer(h.node.url) for _ in range(2)]
        for reader in readers:
            reader.read_jpeg()
        stalled = StalledViewer(h.node.url)
        for i in range(1, 40):
            h.feed(frame=noise(i))
    assert all(reader.at_end() for reader in readers)
    assert stalled.closed_by_server()
    assert not h.node._server._thread.is_alive()


def test_a_viewer_that_leaves_is_forgotten():
    with served() as h:
        h.feed(frame=noise(0))
        viewer = MjpegViewer(h.node.url)
        viewer.read_jpeg()
        assert metrics(h.node.url)['web']['viewers'] == 1
        viewer.close()
        for i in range(1, 200):   # the server notices at a write to the closed connection
            h.feed(frame=noise(i))
            web = metrics(h.node.url)['web']
            if web['viewers'] == 0:
                break
    assert web['viewers'] == 0 and web['viewers_served'] == 1


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


def test_a_viewer_that_reads_nothing_for_stall_timeout_is_disconnected():
    with served(stall_timeout=0.5) as h:
        h.feed(frame=noise(0))
        stalled = StalledViewer(h.node.url)
        deadline, i = time.monotonic() + 30, 1
        while metrics(h.node.url)['web']['viewers_stalled'] == 0 and time.monotonic() < deadline:
            h.feed(frame=noise(i))   # until its socket and the server's buffers are full
            i += 1
        web = metrics(h.node.url)['web']
        assert stalled.closed_by_server()
    assert web['viewers_stalled'] == 1 and web['viewers'] == 0


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


def test_opencv_opens_the_stream():
    with served() as h:
        stop = threading.Event()

        def feed() -> None:   # a 30 fps source, until the test is done
            i = 0
            while not stop.wait(1 / 30):
                h.feed(frame=make_frame(i, 320, 240, color=(0, 0, 200)))
                i += 1
        feeder = threading.Thread(target=feed)
        feeder.start()
        try:
            capture = cv2.VideoCapture(h.node.url + 'stream.mjpg', cv2.CAP_FFMPEG)
            images = [capture.read()[1] for _ in range(3)]
            capture.release()
        finally:
            stop.set()
            feeder.join(5)
    assert all(image is not None and image.shape == (240, 320, 3) for image in images)
    assert all(close_to(image, (0, 0, 200)) for image in images)


def test_ten_viewers_one_stalled_take_nothing_from_the_graph_and_memory_stays_flat():
    """Speed is in bench/web.py; here: every frame goes through, each reader ends on the newest
    frame, and memory after 300 frames is what it was after 100."""
    pool = [noise(i).image for i in range(8)]
    green = (0, 220, 0)
    rss = psutil.Process().memory_info
    with served(stall_timeout=600.0) as h:
        h.feed(frame=noise(0))
        readers = [MjpegViewer(h.node.url) for _ in range(9)]
        stalled = StalledViewer(h.node.url)
        saw_green = [threading.Event() for _ in readers]

        def read(i: int) -> None:   # as fast as it can, until the server closes the stream
            try:
                while True:
                    if close_to(readers[i].read_image(), green):
                        saw_green[i].set()
            except (EOFError, OSError):
                pass
        threads = [threading.Thread(target=read, args=(i,)) for i in range(len(readers))]
        for thread in threads:
            thread.start()
        for i in range(1, 301):
            if i == 100:
                early = rss().rss
            h.feed(frame=make_frame(i, 320, 240).replace(image=pool[i % len(pool)]))
        late = rss().rss
        h.feed(frame=make_frame(301, 320, 240, color=green))
        everyone_saw_it = all(event.wait(30) for event in saw_green)
        web = metrics(h.node.url)['web']
    for thread in threads:
        thread.join(10)
    stalled.close()
    assert web['frames_in'] == 302 and web['viewers'] == 10
    assert everyone_saw_it
    assert late - early < 8 * 2 ** 20   # 200 frames queued for the stalled viewer: ~30 MB
