from . import display, overlays, predictions, recorder, sources  # noqa: F401
from . import mediapipe_nodes  # noqa: F401
from . import effects, tracking, visualizer  # noqa: F401
from . import banner  # noqa: F401
from . import detector, pose  # noqa: F401
