"""Parameters are checked by their declared types however a node is made: the graph builder, the
command line, NodeHarness and a plain ``MyNode(...)``; a constructor forwarding ``**kwargs`` to
its base takes (and checks) the base's parameters."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from webcam_app import ConfigError, ExitCode, Node, NodeHarness, load_graph
from webcam_app.params import node_params
from tests.webcam_app.test_params import PLUGIN as SIZED_PLUGIN   # Ticks, Grow(size), Drop

ROOT = Path(__file__).parents[2]

PLUGIN = SIZED_PLUGIN + '''
class Stretch(Grow):
    """Forwards **kw to its base, a common Python habit."""
    def __init__(self, factor: float = 2.0, **kw):
        super().__init__(**kw)
        self.factor = factor
'''


def graph_text(param_line: str) -> str:
    return f'''name: grow
plugins: [grow.py]
nodes:
  - name: source
    type: Ticks
    outputs: {{frame: frames}}
  - name: grow
    type: Stretch
    factor: 3
    {param_line}
    inputs: {{frame: frames}}
    outputs: {{frame: out}}
  - name: sink
    type: Drop
    inputs: {{frame: out}}
'''


def write_graph(tmp_path: Path, param_line: str) -> Path:
    (tmp_path / 'grow.py').write_text(PLUGIN)
    path = tmp_path / 'g.yaml'
    path.write_text(graph_text(param_line))
    return path


@pytest.mark.timeout(60)
def test_a_kwargs_plugin_with_a_wrong_value_exits_2_at_the_keys_line(tmp_path):
    path = write_graph(tmp_path, 'size: big')
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    proc = subprocess.run([sys.executable, str(ROOT / 'run_webcam.py'), '--config', str(path)],
                          env=env, capture_output=True, text=True, timeout=50)
    assert proc.returncode == ExitCode.CONFIG, proc.stderr
    assert f"{path}:10: grow.size must be int, but got 'big'" in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_a_typo_in_a_forwarded_key_gets_a_did_you_mean_at_its_line(tmp_path, registry_snapshot):
    path = write_graph(tmp_path, 'sise: 5')
    with pytest.raises(ConfigError) as info:
        load_graph(path)
    issue, = info.value.issues
    assert issue.where == f'{path}:10'          # the key's line, not the node's (7)
    assert "node 'grow' (Stretch) has no parameter 'sise'" in issue.message
    assert "did you mean 'size'" in issue.fix


def test_forwarded_parameters_are_declared_and_given_their_values(tmp_path, registry_snapshot):
    graph = load_graph(write_graph(tmp_path, 'size: 7'))
    grow = graph.nodes['grow'].node
    assert (grow.size, grow.factor, type(grow.factor)) == (7, 3.0, float)   # YAML 3 -> 3.0
    assert list(node_params(type(grow))) == ['factor', 'size']


class Base(Node):
    def __init__(self, size: int = 3, color: tuple[int, int, int] = (0, 0, 0)) -> None:
        self.size, self.color = size, color


class Forwards(Base):
    def __init__(self, factor: float = 1.0, **kw) -> None:
        super().__init__(**kw)
        self.factor = factor


class Bare(Node):
    pass


class AnyKey(Node):
    """Takes any key, by declaring so (not as a side effect of **kw)."""

    takes_any_key = True

    def __init__(self, n: int = 1, **extra) -> None:
        self.n, self.extra = n, extra


def test_direct_construction_checks_and_converts():
    node = Forwards(factor=2, size=4, color=[1, 2, 3])
    assert (node.factor, node.size, node.color) == (2.0, 4, (1, 2, 3))
    assert type(node.factor) is float and type(node.color) is tuple
    with pytest.raises(ValueError, match=r"Forwards.size must be int, but got 'big'"):
        Forwards(size='big')
    with pytest.raises(ValueError, match=r"Base.size must be int, but got 'big'"):
        Base('big')                                   # positional arguments too
    with pytest.raises(TypeError, match=r"Forwards has no parameter 'sise'.*did you mean 'size'"):
        Forwards(sise=5)
    with pytest.raises(TypeError, match=r"Bare has no parameter 'x'"):
        Bare(x=1)


def test_built_in_nodes_are_checked_when_made_by_hand():
    import nodes  # noqa: F401  (the built-in node types)
    from webcam_app import registry
    banner = registry.get('Banner')(text='hi', color=[1, 2, 3])
    assert banner.color == (1, 2, 3) and type(banner.color) is tuple
    with pytest.raises(ValueError, match=r"VideoSource.loop must be bool, but got 'yes'"):
        registry.get('VideoSource')(input=0, loop='yes')
    with pytest.raises(ValueError, match=r'DetectorNode.score_thr must be float in \[0, 1\]'):
        registry.get('DetectorNode')(model='rtmdet-nano-hand', score_thr=2)


def test_a_node_may_declare_that_it_takes_any_key():
    node = AnyKey(n=2, whatever='ok')
    assert (node.n, node.extra) == (2, {'whatever': 'ok'})
    assert node_params(AnyKey) is None                # the builder passes any key through
    with pytest.raises(ValueError, match=r"AnyKey.n must be int, but got 'x'"):
        AnyKey(n='x')                                 # a declared key is still checked


def test_the_harness_checks_forwarded_parameters():
    with pytest.raises(ValueError, match=r"Forwards.color must be"):
        NodeHarness(Forwards, color=[1, 2])
    with pytest.raises(TypeError, match=r"did you mean 'factor'"):
        NodeHarness(Forwards, facter=2)
