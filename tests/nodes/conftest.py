"""Fixtures for node tests: short generated videos, image folders, and a fake source clock."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pytest

#: Frame i carries its index as the gray level of the top-left block: 5 + 8 * i.
LEVEL0, LEVEL_STEP, BLOCK = 5, 8, 16


def frame_image(i: int, width: int = 64, height: int = 48) -> np.ndarray:
    """A black picture with a moving square and the frame index coded in the top-left block."""
    image = np.zeros((height, width, 3), np.uint8)
    x = (i * 3) % (width - 12)
    image[height - 12:height - 2, x:x + 10] = (0, 200, 255)
    image[:BLOCK, :BLOCK] = LEVEL0 + LEVEL_STEP * (i % 30)
    return image


def index_of(image: np.ndarray) -> int:
    """The frame index coded by ``frame_image`` (robust to lossy codecs)."""
    level = float(image[2:BLOCK - 2, 2:BLOCK - 2].mean())
    return int(round((level - LEVEL0) / LEVEL_STEP))


def write_video(path: Path, n: int, fps: float = 25.0, size: tuple[int, int] = (64, 48),
                codec: str = 'MJPG') -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, size)
    assert writer.isOpened(), f'could not write the test video {path}'
    for i in range(n):
        writer.write(frame_image(i, *size))
    writer.release()
    return path


def read_all(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(image)
    cap.release()
    return frames


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[..., Path]:
    """make_video(n=30, name='clip.avi', fps=25.0) writes a short MJPG clip in tmp_path."""
    def make(n: int = 30, name: str = 'clip.avi', fps: float = 25.0) -> Path:
        return write_video(tmp_path / name, n, fps)
    return make


@pytest.fixture
def video_file(make_video: Callable[..., Path]) -> Path:
    return make_video(30)


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """img1, img2, img10, img11 (natural order), plus a text file and a hidden file to ignore."""
    folder = tmp_path / 'images'
    folder.mkdir()
    for order, number in enumerate((1, 2, 10, 11)):
        cv2.imwrite(str(folder / f'img{number}.png'), frame_image(order))
    (folder / 'notes.txt').write_text('not an image')
    cv2.imwrite(str(folder / '.hidden.png'), frame_image(20))
    return folder


class FakeClock:
    """VideoSource's clock (see ``fake_clock``): it moves only when the source waits, or when a
    test moves ``now`` (a slow decode)."""

    def __init__(self) -> None:
        self.now, self.waits = 1000.0, []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return True


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A FakeClock in place of VideoSource's; give its ``wait`` to the node under test."""
    from nodes.io import sources
    clock = FakeClock()
    monkeypatch.setattr(sources, '_clock', clock)
    return clock
