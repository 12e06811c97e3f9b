"""MediaPipe's bundled models, mapped to mmpose's keypoint layouts. Runs offline."""
from . import face, holistic, multipose, segmentation, solutions  # noqa: F401
