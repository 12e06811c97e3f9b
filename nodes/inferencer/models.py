"""What MMPoseInferencer knows about its models, read from mmpose's own files: the alias table,
each pose model's object type (body, hand, face, ...), and the detector it gets by default.

mmpose picks the detector from the module its dataset class lives in
(``mmpose/datasets/datasets/<type>/...``) and its ``default_det_models`` table; so does this,
reading the files without importing mmpose.
"""
from __future__ import annotations

import importlib.util
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..models.openmmlab.model_zoo import ModelSpec, metafile_models, resolve_model

__all__ = ['DETECTORS', 'PoseModel', 'model_aliases', 'pose_model']

log = logging.getLogger(__name__)

#: object type -> (detector config, its class names as the shipped graphs give them, cat ids);
#: mmpose's default_det_models, spelled by config name so a saved graph stays portable
DETECTORS: dict[str, tuple[str, list[str] | None, list[int] | None]] = {
    'human': ('rtmdet_m_640-8xb32_coco-person', ['person'], None),
    'body': ('rtmdet_m_640-8xb32_coco-person', ['person'], None),
    'wholebody': ('rtmdet_m_640-8xb32_coco-person', ['person'], None),
    'hand': ('rtmdet_nano_320-8xb32_hand', ['hand'], None),
    'face': ('yolox-s_8xb8-300e_coco-face', ['face'], None),
    'animal': ('rtmdet-m', None, [15, 16, 17, 18, 19, 20, 21, 22, 23]),
}
#: mmpose's 2D aliases of the shipped graphs' models, for an install without mmpose
OFFLINE_ALIASES = {'hand': 'rtmpose-m_8xb256-210e_hand5-256x256',
                   'human': 'rtmpose-m_8xb256-420e_body8-256x192',
                   'body': 'rtmpose-m_8xb256-420e_body8-256x192',
                   'face': 'rtmpose-m_8xb256-120e_face6-256x256',
                   'wholebody': 'rtmpose-m_8xb64-270e_coco-wholebody-256x192'}
#: object type -> the label a whole-image box gets (FixedBoxes)
WHOLE_IMAGE_LABEL = {'human': 'person', 'body': 'person', 'wholebody': 'person', 'hand': 'hand',
                     'face': 'face', 'animal': 'animal', 'fashion': 'clothes'}


@dataclass(frozen=True)
class PoseModel:
    """A pose model as the inferencer sees it.

    Attributes:
        spec: its config and weights URL (no config without mmpose).
        object_type: the folder of its dataset class (body, hand, face, wholebody, animal, ...).
        data_mode: 'topdown' or 'bottomup'.
        model_type: the config's model type, e.g. TopdownPoseEstimator, PoseLifter.
        flip_test: the config's test_cfg.flip_test.
    """

    spec: ModelSpec
    object_type: str
    data_mode: str
    model_type: str
    flip_test: bool


def model_aliases() -> dict[str, str]:
    """Alias -> model name, exactly as mmpose's ``get_model_aliases`` makes it ({} without
    mmpose)."""
    table: dict[str, str] = {}
    for entry in metafile_models('mmpose'):
        alias = entry.get('Alias')
        for name in [alias] if isinstance(alias, str) else alias or []:
            table[str(name)] = str(entry['Name'])
    return table


def _mmpose_dir() -> Path | None:
    spec = importlib.util.find_spec('mmpose')
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


@lru_cache(maxsize=None)
def _dataset_folders() -> dict[str, str]:
    """Dataset class name -> the folder under mmpose/datasets/datasets/ that defines it."""
    root = _mmpose_dir()
    found: dict[str, str] = {}
    if root is None:
        return found
    pattern = re.compile(r'^class\s+(\w+)\s*[(:]', re.MULTILINE)
    for path in sorted((root / 'datasets' / 'datasets').glob('*/*.py')):
        for name in pattern.findall(path.read_text(errors='replace')):
            found.setdefault(name, path.parent.name)
    return found


def _config_values(path: str) -> dict[str, Any]:
    """dataset_type, data_mode, model type and flip_test of a config (mmengine reads its bases)."""
    try:
        from mmengine.config import Config
        cfg = Config.fromfile(path)
        model = cfg.get('model') or {}
        return {'dataset_type': cfg.get('dataset_type'), 'data_mode': cfg.get('data_mode'),
                'model_type': model.get('type'),
                'flip_test': bool((model.get('test_cfg') or {}).get('flip_test', False))}
    except ImportError:
        pass
    text = Path(path).read_text(errors='replace')    # no mmengine: the config's own lines

    def value(pattern: str) -> str | None:
        match = re.search(pattern, text, re.MULTILINE)
        return match.group(1) if match else None
    return {'dataset_type': value(r"^dataset_type\s*=\s*['\"](\w+)['\"]"),
            'data_mode': value(r"^data_mode\s*=\s*['\"](\w+)['\"]"),
            'model_type': value(r"^model\s*=\s*dict\(\s*type\s*=\s*['\"](\w+)['\"]"),
            'flip_test': value(r'flip_test\s*=\s*(True)') == 'True'}


def pose_model(name: str, flag: str) -> PoseModel:
    """The model ``--pose2d``/``--pose3d`` names.

    Raises:
        ValueError: the name is unknown (with did-you-mean), or mmpose is missing to look it up.
    """
    try:
        spec = resolve_model(name, 'pose', base_dir=str(Path.cwd()))
    except ValueError:
        if metafile_models('mmpose') or name.lower() not in OFFLINE_ALIASES:
            raise
        # no mmpose (an onnx-only install): the aliases the shipped graphs use, by name
        return PoseModel(ModelSpec('', None, 'pose', OFFLINE_ALIASES[name.lower()]),
                         name.lower(), 'topdown', 'TopdownPoseEstimator', True)
    values = _config_values(spec.config_path)
    dataset = str(values.get('dataset_type') or '')
    object_type = _dataset_folders().get(dataset, '')
    if not object_type and name.lower() in DETECTORS:
        object_type = name.lower()
    log.debug('%s %s: %s (dataset %s: %s)', flag, name, spec.config_path, dataset, object_type)
    return PoseModel(spec, object_type, str(values.get('data_mode') or 'topdown'),
                     str(values.get('model_type') or ''), bool(values.get('flip_test')))
