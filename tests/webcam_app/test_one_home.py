"""One home each: exit codes in errors.ExitCode, node roles in roles.Role, the wiring walked by
topology.Topology, and built-in nodes loaded through the entry point (webcam_app imports none)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.webcam_app.test_layout import import_graph
from webcam_app import ExitCode, Node, Role, load_graph
from webcam_app.topology import Topology
from tests.webcam_app import toy_nodes  # noqa: F401  (registers the toy node types)

ROOT = Path(__file__).parents[2]

#: an exit code written as a number, outside errors.py
CHOSEN_HERE = re.compile(r'\breturn\s+[1-9]\d*(?![\d.]|\s*[-+*/%])'
                         r'|\bexit_code\s*[:=][^=]*?\b[1-9]\d*\b'
                         r'|\bEXIT_\w+\s*=\s*\d|\b(sys\.exit|os\._exit)\(\s*[1-9]')


def test_exit_codes_are_chosen_in_errors_py_alone():
    found = [f'{path.relative_to(ROOT)}:{number}: {line.strip()}'
             for package in ('webcam_app', 'nodes')
             for path in sorted((ROOT / package).rglob('*.py'))
             if path != ROOT / 'webcam_app' / 'errors.py'
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if CHOSEN_HERE.search(line)]
    assert found == []


def test_the_scan_would_see_an_exit_code_chosen_elsewhere():
    for line in ('        return 2', '    exit_code = 2', 'EXIT_SOURCE_LOST = 3',
                 '    sys.exit(2)', 'return 2 if failed else 0'):
        assert CHOSEN_HERE.search(line), line
    for line in ('    return 1.0 / (1.0 + x)', '        return 1 / rate', '    exit_code = ExitCode.CONFIG', 'return x[2]'):
        assert not CHOSEN_HERE.search(line), line


def test_the_exit_code_table_is_what_the_cli_documents():
    from webcam_app.app.cli import EXAMPLES
    assert (ExitCode.OK, ExitCode.NODE_FAILED, ExitCode.CONFIG, ExitCode.SOURCE_LOST,
            ExitCode.SIGINT, ExitCode.SIGTERM) == (0, 1, 2, 3, 130, 143)
    for code in ExitCode:
        assert f'{int(code)} ' in EXAMPLES


def test_a_role_is_a_role_member_and_a_string_that_is_not_one_is_refused(registry_snapshot):
    class Shows(Node):
        role = 'display'
    assert Shows.role is Role.DISPLAY and Shows.role == 'display'
    with pytest.raises(TypeError, match="must be one of source, display, .* but got 'dispaly'"):
        class Typo(Node):
            role = 'dispaly'


def test_every_built_in_role_is_an_enum_member():
    import nodes  # noqa: F401
    from webcam_app import registry
    roles = {registry.get(n).role for n in registry.names()} - {None}
    assert roles and all(isinstance(r, Role) for r in roles)
    assert Role.SOURCE in roles and Role.DISPLAY in roles


def test_one_topology_walk_serves_the_builder_the_executor_and_print_graph():
    graph = load_graph({'nodes': [
        {'name': 'source', 'type': 'CountSource', 'outputs': {'frame': 'frames'}},
        {'name': 'join', 'type': 'JoinLatest',
         'inputs': {'frame': 'frames', 'side': {'buffer': 'back', 'kind': 'previous'}},
         'outputs': {'frame': ['mid', 'shown']}},
        {'name': 'again', 'type': 'AddValue', 'inputs': {'frame': 'mid'},
         'outputs': {'frame': 'back'}},
        {'name': 'sink', 'type': 'Collect', 'inputs': {'frame': 'shown'}}]})
    topology = graph.topology
    assert isinstance(topology, Topology) and graph.topology is topology     # walked once
    assert topology.order() == ['source', 'join', 'again', 'sink']
    assert topology.feeders('join') == ['source']           # a feedback edge is not upstream
    assert list(topology.trigger_chain('back')) == ['back', 'mid', 'frames']
    assert topology.cycle() == []
    assert graph.producer_of('back') == 'again' and graph.consumer_of('back')[0] == 'join'
    assert '"again" -> "join"' in graph.describe('dot')


def test_a_cycle_is_found_by_the_walk():
    class Spec:
        def __init__(self, name, inputs, outputs):
            self.name, self.inputs, self.outputs = name, inputs, outputs
    specs = {'a': Spec('a', {'frame': ('ca', 'trigger')}, {'frame': ['ab']}),
             'b': Spec('b', {'frame': ('ab', 'trigger')}, {'frame': ['ca']})}
    assert Topology(specs).cycle() == ['a', 'b', 'a']
    specs['a'].inputs = {'frame': ('ca', 'previous')}             # a feedback edge breaks it
    assert Topology(specs).cycle() == []


def test_nothing_under_webcam_app_imports_nodes_the_app_layer_included():
    graph = import_graph()
    runtime = {name for name in graph if name.split('.')[0] == 'webcam_app'}
    assert {'webcam_app.app.cli', 'webcam_app.app.paths', 'webcam_app.app.export'} <= runtime
    found = {name: sorted(t for t in graph[name] if t.split('.')[0] == 'nodes')
             for name in runtime}
    assert {name: targets for name, targets in found.items() if targets} == {}
