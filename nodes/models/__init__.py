"""Model nodes, one folder per backend."""
from . import mediapipe, openmmlab  # noqa: F401
