"""How the command line reads paths: relative to the working directory; cameras, URLs as given."""
from __future__ import annotations

import os
from pathlib import Path

from ..roles import Role
from .sinks import types_with_role

__all__ = ['cli_input', 'cli_path', 'input_kind']

_FILES = ('video', 'image', 'folder')


def input_kind(value: str) -> str | None:
    """How the graph's source (the node type of role ``source``) reads ``value``: 'camera',
    'url', 'video', 'image' or 'folder'; None if no node type plays that role, or the value is
    wrong (the source reports that, at its line)."""
    sources = types_with_role(Role.SOURCE)
    return sources[0].input_kind(value) if sources else None


def cli_input(value: str) -> str:
    """``--input``: a camera or URL as given (the source's own rules decide), a path resolved."""
    return cli_path(value) if input_kind(value) in _FILES else value


def cli_path(value: str) -> str:
    """A path given on the command line is relative to the working directory; a trailing /
    (a folder) is kept."""
    path = str(Path(value).expanduser().resolve())
    return path + os.sep if value.endswith(('/', os.sep)) else path
