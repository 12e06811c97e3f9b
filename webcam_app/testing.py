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
        """Call process (or bypass, when disabled) once; returns {output port: message}."""
        call = self.node.process if self.node.enabled else self.node.bypass
        return normalize_outputs(self.node, call(**inputs))

    def run(self, frames: list[Frame], port: str | None = None) -> list[Any]:
        """Feed frames to the trigger port; returns the messages of one output port, in order."""
        trigger = next(p for p, kind in self.node.inputs.items() if kind == 'trigger')
        port = port or (self.node.outputs[0] if self.node.outputs else None)
        results = []
        for frame in frames:
            out = self.feed(**{trigger: frame})
            if port in out:
                results.append(out[port])
        return results

    def press(self, key: str) -> None:
        """Publish a key press on the node's event bus, as the display would."""
        self.events.publish('key', key)
