"""Built-in nodes. Registered through the `webcam_app.nodes` entry point, like any plugin.

Model libraries (mmdet, mmpose, mediapipe) are imported inside the nodes' setup, not here.
"""
from . import (banner, detector, display, effects, mediapipe_nodes, overlays, pose,  # noqa: F401
               predictions, recorder, sources, tracking, visualizer)
