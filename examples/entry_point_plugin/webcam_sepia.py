"""An installable node plugin: webcam_app finds it through the `webcam_app.nodes` entry point."""
from __future__ import annotations

import numpy as np

from webcam_app import Frame, Node

# BGR in, BGR out: the classic sepia matrix, rows for B, G, R.
_SEPIA = np.array([[0.131, 0.534, 0.272],
                   [0.168, 0.686, 0.349],
                   [0.189, 0.769, 0.393]], np.float32)


class Sepia(Node):
    """Give the video an old-photo look."""

    def process(self, frame: Frame) -> Frame:
        toned = frame.image.astype(np.float32) @ _SEPIA.T
        return frame.replace(image=np.clip(toned, 0, 255).astype(np.uint8))
