"""Drawing: the pose visualizer, effects and overlays."""
from . import banner, effects, overlays, visualizer  # noqa: F401
