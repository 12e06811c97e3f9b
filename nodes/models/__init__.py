"""Model nodes, one folder per backend."""
from . import fixed_boxes, mediapipe, openmmlab  # noqa: F401
