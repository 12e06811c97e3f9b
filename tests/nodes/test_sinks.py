"""Sinks: Recorder, PredictionWriter and Display (without a real window)."""
from __future__ import annotations

import json
import logging
import threading

import cv2
import numpy as np
import pytest

from nodes.io import display, recorder
from nodes.io.display import Display, gui_available
from nodes.io.predictions import PredictionWriter
from nodes.io.recorder import Recorder
from webcam_app import NodeHarness, Object, load_graph, make_frame, run_graph

from .conftest import frame_image, index_of, read_all


def frames_of(n: int, **meta):
    """Frames captured 1/fps apart (fps from meta, else 25), as a camera would stamp them."""
    period = 1.0 / meta.get('fps', 25.0)
    return [make_frame(i, 64, 48, color=(i * 8 % 256, 0, 0), **meta).replace(
        timestamp=100.0 + i * period) for i in range(n)]


# -- Recorder ----------------------------------------------------------------------------------
@pytest.mark.timeout(30)
@pytest.mark.parametrize('mode, name', [('replay', 'out.avi'), ('live', 'out.mp4'),
                                        ('replay', 'out.mkv')])
def test_recorder_writes_every_frame(tmp_path, mode, name):
    path = tmp_path / name
    with NodeHarness(Recorder, run_mode=mode, path=str(path)) as h:
        h.run(frames_of(20, fps=12.5))
        assert f'recorder:{path}' in [t.name for t in threading.enumerate()]
    assert h.node.written == 20 and h.node.dropped == 0
    cap = cv2.VideoCapture(str(path))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(12.5)
    cap.release()
    assert len(read_all(path)) == 20


@pytest.mark.timeout(30)
def test_recorder_resizes_to_the_first_size_and_defaults_to_30_fps(tmp_path):
    path = tmp_path / 'sizes.avi'
    with NodeHarness(Recorder, path=str(path)) as h:
        h.run([make_frame(0, 64, 48), make_frame(1, 32, 24), make_frame(2, 100, 80)])
    frames = read_all(path)
    assert [f.shape for f in frames] == [(48, 64, 3)] * 3
    assert cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FPS) == pytest.approx(30.0)


@pytest.mark.timeout(30)
def test_recorder_keeps_frame_order(tmp_path):
    path = tmp_path / 'order.avi'
    frames = [make_frame(i).replace(image=frame_image(i)) for i in range(12)]
    with NodeHarness(Recorder, path=str(path), fps=10) as h:
        h.run(frames)
    assert [index_of(f) for f in read_all(path)] == list(range(12))


@pytest.mark.timeout(30)
def test_a_hurried_recorder_writes_one_frame_so_the_file_plays_and_drops_the_rest(tmp_path):
    path = tmp_path / 'hurried.avi'
    with NodeHarness(Recorder, path=str(path), fps=10) as h:
        h.events.publish('hurry', 'Ctrl-C again')      # a second Ctrl-C, before the drain
        h.run(frames_of(20))
    assert h.node.written == 1 and h.node.dropped == 19
    assert len(read_all(path)) == 1


class SlowWriter:
    """VideoFile stand-in whose write() waits until the test lets it go."""

    entered = threading.Event()
    go = threading.Event()
    written: list = []

    def __init__(self, *args, **kwargs):
        pass

    def write(self, image, seconds):
        type(self).entered.set()
        assert type(self).go.wait(10)
        type(self).written.append(image)

    def close(self):
        pass


@pytest.mark.timeout(30)
def test_recorder_drops_in_live_mode_and_counts(tmp_path, monkeypatch):
    SlowWriter.entered, SlowWriter.go, SlowWriter.written = threading.Event(), threading.Event(), []
    monkeypatch.setattr(recorder, 'VideoFile', SlowWriter)
    with NodeHarness(Recorder, run_mode='live', path=str(tmp_path / 'x.mp4'), queue_size=2) as h:
        frames = frames_of(10)
        h.feed(frame=frames[0])
        assert SlowWriter.entered.wait(10)       # the writer holds frame 0
        h.run(frames[1:])                        # 2 fit in the queue, 7 are dropped
        assert h.node.dropped == 7
        SlowWriter.go.set()
    assert len(SlowWriter.written) == 3 and h.node.written == 3


def test_recorder_checks_its_folder_and_codec(tmp_path):
    with pytest.raises(ValueError, match=r'does not exist: .*missing.*mkdir -p'):
        with NodeHarness(Recorder, path=str(tmp_path / 'missing' / 'out.mp4')):
            pass
    with pytest.raises(ValueError, match=r'cannot choose a codec.*fix: use one of \.mp4'):
        Recorder(path='out.xyz')
    with pytest.raises(ValueError, match=r"codec 'h264x' is not a video encoder.*libx264"):
        Recorder(path='out.mp4', codec='h264x')


def test_recorder_without_frames_writes_nothing(tmp_path):
    path = tmp_path / 'empty.mp4'
    with NodeHarness(Recorder, path=str(path)):
        pass
    assert not path.exists()


# -- the sinks inside a running graph ----------------------------------------------------------
@pytest.mark.timeout(60)
def test_source_to_recorder_and_predictions_graph(video_file, tmp_path):
    out, preds = tmp_path / 'copy.avi', tmp_path / 'preds.json'
    graph = load_graph({'mode': 'replay', 'nodes': [
        {'name': 'src', 'type': 'VideoSource', 'input': str(video_file),
         'outputs': {'frame': ['a', 'b']}},
        {'name': 'rec', 'type': 'Recorder', 'path': str(out), 'inputs': {'frame': 'a'}},
        {'name': 'json', 'type': 'PredictionWriter', 'path': str(preds),
         'inputs': {'frame': 'b'}},
    ]})
    runner = run_graph(graph, timeout=30)
    assert runner.exit_code == 0, runner.errors
    assert [index_of(f) for f in read_all(out)] == list(range(30))
    records = json.loads(preds.read_text())
    assert [r['frame_id'] for r in records] == list(range(30))
    assert records[2]['timestamp'] == pytest.approx(0.08)


# -- PredictionWriter --------------------------------------------------------------------------
def hand(track_id=None):
    keypoints = np.array([[10.12345, 20.5], [30.0, np.nan]], np.float32)
    return Object(bbox=(1, 2, 30.5, 40.25), label='hand', score=0.87654,
                  keypoints=keypoints, keypoint_scores=np.array([0.9, 0.1]), track_id=track_id)


def test_prediction_json_follows_mmpose_layout(tmp_path):
    path = tmp_path / 'preds.json'
    frames = [make_frame(0, objects=[hand(3), Object(bbox=(0, 0, 5, 5), label='person')],
                         source_timestamp_ms=0.0),
              make_frame(1, source_timestamp_ms=33.3667)]
    with NodeHarness(PredictionWriter, path=str(path)) as h:
        h.run(frames)
        assert not path.exists()                      # atomic: nothing until close
        assert len(list(tmp_path.glob('.preds.json.*.tmp'))) == 1
    records = json.loads(path.read_text())
    assert list(tmp_path.iterdir()) == [path]
    assert [r['frame_id'] for r in records] == [0, 1]
    assert [r['timestamp'] for r in records] == [0.0, 0.033367]
    first = records[0]['instances'][0]
    assert list(first) == ['keypoints', 'keypoint_scores', 'bbox', 'bbox_score', 'label',
                           'track_id']
    assert first['keypoints'] == [[10.123, 20.5], [30.0, None]]
    assert first['keypoint_scores'] == [0.9, 0.1]
    assert first['bbox'] == [[1.0, 2.0, 30.5, 40.25]]        # nested, as mmpose writes it
    assert first['bbox_score'] == 0.877 and first['track_id'] == 3
    second = records[0]['instances'][1]
    assert second['keypoints'] == [] and second['label'] == 'person'
    assert second['track_id'] is None
    assert records[1]['instances'] == []


def test_prediction_jsonl_streams_per_frame(tmp_path):
    path = tmp_path / 'preds.jsonl'
    frames = [make_frame(i, objects=[hand()]) for i in range(3)]
    with NodeHarness(PredictionWriter, path=str(path)) as h:
        h.run(frames)
        assert len(path.read_text().splitlines()) == 3    # in place, flushed per frame
    assert list(tmp_path.iterdir()) == [path]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r['frame_id'] for r in lines] == [0, 1, 2]
    assert [r['timestamp'] for r in lines] == pytest.approx([f.timestamp for f in frames],
                                                            abs=1e-5)
    assert lines[0]['instances'][0]['bbox'] == [[1.0, 2.0, 30.5, 40.25]]


def test_prediction_timestamp_falls_back_to_capture_time(tmp_path):
    path = tmp_path / 'p.json'
    frame = make_frame(0)
    with NodeHarness(PredictionWriter, path=str(path), format='json') as h:
        h.feed(frame=frame)
    written = json.loads(path.read_text())[0]['timestamp']
    assert written == pytest.approx(frame.timestamp, abs=1e-5)


def test_prediction_writer_empty_run_and_bad_params(tmp_path):
    path = tmp_path / 'none.json'
    with NodeHarness(PredictionWriter, path=str(path)):
        pass
    assert json.loads(path.read_text()) == []
    with pytest.raises(ValueError, match="format must be one of 'auto', 'json', 'jsonl'"):
        NodeHarness(PredictionWriter, path='x.json', format='yaml')
    with pytest.raises(ValueError, match='does not exist'):
        with NodeHarness(PredictionWriter, path=str(tmp_path / 'no' / 'p.json')):
            pass


# -- Display -----------------------------------------------------------------------------------
def test_display_without_display_is_a_quiet_sink(monkeypatch, caplog):
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.setattr(display.cv2, 'imshow', lambda *a: pytest.fail('imshow was called'))
    monkeypatch.setattr(display.cv2, 'namedWindow', lambda *a: pytest.fail('window opened'))
    caplog.set_level(logging.INFO, logger='nodes.io.display')
    with NodeHarness(Display) as h:
        assert h.run(frames_of(3)) == []
    assert h.node.gui is False
    assert sum('not showing a window' in r.message for r in caplog.records) == 1


def test_display_headless_param_and_unreachable_x(monkeypatch):
    monkeypatch.setattr(display.cv2, 'namedWindow', lambda *a: pytest.fail('window opened'))
    with NodeHarness(Display, headless=True) as h:
        h.run(frames_of(1))
    monkeypatch.setenv('DISPLAY', ':987')
    ok, why = gui_available()
    assert not ok and 'X11-unix/X987' in why


class FakeGui:
    """Stands in for OpenCV's window functions; keys are returned by waitKey in order."""

    def __init__(self, monkeypatch, keys, visible=1.0):
        self.keys, self.visible, self.shown, self.destroyed = list(keys), visible, 0, False
        monkeypatch.setattr(display, 'gui_available', lambda: (True, ''))
        for name in ('namedWindow', 'imshow', 'waitKey', 'getWindowProperty', 'destroyWindow'):
            monkeypatch.setattr(display.cv2, name, getattr(self, name))

    def namedWindow(self, *args):
        pass

    def imshow(self, window, image):
        self.shown += 1

    def waitKey(self, ms):
        return self.keys.pop(0) if self.keys else -1

    def getWindowProperty(self, window, prop):
        return self.visible

    def destroyWindow(self, window):
        self.destroyed = True


@pytest.mark.parametrize('key, reason', [(ord('q'), 'key q'), (ord('Q'), 'key Q'),
                                         (27, 'key ESC')])
def test_display_quit_keys(monkeypatch, key, reason):
    gui = FakeGui(monkeypatch, [ord('m'), -1, key])
    with NodeHarness(Display) as h:
        quits, keys = [], []
        h.events.subscribe('quit', quits.append)
        h.events.subscribe('key', keys.append)
        h.run(frames_of(3))
    assert quits == [reason] and keys == ['m']
    assert gui.shown == 3 and gui.destroyed


def test_display_closed_window_quits(monkeypatch):
    gui = FakeGui(monkeypatch, [], visible=0.0)
    with NodeHarness(Display) as h:
        quits = []
        h.events.subscribe('quit', quits.append)
        h.run(frames_of(3))
    assert quits == ['window closed'] and gui.shown == 1


def test_display_falls_back_when_opencv_has_no_gui(monkeypatch):
    FakeGui(monkeypatch, [])

    def broken(*args):
        raise cv2.error('The function is not implemented')
    monkeypatch.setattr(display.cv2, 'namedWindow', broken)
    with NodeHarness(Display) as h:
        h.run(frames_of(2))
    assert h.node.gui is False
