#!/usr/bin/env python
"""Run a pose-estimation graph: python run_webcam.py --config graphs/hand.yaml (see --help)."""
import sys

import webcam_stop   # imports nothing heavy


def main() -> int:
    """The console script ``webcam-app``: the stop handler first, then the app's imports.

    A Ctrl-C while numpy, OpenCV or torch import is recorded, not lost (see webcam_stop).
    """
    webcam_stop.install()
    from webcam_app.app.cli import main as cli_main
    return cli_main()


if __name__ == '__main__':
    sys.exit(main())
