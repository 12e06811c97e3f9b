"""How a source reads its ``input``: a camera index, a stream URL, a video file, or still images."""
from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ['IMAGE_EXTENSIONS', 'input_kind', 'parse_input']

IMAGE_EXTENSIONS = ('.bmp', '.jpeg', '.jpg', '.png', '.tif', '.tiff', '.webp')
_URL = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*://')
_WEBCAM = re.compile(r'^(?:webcam|camera|cam)(?::(\d+))?$', re.IGNORECASE)


def parse_input(value: str | int) -> tuple[str, str | int]:
    """Classify an ``input`` value as ('camera', index), ('url', url) or ('path', path)."""
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f'input camera index must be >= 0, but got {value}')
        return 'camera', value
    text = value.strip()
    if not text:
        raise ValueError('input must not be empty; use 0 for the first camera, or a file path')
    if text.isdigit():
        return 'camera', int(text)
    match = _WEBCAM.match(text)
    if match:
        return 'camera', int(match.group(1) or 0)
    if _URL.match(text):
        return 'url', text
    return 'path', text


def input_kind(value: str) -> str | None:
    """'camera', 'url', 'video', 'image' (one still) or 'folder' (of stills: a path that ends
    in a separator or is a folder); None for a value ``parse_input`` refuses."""
    try:
        kind, _ = parse_input(value)
    except ValueError:
        return None
    if kind != 'path':
        return kind
    if value.endswith(('/', os.sep)) or Path(value).expanduser().is_dir():
        return 'folder'
    return 'image' if Path(value).suffix.lower() in IMAGE_EXTENSIONS else 'video'
