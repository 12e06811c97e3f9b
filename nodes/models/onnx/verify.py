"""An export opened before the run starts: the ``.onnx`` is a whole ONNX model (the hash its
sidecar recorded, else its protobuf structure), and the sidecar is JSON that holds what the
codecs read. Each problem is a ValueError naming the file and the command that remakes it."""
from __future__ import annotations

import json
import mmap
from pathlib import Path
from typing import Any

from .sidecar import FORMAT, sha256_of, sidecar_path

__all__ = ['REQUIRED', 'check_model_file', 'check_sidecar', 'open_export', 'remake_hint']

#: what the codecs read from a sidecar, by kind: top-level keys, then the keys of ``input``
REQUIRED = {'pose': (('input', 'codec', 'dataset_meta'), ('size', 'mean', 'std', 'channel_order')),
            'det': (('input', 'postprocess', 'arch', 'levels', 'classes'),
                    ('size', 'mean', 'std', 'channel_order'))}
_ONNX_GRAPH, _ONNX_IR_VERSION = 7, 1    # ModelProto's field numbers


def remake_hint(path: str | Path) -> str:
    """The fix: the command that writes this export again."""
    return (f'export it again: webcam-app export GRAPH.yaml --models-dir {Path(path).parent} '
            '(on a machine with torch and mmdet/mmpose)')


def _bad(path: str | Path, what: str) -> ValueError:
    return ValueError(f'{path}: {what}; fix: {remake_hint(path)}')


def _varint(data: Any, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end:
            raise ValueError('it ends inside a field')
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError('a number in it runs on')


def _fields(data: Any, pos: int, end: int) -> dict[int, tuple[int, int]]:
    """The protobuf fields between ``pos`` and ``end``: number -> (start, end) of the last one's
    bytes; ValueError if they do not tile the span exactly (a cut or garbled file)."""
    found: dict[int, tuple[int, int]] = {}
    while pos < end:
        key, pos = _varint(data, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0 or wire not in (0, 1, 2, 5):
            raise ValueError(f'field {number} has wire type {wire}, which ONNX never writes')
        start = pos
        if wire == 0:
            _, pos = _varint(data, pos, end)
        elif wire == 2:
            length, start = _varint(data, pos, end)
            pos = start + length
        else:
            pos += 8 if wire == 1 else 4
        if pos > end:
            raise ValueError(f'field {number} runs {pos - end} bytes past the end')
        found[number] = (start, pos)
    return found


def _onnx_structure(path: Path) -> None:
    """The file parses as an ONNX ModelProto down to its graph's fields (cheap: no tensor is
    read); ValueError says how it is broken."""
    with open(path, 'rb') as f:
        if not path.stat().st_size:
            raise ValueError('the file is empty')
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            top = _fields(data, 0, len(data))
            if _ONNX_GRAPH not in top or _ONNX_IR_VERSION not in top:
                raise ValueError('it holds no ONNX graph')
            _fields(data, *top[_ONNX_GRAPH])


def check_model_file(path: str | Path, sidecar: dict[str, Any]) -> None:
    """The ``.onnx`` is the file the export wrote (the sha256 its sidecar recorded), or, for an
    export that recorded none, a whole ONNX model."""
    path = Path(path)
    recorded = sidecar.get('model_file') or {}
    if isinstance(recorded, dict) and recorded.get('name') == path.name and recorded.get('sha256'):
        if sha256_of(path) != recorded['sha256']:
            raise _bad(path, 'the file changed since it was exported (its sha256 differs from '
                       f"the one {sidecar_path(path).name} recorded): it is cut short or "
                       'corrupt')
        return
    try:
        _onnx_structure(path)
    except (OSError, ValueError) as exc:
        raise _bad(path, f'not a readable ONNX model ({exc}): it is cut short or corrupt') \
            from exc


def check_sidecar(path: str | Path, kind: str) -> dict[str, Any]:
    """The sidecar of the export at ``path``: JSON, this format and ``kind``, with every key the
    codecs read. Returns it."""
    side = sidecar_path(path)
    if not side.is_file():
        raise _bad(path, f'it has no sidecar {side.name} beside it (the export writes both)')
    try:
        data = json.loads(side.read_text(encoding='utf-8'))
    except (OSError, ValueError) as exc:
        raise _bad(side, f'not a readable sidecar JSON ({exc})') from exc
    if not isinstance(data, dict) or data.get('format') != FORMAT:
        got = data.get('format') if isinstance(data, dict) else type(data).__name__
        raise _bad(side, f'format must be {FORMAT!r}, but got {got!r}')
    if data.get('kind') != kind:
        what = {'det': 'a detector', 'pose': 'a pose model'}
        raise _bad(side, f"it describes {what.get(data.get('kind'), repr(data.get('kind')))}, "
                   f'but this node runs {what[kind]}')
    top, inputs = REQUIRED[kind]
    missing = [k for k in top if k not in data]
    if isinstance(data.get('input'), dict):
        missing += [f'input.{k}' for k in inputs if k not in data['input']]
    elif 'input' in data:
        missing.append('input (a mapping)')
    if missing:
        raise _bad(side, f'it lacks {", ".join(missing)}')
    return data


def open_export(path: str | Path, kind: str) -> dict[str, Any]:
    """Everything checked before the run: the sidecar (as the codecs will read it) and the
    model file. Returns the sidecar."""
    from .det_codec import DetCodec
    from .pose_codec import PoseCodec
    from .sidecar import dataset_meta_from_json
    data = check_sidecar(path, kind)
    try:
        if kind == 'pose':
            PoseCodec(data)
            dataset_meta_from_json(data['dataset_meta'])
        else:
            DetCodec(data)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        what = f'lacks {exc}' if isinstance(exc, KeyError) else f'holds a bad value ({exc})'
        raise _bad(sidecar_path(path), f'it {what}') from exc
    check_model_file(path, data)
    return data
