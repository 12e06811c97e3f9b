"""Model nodes, one folder per backend."""
from . import fixed_boxes, lift, mediapipe, openmmlab  # noqa: F401
