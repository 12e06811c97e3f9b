"""Stop requests from SIGINT and SIGTERM, recorded from the first millisecond.

This module imports nothing heavy, so the entry points install its handler before numpy, OpenCV
or torch load. A signal is never raised inside an import (where Python may swallow it, or turn
it into a misleading ImportError): it is recorded here, and the run honours it as soon as its
graph exists. The 1st signal asks for a stop; the 2nd for a hurried one (skip the drain, still
finalize every output) and starts a 1 s deadline; the 3rd, or that deadline, forces the exit.
A 2nd signal before any run began (nothing to finalize) exits at once.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import contextmanager
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, Callable, Iterator

__all__ = ['EXIT_SIGINT', 'EXIT_SIGTERM', 'FORCE_AFTER_S', 'count', 'exit_code', 'install',
           'installed', 'listen', 'quit_process', 'reset', 'uninstall']

EXIT_SIGINT, EXIT_SIGTERM = 130, 143
#: seconds between the 2nd signal and the forced exit, for the outputs to be finalized
FORCE_AFTER_S = 1.0

_signals: list[int] = []
_listener: Callable[[int, int], None] | None = None
_previous: dict[int, Any] | None = None
_wakeup: SimpleQueue | None = None   # from the handler to the watcher thread
_heard = 0                           # signals the listener has been told of
_deliver_lock = threading.Lock()     # never taken by the signal handler


def exit_code() -> int:
    """The exit code the first signal asks for (130 for SIGINT, 143 for SIGTERM), or 0."""
    if not _signals:
        return 0
    return EXIT_SIGINT if _signals[0] == signal.SIGINT else EXIT_SIGTERM


def count() -> int:
    """How many stop signals have arrived."""
    return len(_signals)


def _force_exit(why: str) -> None:
    os.write(2, f'forced exit: {why}\n'.encode())
    os._exit(exit_code())


def _handle(signum: int, _frame: Any) -> None:
    """The signal handler. It may interrupt the main thread anywhere, even inside threading's
    own locks, so it takes no lock and starts no thread: it records the signal and wakes the
    watcher thread through a SimpleQueue, whose put() is made to be called from a handler."""
    _signals.append(signum)
    n = len(_signals)
    if n >= 3:
        _force_exit('third stop signal')
    if n == 2 and _listener is None:   # no run yet (still importing): nothing to finalize
        _force_exit('second stop signal before the run began')
    wakeup = _wakeup
    if wakeup is not None:
        wakeup.put(signum)


def _watch(wakeup: SimpleQueue) -> None:
    """The watcher thread: tells the listener of each signal, keeps the 1 s deadline."""
    deadline = None
    while True:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            if wakeup.get(timeout=wait) is None:   # uninstall()
                return
        except Empty:
            _force_exit(f'outputs not finalized within {FORCE_AFTER_S:g} s')
        if len(_signals) >= 2 and deadline is None:
            deadline = time.monotonic() + FORCE_AFTER_S
        _deliver()


def _deliver() -> None:
    """Tell the listener, once, of the signals it has not heard of: the latest, with the count
    so far (1: stop; 2 or more: hurry). On a thread of its own, so a slow listener delays
    nothing."""
    global _heard
    with _deliver_lock:
        n, listener = len(_signals), _listener
        if listener is None or n <= _heard:
            return
        _heard = n
    threading.Thread(target=listener, args=(_signals[n - 1], n), name='stop-signal',
                     daemon=True).start()


def install(recorded: list[int] | None = None) -> bool:
    """Install the handler (main thread only). False if it was installed already or cannot be.

    ``recorded``: signals an entry point caught before this module was imported; they count as
    if they came now.
    """
    global _previous, _wakeup
    if _previous is not None or threading.current_thread() is not threading.main_thread():
        return False
    _wakeup = SimpleQueue()
    threading.Thread(target=_watch, args=(_wakeup,), name='stop-signals', daemon=True).start()
    _previous = {s: signal.signal(s, _handle) for s in (signal.SIGINT, signal.SIGTERM)
                 if signal.getsignal(s) is not signal.SIG_IGN}   # e.g. a background job's SIGINT
    while recorded:
        _handle(recorded.pop(0), None)
    return True


def uninstall() -> None:
    """Restore the handlers that were there before ``install`` and forget every request."""
    global _previous, _wakeup
    if _previous is not None:
        for signum, handler in _previous.items():
            signal.signal(signum, handler)
        _previous = None
    if _wakeup is not None:
        _wakeup.put(None)   # ends the watcher
        _wakeup = None
    reset()


def reset() -> None:
    """Forget every signal and the listener."""
    global _listener, _heard
    with _deliver_lock:
        _signals.clear()
        _listener, _heard = None, 0


def listen(callback: Callable[[int, int], None] | None) -> None:
    """Call ``callback(signum, count)`` on every signal from now on (on a thread of its own),
    and once now if signals arrived before (with the latest one and their count)."""
    global _listener
    _listener = callback
    _deliver()


def quit_process(code: int) -> None:
    """End the process now with ``code``, once the app has closed its outputs.

    Skips the interpreter's teardown, during which Python restores the default handlers: a
    signal then would kill the process instead of being recorded, and its exit code would lie.
    """
    import logging
    import sys
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


@contextmanager
def installed() -> Iterator[None]:
    """The handler for the duration of the block; removed after it if this block installed it."""
    mine = install()
    try:
        yield
    finally:
        if mine:
            uninstall()
        else:
            listen(None)
