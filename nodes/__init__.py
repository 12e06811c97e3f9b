from . import display, overlays, predictions, recorder, sources  # noqa: F401
