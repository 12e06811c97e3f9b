"""Sources and sinks: where frames come from and where results go."""
from . import display, images, in_process, predictions, recorder, sources, web  # noqa: F401
