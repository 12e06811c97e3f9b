"""Small nodes for runtime tests: counting sources, pass-throughs, collecting sinks."""
from __future__ import annotations

import threading
import time

from webcam_app import EOS, Node, make_frame
from webcam_app.params import Unit


class CountSource(Node):
    """Emit n small frames, then end (n < 0: forever, paced at fps when given)."""

    inputs = {}

    def __init__(self, n: int = 10, fps: float | None = None, width: int = 32, height: int = 24):
        self.n, self.fps, self.width, self.height = n, fps, width, height
        self.mode_hint = 'live' if fps else 'replay'
        self.i = 0

    def process(self):
        if 0 <= self.n <= self.i:
            return EOS
        if self.fps and not self.wait(1 / self.fps):   # pacing, like a camera
            return EOS
        self.i += 1
        return make_frame(self.i - 1, self.width, self.height, color=(self.i % 256, 0, 0))


class AddValue(Node):
    """Write a value derived from the frame id into meta; optional work time and failure."""

    def __init__(self, key: str = 'value', factor: int = 1, work_s: float = 0.0,
                 fail_at: int | None = None, drop_every: int | None = None,
                 drop_from: int = -1, drop_until: int = -1):
        self.key, self.factor, self.work_s = key, factor, work_s
        self.fail_at, self.drop_every = fail_at, drop_every
        self.drop_from, self.drop_until = drop_from, drop_until   # no output in [from, until)

    def process(self, frame):
        if self.work_s:
            time.sleep(self.work_s)   # stands for GIL-releasing work (inference)
        if self.fail_at is not None and frame.frame_id == self.fail_at:
            raise RuntimeError(f'boom at frame {frame.frame_id}')
        if self.drop_every and frame.frame_id % self.drop_every == 0:
            return None
        if self.drop_from <= frame.frame_id < self.drop_until:
            return None
        return frame.with_meta(**{self.key: frame.frame_id * self.factor})


class HoldFirst(Node):
    """Passes frames on, but holds the first one until ``opened`` is set (by a test)."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self._first = True

    def process(self, frame):
        if self._first:
            self._first = False
            if not self.opened.wait(30):
                raise TimeoutError('the test never opened the gate')
        return frame


class SlowSetup(Node):
    """A node whose setup() (a model loading) lasts until a test sets ``loaded``."""

    def __init__(self) -> None:
        self.entered, self.loaded, self.closed = (threading.Event(), threading.Event(),
                                                  threading.Event())

    def setup(self):
        self.entered.set()
        if not self.loaded.wait(30):
            raise TimeoutError('the test never finished loading')

    def process(self, frame):
        return frame

    def close(self):
        self.closed.set()


class JoinLatest(Node):
    """Copy the side input's frame id into meta."""

    inputs = {'frame': 'trigger', 'side': 'latest'}

    def process(self, frame, side=None):
        return frame.with_meta(side_id=None if side is None else side.frame_id,
                               side_value=None if side is None else side.meta.get('value'))


class Collect(Node):
    """A sink that keeps every frame it gets, by graph name."""

    outputs = ()
    seen: dict[str, list] = {}

    def __init__(self, key: str = 'default'):
        self.key = key
        Collect.seen[key] = []

    def process(self, frame):
        Collect.seen[self.key].append(frame)


class NeedsThreshold(Node):
    """A node with a required parameter."""

    def __init__(self, threshold: Unit):
        self.threshold = threshold

    def process(self, frame):
        return frame


class Gate(Node):
    """Pass frames through, but hold each one until ``Gate.opened`` is set (for live tests)."""

    opened = threading.Event()
    holding = threading.Event()   # set while a frame waits at the gate

    def process(self, frame):
        Gate.holding.set()
        Gate.opened.wait(10)
        return frame


class CountSetups(Node):
    """Count how often setup runs, as a model node's loading would."""

    setups = 0

    def setup(self):
        CountSetups.setups += 1

    def process(self, frame):
        return frame.with_meta(setups=CountSetups.setups)


class FailSetup(Node):
    """A node whose setup fails, like a model that cannot load."""

    def setup(self):
        raise OSError('cannot load the model')

    def process(self, frame):
        return frame


class Overlap(Node):
    """Two stages that see whether they overlap, by events rather than by time.

    ``stage: first`` records each frame id it takes; ``stage: second`` holds frame k (below
    ``last``) until the first stage has taken frame k + 1, or ``wait_s`` passed, and writes
    whether it had (``overlapped``) into meta: True only when the stages work at once.
    """

    entered: set[int] = set()
    changed = threading.Condition()

    def __init__(self, stage: str = 'first', last: int = 0, wait_s: float = 10.0) -> None:
        self.stage, self.last, self.wait_s = stage, last, wait_s

    @classmethod
    def reset(cls) -> None:
        with cls.changed:
            cls.entered.clear()

    def process(self, frame):
        k = frame.frame_id
        with Overlap.changed:
            if self.stage == 'first':
                Overlap.entered.add(k)
                Overlap.changed.notify_all()
                return frame
            overlapped = k >= self.last or Overlap.changed.wait_for(
                lambda: k + 1 in Overlap.entered, self.wait_s)
        return frame.with_meta(overlapped=overlapped)
