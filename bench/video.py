"""Frames of a video file, for the benchmarks' bare loops."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import cv2
import numpy as np


def read_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Every frame of a video, in order, as BGR arrays."""
    cap = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, image = cap.read()
            if not ok:
                return
            yield image
    finally:
        cap.release()
