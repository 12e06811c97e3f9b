"""Sources and sinks: where frames come from and where results go."""
from . import display, images, predictions, recorder, sources  # noqa: F401
