"""An example plugin: a spotlight on every detected hand or person.

Run it:  python run_webcam.py --config examples/plugins/spotlight.yaml
"""
from __future__ import annotations

import numpy as np

from webcam_app import Frame, Node
from webcam_app.params import NonNegative, Unit


class Spotlight(Node):
    """Darken the picture except around the detected objects."""

    def __init__(self, dim: Unit = 0.3, padding: NonNegative = 20):
        self.dim, self.padding = dim, padding

    def process(self, frame: Frame) -> Frame:
        if not frame.objects:
            return frame
        height, width = frame.image.shape[:2]
        lit = np.zeros((height, width), bool)
        for obj in frame.objects:
            x1, y1, x2, y2 = (int(v) for v in obj.bbox)
            p = self.padding
            lit[max(0, y1 - p):max(0, y2 + p), max(0, x1 - p):max(0, x2 + p)] = True
        image = (frame.image * self.dim).astype(np.uint8)   # a new array: the input stays intact
        image[lit] = frame.image[lit]
        return frame.replace(image=image)
