#!/usr/bin/env python
"""Run a pose-estimation graph: python run_webcam.py --config graphs/hand.yaml (see --help)."""
import sys

from webcam_app.app.cli import main

if __name__ == '__main__':
    sys.exit(main())
