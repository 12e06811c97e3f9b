"""Test a plugin without a camera and without threads: the single-node harness."""
from __future__ import annotations

from pathlib import Path

from webcam_app import NodeHarness, Object, make_frame
from webcam_app.plugins import load_plugin

Spotlight = load_plugin('spotlight.py', Path(__file__).parent).Spotlight


def test_spotlight_keeps_the_hand_and_dims_the_rest():
    hand = Object(bbox=(100, 100, 200, 220), label='hand')
    frame = make_frame(width=320, height=240, objects=[hand], color=(200, 200, 200))
    with NodeHarness(Spotlight, dim=0.5, padding=0) as h:
        out = h.feed(frame=frame)['frame']
    assert (out.image[150, 150] == 200).all()       # inside the box: untouched
    assert (out.image[10, 10] == 100).all()         # outside: dimmed
    assert (frame.image == 200).all()               # the input frame is not modified


def test_spotlight_passes_frames_with_no_objects():
    frame = make_frame(width=64, height=48)
    with NodeHarness(Spotlight) as h:
        assert h.feed(frame=frame)['frame'] is frame
