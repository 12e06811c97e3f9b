"""Plugin source text shared by the tests that run the app in a subprocess."""

TICKER = '''
import threading
from webcam_app import EOS, Node, make_frame

class Ticker(Node):
    """A camera-like source: frames at a fixed rate, forever."""
    inputs = {}
    mode_hint = 'live'
    def __init__(self, fps: float = 100.0, width: int = 16, height: int = 16):
        self.fps, self.size, self.i, self._tick = fps, (width, height), 0, threading.Event()
    def process(self):
        self._tick.wait(1 / self.fps)
        self.i += 1
        return make_frame(self.i, *self.size)
'''
