"""Sources and sinks: where frames come from and where results go."""
from . import display, predictions, recorder, sources, web  # noqa: F401
