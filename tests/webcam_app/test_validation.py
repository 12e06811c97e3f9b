"""Every kind of config error is reported before any thread starts, with file:line and a fix."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from webcam_app import ConfigError, load_graph
from tests.webcam_app import toy_nodes  # noqa: F401  (registers the toy node types)

GRAPHS = Path(__file__).parents[1] / 'fixtures' / 'graphs'

CASES = [
    # fixture, line, words in the message, words in the fix
    ('syntax_error.yaml', 5, 'YAML syntax error', 'indentation'),
    ('unknown_type.yaml', 4, "unknown node type 'CountSorce'", "did you mean 'CountSource'"),
    ('unknown_param.yaml', 6, "has no parameter 'fsp'", "did you mean 'fps'"),
    ('missing_param.yaml', 6, "needs parameter 'threshold'", 'add: threshold'),
    ('unknown_port.yaml', 8, "has no input port 'fram'", "did you mean 'frame'"),
    ('no_producer.yaml', 6, "reads buffer 'framez', which no node writes", 'frames'),
    ('no_consumer.yaml', 3, "writes buffer 'extra', which no node reads", 'remove it'),
    ('two_producers.yaml', 6, "buffer 'frames' is written by both 'a' and 'b'", 'own buffer'),
    ('cycle.yaml', 6, 'cycle', 'kind: previous'),
    ('duplicate_name.yaml', 6, "duplicate node name 'source'", 'its own name'),
    ('bad_buffer.yaml', 3, "size must be int >= 1, but got 0", 'size: 1'),
    ('bad_buffer.yaml', 4, "policy must be one of 'drop_oldest', 'block', 'drop_newest'", ''),
    ('missing_plugin.yaml', 2, 'plugin file not found', 'relative to the YAML'),
    ('broken_plugin.yaml', 2, 'this plugin is broken on purpose', 'fix the plugin'),
]


@pytest.mark.parametrize('fixture,line,message,fix', CASES)
def test_config_errors_name_file_line_and_fix(fixture, line, message, fix):
    threads_before = threading.active_count()
    with pytest.raises(ConfigError) as info:
        load_graph(GRAPHS / fixture)
    matching = [i for i in info.value.issues if message in i.message]
    assert matching, f'no issue says {message!r}: {info.value}'
    issue = matching[0]
    assert issue.where == f'{GRAPHS / fixture}:{line}'
    assert fix in issue.fix
    assert threading.active_count() == threads_before     # nothing started


def test_all_errors_are_reported_at_once():
    with pytest.raises(ConfigError) as info:
        load_graph(GRAPHS / 'many_errors.yaml')
    text = str(info.value)
    assert 'many_errors.yaml:2: mode must be live or replay' in text
    assert "many_errors.yaml:6: node 'source' (CountSource) has no parameter 'nn'" in text
    assert "many_errors.yaml:9: node 'sink': unknown node type 'Colect'" in text


def test_a_bad_parameter_value_is_reported_by_its_declared_type():
    graph = {'nodes': [
        {'name': 'source', 'type': 'CountSource', 'outputs': {'frame': 'f'}},
        {'name': 'gate', 'type': 'NeedsThreshold', 'threshold': 3, 'inputs': {'frame': 'f'}}]}
    with pytest.raises(ConfigError, match=r'gate.threshold must be float in \[0, 1\], but got 3'):
        load_graph(graph)


def test_set_overrides_are_checked_like_the_file():
    good = {'nodes': [{'name': 'source', 'type': 'CountSource', 'outputs': {'frame': 'f'}},
                      {'name': 'sink', 'type': 'Collect', 'inputs': {'frame': 'f'}}]}
    graph = load_graph(good, overrides=['source.n=7'])
    assert graph.nodes['source'].node.n == 7
    with pytest.raises(ConfigError) as info:
        load_graph(good, overrides=['sorce.n=7', 'source.m=1'])
    issues = {i.where: i for i in info.value.issues}
    assert "did you mean 'source'" in issues['--set sorce.n=7'].fix
    assert "has no parameter 'm'" in issues['--set source.m=1'].message


def test_missing_config_file():
    with pytest.raises(ConfigError, match='graph config not found'):
        load_graph('no/such/graph.yaml')
