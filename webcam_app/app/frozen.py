"""The last resort against a frozen interpreter, for the command line.

When a thread is stuck inside a native library while it holds the GIL (a deadlock in a
library's bindings), no Python code runs again: not the nodes, not the signal handlers, so
Ctrl-C and SIGTERM do nothing. faulthandler's watchdog is a C thread that needs no GIL. The
command line arms it while the graph runs and re-arms it at every tick of its wait loop (every
0.25 s), so it fires only when no Python code has run on the main thread for
``WEBCAM_APP_FROZEN_S`` seconds (60 by default; 0 turns it off). It then writes every
thread's stack to stderr and ends the process with exit code 1.
"""
from __future__ import annotations

import contextlib
import faulthandler
import os
import sys
from typing import Callable, Iterator

__all__ = ['FROZEN_ENV', 'frozen_watch']

FROZEN_ENV = 'WEBCAM_APP_FROZEN_S'
DEFAULT_S = 60.0


def frozen_seconds() -> float:
    """The seconds set by ``WEBCAM_APP_FROZEN_S`` (the default if unset or not a number)."""
    try:
        return max(0.0, float(os.environ.get(FROZEN_ENV, DEFAULT_S)))
    except ValueError:
        return DEFAULT_S


@contextlib.contextmanager
def frozen_watch() -> Iterator[Callable[[], None]]:
    """Arm the watchdog for the body; yields ``beat``, to call at least every few seconds."""
    seconds = frozen_seconds()
    stderr = sys.__stderr__     # the process's own: sys.stderr may be a capture with no fd
    try:
        stderr.fileno()
    except (AttributeError, OSError, ValueError):
        seconds = 0.0
    if not seconds:
        yield lambda: None
        return

    def beat() -> None:
        faulthandler.dump_traceback_later(seconds, exit=True, file=stderr)
    beat()
    try:
        yield beat
    finally:
        faulthandler.cancel_dump_traceback_later()
