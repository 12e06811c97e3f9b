"""WebView's stream on a real aiohttp server and real sockets: newest frame, encoding once,
slow, stalled and leaving viewers, shutdown with viewers connected."""
from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import psutil
import pytest

from nodes.io.web.hub import FrameHub
from tests.mjpeg import MjpegViewer, StalledViewer, metrics
from tests.nodes.web_view_kit import close_to, noise, served
from webcam_app import make_frame

pytestmark = pytest.mark.timeout(60)
WAIT = 20.0   # a bound for the encoder thread to get somewhere; never asserted on


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
    """On a fake clock: at most one frame per 1 / max_fps of it, the newest; the rest counted."""
    now = [100.0]
    hub = FrameHub(max_fps=2.0, clock=lambda: now[0])
    encoded = threading.Semaphore(0)
    hub.listeners.append(encoded.release)
    hub.start('test')
    hub.watch(1)
    try:
        hub.publish(noise(0).image)
        assert encoded.acquire(timeout=WAIT)          # the first frame at once
        for i in range(1, 101):                       # 100 frames within one instant
            hub.publish(noise(i).image)
        assert hub.stats()['frames_encoded'] == 1     # the clock has not moved: none more
        hub.publish(make_frame(101, 160, 120, color=(0, 220, 0)).image)
        now[0] += 0.5                                 # one period later: the newest goes
        assert encoded.acquire(timeout=WAIT)
        stats = hub.stats()
        seq, jpeg = hub.latest()
    finally:
        hub.close()
    assert stats == {'frames_in': 102, 'frames_encoded': 2, 'frames_skipped': 100}
    assert seq == 2
    assert close_to(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), (0, 220, 0))


def test_max_fps_reaches_the_hub_of_the_web_view():
    with served(max_fps=2.0) as h:
        h.feed(frame=noise(0))
        viewer = MjpegViewer(h.node.url)
        viewer.read_jpeg()
        for i in range(1, 101):
            h.feed(frame=noise(i))
        web = metrics(h.node.url)['web']
        viewer.close()
    assert h.node._hub._period == 0.5
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
