"""Find a model node's exported ``.onnx``, exporting it once when the OpenMMLab stack is here.

With torch and mmpose/mmdet installed, the node's checkpoint is resolved as for PyTorch and its
export is ``<checkpoint-stem>.onnx`` beside it (or in ``--models-dir``); a missing file, or one
exported from another checkpoint (its sidecar's sha256 differs), or broken, is exported again,
once. Without the stack, the models folders are searched for the export of the node's ``model``
made from the checkpoint its ``weights:`` names (by file name, and by sha256 where that file is
on disk); a stale export, or two that fit, are errors. Every export is opened (sidecar and model
file checked) before the run starts.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import os
import urllib.parse
from pathlib import Path
from typing import Iterator, Sequence

from ..openmmlab.weights import (MODELS_DIR_ENV, cache_dir, candidate_paths, resolve_weights,
                                 weights_disabled)
from .sidecar import FORMAT, sha256_of, sidecar_path
from .verify import open_export, remake_hint

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


def _stale_because(path: Path, kind: str, checkpoint: str | None) -> str:
    """Why the export at ``path`` cannot be reused for ``checkpoint`` (None: random weights);
    '' if it can: it is whole, and made from that very file."""
    if not path.is_file():
        return 'there is none yet'
    try:
        data = open_export(path, kind)
    except ValueError as exc:
        return str(exc).partition('; fix: ')[0]
    if checkpoint is None:
        return '' if data.get('random_weights') else 'it was made from a checkpoint'
    if data.get('checkpoint_sha256') != sha256_of(checkpoint):
        return (f'it was made from another {data.get("checkpoint") or "checkpoint"} (sha256 '
                f'{str(data.get("checkpoint_sha256"))[:12]}..., the file now is '
                f'{sha256_of(checkpoint)[:12]}...)')
    return ''


def _named_checkpoint(weights: str | None, models_dir: str | None,
                      graph_dir: str | None) -> tuple[str | None, Path | None]:
    """The checkpoint a node's ``weights:`` names, found without the model zoo: its file name
    (None when it names none), and its path when it is on disk."""
    if not weights or weights_disabled(weights):
        return None, None
    parsed = urllib.parse.urlparse(str(weights))
    if parsed.scheme in ('http', 'https', 'ftp'):
        name = Path(parsed.path).name
        tried = candidate_paths(name, models_dir, graph_dir)
    else:
        path = Path(str(weights)).expanduser()
        name, tried = path.name, [path] if path.is_absolute() else [Path(graph_dir or '.') / path,
                                                                    path]
    return name, next((p.resolve() for p in tried if p.is_file()), None)


def _sidecars(models_dir: str | None, graph_dir: str | None) -> Iterator[tuple[Path, dict]]:
    """Every export's (.onnx path, sidecar) in the models folders and the cache."""
    folders = dict.fromkeys(p.parent.resolve() for p in candidate_paths('x', models_dir,
                                                                        graph_dir))
    for folder in folders:
        for side in sorted(folder.glob('*.json')) if folder.is_dir() else ():
            try:
                data = json.loads(side.read_text(encoding='utf-8'))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get('format') == FORMAT:
                yield side.with_suffix('.onnx'), data


def _search(model: str, kind: str, weights: str | None, models_dir: str | None,
            graph_dir: str | None) -> Path | None:
    """The one export made for ``model`` from the checkpoint ``weights`` names (by file name,
    and by sha256 when that file is on disk; random weights for ``weights: none``), in the
    models folders and the cache. None if there is none; ValueError for a stale one, or two."""
    random = weights_disabled(weights)
    name, on_disk = _named_checkpoint(weights, models_dir, graph_dir)
    matches: list[Path] = []
    stale: list[tuple[Path, Path]] = []
    for path, data in _sidecars(models_dir, graph_dir):
        if (data.get('kind') != kind or model not in (data.get('names') or ())
                or bool(data.get('random_weights')) != random or not path.is_file()
                or (name is not None and data.get('checkpoint') != name)):
            continue
        checkpoint = on_disk or next((p for p in candidate_paths(
            str(data.get('checkpoint')), models_dir, graph_dir) if p.is_file()), None)
        if checkpoint is not None and not random and sha256_of(checkpoint) != data.get(
                'checkpoint_sha256'):
            stale.append((path, checkpoint))
            continue
        matches.append(path)
    if len(matches) > 1:
        raise ValueError(f'{len(matches)} exports fit model {model!r}'
                         + (f' with checkpoint {name}' if name else '') + ': '
                         + ', '.join(map(str, matches)) + '; fix: remove all but one, or name '
                         'the one to run: weights: PATH.onnx')
    if not matches and stale:
        path, checkpoint = stale[0]
        raise ValueError(f'{path} is stale: it was made from another {checkpoint.name} than '
                         f'{checkpoint} (the sha256 its sidecar records differs from the '
                         f"file's); fix: {remake_hint(path)}")
    return matches[0] if matches else None


def find_local_export(kind: str, model: str, weights: str | None, models_dir: str | None,
                      graph_dir: str | None) -> Path | None:
    """For a client of a model server: the export of the node's model on disk, exporting
    nothing; None if there is none. ``weights: x.onnx`` names it; else the models folders are
    searched for a sidecar that names ``model`` (and the checkpoint ``weights`` names). Its sidecar
    is enough: the .onnx itself may be absent. Returns the .onnx path (its stem names the model
    on the server)."""
    if weights and str(weights).endswith('.onnx'):
        path = Path(weights).expanduser()
        path = path if path.is_absolute() else Path(graph_dir or '.') / path
        if not sidecar_path(path).is_file():
            raise ValueError(f'{sidecar_path(path)} not found: the sidecar of weights: {weights}')
        return path.resolve()
    random = weights_disabled(weights)
    name = _named_checkpoint(weights, models_dir, graph_dir)[0]
    for path, data in _sidecars(models_dir, graph_dir):
        if (data.get('kind') == kind and model in (data.get('names') or ())
                and bool(data.get('random_weights')) == random
                and (name is None or data.get('checkpoint') == name)):
            return path
    return None


def locate_exported(node_name: str, kind: str, model: str, weights: str | None,
                    models_dir: str | None, graph_dir: str | None,
                    classes: Sequence[str] | None = None, trust: bool = False) -> Path:
    """The node's ``.onnx`` file, exporting it first if needed and possible.

    Raises:
        ValueError: no exported file and no OpenMMLab stack to make one; says what to run.
        WeightsUnavailable: the checkpoint to export from cannot be had.
    """
    if weights and str(weights).endswith('.onnx'):
        path = Path(weights).expanduser()
        path = path if path.is_absolute() else Path(graph_dir or '.') / path
        if not path.is_file():
            raise ValueError(f'exported model not found: {path}')
        open_export(path, kind)
        return path.resolve()
    if not stack_available(kind):
        found = _search(model, kind, weights, models_dir, graph_dir)
        if found is None:
            where = ', '.join(str(p.parent) for p in candidate_paths('x', models_dir, graph_dir))
            wanted = _named_checkpoint(weights, models_dir, graph_dir)[0]
            raise ValueError(
                f'no exported model for {model!r}'
                + (f' made from {wanted}' if wanted else '') + f' in {where}, and without '
                f'torch and {_PACKAGE[kind]} it cannot be exported here; on a machine with them '
                'run `webcam-app export GRAPH.yaml --models-dir DIR` and run this with '
                '--models-dir DIR')
        open_export(found, kind)
        log.debug('node %s: exported model %s', node_name, found)
        return found
    from ..openmmlab.model_zoo import resolve_model
    spec = resolve_model(model, kind, base_dir=graph_dir)
    checkpoint = resolve_weights(node_name, spec.weights_url, weights, models_dir, graph_dir)
    target = export_target(spec.config_path, checkpoint, models_dir)
    why = _stale_because(target, kind, checkpoint)
    if not why:
        return target
    log.warning('node %s: exporting %s to ONNX (%s), since %s; later runs reuse it', node_name,
                spec.name, target, why)
    from .export import export_model
    return export_model(spec, checkpoint, target, classes, names=[model], trust=trust)
