"""Find a model's config and weights URL from the installed mmpose and mmdet packages' own files.

``resolve_model`` accepts an mmpose alias (``hand``, ``body``, ``face``, ``wholebody``, ...), a
model name from a metafile, a config file name found inside the packages, or a config path. The
aliases, names and weight URLs come from each package's ``model-index.yml`` and metafiles, and the
default detector of each alias from mmpose's own table (``default_det_models``), so nothing here
can drift from the installed versions. Reading them needs only PyYAML, not torch.
"""
from __future__ import annotations

import difflib
import importlib.util
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

__all__ = ['ModelSpec', 'known_names', 'metafile_models', 'resolve_model']

log = logging.getLogger(__name__)

KINDS = ('det', 'pose')
_PACKAGE = {'pose': 'mmpose', 'det': 'mmdet'}
#: where config files of each kind live: (package, folder under its .mim)
_CONFIG_DIRS = {'pose': (('mmpose', 'configs'),),
                'det': (('mmdet', 'configs'), ('mmpose', 'demo/mmdetection_cfg'))}
_Loader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)


@dataclass(frozen=True)
class ModelSpec:
    """Where a model's config is, where its weights come from, and what it is.

    Attributes:
        config_path: absolute path of the config file.
        weights_url: the checkpoint's URL from the metafile, or None when none is known.
        kind: 'det' (an mmdet detector) or 'pose' (an mmpose pose estimator).
        name: the model name the metafile gives, or the config's stem.
        cat_ids: class ids a detector keeps by default (mmpose's table), None for all.
    """

    config_path: str
    weights_url: str | None
    kind: str
    name: str = ''
    cat_ids: tuple[int, ...] | None = None


def _mim_dir(package: str) -> Path | None:
    """The folder holding a package's model-index.yml and configs, without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0])
    for candidate in (root / '.mim', root.parent):   # a wheel, or an editable source checkout
        if (candidate / 'model-index.yml').is_file():
            return candidate
    return None


@lru_cache(maxsize=None)
def metafile_models(package: str) -> tuple[dict[str, Any], ...]:
    """Every model entry of a package's metafiles, in model-index order, with absolute configs."""
    mim = _mim_dir(package)
    if mim is None:
        return ()
    index = yaml.load((mim / 'model-index.yml').read_text(), _Loader) or {}
    entries = []
    for rel in index.get('Import') or []:
        path = mim / rel
        try:
            data = yaml.load(path.read_text(), _Loader) or {}
        except (OSError, yaml.YAMLError) as exc:
            log.debug('skipping metafile %s: %s', path, exc)
            continue
        models = data.get('Models') if isinstance(data, dict) else None
        for model in models if isinstance(models, list) else ():
            if isinstance(model, dict) and model.get('Name') and model.get('Config'):
                entries.append({**model, 'Config': str((mim / model['Config']).resolve())})
    return tuple(entries)


def _aliases(entry: dict[str, Any]) -> list[str]:
    alias = entry.get('Alias') or []
    return [str(a).lower() for a in ([alias] if isinstance(alias, str) else alias)]


def _weights(entry: dict[str, Any]) -> str | None:
    weights = entry.get('Weights')
    return (weights[0] if weights else None) if isinstance(weights, list) else weights


def _spec(entry: dict[str, Any], kind: str) -> ModelSpec:
    return ModelSpec(entry['Config'], _weights(entry), kind, str(entry['Name']))


@lru_cache(maxsize=None)
def _detector_table() -> dict[str, dict[str, Any]]:
    """mmpose's default detector per alias, loaded from its own file (needs only mmengine)."""
    spec = importlib.util.find_spec('mmpose')
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = (Path(list(spec.submodule_search_locations)[0]) / 'apis' / 'inferencers' / 'utils'
            / 'default_det_models.py')
    if not path.is_file():
        return {}
    module_spec = importlib.util.spec_from_file_location('_mmpose_default_det_models', path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return {str(k).lower(): dict(v) for k, v in module.default_det_models.items()}


def _from_detector_table(alias: str) -> ModelSpec | None:
    entry = _detector_table().get(alias)
    if entry is None:
        return None
    cat_ids = tuple(entry['cat_ids']) if entry.get('cat_ids') is not None else None
    model, weights = str(entry['model']), entry.get('weights')
    if Path(model).is_file():
        spec = ModelSpec(str(Path(model).resolve()), weights, 'det', Path(model).stem)
    else:                                            # an mmdet model name, e.g. 'rtmdet-m'
        spec = _from_metafiles(model.lower(), 'det')
        if spec is None:
            return None
        weights = weights or spec.weights_url
    weights = weights or _weights_for_config(spec.config_path, 'det')
    return ModelSpec(spec.config_path, weights, 'det', spec.name, cat_ids)


def _from_metafiles(name: str, kind: str) -> ModelSpec | None:
    for entry in metafile_models(_PACKAGE[kind]):
        if str(entry['Name']).lower() == name or name in _aliases(entry):
            return _spec(entry, kind)
    return None


def _weights_for_config(config_path: str, kind: str) -> str | None:
    target = str(Path(config_path).resolve())
    if kind == 'det':
        for entry in _detector_table().values():
            model = Path(str(entry['model']))
            if entry.get('weights') and model.is_file() and str(model.resolve()) == target:
                return entry['weights']
    for entry in metafile_models(_PACKAGE[kind]):
        if entry['Config'] == target:
            return _weights(entry)
    return None


@lru_cache(maxsize=None)
def _config_files(kind: str) -> tuple[Path, ...]:
    files: list[Path] = []
    for package, sub in _CONFIG_DIRS[kind]:
        mim = _mim_dir(package)
        if mim is not None:
            files.extend(sorted((mim / sub).rglob('*.py')))
    return tuple(files)


def _find_config(name: str, kind: str) -> Path | None:
    want = name if name.endswith('.py') else name + '.py'
    for path in _config_files(kind):
        if path.name == want or path.as_posix().endswith('/' + want.lstrip('/')):
            return path
    return None


def _guess_kind(path: Path) -> str:
    text = path.read_text(errors='replace')
    mmdet = 'mmdet::' in text or "default_scope = 'mmdet'" in text or 'bbox_head' in text
    return 'det' if mmdet or 'mmdetection_cfg' in path.parts else 'pose'


def _from_path(name: str, kind: str | None, base_dir: str | None) -> ModelSpec | None:
    candidates = [Path(name).expanduser()]
    if base_dir and not candidates[0].is_absolute():
        candidates.insert(0, Path(base_dir) / name)
    for path in candidates:
        if path.is_file():
            kind = kind or _guess_kind(path)
            config = str(path.resolve())
            return ModelSpec(config, _weights_for_config(config, kind), kind, path.stem)
    return None


def known_names(kind: str | None = None) -> list[str]:
    """Every alias, model name and config stem that ``resolve_model`` accepts for a kind."""
    kinds = KINDS if kind is None else (kind,)
    names: list[str] = []
    if 'det' in kinds:
        names.extend(_detector_table())
    for k in kinds:
        for entry in metafile_models(_PACKAGE[k]):
            names.extend(_aliases(entry) + [str(entry['Name'])])
        names.extend(p.stem for p in _config_files(k))
    return list(dict.fromkeys(names))


def resolve_model(name: str, kind: str | None = None, base_dir: str | None = None) -> ModelSpec:
    """Find a model by alias, model name, config name or config path.

    Args:
        name: e.g. ``'hand'``, ``'rtmpose-m_8xb256-210e_hand5-256x256'``,
            ``'rtmdet_nano_320-8xb32_hand.py'`` or ``'configs/my_model.py'``.
        kind: ``'det'`` looks aliases up in mmpose's default detector table, then mmdet's
            metafiles; ``'pose'`` looks them up in mmpose's metafiles; None tries pose, then det.
        base_dir: the folder relative config paths are taken from first (the graph's folder).

    Raises:
        ValueError: the name matches nothing; the message suggests close names.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be 'det' or 'pose', but got {kind!r}")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f'model must be a non-empty string, but got {name!r}')
    name = name.strip()
    spec = _from_path(name, kind, base_dir)
    if spec is not None:
        return spec
    key = name.lower()
    kinds = KINDS[::-1] if kind is None else (kind,)     # pose first when unspecified
    for k in kinds:
        spec = (_from_detector_table(key) if k == 'det' else None) or _from_metafiles(key, k)
        if spec is not None:
            return spec
    for k in kinds:
        path = _find_config(name, k)
        if path is not None:
            config = str(path.resolve())
            return ModelSpec(config, _weights_for_config(config, k), k, path.stem)
    if not any(metafile_models(_PACKAGE[k]) for k in kinds):
        raise ValueError(f'model {name!r} is not a config file, and '
                         f'{" / ".join(_PACKAGE[k] for k in kinds)} is not installed to look it up')
    close = difflib.get_close_matches(key, known_names(kind), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ''
    what = {'det': 'detector', 'pose': 'pose model', None: 'model'}[kind]
    raise ValueError(f'unknown {what} {name!r}: not an alias, model name, config name or file'
                     + (hint or '; use an alias such as hand, body, face or wholebody'))
