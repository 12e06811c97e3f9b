"""A single-node test harness: build a node, feed it messages, inspect what it emits. No threads."""
from __future__ import annotations

from typing import Any

import numpy as np

from .events import EventBus, Hotkeys
from .messages import Frame, Object
from .node import Node, NodeContext
from .worker import normalize_outputs

__all__ = ['NodeHarness', 'make_frame']


def make_frame(frame_id: int = 0, width: int = 640, height: int = 480,
               objects: tuple[Object, ...] | list[Object] = (), dataset_meta: dict | None = None,
               color: tuple[int, int, int] = (40, 40, 40), **meta: Any) -> Frame:
    """A plain frame of one color (BGR), for tests that need no camera."""
    image = np.empty((height, width, 3), np.uint8)
    image[:] = color
    return Frame(frame_id=frame_id, image=image, objects=tuple(objects),
                 dataset_meta=dataset_meta or {}, meta=meta)


class NodeHarness:
    """Drive one node by hand, the way the runtime would, on the calling thread.

    Example::

        with NodeHarness(Mirror) as h:
            out = h.feed(frame=make_frame())     # {'frame': Frame}
    """

    def __init__(self, node: Node | type[Node], *, name: str = 'node', run_mode: str = 'replay',
                 enable_key: str | None = None, **params: Any) -> None:
        """``node``: a node class (built with ``params``) or instance; ``run_mode``: the graph
        mode the node sees in ``self.context.mode`` ('live' or 'replay'). A class's ``params``
        are checked against its declared types, as however a node is made."""
        self.node = node(**params) if isinstance(node, type) else node
        self.events = EventBus()
        self.node.name, self.node.events = name, self.events
        hotkeys = {enable_key: name} if enable_key else {}
        self.node.context = NodeContext(mode=run_mode, graph_name='harness', hotkeys=hotkeys)
        self.events.subscribe('key', Hotkeys({enable_key: self.node} if enable_key else {}))

    def __enter__(self) -> 'NodeHarness':
        """The runtime's order: check, then setup (close runs at exit if setup succeeded)."""
        self.node._begin_run()
        self.node.check()
        try:
            self.node.setup()
        except BaseException:
            self.node._end_run()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.node.close()
        finally:
            self.node._end_run()

    def stop(self) -> None:
        """Stop the run as the runtime would: ``self.wait()`` in the node returns False."""
        self.node._stop_run()
        self.events.publish('stop', 'harness')

    def feed(self, **inputs: Any) -> dict[str, Any]:
        """Call process (or bypass, when disabled) once; returns {output port: message} (of its
        last emission, for a node that emits several messages at once: see ``feed_all``)."""
        merged: dict[str, Any] = {}
        for outputs in self.feed_all(**inputs):
            merged.update(outputs)
        return merged

    def feed_all(self, **inputs: Any) -> list[dict[str, Any]]:
        """Call process (or bypass) once; every message it emits, as {output port: message}."""
        call = self.node.process if self.node.enabled else self.node.bypass
        result = call(**inputs)
        return [normalize_outputs(self.node, r)
                for r in (result if isinstance(result, list) else [result])]

    def flush(self) -> list[dict[str, Any]]:
        """End the stream: what the node still holds (``Node.flush``), in order."""
        return [normalize_outputs(self.node, r) for r in self.node.flush() or ()]

    def run(self, frames: list[Frame], port: str | None = None) -> list[Any]:
        """Feed frames to the trigger port, then end the stream; returns the messages of one
        output port, in order."""
        trigger = next(p for p, kind in self.node.inputs.items() if kind == 'trigger')
        port = port or (self.node.outputs[0] if self.node.outputs else None)
        emitted = [out for frame in frames for out in self.feed_all(**{trigger: frame})]
        return [out[port] for out in emitted + self.flush() if port in out]

    def press(self, key: str) -> None:
        """Publish a key press on the node's event bus, as the display would."""
        self.events.publish('key', key)
