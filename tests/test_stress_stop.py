"""A short run of bench/stress_stop.py: randomized stops of the app, every output validated.

A hang (no exit 30 s after the request) fails it; how fast the exits are is the benchmark's
figure, not asserted here.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.stress
@pytest.mark.timeout(600)
def test_forty_randomized_stops_leave_valid_outputs_and_right_exit_codes():
    proc = subprocess.run([sys.executable, str(ROOT / 'bench' / 'stress_stop.py'), '--runs', '40',
                           '--graphs', 'chain,fanout', '--max-at', '1.5', '--seed', '11',
                           '--max-exit-s', '0'],     # how fast is for the benchmark, not a test
                          capture_output=True, text=True, timeout=580)
    summary = proc.stdout.strip().splitlines()
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert any(line.startswith('40 runs') and '0 hangs, 0 wrong exit codes, 0 tracebacks, '
               '0 invalid outputs' in line for line in summary), proc.stdout[-3000:]
