"""Bad input through the command line: exit 2, the user's file and line, what is wrong, the fix."""
from __future__ import annotations

from pathlib import Path

import pytest

from webcam_app.app.cli import main
from tests.webcam_app import toy_nodes  # noqa: F401  (registers the toy node types)

pytestmark = pytest.mark.timeout(60)

CHAIN = '''name: chain
{plugins}
nodes:
  - name: source
    type: CountSource
    n: 3
    outputs: {{frame: frames}}
  - name: add
    type: {middle}
    inputs: {{frame: frames}}
    outputs: {{frame: out}}
  - name: sink
    type: Collect
    inputs: {{frame: out}}
'''


def run(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    code = main(['--headless', *args])
    return code, capsys.readouterr().err


def graph(tmp_path: Path, text: str, name: str = 'graph.yaml') -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize('text,line', [
    ('name: empty\n', 1),
    ('name: mapping\nnodes:\n  source: {type: CountSource}\n', 2),
])
def test_a_graph_without_a_nodes_list_is_named_before_sinks_are_wired(
        tmp_path, capsys, text, line):
    path = graph(tmp_path, text)
    code, err = run(capsys, '--config', path, '--out', str(tmp_path / 'o.mp4'),
                    '--pred-out', str(tmp_path / 'p.json'))
    assert code == 2
    assert f"{path}:{line}: a graph needs a non-empty 'nodes:' list" in err
    assert 'cannot add a' not in err


def test_an_unparsable_set_value_exits_2_naming_the_option(tmp_path, capsys):
    path = graph(tmp_path, CHAIN.format(plugins='', middle='AddValue'))
    code, err = run(capsys, '--config', path, '--set', 'add.key=[oops')
    assert code == 2
    assert "--set add.key=[oops: the value '[oops' is not valid YAML" in err
    assert '''fix: quote it to mean text: --set "add.key='[oops'"''' in err


NOT_A_NODE = '''
class Mirror:
    """Forgot to subclass Node."""
    def process(self, frame):
        return frame
'''


def test_a_plugin_class_that_is_not_a_node_is_reported_as_that(
        tmp_path, capsys, registry_snapshot):
    (tmp_path / 'mirror.py').write_text(NOT_A_NODE)
    path = graph(tmp_path, CHAIN.format(plugins='plugins: [mirror.py]', middle='Mirror'))
    code, err = run(capsys, '--config', path)
    assert code == 2
    assert (f"{path}:9: node 'add': 'Mirror' in {tmp_path / 'mirror.py'} is not a Node: it does "
            'not subclass webcam_app.Node') in err
    assert 'fix: write: class Mirror(Node): ...' in err
    assert 'unknown node type' not in err and 'did you mean' not in err


def test_a_plugin_syntax_error_names_only_the_plugins_own_line(tmp_path, capsys,
                                                               registry_snapshot):
    (tmp_path / 'typo.py').write_text('from webcam_app import Node\n\n'
                                      'class Typo(Node)\n    pass\n')
    path = graph(tmp_path, CHAIN.format(plugins='plugins: [typo.py]', middle='AddValue'))
    code, err = run(capsys, '--config', path)
    assert code == 2
    assert f"{path}:2: plugin 'typo.py' failed to import: SyntaxError: " in err
    assert f"({tmp_path / 'typo.py'}:3)" in err
    assert 'plugins.py' not in err and 'importlib' not in err


def test_a_plugin_error_at_import_names_the_plugins_line_not_the_loaders(tmp_path, capsys,
                                                                         registry_snapshot):
    (tmp_path / 'boom.py').write_text('x = 1\nraise RuntimeError("no camera driver")\n')
    path = graph(tmp_path, CHAIN.format(plugins='plugins: [boom.py]', middle='AddValue'))
    code, err = run(capsys, '--config', path)
    assert code == 2
    assert f"RuntimeError: no camera driver ({tmp_path / 'boom.py'}:2)" in err
    assert 'webcam_app/plugins.py' not in err


def test_a_value_of_the_wrong_type_names_parameter_type_value_and_line(tmp_path, capsys):
    path = graph(tmp_path, CHAIN.format(plugins='', middle='AddValue').replace(
        '    n: 3\n', '    n: 3\n    fps: fast\n'))
    code, err = run(capsys, '--config', path)
    assert code == 2
    assert f"{path}:7: source.fps must be float or null, but got 'fast'" in err
    assert 'not supported between' not in err and 'Traceback' not in err


def test_a_set_value_of_the_wrong_type_names_the_option(tmp_path, capsys):
    path = graph(tmp_path, CHAIN.format(plugins='', middle='AddValue'))
    code, err = run(capsys, '--config', path, '--set', 'add.work_s=slow')
    assert code == 2
    assert "--set add.work_s=slow: add.work_s must be " in err and "but got 'slow'" in err


@pytest.mark.parametrize('option, value, message', [
    ('--max-frames', '-5', '--max-frames -5: --max-frames must be >= 1, but got -5'),
    ('--max-frames', '0', '--max-frames must be >= 1, but got 0'),
    ('--input', 'missing.mp4', '--input names no file or folder: '),
    ('--input', '', "--input must be a camera index (0, webcam:1), a video file"),
    ('--serve-token', '', "--serve-token must not be empty, but got ''"),
])
@pytest.mark.parametrize('source', ['CountSource', 'VideoSource'])
def test_a_bad_option_value_exits_2_naming_the_option_not_a_line(
        tmp_path, capsys, monkeypatch, option, value, message, source):
    """Whether or not the graph's source takes the value (VideoSource takes --max-frames and
    --input, CountSource neither), the error names the option, not the source's line."""
    monkeypatch.chdir(tmp_path)
    text = CHAIN.format(plugins='', middle='AddValue')
    if source == 'VideoSource':
        text = text.replace('type: CountSource\n    n: 3', 'type: VideoSource\n    input: 0')
    path = graph(tmp_path, text)
    code, err = run(capsys, '--config', path, option, value)
    assert code == 2, err
    assert f'error: {option} ' in err and message in err and 'fix: ' in err
    assert f'{path}:' not in err and 'Traceback' not in err
