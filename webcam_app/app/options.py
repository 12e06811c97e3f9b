"""Command-line values checked where they enter: a bad one is named by its option, never by a
line of the graph's YAML that it would otherwise have been applied to."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ConfigIssue

__all__ = ['check_options']

_INPUT_FORMS = ('a camera index (0, webcam:1), a video file, an image, a folder of images, or '
                'an rtsp/http URL')


def _max_frames(value: int | None) -> list[ConfigIssue]:
    if value is None or value >= 1:
        return []
    return [ConfigIssue(f'--max-frames {value}', f'--max-frames must be >= 1, but got {value}',
                        'give how many source frames to run, e.g. --max-frames 100, or leave it '
                        'out to run to the end')]


def _input(value: str | None, kind: str | None) -> list[ConfigIssue]:
    """``kind``: how the source reads the value ('camera', 'url', 'video', 'image', 'folder');
    None: it refused the value."""
    if value is None:
        return []
    if kind is None or not value.strip():
        return [ConfigIssue(f'--input {value!r}', f'--input must be {_INPUT_FORMS}, but got '
                            f'{value!r}', 'for example: --input 0, or --input clip.mp4')]
    if kind in ('video', 'image', 'folder') and not Path(value).expanduser().exists():
        return [ConfigIssue(f'--input {value}', f'--input names no file or folder: '
                            f'{Path(value).expanduser().resolve()} does not exist',
                            f'check the path; --input takes {_INPUT_FORMS}')]
    return []


def _serve_token(value: str | None) -> list[ConfigIssue]:
    if value is None or value.strip():
        return []
    return [ConfigIssue("--serve-token ''", '--serve-token must not be empty, but got '
                        f'{value!r}', 'give a secret, e.g. --serve-token "$(openssl rand '
                        '-hex 16)", or leave the option out')]


def check_options(args: argparse.Namespace, input_kind: str | None) -> list[ConfigIssue]:
    """Every problem with the values of the options the command line checks itself, before any
    graph is loaded. ``input_kind``: how the source reads ``--input`` (None: it refused it).
    (``--serve``, ``--mode``, ``--backend`` and ``--log-level`` are checked by argparse, and
    ``--out``/``--pred-out`` by the sink that takes them; each error names its option.)"""
    return (_max_frames(args.max_frames) + _input(args.input, input_kind)
            + _serve_token(args.serve_token))
