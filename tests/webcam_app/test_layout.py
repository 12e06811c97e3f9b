"""The code stays small and layered: no module over 300 lines, no import circles."""
from __future__ import annotations

import ast
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]
PACKAGES = ('webcam_app', 'nodes')
MAX_LINES = 300


def tracked_python_files() -> list[Path]:
    out = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard',
                          '*.py'], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / line for line in out.splitlines() if (ROOT / line).is_file()]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix('').parts)
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def import_graph() -> dict[str, set[str]]:
    """Project module -> the project modules it imports (anywhere in it, lazily or not)."""
    files = {module_name(p): p for p in tracked_python_files()
             if p.relative_to(ROOT).parts[0] in PACKAGES}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == '__init__.py' else name.rpartition('.')[0]
        edges = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name in files)
            elif isinstance(node, ast.ImportFrom):
                base = package.split('.')[:len(package.split('.')) - node.level + 1] \
                    if node.level else []
                target = '.'.join(base + ([node.module] if node.module else []))
                for alias in node.names:
                    child = f'{target}.{alias.name}'
                    edges.add(child if child in files else target)
        edges &= set(files)
        edges.discard(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_is_over_300_lines():
    long = {str(p.relative_to(ROOT)): n for p in tracked_python_files()
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_no_import_circles():
    assert cycles(import_graph()) == []


def test_the_import_graph_sees_relative_and_absolute_imports():
    graph = import_graph()
    assert 'webcam_app.flow' in graph['webcam_app.worker']            # from .flow import ...
    assert 'webcam_app' in graph['nodes.io.display']                 # from webcam_app import ...
    assert 'nodes.keypoints' in graph['nodes.draw.effects_face']     # from ..keypoints import ...


def test_a_circle_is_found():
    assert cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [['a', 'b', 'c']]
