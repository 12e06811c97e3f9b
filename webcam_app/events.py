"""A small publish/subscribe bus for key presses and app events."""
from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Mapping

__all__ = ['EventBus', 'FrameDropped', 'Hotkeys']

log = logging.getLogger(__name__)


class EventBus:
    """Synchronous pub/sub: ``publish`` calls every subscriber of the topic on the caller's thread.

    Topics used by the app: ``'key'`` (payload: the pressed key as a one-character str),
    ``'quit'`` (a node asks the app to end; payload: the reason), ``'stop'`` (the app is
    shutting down, for any reason; a node sleeping in ``self.wait`` is woken without it) and
    ``'hurry'`` (a second Ctrl-C: skip the drain; a sink drops its backlog but still finalizes
    its file), and ``'dropped'`` (a node let a frame go no further on some ports; payload: a
    :class:`FrameDropped`). Subscribers must be quick and thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, list[Callable[[Any], None]]] = defaultdict(list)

    def subscribe(self, topic: str, callback: Callable[[Any], None]) -> None:
        with self._lock:
            self._subscribers[topic].append(callback)

    def unsubscribe(self, topic: str, callback: Callable[[Any], None]) -> None:
        """Drop one subscription of ``callback`` to ``topic``; nothing if there is none."""
        with self._lock:
            callbacks = self._subscribers.get(topic, [])
            if callback in callbacks:
                callbacks.remove(callback)

    def publish(self, topic: str, payload: Any = None) -> None:
        with self._lock:
            callbacks = list(self._subscribers.get(topic, ()))
        for callback in callbacks:
            try:
                callback(payload)
            except Exception:
                log.exception('event subscriber %r failed on %r', callback, topic)


@dataclass(frozen=True)
class FrameDropped:
    """A node passed frame ``frame_id`` on none of ``ports``: it skipped it after an error
    (``on_error: skip``; ``why`` is the error) or returned nothing for them (``'no output'``)."""

    node: str
    frame_id: int
    ports: tuple[str, ...]
    why: str


class Hotkeys:
    """The one show/hide mechanism: a ``'key'`` event flips ``enabled`` of the node bound to that
    key (its YAML ``enable_key``). A disabled node's ``bypass`` replaces its ``process``."""

    def __init__(self, nodes: Mapping[str, Any]) -> None:
        self.nodes = dict(nodes)   # key -> node

    def __call__(self, key: Any) -> None:
        node = self.nodes.get(key)
        if node is not None:
            node.enabled = not node.enabled
            log.info('node %r %s (key %r)', node.name,
                     'enabled' if node.enabled else 'disabled', key)
