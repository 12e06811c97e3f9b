"""What travels in buffers (Envelope), the live-mode flow limiter, and side-input reading."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from .buffers import Buffer
from .errors import BufferClosed
from .messages import EOS

__all__ = ['Envelope', 'FlowLimiter', 'SideInput', 'Token']

_STALE = 0.45      # a waiting frame older than this share of the turnaround is skipped
_SMOOTHING = 0.2   # weight of the newest sample in a running average
_JOIN_SHARE = 0.75  # a live join waits for fresher results at most this share of a frame period


class FlowLimiter:
    """At most ``limit`` frames that entered through one source buffer are in flight at once.

    Each admitted frame gets a token; every copy of the frame (or of a message derived from it)
    that is waiting in a trigger buffer or being processed holds one reference. Results put into
    a side input's buffer (latest, sync, previous) hold none: a frame is out of flight the moment
    the last node doing work for it has finished (a sink finished, a buffer dropped it, a node
    emitted nothing or only side results).

    A frame offered while every slot is taken waits (the newest one only; the one it replaces is
    skipped) and enters as soon as a slot frees, so the expensive part never idles for a frame
    period. A waiting frame older than ``stale`` times the usual turnaround is skipped instead,
    which keeps the latency under overload within (1 + stale) times the stage time.
    """

    def __init__(self, limit: int, buffer: Buffer, stale: float = _STALE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.buffer, self.stale, self.clock = limit, buffer, stale, clock
        self.skipped = 0            # frames that never entered: replaced while waiting, or stale
        self.peak = 0               # the most frames in flight at once
        self.turnaround: float | None = None   # running average, admission to finish, seconds
        self._in_flight: dict[Token, float] = {}   # token -> admission time
        self._waiting: tuple[Any, float] | None = None
        self._handing_over = False   # a waiting frame is being put: later frames queue behind it
        self._closed = False
        self._lock = threading.Lock()   # guards every field above

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def offer(self, message: Any) -> 'Token | None':
        """A token for ``message`` when a slot is free (the caller puts it in an Envelope);
        else None, and the message waits for a slot in place of the one waiting before it."""
        with self._lock:
            if self._closed:
                return None
            if len(self._in_flight) < self.limit and not self._handing_over:
                return self._admit(message)
            if self._waiting is not None:
                self.skipped += 1
            self._waiting = (message, self.clock())
        return None

    def close(self) -> None:
        """The source has ended: the waiting frame, if any, is skipped; nothing more enters."""
        with self._lock:
            self._closed = True
            if self._waiting is not None:
                self.skipped += 1
                self._waiting = None

    def due_after(self, frame_id: int) -> float | None:
        """When the first frame in flight with an id above ``frame_id`` should be done (None:
        there is none, or no turnaround was measured yet)."""
        with self._lock:
            if self.turnaround is None:
                return None
            return min((admitted + self.turnaround for token, admitted in
                        self._in_flight.items() if token.frame_id > frame_id), default=None)

    def _admit(self, message: Any) -> 'Token':
        token = Token(self, getattr(message, 'frame_id', -1))
        self._in_flight[token] = self.clock()
        self.peak = max(self.peak, len(self._in_flight))
        return token

    def _finish(self, token: 'Token') -> None:
        with self._lock:
            self.turnaround = _average(self.turnaround, self.clock() - self._in_flight.pop(token))
            handover = None if self._handing_over else self._take_waiting()
        while handover is not None:     # put outside the lock (a put may drop, which releases)
            self.buffer.put(handover, timeout=0)   # never wait here: this is another node's thread
            with self._lock:
                self._handing_over = False
                handover = self._take_waiting()

    def _take_waiting(self) -> 'Envelope | None':
        """With the lock held and a slot free: admit the waiting frame unless it is stale."""
        if self._waiting is None or len(self._in_flight) >= self.limit:
            return None
        message, since = self._waiting
        self._waiting = None
        if self.clock() - since > self.stale * self.turnaround:
            self.skipped += 1
            return None
        self._handing_over = True
        return Envelope(message, self._admit(message))


def _average(average: float | None, sample: float) -> float:
    return sample if average is None else (1 - _SMOOTHING) * average + _SMOOTHING * sample


class Token:
    """One admitted frame's slot; freed when its last reference is released."""

    __slots__ = ('refs', 'limiter', 'frame_id')

    def __init__(self, limiter: FlowLimiter, frame_id: int) -> None:
        self.refs, self.limiter, self.frame_id = 1, limiter, frame_id

    def retain(self, n: int = 1) -> None:
        with self.limiter._lock:
            self.refs += n

    def release(self) -> None:
        with self.limiter._lock:
            self.refs -= 1
            done = self.refs == 0
        if done:
            self.limiter._finish(self)


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


class NoResult:
    """Put, in replay mode, into a side-input buffer when its producer made nothing for
    ``frame_id``: the reader knows the producer has passed that frame and need not wait."""

    __slots__ = ('frame_id',)

    def __init__(self, frame_id: int) -> None:
        self.frame_id = frame_id


class SideInput:
    """A latest, sync or previous input port, read relative to the trigger message.

    * latest, live mode: the newest message so far (sticky between frames). When a newer result
      is due within this frame's period (``upstream``, the flow limiter of the path that makes
      the results, knows when), it waits for it, so the results drawn are as fresh as a plain
      read-infer-draw loop's; otherwise it does not wait. The wait never passes 3/4 of a frame
      period, so the video keeps the source's rate.
    * latest, replay mode: the newest message whose frame id is <= the trigger's. It waits until
      the producer has gone past that id, so a replay joins results deterministically.
    * sync: the message with exactly the trigger's frame id, or None when none was made for it.
    * previous (a feedback edge): like latest, but in replay mode it waits only for the result of
      the previous trigger frame, which is all a loop can have. The node on the other end of the
      loop must emit one message per input.
    """

    def __init__(self, buffer: Buffer, kind: str, live: bool,
                 upstream: FlowLimiter | None = None) -> None:
        self.buffer, self.kind, self.live = buffer, kind, live
        self.upstream = upstream if live and kind == 'latest' else None
        self.last: Any = None
        self.pending: Any = None
        self.through = -1          # replay: the producer has passed every frame id up to this
        self.ended = False
        self._period: float | None = None       # running average of the trigger's frame period
        self._previous_ts: float | None = None

    def value_for(self, trigger: Any, previous_id: int | None) -> Any:
        """The port's value for the ``trigger`` message; ``previous_id`` is the frame id of the
        trigger message before it (None for the first)."""
        frame_id = trigger.frame_id
        if self.live and self.kind in ('latest', 'previous'):
            self._drain_nowait()
            if self.upstream is not None:
                self._await_fresh(trigger)
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

    def _await_fresh(self, trigger: Any) -> None:
        """Live latest: wait for a newer result if one is due within this frame's period."""
        ts = trigger.timestamp
        if self._previous_ts is not None and ts > self._previous_ts:
            self._period = _average(self._period, ts - self._previous_ts)
        self._previous_ts = ts
        newest = -1 if self.last is None else self.last.frame_id
        if self._period is None or newest >= trigger.frame_id:
            return
        due = self.upstream.due_after(newest)
        deadline = ts + _JOIN_SHARE * self._period
        if due is None or due > deadline:
            return
        while not self.ended:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                item = self.buffer.get(timeout=remaining)
            except TimeoutError:
                return
            except BufferClosed:
                self.ended = True
                return
            self._accept(item, newest_wins=True)
            if self.last is not None and self.last.frame_id > newest:
                return

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
                if isinstance(self.pending, NoResult):
                    self.through = self.pending.frame_id
                else:
                    self.last = self.pending
                    self.through = self.last.frame_id
                self.pending = None
            if self.ended or self.through >= frame_id:
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
        elif isinstance(message, NoResult):
            if not newest_wins:
                self.pending = message
        elif newest_wins:
            self.last = message
        else:
            self.pending = message
