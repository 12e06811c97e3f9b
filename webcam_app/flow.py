"""What travels in buffers (Envelope), the live-mode flow limiter, and side-input reading."""
from __future__ import annotations

import threading
from typing import Any

from .buffers import Buffer
from .errors import BufferClosed
from .messages import EOS

__all__ = ['Envelope', 'FlowLimiter', 'SideInput', 'Token']


class FlowLimiter:
    """At most ``limit`` frames that entered through one source buffer are in flight at once.

    Each admitted frame gets a token; every copy of the frame (or of a message derived from it)
    sitting in a buffer or being processed holds one reference. When the last reference goes (a
    sink finished, a buffer dropped it, a node emitted nothing), the frame is out of flight.
    """

    def __init__(self, limit: int) -> None:
        self.limit, self.in_flight = limit, 0
        self._lock = threading.Lock()

    def admit(self) -> 'Token | None':
        with self._lock:
            if self.in_flight >= self.limit:
                return None
            self.in_flight += 1
        return Token(self)

    def _finish(self) -> None:
        with self._lock:
            self.in_flight -= 1


class Token:
    __slots__ = ('refs', 'limiter')

    def __init__(self, limiter: FlowLimiter) -> None:
        self.refs, self.limiter = 1, limiter

    def retain(self, n: int = 1) -> None:
        with self.limiter._lock:
            self.refs += n

    def release(self) -> None:
        with self.limiter._lock:
            self.refs -= 1
            done = self.refs == 0
        if done:
            self.limiter._finish()


class Envelope:
    """A message in a buffer, with the flow-limiter token of the frame it came from (or None)."""

    __slots__ = ('message', 'token')

    def __init__(self, message: Any, token: Token | None = None) -> None:
        self.message, self.token = message, token

    def release(self) -> None:
        """This copy is done with (consumed, dropped or cancelled): drop its token reference."""
        if self.token is not None:
            self.token.release()

    def __repr__(self) -> str:
        return f'Envelope({self.message!r}, {self.token!r})'


class SideInput:
    """A latest or sync input port, read relative to the trigger message's frame id.

    * latest, live mode: the newest message so far, without waiting (sticky between frames).
    * latest, replay mode: the newest message whose frame id is <= the trigger's. It waits until
      the producer has gone past that id, so a replay joins results deterministically.
    * sync: the message with exactly the trigger's frame id, or None when none was made for it.
    * previous (a feedback edge): like latest, but in replay mode it waits only for the result of
      the previous trigger frame, which is all a loop can have. The node on the other end of the
      loop must emit one message per input.
    """

    def __init__(self, buffer: Buffer, kind: str, live: bool) -> None:
        self.buffer, self.kind, self.live = buffer, kind, live
        self.last: Any = None
        self.pending: Any = None
        self.ended = False

    def value_for(self, frame_id: int, previous_id: int | None) -> Any:
        """The port's value for the trigger message ``frame_id``; ``previous_id`` is the frame id
        of the trigger message before it (None for the first)."""
        if self.live and self.kind in ('latest', 'previous'):
            self._drain_nowait()
            return self.last
        if self.kind == 'previous':
            # A feedback edge: wait for what came back from the previous frame, not this one.
            if previous_id is not None:
                self._advance_to(previous_id)
            return self.last
        self._advance_to(frame_id)
        if self.kind == 'sync':
            return self.last if self.last is not None and self.last.frame_id == frame_id else None
        return self.last

    def _drain_nowait(self) -> None:
        while not self.ended:
            try:
                item = self.buffer.get_nowait()
            except BufferClosed:
                self.ended = True
                return
            if item is None:
                return
            self._accept(item, newest_wins=True)

    def _advance_to(self, frame_id: int) -> None:
        while True:
            if self.pending is not None:
                if self.pending.frame_id > frame_id:
                    return
                self.last, self.pending = self.pending, None
            if self.ended or (self.last is not None and self.last.frame_id >= frame_id):
                return
            try:
                item = self.buffer.get()
            except BufferClosed:
                self.ended = True
                return
            self._accept(item, newest_wins=False)

    def _accept(self, item: Envelope, newest_wins: bool) -> None:
        item.release()
        message = item.message
        if message is EOS:
            self.ended = True
        elif newest_wins:
            self.last = message
        else:
            self.pending = message
