"""Bounded buffers between nodes, with a named overflow policy and counters."""
from __future__ import annotations

import collections
import threading
from dataclasses import dataclass
from typing import Any, Callable, Literal

from .errors import BufferClosed
from .params import Positive, check_params

__all__ = ['POLICIES', 'Buffer', 'BufferStats']

Policy = Literal['drop_oldest', 'block', 'drop_newest']
POLICIES: tuple[str, ...] = Policy.__args__


@dataclass
class BufferStats:
    put: int = 0
    taken: int = 0
    dropped: int = 0
    high_water: int = 0


class Buffer:
    """A bounded FIFO between one producer node and its consumers.

    Overflow policies:
        ``drop_oldest``: a put into a full buffer drops the oldest item (live: keep the freshest).
        ``block``: a put waits for room (lossless replay, back-pressure).
        ``drop_newest``: a put into a full buffer drops the item being put.

    Every drop is counted and handed to ``on_drop``. ``close()`` wakes every waiter: later puts
    are dropped, and gets return what is left, then raise ``BufferClosed``.
    """

    def __init__(self, name: str, size: Positive = 1, policy: Policy = 'drop_oldest',
                 on_drop: Callable[[Any], None] | None = None) -> None:
        try:
            check_params(Buffer, {'size': size, 'policy': policy})
        except ValueError as exc:
            raise ValueError(f"buffer '{name}': {exc}") from None
        self.name, self.size, self.policy = name, size, policy
        self.on_drop = on_drop
        self.stats = BufferStats()
        self._items: collections.deque = collections.deque()
        self._closed = False
        # One lock guards _items, _closed and stats; both conditions share it.
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Any, timeout: float | None = None, wait: bool = False) -> bool:
        """Add an item. Returns False if it was dropped (closed buffer, drop_newest, timeout).

        ``wait=True`` waits for room up to ``timeout`` whatever the policy, and only then applies
        it: the end of stream uses it, so it never pushes out the last real frame.
        """
        dropped = None
        with self._lock:
            if ((wait or self.policy == 'block') and len(self._items) >= self.size
                    and not self._closed):
                self._not_full.wait_for(
                    lambda: len(self._items) < self.size or self._closed, timeout)
            if self._closed:
                dropped, accepted = item, False
            elif len(self._items) < self.size:
                accepted = True
            elif self.policy == 'drop_oldest':
                dropped, accepted = self._items.popleft(), True
            else:  # drop_newest, or block that timed out
                dropped, accepted = item, False
            if accepted:
                self._items.append(item)
                self.stats.put += 1
                self.stats.high_water = max(self.stats.high_water, len(self._items))
                self._not_empty.notify()
            if dropped is not None:
                self.stats.dropped += 1
        if dropped is not None and self.on_drop is not None:
            self.on_drop(dropped)
        return accepted

    def get(self, timeout: float | None = None) -> Any:
        """Take the oldest item, waiting up to ``timeout`` seconds (None: until one comes).

        Raises:
            BufferClosed: the buffer is closed and empty.
            TimeoutError: nothing came in time.
        """
        with self._lock:
            if not self._not_empty.wait_for(lambda: self._items or self._closed, timeout):
                raise TimeoutError(f"buffer '{self.name}': nothing to get within {timeout} s")
            if not self._items:
                raise BufferClosed(self.name)
            return self._take()

    def get_nowait(self) -> Any:
        """The oldest item if there is one, else None; BufferClosed once closed and empty."""
        with self._lock:
            if self._items:
                return self._take()
            if self._closed:
                raise BufferClosed(self.name)
            return None

    def _take(self) -> Any:
        self.stats.taken += 1
        self._not_full.notify()
        return self._items.popleft()

    def close(self) -> None:
        """Refuse further puts and wake every waiter."""
        with self._lock:
            self._closed = True
            self._not_empty.notify_all()
            self._not_full.notify_all()

    def __repr__(self) -> str:
        return f'Buffer({self.name!r}, size={self.size}, policy={self.policy!r})'
