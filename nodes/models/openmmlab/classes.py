"""A detector's class names: from the node, the checkpoint or the config, checked against its head.

mmdet 3.x keeps them in ``meta['dataset_meta']['classes']``, mmdet 2.x in ``meta['CLASSES']``
(sometimes a bare str); a config may name them, else its dataset type's defaults apply.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from webcam_app import ExitCode, WebcamAppError

from ...common import normalize_classes

__all__ = ['ClassNamesMismatch', 'head_num_classes', 'resolve_classes']


class ClassNamesMismatch(WebcamAppError, ValueError):
    """A detector's class names do not fit the size of its classification head."""

    exit_code = ExitCode.CONFIG


def _classes_in(meta: Any) -> Any:
    """The value of a 'classes' key in any case (mmdet lower-cases, mmdet 2.x used CLASSES)."""
    if isinstance(meta, Mapping):
        for key, value in meta.items():
            if str(key).lower() == 'classes':
                return value
    return None


def _config_classes(cfg: Any) -> tuple[Any, str]:
    """Class names spelled out in a config: its metainfo, then its dataloaders' datasets."""
    if _classes_in(cfg.get('metainfo')) is not None:
        return _classes_in(cfg.get('metainfo')), 'the config metainfo'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = (cfg.get(loader) or {}).get('dataset') or {}
        while isinstance(dataset, Mapping):
            if _classes_in(dataset.get('metainfo')) is not None:
                return _classes_in(dataset.get('metainfo')), f'the config {loader} metainfo'
            dataset = dataset.get('dataset')
    return None, ''


def _dataset_classes(cfg: Any) -> tuple[Any, str]:
    """The default class names of the config's dataset type (e.g. CocoDataset's 80)."""
    try:
        dataset_type = cfg.test_dataloader.dataset.type
        if not isinstance(dataset_type, type):
            from mmdet.registry import DATASETS
            dataset_type = DATASETS.get(dataset_type)
        return _classes_in(dataset_type.METAINFO), f'the default classes of {dataset_type.__name__}'
    except (AttributeError, ImportError, KeyError, TypeError):
        return None, ''


def head_num_classes(model: Any) -> int | None:
    """The number of classes a detector's head predicts (one- or two-stage), if it says."""
    for path in (('bbox_head',), ('roi_head', 'bbox_head')):
        obj = model
        for attr in path:
            obj = getattr(obj, attr, None)
        if isinstance(obj, Iterable) and not isinstance(obj, Mapping):   # cascade heads
            obj = list(obj)[-1] if list(obj) else None
        num = getattr(obj, 'num_classes', None)
        if isinstance(num, int):
            return num
    return None


def resolve_classes(override: Any, checkpoint_meta: Mapping[str, Any], cfg: Any,
                    num_classes: int | None, checkpoint: str | None) -> tuple[str, ...]:
    """Pick the class names (override, mmdet 3.x meta, mmdet 2.x meta, config) and check them."""
    candidates = [
        (override, "the node's classes parameter"),
        (_classes_in(checkpoint_meta.get('dataset_meta')), "the checkpoint's meta.dataset_meta"),
        (checkpoint_meta.get('CLASSES'), "the checkpoint's meta.CLASSES"),
        _config_classes(cfg),
    ]
    value, source = next(((v, s) for v, s in candidates if v is not None), (None, ''))
    if value is None:
        value, source = _dataset_classes(cfg)
    classes = normalize_classes(value)
    where = f'checkpoint {checkpoint}' if checkpoint else 'random weights (no checkpoint)'
    if not classes:
        raise ClassNamesMismatch(f'{where}: no class names found for a head of {num_classes} '
                                 'classes; give them with classes: [name, ...]')
    if num_classes is not None and len(classes) != num_classes:
        raise ClassNamesMismatch(
            f'{where}: {source} names {len(classes)} classes {classes[:8]}'
            f'{"..." if len(classes) > 8 else ""}, but the detector head has {num_classes}; '
            'give the right names with classes: [name, ...]')
    return classes
