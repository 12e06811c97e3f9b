"""Shared fixtures: a registry snapshot that undoes plugin registrations."""
from __future__ import annotations

import pytest

from webcam_app import registry


@pytest.fixture
def registry_snapshot():
    """Node types registered inside the test are forgotten after it."""
    saved = registry.snapshot()
    yield registry
    registry.restore(saved)
