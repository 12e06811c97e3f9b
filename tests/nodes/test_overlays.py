"""Monitor and HelpBoard: they draw only when visible, and never on the input picture."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nodes.draw.overlays import HelpBoard, Monitor, TextPanel
from webcam_app import NodeHarness, make_frame


class FakeMetrics:
    def __init__(self):
        self.calls = 0

    def warnings(self, snapshot):
        from webcam_app.metrics import Metrics
        return Metrics.warnings(self, snapshot)

    def snapshot(self):
        self.calls += 1
        return {'elapsed_s': 3.0,
                'nodes': {'camera': {'fps': 29.97, 'service_ms_p50': 1.25,
                                     'skipped_at_source': 2},
                          'display': {'fps': 29.5, 'service_ms_p50': 4.0,
                                      'latency_ms_p50': 41.6, 'result_age_ms_p50': 75.2,
                                      'skipped_at_source': 0}},
                'buffers': {'frames': {'dropped': 3}, 'shown': {'dropped': 0}}}


def changed(frame_in, frame_out) -> int:
    return int(np.count_nonzero(frame_in.image != frame_out.image))


def with_context(h: NodeHarness, **changes) -> NodeHarness:
    h.node.context = dataclasses.replace(h.node.context, **changes)
    return h


def test_monitor_draws_and_its_key_hides_it():
    frame = make_frame(0, 320, 240)
    with NodeHarness(Monitor, enable_key='m') as h:
        shown = h.feed(frame=frame)['frame']
        h.press('m')
        hidden = h.feed(frame=frame)['frame']
    assert changed(frame, shown) > 100
    assert not shown.image.flags.writeable and (frame.image == 40).all()   # input untouched
    assert hidden is frame


@pytest.mark.parametrize('cls,key', [(Monitor, 'm'), (HelpBoard, 'h')])
def test_hidden_at_start_when_asked_and_shown_by_its_enable_key(cls, key):
    frame = make_frame(0, 320, 240)
    with NodeHarness(cls, enable_key=key, visible=False) as h:
        assert h.feed(frame=frame)['frame'] is frame
        h.press(key)
        assert changed(frame, h.feed(frame=frame)['frame']) > 100
        h.press(key)
        assert h.feed(frame=frame)['frame'] is frame


def test_monitor_text_from_metrics_refreshes_at_most_every_interval():
    metrics = FakeMetrics()
    h = with_context(NodeHarness(Monitor, interval=60.0), metrics=metrics, graph_name='hand',
                     mode='live')
    with h:
        h.run([make_frame(i, 320, 240) for i in range(5)])
    lines = h.node.panel.lines
    assert metrics.calls == 1
    assert lines[0] == 'hand live  e2e 42 ms  results 75 ms old  drops 5'
    assert 'camera: 30.0 fps  1.2 ms' in lines and 'display: 29.5 fps  4.0 ms' in lines
    assert lines[-1].startswith('cpu ') and 'rss ' in lines[-1]


def test_monitor_without_metrics_uses_the_frame_stamps():
    frame = make_frame(7, 320, 240).replace(stamps=(('detector', 1.0, 1.025),))
    with NodeHarness(Monitor) as h:
        lines = h.node.lines(frame, now=frame.timestamp + 0.05)
    assert lines[0] == 'frame 7  latency 50 ms'
    assert lines[1] == 'detector: 25.0 ms'


def test_helpboard_lists_hot_keys_and_its_enable_key_toggles_it():
    frame = make_frame(0, 320, 240)
    h = with_context(NodeHarness(HelpBoard, name='help', enable_key='h'),
                     hotkeys={'m': 'monitor', 'b': 'boxes', 'h': 'help'})
    with h:
        assert h.feed(frame=frame)['frame'] is frame          # hidden at start
        h.press('h')
        shown = h.feed(frame=frame)['frame']
        h.press('x')
        assert changed(frame, h.feed(frame=frame)['frame']) > 100
        h.press('h')
        assert h.feed(frame=frame)['frame'] is frame
    assert changed(frame, shown) > 100
    assert h.node.panel.lines == ('hot keys', 'b: toggle boxes', 'm: toggle monitor', 'h: help',
                                  'q/ESC: quit')


def test_text_panel_fits_small_pictures():
    panel = TextPanel(font_scale=1.0, alpha=1.0)
    panel.set_lines(['a long line of text that is wider than the picture'] * 5)
    image = np.full((40, 30, 3), 200, np.uint8)   # smaller than the box: clipped, no error
    panel.draw(image)
    assert image.max() == 255 and image.min() == 0


@pytest.mark.parametrize('params, message', [({'alpha': 2}, 'alpha must be'),
                                             ({'font_scale': 0}, 'font_scale must be'),
                                             ({'interval': -1}, 'interval must be')])
def test_monitor_bad_params(params, message):
    with pytest.raises(ValueError, match=message):
        NodeHarness(Monitor, **params)   # built as a graph builds it: declared types checked
