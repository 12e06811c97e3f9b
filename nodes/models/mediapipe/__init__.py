"""MediaPipe solutions, mapped to mmpose's keypoint layouts. Runs offline."""
from . import solutions  # noqa: F401
