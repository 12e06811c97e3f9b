"""A one-line banner drawn on the video, e.g. to say which models are running."""
from __future__ import annotations

import cv2

from webcam_app import Frame, Node
from webcam_app.params import Color, PositiveFloat

__all__ = ['Banner']


class Banner(Node):
    """Draw a short line of text in a dark strip at the top of the video."""

    def __init__(self, text: str, font_scale: PositiveFloat = 0.5,
                 color: Color = (255, 255, 255)) -> None:
        self.text, self.font_scale, self.color = text, font_scale, color

    def process(self, frame: Frame) -> Frame:
        image = frame.image.copy()
        (width, height), base = cv2.getTextSize(self.text, cv2.FONT_HERSHEY_SIMPLEX,
                                                self.font_scale, 1)
        strip = image[:height + base + 8, :min(image.shape[1], width + 12)]
        strip[:] = strip // 3        # darken under the text so it reads on any picture
        cv2.putText(image, self.text, (6, height + 4), cv2.FONT_HERSHEY_SIMPLEX, self.font_scale,
                    self.color, 1, cv2.LINE_AA)
        return frame.replace(image=image)
