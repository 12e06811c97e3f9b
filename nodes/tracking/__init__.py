"""Identities and smoothing across frames."""
from . import tracker  # noqa: F401
