"""The model zoo resolves aliases, names and configs through the installed packages' own files."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from nodes.models.openmmlab.model_zoo import ModelSpec, metafile_models, resolve_model

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec('mmpose') is None or importlib.util.find_spec('mmdet') is None,
    reason='needs mmpose and mmdet installed (their metafiles and configs)')


def first_match(name: str) -> dict:
    """What mmengine's own inferencer picks for a name: the first metafile entry that matches."""
    from mmengine.infer import BaseInferencer
    mim = Path(importlib.util.find_spec('mmpose').submodule_search_locations[0]) / '.mim'
    for entry in BaseInferencer._get_models_from_metafile(str(mim)):
        alias = entry.get('Alias', [])
        aliases = [alias] if isinstance(alias, str) else alias
        if entry['Name'].lower() == name or name in [a.lower() for a in aliases]:
            return entry
    raise AssertionError(f'{name} not in mmpose metafiles')


@pytest.mark.parametrize('alias', ['hand', 'body', 'human', 'face', 'wholebody', 'animal'])
def test_pose_aliases_match_mmengines_inferencer(alias: str) -> None:
    spec = resolve_model(alias, 'pose')
    entry = first_match(alias)
    assert spec.kind == 'pose'
    assert spec.name == entry['Name']
    assert spec.weights_url == entry['Weights'] and spec.weights_url.startswith('https://')
    assert spec.config_path.endswith(entry['Config']) and Path(spec.config_path).is_file()


def test_hand_alias_is_rtmpose_m_hand5_and_its_detector_is_rtmdet_nano() -> None:
    pose, det = resolve_model('hand', 'pose'), resolve_model('hand', 'det')
    assert Path(pose.config_path).name == 'rtmpose-m_8xb256-210e_hand5-256x256.py'
    assert Path(det.config_path).name == 'rtmdet_nano_320-8xb32_hand.py'
    assert det.kind == 'det' and det.cat_ids == (0,)
    assert det.weights_url.endswith('rtmdet_nano_8xb32-300e_hand-267f9c8f.pth')


@pytest.mark.parametrize('alias,config', [
    ('body', 'rtmdet_m_640-8xb32_coco-person.py'), ('human', 'rtmdet_m_640-8xb32_coco-person.py'),
    ('wholebody', 'rtmdet_m_640-8xb32_coco-person.py'), ('face', 'yolox-s_8xb8-300e_coco-face.py')])
def test_detector_aliases_come_from_mmposes_table(alias: str, config: str) -> None:
    spec = resolve_model(alias, 'det')
    assert Path(spec.config_path).name == config and Path(spec.config_path).is_file()
    assert spec.weights_url.startswith('https://download.openmmlab.com/')


def test_animal_detector_is_an_mmdet_model_name_with_animal_classes() -> None:
    spec = resolve_model('animal', 'det')
    assert 'rtmdet' in Path(spec.config_path).name and spec.weights_url.startswith('https://')
    assert spec.cat_ids is not None and 15 in spec.cat_ids and 0 not in spec.cat_ids


def test_full_model_name_and_mmdet_alias() -> None:
    assert resolve_model('rtmpose-m_8xb256-420e_body8-256x192').name == \
        'rtmpose-m_8xb256-420e_body8-256x192'
    tiny = resolve_model('rtmdet-t', 'det')
    assert tiny.name == 'rtmdet_tiny_8xb32-300e_coco' and tiny.kind == 'det'


@pytest.mark.parametrize('name', ['rtmdet_nano_320-8xb32_hand', 'rtmdet_nano_320-8xb32_hand.py'])
def test_config_name_inside_the_packages(name: str) -> None:
    spec = resolve_model(name)
    assert spec.kind == 'det' and Path(spec.config_path).is_file()
    assert spec.weights_url == resolve_model('hand', 'det').weights_url


def test_config_path_absolute_and_relative(tmp_path: Path) -> None:
    pose = resolve_model('hand', 'pose')
    by_path = resolve_model(pose.config_path)
    assert (by_path.kind, by_path.weights_url) == ('pose', pose.weights_url)
    mine = tmp_path / 'my_det.py'
    mine.write_text("_base_ = 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'\n")
    spec = resolve_model('my_det.py', base_dir=str(tmp_path))
    assert spec == ModelSpec(str(mine.resolve()), None, 'det', 'my_det')


def test_unknown_name_suggests_close_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown pose model 'hnad'.*did you mean 'hand'"):
        resolve_model('hnad', 'pose')
    with pytest.raises(ValueError, match=r"unknown detector 'rtmdet-tiny'.*did you mean"):
        resolve_model('rtmdet-tiny', 'det')
    with pytest.raises(ValueError, match="kind must be 'det' or 'pose'"):
        resolve_model('hand', 'seg')


def test_metafiles_are_read_in_model_index_order() -> None:
    names = [e['Name'] for e in metafile_models('mmpose')]
    assert len(names) > 100
    assert names.index('rtmpose-m_8xb256-120e_face6-256x256') < names.index(
        'rtmpose-m_8xb64-120e_lapa-256x256')
