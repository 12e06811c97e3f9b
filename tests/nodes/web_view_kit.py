"""Helpers of the WebView tests: a served WebView, frames that stay big as JPEG, color checks."""
from __future__ import annotations

import numpy as np

from nodes.io.web import WebView
from webcam_app import Frame, NodeHarness, make_frame

__all__ = ['close_to', 'color_of', 'noise', 'served']


def served(**params) -> NodeHarness:
    """A WebView on a free port that encodes every frame (no max_fps), unless told otherwise."""
    return NodeHarness(WebView, name='web', **{'port': 0, 'max_fps': None, **params})


def color_of(image: np.ndarray) -> tuple[int, ...]:
    return tuple(int(round(c)) for c in image.reshape(-1, 3).mean(axis=0))


def close_to(image: np.ndarray, color: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 3 for a, b in zip(color_of(image), color))


def noise(i: int, width: int = 320, height: int = 240) -> Frame:
    """A frame of noise: it stays big as JPEG (~0.5 MB at 640x480), so sockets fill at once."""
    rng = np.random.default_rng(i)
    frame = make_frame(i, width, height)
    return frame.replace(image=rng.integers(0, 255, (height, width, 3), np.uint8))
