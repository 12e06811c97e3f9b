"""The README's "Write your own node" runs as written: the plugin, its test, its error message."""
from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

from webcam_app import ConfigError, load_graph, run_graph
from tests.webcam_app import toy_nodes  # noqa: F401  (CountSource and Collect)
from tests.webcam_app.toy_nodes import Collect

ROOT = Path(__file__).parents[1]
pytestmark = pytest.mark.timeout(60)


def section(title: str = 'Write your own node') -> str:
    text = (ROOT / 'README.md').read_text()
    start = text.index(f'## {title}')
    return text[start:text.find('\n## ', start + 1)]


def python_blocks() -> list[str]:
    return re.findall(r'```python\n(.*?)```', section(), re.S)


GRAPH = '''name: dim
plugins: [my_effects.py]
nodes:
  - name: source
    type: CountSource
    n: 3
    outputs: {frame: frames}
  - name: dim
    amount: %s
    type: Dim
    inputs: {frame: frames}
    outputs: {frame: shown}
  - name: sink
    type: Collect
    key: readme
    inputs: {frame: shown}
'''


@pytest.fixture
def plugin_dir(tmp_path, registry_snapshot, monkeypatch):
    plugin, test = python_blocks()
    (tmp_path / 'my_effects.py').write_text(plugin)
    (tmp_path / 'test_my_effects.py').write_text(test)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ('my_effects', 'test_my_effects'):
        sys.modules.pop(name, None)


def test_the_plugins_own_test_passes(plugin_dir):
    module = importlib.import_module('test_my_effects')
    tests = [f for name, f in vars(module).items() if name.startswith('test_')]
    assert tests
    for test in tests:
        test()


def test_the_plugin_runs_in_a_graph(plugin_dir):
    path = plugin_dir / 'dim.yaml'
    path.write_text(GRAPH % 0.5)
    runner = run_graph(load_graph(path), timeout=20)
    assert runner.exit_code == 0
    frames = Collect.seen['readme']
    assert [f.frame_id for f in frames] == [0, 1, 2]
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 1, 1]   # blue 1, 2, 3 at half


def test_the_error_the_readme_shows_is_the_one_the_app_gives(plugin_dir):
    shown = re.search(r'`(g\.yaml:(\d+): dim\.amount must be .*?)`', section())
    message, line = shown.group(1), int(shown.group(2))
    path = plugin_dir / 'g.yaml'
    path.write_text(GRAPH % 2)
    assert path.read_text().splitlines()[line - 1].strip() == 'amount: 2'
    with pytest.raises(ConfigError) as info:
        load_graph(path)
    assert str(info.value) == message.replace('g.yaml', str(path)) + \
        '\n  fix: the default is amount: 0.5'
