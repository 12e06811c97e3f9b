"""Drawing: the pose visualizer, effects and overlays."""
from . import banner, effects, effects_face, effects_hand, overlays, visualizer  # noqa: F401
