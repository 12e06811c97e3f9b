"""mmdet detectors and mmpose top-down pose estimators (PyTorch)."""
from . import detector, pose  # noqa: F401
