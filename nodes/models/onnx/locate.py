"""Find a model node's exported ``.onnx``, exporting it once when the OpenMMLab stack is here.

With torch and mmpose/mmdet installed, the node's checkpoint is resolved as for PyTorch and its
export is ``<checkpoint-stem>.onnx`` beside it (or in ``--models-dir``); a missing file, or one
exported from another checkpoint (its sidecar's sha256 differs), is exported again, once. Without
the stack, the models folders are searched for a sidecar that names the node's ``model``.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import os
from pathlib import Path
from typing import Sequence

from ..openmmlab.weights import (MODELS_DIR_ENV, cache_dir, candidate_paths, resolve_weights,
                                 weights_disabled)
from .sidecar import FORMAT, sha256_of, sidecar_path

__all__ = ['export_target', 'find_local_export', 'locate_exported', 'stack_available']

log = logging.getLogger(__name__)

_PACKAGE = {'pose': 'mmpose', 'det': 'mmdet'}


def stack_available(kind: str) -> bool:
    """True when torch and the model's OpenMMLab package can be imported (without importing)."""
    return all(importlib.util.find_spec(name) is not None
               for name in ('torch', 'mmcv', _PACKAGE[kind]))


def export_target(config_path: str, checkpoint: str | None, models_dir: str | None) -> Path:
    """Where a model's export goes: ``<checkpoint-stem>.onnx`` in ``models_dir``, else beside
    the checkpoint; random weights: ``<config-stem>.random.onnx`` (models_dir, else the cache)."""
    models_dir = models_dir or os.environ.get(MODELS_DIR_ENV)
    if checkpoint is None:
        folder = Path(models_dir).expanduser() if models_dir else cache_dir()
        return folder / f'{Path(config_path).stem}.random.onnx'
    folder = Path(models_dir).expanduser() if models_dir else Path(checkpoint).parent
    return folder / f'{Path(checkpoint).stem}.onnx'


def _up_to_date(path: Path, checkpoint: str | None) -> bool:
    if not path.is_file() or not sidecar_path(path).is_file():
        return False
    try:
        data = json.loads(sidecar_path(path).read_text(encoding='utf-8'))
    except (OSError, ValueError):
        return False
    if data.get('format') != FORMAT:
        return False
    if checkpoint is None:
        return bool(data.get('random_weights'))
    return data.get('checkpoint_sha256') == sha256_of(checkpoint)


def _search(model: str, kind: str, random: bool, models_dir: str | None,
            graph_dir: str | None) -> Path | None:
    """An exported model whose sidecar names ``model``, in the models folders and the cache."""
    for folder in dict.fromkeys(p.parent for p in candidate_paths('x', models_dir, graph_dir)):
        for side in sorted(folder.glob('*.json')) if folder.is_dir() else ():
            try:
                data = json.loads(side.read_text(encoding='utf-8'))
            except (OSError, ValueError):
                continue
            if (isinstance(data, dict) and data.get('format') == FORMAT
                    and data.get('kind') == kind and model in (data.get('names') or ())
                    and bool(data.get('random_weights')) == random
                    and side.with_suffix('.onnx').is_file()):
                return side.with_suffix('.onnx')
    return None


def _explicit(weights: str | None, graph_dir: str | None) -> Path | None:
    """``weights: x.onnx``: that file (ValueError when it is not there)."""
    if not (weights and str(weights).endswith('.onnx')):
        return None
    path = Path(weights).expanduser()
    path = path if path.is_absolute() else Path(graph_dir or '.') / path
    if not path.is_file():
        raise ValueError(f'exported model not found: {path}')
    return path.resolve()


def find_local_export(kind: str, model: str, weights: str | None, models_dir: str | None,
                      graph_dir: str | None) -> Path | None:
    """An export of the node's model already on disk (``weights: x.onnx``, or one in the models
    folders whose sidecar names ``model``), exporting nothing; None if there is none."""
    return _explicit(weights, graph_dir) or _search(model, kind, weights_disabled(weights),
                                                    models_dir, graph_dir)


def locate_exported(node_name: str, kind: str, model: str, weights: str | None,
                    models_dir: str | None, graph_dir: str | None,
                    classes: Sequence[str] | None = None, trust: bool = False) -> Path:
    """The node's ``.onnx`` file, exporting it first if needed and possible.

    Raises:
        ValueError: no exported file and no OpenMMLab stack to make one; says what to run.
        WeightsUnavailable: the checkpoint to export from cannot be had.
    """
    explicit = _explicit(weights, graph_dir)
    if explicit is not None:
        return explicit
    random = weights_disabled(weights)
    if not stack_available(kind):
        found = _search(model, kind, random, models_dir, graph_dir)
        if found is None:
            where = ', '.join(str(p.parent) for p in candidate_paths('x', models_dir, graph_dir))
            raise ValueError(
                f'no exported model for {model!r} in {where}, and without torch and '
                f'{_PACKAGE[kind]} it cannot be exported here; on a machine with them run '
                '`webcam-app export GRAPH.yaml --models-dir DIR` and run this with '
                '--models-dir DIR')
        log.debug('node %s: exported model %s', node_name, found)
        return found
    from ..openmmlab.model_zoo import resolve_model
    spec = resolve_model(model, kind, base_dir=graph_dir)
    checkpoint = resolve_weights(node_name, spec.weights_url, weights, models_dir, graph_dir)
    target = export_target(spec.config_path, checkpoint, models_dir)
    if _up_to_date(target, checkpoint):
        return target
    log.warning('node %s: exporting %s to ONNX once (%s); later runs reuse it', node_name,
                spec.name, target)
    from .export import export_model
    return export_model(spec, checkpoint, target, classes, names=[model], trust=trust)
