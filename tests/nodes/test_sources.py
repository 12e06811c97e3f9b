"""VideoSource: files, image folders, cameras (faked), corruption, looping and reconnects."""
from __future__ import annotations

import dataclasses
import threading
import time

import cv2
import numpy as np
import pytest

from nodes.io import sources
from nodes.io.live_capture import SourceLost
from nodes.io.sources import VideoSource, natural_key, parse_input
from webcam_app import EOS, NodeHarness

from .conftest import FakeClock, frame_image, index_of


def drain(h: NodeHarness, limit: int = 1000) -> list:
    """Call the source until EOS; returns the frames it emitted."""
    frames = []
    for _ in range(limit):
        out = h.feed()
        message = out.get('frame')
        if message is EOS:
            return frames
        if message is not None:
            frames.append(message)
    raise AssertionError(f'no EOS after {limit} calls')


def test_video_file_yields_every_frame_then_eos(video_file):
    with NodeHarness(VideoSource, input=str(video_file)) as h:
        frames = drain(h)
    assert h.node.mode_hint == 'replay'
    assert [f.frame_id for f in frames] == list(range(30))
    assert [index_of(f.image) for f in frames] == list(range(30))
    assert frames[0].image.shape == (48, 64, 3)
    assert frames[3].meta['source_timestamp_ms'] == pytest.approx(120.0)
    assert frames[3].meta['fps'] == pytest.approx(25.0)
    assert frames[3].meta['input'] == str(video_file)
    assert frames[0].timestamp <= frames[-1].timestamp <= time.monotonic()
    assert h.node.corrupt_frames == 0
    assert h.node.total_frames == 30      # a progress bar's total


def test_start_and_max_frames(video_file):
    with NodeHarness(VideoSource, input=str(video_file), start=5, max_frames=10) as h:
        frames = drain(h)
    assert [f.frame_id for f in frames] == list(range(10)) and h.node.total_frames == 10
    assert [index_of(f.image) for f in frames] == list(range(5, 15))
    with NodeHarness(VideoSource, input=str(video_file), start=25) as h:
        assert h.node.total_frames == len(drain(h)) == 5
    assert frames[0].meta['source_timestamp_ms'] == pytest.approx(200.0)


def test_loop_starts_over_at_start(make_video):
    video = make_video(6)
    with NodeHarness(VideoSource, input=str(video), loop=True, start=2, max_frames=10) as h:
        frames = drain(h)
    assert [index_of(f.image) for f in frames] == [2, 3, 4, 5, 2, 3, 4, 5, 2, 3]
    assert h.node.total_frames == 10      # looping: as many as max_frames
    assert [f.frame_id for f in frames] == list(range(10))


def test_loop_with_nothing_to_read_ends(make_video):
    video = make_video(4)
    with NodeHarness(VideoSource, input=str(video), loop=True, start=10) as h:
        assert drain(h) == []


def test_relative_path_resolves_against_graph_dir(video_file):
    h = NodeHarness(VideoSource, input=video_file.name)
    h.node.context = dataclasses.replace(h.node.context, graph_dir=str(video_file.parent))
    with h:
        assert len(drain(h)) == 30


def test_folder_in_natural_order(image_folder):
    with NodeHarness(VideoSource, input=str(image_folder)) as h:
        frames = drain(h)
    names = [f.meta['path'].rsplit('/', 1)[-1] for f in frames]
    assert names == ['img1.png', 'img2.png', 'img10.png', 'img11.png']
    assert [index_of(f.image) for f in frames] == [0, 1, 2, 3]
    assert h.node.mode_hint == 'replay' and h.node.total_frames == 4


def test_folder_skips_unreadable_images(image_folder):
    (image_folder / 'img3.png').write_bytes(b'not a png')
    with NodeHarness(VideoSource, input=str(image_folder), fps=10) as h:
        frames = drain(h)
    assert len(frames) == 4 and h.node.corrupt_frames == 1
    assert frames[1].meta['source_timestamp_ms'] == pytest.approx(100.0)


def test_single_image_once_or_looped(tmp_path):
    path = tmp_path / 'still.jpg'
    cv2.imwrite(str(path), frame_image(7))
    with NodeHarness(VideoSource, input=str(path)) as h:
        frames = drain(h)
    assert len(frames) == 1 and index_of(frames[0].image) == 7
    with NodeHarness(VideoSource, input=str(path), loop=True, max_frames=3) as h:
        assert [f.frame_id for f in drain(h)] == [0, 1, 2]


def test_missing_input_names_the_path(tmp_path):
    missing = tmp_path / 'nope.mp4'
    with pytest.raises(ValueError, match='nope.mp4'):
        with NodeHarness(VideoSource, input=str(missing)):
            pass
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='holds no images'):
        with NodeHarness(VideoSource, input=str(tmp_path / 'empty')):
            pass


@pytest.mark.parametrize('value', [99, '99', 'webcam:99'])
def test_absent_camera_is_a_clear_error(value):
    with pytest.raises(ValueError, match=r'no camera found at index 99 .*--input VIDEO'):
        with NodeHarness(VideoSource, input=value):
            pass


@pytest.mark.parametrize('value, expected', [
    (0, ('camera', 0)), ('0', ('camera', 0)), ('webcam', ('camera', 0)),
    ('webcam:1', ('camera', 1)), ('rtsp://cam.local/stream', ('url', 'rtsp://cam.local/stream')),
    ('http://x/y.mjpg', ('url', 'http://x/y.mjpg')), ('clips/a.mp4', ('path', 'clips/a.mp4')),
])
def test_parse_input(value, expected):
    assert parse_input(value) == expected


@pytest.mark.parametrize('params, message', [
    ({'input': -1}, 'index must be >= 0'), ({'input': True}, 'input must be str or int'),
    ({'start': -2}, 'start must be int >= 0'), ({'max_frames': 1.5}, 'max_frames must be'),
    ({'fps': 0}, 'fps must be float > 0 or null'), ({'lost_after': 0}, 'lost_after must be'),
])
def test_bad_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        NodeHarness(VideoSource, **params)


def test_mode_hints_are_known_before_check():
    assert VideoSource(0).mode_hint == 'live'
    assert VideoSource('rtsp://h/s').mode_hint == 'live'
    assert VideoSource('a.mp4').mode_hint == 'replay'
    assert VideoSource('a.mp4', realtime=True).mode_hint == 'live'


def test_natural_key():
    assert sorted(['f10.png', 'f2.png', 'F1.png'], key=natural_key) == ['F1.png', 'f2.png',
                                                                        'f10.png']


def paced(fake_clock: FakeClock, **params) -> list:
    with NodeHarness(VideoSource, **params) as h:
        h.node.wait = fake_clock.wait
        return drain(h)


def test_realtime_paces_at_the_file_fps(make_video, fake_clock):
    frames = paced(fake_clock, input=str(make_video(6, fps=100.0)), realtime=True)
    assert len(frames) == 6
    # each frame leaves at its time at 100 fps: it waits the rest of the period, never less
    assert np.diff([f.timestamp for f in frames]) == pytest.approx([0.01] * 5)
    assert fake_clock.waits == pytest.approx([0.01] * 5)


def test_corrupt_frame_in_the_middle_is_skipped(video_file, monkeypatch):
    real = cv2.VideoCapture

    class Flaky:
        def __init__(self, *args):
            self.cap, self.reads = real(*args), 0

        def read(self):
            self.reads += 1
            ok, image = self.cap.read()
            return (False, None) if self.reads == 5 else (ok, image)

        def __getattr__(self, name):
            return getattr(self.cap, name)

    monkeypatch.setattr(sources.cv2, 'VideoCapture', Flaky)
    with NodeHarness(VideoSource, input=str(video_file)) as h:
        frames = drain(h)
    assert len(frames) == 29 and h.node.corrupt_frames == 1
    assert 4 not in [index_of(f.image) for f in frames]


class FakeCamera:
    """cv2.VideoCapture stand-in: each open delivers the next count from ``plan`` frames."""

    plan: list[int] = []
    opens = 0
    reopened = threading.Event()   # reopened cameras read once this is set

    def __init__(self, *args):
        type(self).opens += 1
        self.left = self.plan.pop(0) if self.plan else 0
        self.released = False

    def isOpened(self):
        return True

    def set(self, prop, value):
        return True

    def get(self, prop):
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def read(self):
        if type(self).opens > 1:
            assert self.reopened.wait(10)
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, np.zeros((8, 8, 3), np.uint8)

    def release(self):
        self.released = True


@pytest.fixture
def fake_camera(monkeypatch):
    FakeCamera.plan, FakeCamera.opens = [], 0
    FakeCamera.reopened = threading.Event()
    monkeypatch.setattr(sources.cv2, 'VideoCapture', FakeCamera)
    return FakeCamera


def test_camera_is_read_on_its_own_thread_and_reconnects(fake_camera):
    fake_camera.plan = [1, 0, 1]   # 1 frame, a reopen that gives none, one that gives 1
    with NodeHarness(VideoSource, input=0, retry_interval=0.0) as h:
        assert h.node.mode_hint == 'live'
        first = h.feed()['frame']
        fake_camera.reopened.set()
        later = h.feed()['frame']           # after two reconnects
        capture = h.node._capture
    assert first.meta['source_timestamp_ms'] is None and first.meta['fps'] == 30.0
    assert later.frame_id == first.frame_id + 1
    assert capture.reconnects >= 2 and fake_camera.opens >= 3   # check() opened the first


def test_lost_camera_ends_the_run_with_exit_3_naming_it(fake_camera):
    fake_camera.plan = [1]
    fake_camera.reopened.set()
    with pytest.raises(SourceLost, match=r'camera \(0\): no frame for .* the source is lost'):
        with NodeHarness(VideoSource, input=0, retry_interval=0.0, lost_after=0.01,
                         name='camera') as h:
            while True:
                h.feed()
    assert SourceLost.exit_code == 3


@pytest.mark.timeout(20)
def test_stop_wakes_a_source_waiting_for_a_frame(fake_camera):
    fake_camera.plan = [1]
    fake_camera.reopened.set()
    with NodeHarness(VideoSource, input='webcam', retry_interval=60.0) as h:
        assert h.feed()['frame'].frame_id == 0
        timer = threading.Timer(0.05, h.stop)
        timer.start()
        assert h.feed()['frame'] is EOS    # woken from a 60 s backoff (the test times out at 20)
        timer.join()


def test_fps_paces_a_video_file(make_video, fake_clock):
    video = make_video(6, fps=1000.0)
    frames = paced(fake_clock, input=str(video), fps=50)
    assert [f.meta['fps'] for f in frames] == [50] * 6
    assert VideoSource(str(video), fps=50).mode_hint == 'replay'
    # frame k is not emitted before its time at 50 fps on the monotonic clock
    assert np.diff([f.timestamp for f in frames]) == pytest.approx([1 / 50] * 5)
    assert fake_clock.waits == pytest.approx([1 / 50] * 5)


def test_pacing_that_falls_behind_starts_again_from_now_without_a_burst(make_video, fake_clock):
    video = make_video(6, fps=1000.0)
    with NodeHarness(VideoSource, input=str(video), fps=50) as h:
        h.node.wait = fake_clock.wait
        first = [h.feed()['frame'] for _ in range(2)]
        fake_clock.now += 1.0             # a decode that took a second: 50 frames late
        rest = drain(h)
    assert np.diff([f.timestamp for f in first]) == pytest.approx([1 / 50])
    assert rest[0].timestamp == pytest.approx(first[-1].timestamp + 1.0)   # at once, then paced
    assert np.diff([f.timestamp for f in rest]) == pytest.approx([1 / 50] * 3)
