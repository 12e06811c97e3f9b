"""The JSON beside an exported model: everything needed to run it without mmpose or mmdet.

A pose sidecar holds the input size, mean, std and channel order, the box padding, the codec and
its parameters, flip test settings and flip indices, and the dataset meta (keypoint names,
skeleton, colors). A detector sidecar holds the letterbox and normalization, the prior levels,
the class names (always a list), and the score and NMS thresholds. Both record the sha256 of the
source checkpoint and the names the model was asked for, so a graph finds its file again.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np

__all__ = ['FORMAT', 'dataset_meta_from_json', 'export_is_current', 'read_sidecar', 'sha256_of',
           'sidecar_path', 'to_json', 'write_sidecar']

FORMAT = 'webcam-app-onnx/1'
_KINDS = ('pose', 'det')
#: dataset meta keys that mmpose keeps as numpy arrays
_ARRAY_KEYS = ('keypoint_colors', 'skeleton_link_colors', 'sigmas', 'dataset_keypoint_weights')
#: (real path, inode, size, mtime in ns) -> sha256: a start checks a file in several places
_digests: dict[tuple[str, int, int, int], str] = {}
#: a file changed less than this long ago is hashed every time: a second write within the
#: filesystem's timestamp tick would leave its size and mtime as they were (git's "racy clean")
_SETTLED_NS = 2_000_000_000


def sidecar_path(model_path: str | Path) -> Path:
    """``x.onnx`` (or ``x.mnn``) -> ``x.json``."""
    return Path(model_path).with_suffix('.json')


def sha256_of(path: str | Path) -> str:
    """The file's sha256; read once per process while the file stays the same (its inode, size
    and modification time), unless it changed in the last 2 s."""
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key in _digests:
        return _digests[key]
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    if time.time_ns() - stat.st_mtime_ns > _SETTLED_NS:
        _digests[key] = digest.hexdigest()
    return digest.hexdigest()


def export_is_current(path: str | Path, kind: str, checkpoint: str | None) -> bool:
    """Whether ``path`` and its sidecar are an export of this ``kind`` made from ``checkpoint``
    (by sha256; None: random weights)."""
    try:
        data = json.loads(sidecar_path(path).read_text(encoding='utf-8'))
    except (OSError, ValueError):
        return False
    if not Path(path).is_file() or data.get('format') != FORMAT or data.get('kind') != kind:
        return False
    return bool(data.get('random_weights')) if checkpoint is None else \
        data.get('checkpoint_sha256') == sha256_of(checkpoint)


def to_json(value: Any) -> Any:
    """numpy arrays and scalars, tuples and non-str keys made JSON-friendly."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def dataset_meta_from_json(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The dataset meta as mmpose gives it: int keys of ``keypoint_id2name``, numpy colors."""
    out = dict(meta)
    if 'keypoint_id2name' in out:
        out['keypoint_id2name'] = {int(k): v for k, v in out['keypoint_id2name'].items()}
    if 'skeleton_links' in out:
        out['skeleton_links'] = [tuple(link) for link in out['skeleton_links']]
    for key in _ARRAY_KEYS:
        if key in out and out[key] is not None:
            kind = np.uint8 if key.endswith('colors') else np.float32
            out[key] = np.asarray(out[key], kind)
    return out


def write_sidecar(model_path: str | Path, data: Mapping[str, Any]) -> Path:
    path = sidecar_path(model_path)
    payload = {'format': FORMAT, **to_json(data)}
    path.write_text(json.dumps(payload, indent=1), encoding='utf-8')
    return path


def read_sidecar(model_path: str | Path) -> dict[str, Any]:
    """The sidecar of an exported model; ValueError naming the file when it is missing or bad."""
    path = sidecar_path(model_path)
    if not path.is_file():
        raise ValueError(f'{model_path} has no sidecar {path.name} beside it: export the model '
                         'with `webcam-app export GRAPH.yaml`, which writes both files')
    try:
        data = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, ValueError) as exc:
        raise ValueError(f'{path}: not a readable sidecar JSON: {exc}') from exc
    if data.get('format') != FORMAT or data.get('kind') not in _KINDS:
        raise ValueError(f"{path}: format must be {FORMAT!r} with kind 'pose' or 'det', but got "
                         f"{data.get('format')!r} / {data.get('kind')!r}; export it again")
    return data
