"""The Python API: run any graph on frames from your own code, like an inferencer.

``with webcam_app.open('graphs/hand_lite.yaml') as p: result = p(image)`` (see the README).
"""
from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import deque
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import WebcamAppError
from ..events import FrameDropped
from ..executor import Runner
from ..messages import Frame
from ..params import Positive, PositiveFloat, check_params
from .embed import build_embedded, collectors_below
from .results import Result, to_image

__all__ = ['Pipeline', 'Result', 'open']

log = logging.getLogger(__name__)

_CALL, _SUBMIT, _DISCARD = 'call', 'submit', 'discard'   # who waits for a frame's result


class Pipeline:
    """A graph running on its threads, fed from Python. Use :func:`open` to make one.

    One lock guards every field below; the graph's collectors take it to hand results over.
    Frames enter the graph with increasing ids, so every wait ends when its frame comes out,
    the graph fails, or the pipeline closes. A frame that a node drops (``on_error: skip``, or
    no output) is done for the sinks below that node at once: the node says so (a
    ``'dropped'`` event), and the result names it in ``skipped``.
    """

    def __init__(self, source: str | Path | dict, *, fps: PositiveFloat | None = None,
                 window: Positive | None = None, fallback: bool = True,
                 **overrides: Any) -> None:
        fps, window = check_params(Pipeline, {'fps': fps, 'window': window}).values()
        self.fps = fps
        self._cond = threading.Condition()
        self._in_flight: dict[int, str] = {}     # frame id -> _CALL, _SUBMIT or _DISCARD
        self._calls = self._submits = 0          # frames in flight per kind
        self._parts: dict[int, dict[str, Frame]] = {}
        self._skipped: dict[int, dict[str, str]] = {}   # frame id -> {node: why}, dropped ones
        self._absent: dict[int, set[str]] = {}   # frame id -> collectors it will never reach
        self._done: dict[int, Result] = {}
        self._latest: Result | None = None
        self._given: Result | None = None         # what latest() returned last
        self._waiting: tuple | None = None       # (image, meta): a submitted frame not yet fed
        self._next_id = 0
        self.dropped = 0                         # submitted frames replaced by a newer one
        self._closed = self._reported = False
        self.graph, self.embedding, self.window = build_embedded(
            source, self._on_frame, window, fallback, overrides)
        self._seen = {name: -1 for name in self.embedding.collectors}
        self._below = collectors_below(self.graph, self.embedding.collectors)
        self.max_in_flight = self.graph.max_in_flight    # as the builder read and checked it
        self._inbox = self.graph.nodes[self.embedding.feed].node.inbox
        self._inbox.size = self.window + self.max_in_flight   # room for every frame in flight
        self.runner = Runner(self.graph)
        self.runner.events.subscribe('stop', self._wake)
        self.runner.events.subscribe('dropped', self._on_dropped)
        _close_at_exit(self)
        self.runner.start()
        try:
            ready = self.runner.wait_ready()
        except BaseException:                 # Ctrl-C while the models load
            self.close(raise_error=False)
            raise
        if not ready:                         # a node failed to set up: nothing is left running
            self.close(raise_error=False)
            raise self._failure()

    # -- feeding -------------------------------------------------------------------------------
    def __call__(self, image: Any) -> Result:
        """One frame (a BGR uint8 array or an image path) through the graph; its result.
        Interrupted (Ctrl-C), the frame's result is thrown away when it comes."""
        frame_id = self._feed(to_image(image))
        try:
            return self._wait(frame_id)
        except BaseException:
            self._discard([frame_id])
            raise

    def stream(self, frames: Iterable[Any]) -> Iterator[Result]:
        """Results of ``frames`` (arrays or paths), in order, one each; up to ``window`` frames
        are in the graph at once, so every stage works on its own frame."""
        pending: deque[int] = deque()
        try:
            for item in frames:
                if len(pending) >= self.window:
                    yield self._wait(pending.popleft())
                pending.append(self._feed(to_image(item)))
            while pending:
                yield self._wait(pending.popleft())
        finally:   # the caller stopped early: results still on their way are not kept
            self._discard(pending)

    def _discard(self, frame_ids: Iterable[int]) -> None:
        """Nobody waits for these frames any more: drop their results, now or when they come."""
        with self._cond:
            for frame_id in frame_ids:
                if self._in_flight.get(frame_id) == _CALL:
                    self._in_flight[frame_id] = _DISCARD
                self._done.pop(frame_id, None)

    def submit(self, image: Any) -> None:
        """Hand a frame over for live use; never waits. While ``max_in_flight`` frames are in the
        graph, the newest frame waits and an older waiting one is dropped (see ``dropped``)."""
        image, meta = to_image(image)
        with self._cond:
            self._check_open()
            if self._submits < self.max_in_flight:
                self._put(image, meta, _SUBMIT)
            else:
                if self._waiting is not None:
                    self.dropped += 1
                self._waiting = (image, meta)

    def latest(self, timeout: float = 0.0) -> Result | None:
        """The newest result of a submitted frame (None before the first). By default it never
        waits; with ``timeout`` > 0 it waits up to that long for one newer than it last gave."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self.runner.errors:
                    raise self._failure()
                latest = self._latest
                fresh = latest is not None and latest is not self._given
                remaining = deadline - time.monotonic()
                if fresh or remaining <= 0 or self._closed or self.runner.stopping.is_set():
                    self._given = latest
                    return latest
                self._cond.wait(remaining)

    def _feed(self, image_meta: tuple) -> int:
        with self._cond:
            while True:
                self._check_open()
                if self._calls < self.window:
                    return self._put(*image_meta, _CALL)
                self._cond.wait()

    def _put(self, image: Any, meta: dict, route: str) -> int:
        """Send one frame into the graph (lock held). The inbox holds window + max_in_flight
        frames and no more are ever in flight, so this never waits."""
        frame_id, self._next_id = self._next_id, self._next_id + 1
        if self.fps is not None:
            meta = {**meta, 'source_timestamp_ms': frame_id * 1000.0 / self.fps}
        frame = Frame(frame_id=frame_id, image=image, timestamp=time.monotonic(), meta=meta)
        self._in_flight[frame_id] = route
        if not self._inbox.put(frame, timeout=0):
            del self._in_flight[frame_id]
            raise self._failure()
        if route == _CALL:
            self._calls += 1
        else:
            self._submits += 1
        return frame_id

    # -- results -------------------------------------------------------------------------------
    def _on_frame(self, collector: str, frame: Frame) -> None:
        """A collector's frame, on its node's thread. A frame id is done once every collector
        has reached it (a frame a node dropped on the way is done without that part)."""
        with self._cond:
            if frame.frame_id in self._in_flight:
                self._parts.setdefault(frame.frame_id, {})[collector] = frame
            self._seen[collector] = frame.frame_id
            self._settle()

    def _on_dropped(self, event: FrameDropped) -> None:
        """A node dropped a frame (on its thread): the collectors below it never get it."""
        with self._cond:
            if event.frame_id not in self._in_flight:
                return
            self._skipped.setdefault(event.frame_id, {})[event.node] = event.why
            self._absent.setdefault(event.frame_id, set()).update(
                c for port in event.ports for c in self._below.get((event.node, port), ()))
            self._settle()

    def _settle(self) -> None:
        """Finish every frame in flight that each collector has reached, passed, or will never
        reach (lock held); then feed a submitted frame that waited for room."""
        for frame_id in sorted(self._in_flight):
            absent = self._absent.get(frame_id, ())
            if all(seen >= frame_id or name in absent for name, seen in self._seen.items()):
                self._finish(frame_id)
        if self._waiting is not None and self._submits < self.max_in_flight:
            waiting, self._waiting = self._waiting, None
            try:
                self._put(*waiting, _SUBMIT)
            except WebcamAppError:   # shutting down: the frame has nowhere to go
                self.dropped += 1
        self._cond.notify_all()

    def _finish(self, frame_id: int) -> None:
        route = self._in_flight.pop(frame_id)
        parts = self._parts.pop(frame_id, {})
        self._absent.pop(frame_id, None)
        result = Result(frame_id, parts.get(self.embedding.collectors[0]), dict(parts),
                        self._skipped.pop(frame_id, {}))
        if route == _SUBMIT:
            self._submits -= 1
            self._latest = result
            return
        self._calls -= 1
        if route == _CALL:
            self._done[frame_id] = result

    def _wait(self, frame_id: int) -> Result:
        with self._cond:
            while frame_id not in self._done:
                if self.runner.stopping.is_set() or self._closed:
                    raise self._failure()
                self._cond.wait()
            return self._done.pop(frame_id)

    def _wake(self, _reason: Any = None) -> None:
        with self._cond:
            self._cond.notify_all()

    def _check_open(self) -> None:
        if self._closed or self.runner.stopping.is_set():
            raise self._failure()

    def _failure(self) -> WebcamAppError:
        """The error to raise in the caller: the first node's, with its cause chained."""
        if self.runner.errors:
            self._reported = True
            return self.runner.errors[0].with_traceback(None)
        return WebcamAppError('the pipeline is closed' if self._closed else
                              f'the graph {self.graph.name!r} stopped')

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def metrics(self) -> dict[str, Any]:
        """Per-node and per-buffer metrics of the run so far (as ``--metrics-out`` writes)."""
        return self.runner.metrics.snapshot()

    def close(self, raise_error: bool = True) -> None:
        """Stop the graph and join its threads (idempotent). Raises a node's error that no call
        has raised yet, unless ``raise_error`` is False."""
        with self._cond:
            first, self._closed = not self._closed, True
            self._cond.notify_all()
        if first:
            self.runner.stop('the Python API closed the pipeline')
            self.runner.wait()
            if self.runner.stuck_threads:
                log.error('threads still busy after close: %s',
                          ', '.join(self.runner.stuck_threads))
        if raise_error and self.runner.errors and not self._reported:
            raise self._failure()

    def __enter__(self) -> 'Pipeline':
        return self

    def __exit__(self, exc_type: Any, *_exc: Any) -> None:
        self.close(raise_error=exc_type is None)


def _close_at_exit(pipeline: Pipeline) -> None:
    """Close a pipeline its user forgot to close when the interpreter exits, before Python
    joins the graph's threads (which would otherwise wait for frames for ever). It uses the
    hook that ``concurrent.futures`` uses for its workers; the pipeline is held weakly."""
    register = getattr(threading, '_register_atexit', None)
    if register is None:
        return
    ref = weakref.ref(pipeline)

    def close() -> None:
        if (alive := ref()) is not None:
            alive.close(raise_error=False)
    register(close)


def open(graph: str | Path | dict, *, fps: float | None = None, window: int | None = None,
         fallback: bool = True, **overrides: Any) -> Pipeline:
    """Load, validate and start a graph for frames from Python; models load here, once.

    Args:
        graph: a graph YAML path (or a config dict). Its source is replaced by an in-process
            feed and its sinks by collectors; everything else runs as the graph says.
        fps: the frames' rate, for their timestamps (``frame_id / fps``); None: capture time.
        window: how many frames ``stream`` keeps in the graph (default: twice its nodes).
        fallback: run the graph's ``fallback:`` when model weights are unavailable.
        overrides: ``node={'param': value}`` for one node, or ``param=value`` (e.g.
            ``device='cuda:0'``) for every node that takes it.

    Raises:
        ConfigError: the graph is invalid (every problem, each with file:line).
        NodeError: a node failed to set up (its name, with the cause chained).
    """
    return Pipeline(graph, fps=fps, window=window, fallback=fallback, **overrides)
