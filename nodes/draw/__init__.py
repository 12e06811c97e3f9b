"""Drawing: the pose visualizer, effects and overlays."""
from . import banner, effects, effects_face, effects_hand, overlays, view3d, visualizer  # noqa: F401
