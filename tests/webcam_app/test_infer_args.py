"""The inferencer's command line, without models: which lines are `infer`, the alias table's
form, the recipe registry, and the detector's inferencer-style NMS."""
from __future__ import annotations

import numpy as np
import pytest

from webcam_app.app.infer import alias_table, wants_infer
from webcam_app.recipes import Built, get_recipe, register_recipe


@pytest.mark.parametrize('argv,expected', [
    (['infer', '--show-alias'], True),
    (['photo.jpg', '--pose2d', 'hand'], True),             # the demo's line, no `infer`
    (['--pose2d=hand', '--input', 'a.jpg'], True),
    (['--show-alias'], True),
    (['--config', 'graphs/hand.yaml', '--input', 'a.jpg'], False),
    (['--config=graphs/hand.yaml', '--show'], False),        # --config: always the main command
    (['--list-nodes'], False),
    (['--input', 'a.jpg', '--headless'], False),
    ([], False),
])
def test_which_command_lines_are_the_inferencers(argv, expected):
    assert wants_infer(argv) is expected


def test_alias_table_is_the_demos_layout():
    assert alias_table({'hand': 'rtm-hand', 'animal': 'rtm-ap10k'}).splitlines() == [
        'ALIAS   MODEL_NAME', 'animal  rtm-ap10k', 'hand    rtm-hand']


def test_recipes_are_found_by_name_and_a_second_one_is_refused():
    recipe = get_recipe('inferencer')           # the built-in nodes registered it
    assert 'human3d' in recipe.aliases() or not recipe.aliases()

    class Other:
        def build(self, options):
            return Built(graph={})

        def aliases(self):
            return {}
    with pytest.raises(TypeError, match='already registered'):
        register_recipe('inferencer', Other())
    with pytest.raises(Exception, match="no graph recipe 'nope'"):
        get_recipe('nope', '--x')


def test_detector_nms_is_mmposes():
    mmpose_nms = pytest.importorskip('mmpose.evaluation.functional').nms
    from nodes.models.openmmlab.detector import _overlaps
    from webcam_app import Object
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 200, (40, 2))
    boxes = np.hstack([xy, xy + rng.uniform(10, 80, (40, 2))])
    scores = np.sort(rng.uniform(0.3, 1.0, 40))[::-1]
    for thr in (0.1, 0.3, 0.6):
        kept: list = []
        for box, score in zip(boxes, scores):
            if not _overlaps(box, kept, thr):
                kept.append(Object(tuple(box), score=float(score)))
        theirs = sorted(mmpose_nms(np.hstack([boxes, scores[:, None]]), thr))
        ours = [int(np.flatnonzero((boxes == o.bbox).all(axis=1))[0]) for o in kept]
        assert ours == theirs and 1 < len(ours) < 40
