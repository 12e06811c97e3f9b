#!/usr/bin/env python
"""Run a pose-estimation graph: python run_webcam.py --config graphs/hand.yaml (see --help)."""
import _signal   # built in, already loaded: recording stop signals from here on costs no import

_early: list = []   # signals that arrive before webcam_stop takes over
for _signum in (_signal.SIGINT, _signal.SIGTERM):
    if _signal.getsignal(_signum) is not _signal.SIG_IGN:   # ignored by the parent: stays so
        _signal.signal(_signum, lambda signum, _frame: _early.append(signum))

import sys  # noqa: E402

import webcam_stop  # noqa: E402  (imports nothing heavy)


def main() -> int:
    """The console script ``webcam-app``: the stop handler first, then the app's imports.

    A Ctrl-C while numpy, OpenCV or torch import is recorded, not lost (see webcam_stop). The
    process ends as soon as the app returns, with its exit code (it does not return).
    """
    webcam_stop.install(recorded=_early)
    from webcam_app.app.cli import main as cli_main
    webcam_stop.quit_process(cli_main())
    return 0   # not reached


if __name__ == '__main__':
    sys.exit(main())
