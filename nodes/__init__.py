"""Built-in nodes. Registered through the `webcam_app.nodes` entry point, like any plugin.

The tree shows where a node belongs:

- ``io/``: sources and sinks (camera and video input, display, recorder, predictions);
- ``models/``: one folder per backend (``openmmlab/``, ``mediapipe/``);
- ``draw/``: the pose visualizer, effects and overlays;
- ``tracking/``: identities and smoothing across frames;
- ``inferencer/``: MMPoseInferencer's graphs, built from its arguments (the graph recipe
  ``'inferencer'``, which ``webcam-app infer`` asks for).

Model libraries (mmdet, mmpose, mediapipe) are imported inside the nodes' setup, not here.
"""
from . import draw, inferencer, io, models, tracking  # noqa: F401
