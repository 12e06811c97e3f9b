"""Shared fixtures: a registry snapshot that undoes plugin registrations; in CI, a test skipped
for a package that will not import fails instead (tools/install.sh installs every extra)."""
from __future__ import annotations

import os
import signal
import sys

import pytest

# a test's own `import openvino` (importorskip) must not start OpenVINO's telemetry either
sys.modules.setdefault('openvino_telemetry', None)

from webcam_app import registry


@pytest.fixture(scope='session', autouse=True)
def interruptible_children():
    """Apps the tests start must see SIGINT as a terminal delivers it: a suite started as a
    background job has SIGINT ignored, and a child would inherit that (and rightly keep it)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield


@pytest.fixture
def registry_snapshot():
    """Node types registered inside the test are forgotten after it (the installed ones, built-in
    nodes included, are loaded first, so that they stay)."""
    registry.load_entry_points()
    saved = registry.snapshot()
    yield registry
    registry.restore(saved)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """``WEBCAM_APP_REQUIRE_ALL=1`` (set by .ci/run): ``pytest.importorskip`` of a package that
    does not import is a failure, so a broken install cannot pass CI as skipped tests."""
    outcome = yield
    report = outcome.get_result()
    if (report.skipped and os.environ.get('WEBCAM_APP_REQUIRE_ALL') == '1'
            and 'could not import' in str(report.longrepr)):
        report.outcome = 'failed'
