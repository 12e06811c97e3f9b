"""How the command line reads paths: relative to the working directory; cameras, URLs as given."""
from __future__ import annotations

import os
from pathlib import Path

from nodes.io.sources import parse_input

__all__ = ['cli_input', 'cli_path', 'input_kind']


def cli_input(value: str) -> str:
    """``--input``: a camera or URL as given (the source's own rules decide), a path resolved."""
    try:
        kind, _ = parse_input(value)
    except ValueError:
        return value                     # the source reports it, at its line
    return value if kind != 'path' else cli_path(value)


def input_kind(value: str) -> str | None:
    """What the source makes of ``--input``: 'camera', 'url' or 'path'; None if it refuses it."""
    try:
        return parse_input(value)[0]
    except ValueError:
        return None


def cli_path(value: str) -> str:
    """A path given on the command line is relative to the working directory; a trailing /
    (a folder) is kept."""
    path = str(Path(value).expanduser().resolve())
    return path + os.sep if value.endswith(('/', os.sep)) else path
