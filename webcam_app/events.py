"""A small publish/subscribe bus for key presses and app events."""
from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import Any, Callable

__all__ = ['EventBus']

log = logging.getLogger(__name__)


class EventBus:
    """Synchronous pub/sub: ``publish`` calls every subscriber of the topic on the caller's thread.

    Topics used by the app: ``'key'`` (payload: the pressed key as a one-character str),
    ``'quit'`` (a node asks the app to end; payload: the reason) and ``'stop'`` (the app is
    shutting down, for any reason; a node waiting on its own should wake). Subscribers must be
    quick and thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, list[Callable[[Any], None]]] = defaultdict(list)

    def subscribe(self, topic: str, callback: Callable[[Any], None]) -> None:
        with self._lock:
            self._subscribers[topic].append(callback)

    def publish(self, topic: str, payload: Any = None) -> None:
        with self._lock:
            callbacks = list(self._subscribers.get(topic, ()))
        for callback in callbacks:
            try:
                callback(payload)
            except Exception:
                log.exception('event subscriber %r failed on %r', callback, topic)
