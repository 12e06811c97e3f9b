"""Sources and sinks: where frames come from and where results go."""
from . import display, predictions, recorder, sources  # noqa: F401
