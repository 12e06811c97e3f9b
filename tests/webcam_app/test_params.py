"""Declared parameter types: a constructor's hints are checked once, at the YAML key's line."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Callable, Literal, Sequence

import pytest

from webcam_app import ConfigError, Node, NodeHarness, load_graph
from webcam_app.app.node_list import list_nodes
from webcam_app.params import (Color, ParamError, Range, Threads, Unit, check_value, describe,
                               node_params)
from tests.webcam_app import toy_nodes  # noqa: F401  (registers CountSource and Collect)

ROOT = Path(__file__).parents[2]

PLUGIN = '''
from webcam_app import EOS, Node

class Ticks(Node):
    inputs = {}
    def process(self):
        return EOS

class Grow(Node):
    """Make things bigger."""
    def __init__(self, size: int = 3):
        self.size = size
    def process(self, frame):
        return frame

class Drop(Node):
    outputs = ()
    def process(self, frame):
        return None
'''

GRAPH = '''name: grow
plugins: [grow.py]
nodes:
  - name: source
    type: Ticks
    outputs: {frame: frames}
  - name: grow
    type: Grow
    size: big
    inputs: {frame: frames}
    outputs: {frame: out}
  - name: sink
    type: Drop
    inputs: {frame: out}
'''


def write_plugin_graph(tmp_path: Path) -> Path:
    (tmp_path / 'grow.py').write_text(PLUGIN)
    path = tmp_path / 'grow.yaml'
    path.write_text(GRAPH)
    return path


def test_a_wrong_value_is_reported_at_its_keys_line(tmp_path, registry_snapshot):
    path = write_plugin_graph(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_graph(path)
    issue, = info.value.issues
    assert issue.where == f'{path}:9'          # the 'size: big' line, not the node's line
    assert issue.message == "grow.size must be int, but got 'big'"
    assert 'size: 3' in issue.fix


@pytest.mark.timeout(60)
def test_the_cli_exits_2_naming_the_key(tmp_path):
    path = write_plugin_graph(tmp_path)
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    proc = subprocess.run([sys.executable, str(ROOT / 'run_webcam.py'), '--config', str(path)],
                          env=env, capture_output=True, text=True, timeout=50)
    assert proc.returncode == 2, proc.stderr
    assert f"{path}:9: grow.size must be int, but got 'big'" in proc.stderr
    assert 'Traceback' not in proc.stderr


GOOD = [
    (int, 3, 3),
    (float, 2, 2.0),
    (float, 0.5, 0.5),
    (bool, True, True),
    (str, 'a', 'a'),
    (Literal['x', 'y'], 'y', 'y'),
    (Literal[0, 1], 1, 1),
    (int | None, None, None),
    (int | None, 4, 4),
    (str | int, 0, 0),
    (list[str], ['a', 'b'], ['a', 'b']),
    (list[str], ('a',), ['a']),
    (tuple[int, ...], [1, 2], (1, 2)),
    (tuple[int, float], [1, 2], (1, 2.0)),
    (Sequence[str], ['a'], ('a',)),
    (dict[str, int], {'a': 1}, {'a': 1}),
    (Unit, 1, 1.0),
    (Annotated[float, Range(0, 1, max_open=True)], 0, 0.0),
    (Color, [0, 128, 255], (0, 128, 255)),
    (Threads, None, None),
    (Threads, 2, 2),
    (Callable[[int], None], print, print),
]


@pytest.mark.parametrize('hint,value,expected', GOOD)
def test_values_that_fit_are_kept_and_converted(hint, value, expected):
    result = check_value(hint, value)
    assert result == expected
    assert type(result) is type(expected)


BAD = [
    (int, 'big', 'int'),
    (int, True, 'int'),              # a bool is not a number here
    (int, 2.5, 'int'),
    (float, '1.0', 'float'),
    (float, False, 'float'),
    (bool, 1, 'bool'),
    (bool, 'yes', 'bool'),
    (str, 3, 'str'),
    (Literal['x', 'y'], 'z', "one of 'x', 'y'"),
    (Literal[0, 1], True, 'one of 0, 1'),
    (int | None, 'a', 'int or null'),
    (list[str], 'ab', 'a list of str'),
    (list[str], [1], 'a list of str'),
    (tuple[int, int], [1, 2, 3], 'a list of 2: [int, int]'),
    (dict[str, int], ['a'], 'a mapping of str to int'),
    (Unit, 1.5, r'float in [0, 1]'),
    (Unit, -0.1, r'float in [0, 1]'),
    (Annotated[float, Range(0, 1, max_open=True)], 1, 'float in [0, 1)'),
    (Annotated[float, Range(0, min_open=True)], 0, 'float > 0'),
    (Annotated[int, Range(2)], 1, 'int >= 2'),
    (Annotated[int, Range(max=9)], 10, 'int <= 9'),
    (Color, [0, 0, 256], 'a color: 3 ints from 0 to 255 (B, G, R)'),
    (Color, [0, 0], 'a color: 3 ints from 0 to 255 (B, G, R)'),
    (Threads, 0, 'int >= 1 or null'),
    (Callable[[int], None] | None, 3, 'a callable or null'),
]


@pytest.mark.parametrize('hint,value,expected', BAD)
def test_values_that_do_not_fit_say_what_would(hint, value, expected):
    with pytest.raises(ParamError) as info:
        check_value(hint, value)
    assert str(info.value) == f'must be {expected}, but got {value!r}'


def test_range_bounds_are_inclusive_unless_open():
    assert 0 in Range(0, 1) and 1 in Range(0, 1)
    assert 0 not in Range(0, 1, min_open=True) and 1 not in Range(0, 1, max_open=True)
    assert str(Range(0, 1, min_open=True)) == 'in (0, 1]'


def test_unannotated_parameters_take_anything():
    class Loose(Node):
        def __init__(self, anything=1, typed: int = 2):
            pass

    params = node_params(Loose)
    assert check_value(params['anything'].hint, object) is object
    assert describe(params['typed'].hint) == 'int'
    del Loose


def test_the_harness_checks_like_the_builder():
    with pytest.raises(ValueError, match=r'threshold must be float in \[0, 1\], but got 2'):
        NodeHarness(toy_nodes.NeedsThreshold, threshold=2)


def test_list_nodes_shows_types_ranges_defaults_and_doc():
    text = list_nodes()
    assert 'NeedsThreshold (tests.webcam_app.toy_nodes): A node with a required parameter.' in text
    assert '    threshold: float in [0, 1]' in text.splitlines()
    assert '    n: int = 10' in text
