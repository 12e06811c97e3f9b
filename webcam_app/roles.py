"""What an app does with a node type: the roles a node class may declare (``role = Role.X``)."""
from __future__ import annotations

from enum import Enum
from typing import Literal

__all__ = ['InputKind', 'Role']

#: How a source reads an input value (see ``Node.input_kind``): a camera index, a stream URL,
#: a video file, one still image, or a folder of still images.
InputKind = Literal['camera', 'url', 'video', 'image', 'folder']


class Role(str, Enum):
    """The part a node type plays for the app (the command line, the Python API), which finds
    node types by role, never by class name. A str, so ``role == 'display'`` holds too."""

    SOURCE = 'source'                      # what --input points at a camera, file or stream
    DISPLAY = 'display'                    # the window; --out and --pred-out copy what it shows
    WINDOW_OVERLAY = 'window_overlay'      # drawn for the window only (--out takes frames before)
    VIDEO_SINK = 'video_sink'              # what --out attaches or points at a path
    PREDICTIONS = 'predictions'            # what --pred-out attaches or points at a path
    WEB_VIEW = 'web_view'                  # what --serve attaches, or moves to its address
    PYTHON_FEED = 'python_feed'            # what webcam_app.open() puts in place of the source
    PYTHON_COLLECTOR = 'python_collector'  # what webcam_app.open() puts in place of the sinks

    def __str__(self) -> str:
        return self.value
