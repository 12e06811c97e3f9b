"""What a node needs from upstream (a mask, boxes, keypoints) is checked along the wiring before
any thread starts, at the node's line, with the node to add as the fix."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from webcam_app import ConfigError, ExitCode, Node, load_graph
from tests.webcam_app import toy_nodes  # noqa: F401  (registers CountSource and Collect)

GRAPH = '''name: needs
nodes:
  - name: source
    type: CountSource
    outputs: {frame: frames}
  - name: finder
    type: FindsBoxes
    inputs: {frame: frames}
    outputs: {frame: found}
  - name: user
    type: UsesBoxes
    inputs: {frame: found}
    outputs: {frame: out}
  - name: sink
    type: Collect
    inputs: {frame: out}
'''


@pytest.fixture
def toy_needs(registry_snapshot):
    class FindsBoxes(Node):
        provides = {'widgets'}

        def process(self, frame):
            return frame

    class UsesBoxes(Node):
        requires = {'widgets'}

        def __init__(self, need: bool = True) -> None:
            self.need = need

        def needs(self) -> frozenset[str]:      # a parameter decides
            return self.requires if self.need else frozenset()

        def process(self, frame):
            return frame
    yield


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / 'g.yaml'
    path.write_text(text)
    return path


def test_a_need_met_upstream_passes(tmp_path, toy_needs):
    built = load_graph(write(tmp_path, GRAPH))      # no ConfigError: the finder gives it
    assert built.nodes['user'].node.needs() == {'widgets'}


def test_a_need_no_node_upstream_gives_is_an_error_at_the_nodes_line(tmp_path, toy_needs):
    threads = threading.active_count()
    with pytest.raises(ConfigError) as info:
        load_graph(write(tmp_path, GRAPH.replace('type: FindsBoxes', 'type: AddValue')))
    issue, = info.value.issues
    assert issue.where == f'{tmp_path / "g.yaml"}:10'
    assert "node 'user' (UsesBoxes) needs widgets from upstream" in issue.message
    assert issue.fix == 'add a FindsBoxes node before user'
    assert threading.active_count() == threads


def test_a_need_may_depend_on_a_parameter(tmp_path, toy_needs):
    text = GRAPH.replace('type: FindsBoxes', 'type: AddValue')
    with pytest.raises(ConfigError):
        load_graph(write(tmp_path, text))
    load_graph(write(tmp_path, text.replace('type: UsesBoxes', 'type: UsesBoxes\n    need: false')))


def test_a_need_met_by_a_node_downstream_is_still_an_error(tmp_path, toy_needs):
    text = GRAPH.replace('type: FindsBoxes', 'type: AddValue').replace(
        'type: Collect', 'type: FindsBoxes\n    outputs: {frame: end}\n  - name: end\n'
        '    type: Collect\n    inputs: {frame: end}')
    with pytest.raises(ConfigError, match="'user' .* needs widgets"):
        load_graph(write(tmp_path, text))


BACKGROUND = '''name: blur
nodes:
  - name: source
    type: VideoSource
    input: {clip}
    outputs: {{frame: frames}}
  - name: background
    type: Background
    keep: {keep}
    inputs: {{frame: frames}}
    outputs: {{frame: out}}
  - name: sink
    type: PredictionWriter
    path: preds.json
    inputs: {{frame: out}}
'''


@pytest.mark.timeout(60)
def test_background_keeping_a_mask_without_a_person_mask_exits_2(tmp_path, capsys):
    import cv2
    import numpy as np

    import nodes  # noqa: F401  (the built-in node types)
    from webcam_app.app.cli import main
    photo = tmp_path / 'photo.png'
    cv2.imwrite(str(photo), np.full((48, 64, 3), 90, np.uint8))
    path = write(tmp_path, BACKGROUND.format(clip=photo, keep='mask'))
    code = main(['--config', str(path), '--headless'])
    err = capsys.readouterr().err
    assert code == ExitCode.CONFIG, err
    assert f"{path}:7: node 'background' (Background) needs mask from upstream" in err
    assert 'fix: add a PersonMask node before background' in err
    assert 'Traceback' not in err
    load_graph(write(tmp_path, BACKGROUND.format(clip=photo, keep='boxes')))
