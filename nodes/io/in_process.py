"""In-process ends of a graph: frames handed in by Python code, results handed back to it.

``webcam_app.open()`` puts a :class:`FrameFeed` where a graph's source was and a
:class:`FrameCollector` where each sink was. They are ordinary nodes: a plugin could use them
the same way, and the single-node harness tests them.
"""
from __future__ import annotations

from typing import Any, Callable

from webcam_app import EOS, Buffer, BufferClosed, Frame, Node, Role
from webcam_app.params import Positive

__all__ = ['FrameCollector', 'FrameFeed']


class FrameFeed(Node):
    """A source that emits the frames put into its ``inbox``, in order, until it is closed.

    Whoever feeds it makes each :class:`Frame` (its id, image and metadata) and puts it into
    ``inbox``; closing the inbox ends the stream once it is empty. The graph's shutdown closes
    it too, so the source never waits on a caller that has gone away.
    """

    inputs: dict = {}
    outputs = ('frame',)
    mode_hint = 'replay'
    role = Role.PYTHON_FEED   # what webcam_app.open() puts in place of a graph's source

    def __init__(self, size: Positive = 8) -> None:
        self.inbox = Buffer('feed', size, 'block')

    def interrupt(self) -> None:   # process() blocks on the inbox, not in self.wait()
        self.inbox.close()

    def process(self) -> Frame | Any:
        try:
            frame = self.inbox.get()
        except BufferClosed:
            return EOS
        if not isinstance(frame, Frame):
            raise TypeError(f'{self.name}: the inbox must hold Frames, but got '
                            f'{type(frame).__name__}')
        return frame

    def close(self) -> None:
        self.inbox.close()


class FrameCollector(Node):
    """A sink that hands every frame it receives to ``on_frame(node_name, frame)``.

    The callback runs on this node's thread: it must be quick and thread-safe. With no
    callback, frames are kept in ``frames`` (for tests and small jobs).
    """

    inputs = {'frame': 'trigger'}
    outputs = ()
    role = Role.PYTHON_COLLECTOR   # what webcam_app.open() puts in place of a graph's sinks

    def __init__(self, on_frame: Callable[[str, Frame], None] | None = None) -> None:
        self.on_frame = on_frame
        self.frames: list[Frame] = []

    def process(self, frame: Frame) -> None:
        if self.on_frame is None:
            self.frames.append(frame)
        else:
            self.on_frame(self.name, frame)
        return None
