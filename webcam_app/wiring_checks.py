"""Checks of a graph's wiring: every buffer has one writer and one reader, and no cycles."""
from __future__ import annotations

from collections import defaultdict

from .config import GraphConfig, LineDict
from .errors import ConfigIssue
from .graph import NodeSpec

__all__ = ['check_wiring', 'unbuilt_buffers']


def unbuilt_buffers(config: GraphConfig, specs: dict[str, NodeSpec]) -> set[str]:
    """The buffers named by node entries that could not be built (already reported): their
    missing writer or reader is no news."""
    nodes = config.data.get('nodes')
    names: set[str] = set()
    for entry in nodes if isinstance(nodes, list) else ():
        if not isinstance(entry, dict) or entry.get('name') in specs:
            continue
        for ports in (entry.get('inputs'), entry.get('outputs')):
            for target in (ports.values() if isinstance(ports, dict) else ()):
                for item in (target if isinstance(target, list) else [target]):
                    item = item.get('buffer') if isinstance(item, dict) else item
                    if isinstance(item, (str, int)):
                        names.add(str(item))
    return names


def check_wiring(config: GraphConfig, specs: dict[str, NodeSpec], issues: list[ConfigIssue],
                 excused: frozenset[str] | set[str] = frozenset()) -> None:
    """Add an issue for each buffer with no or two writers or readers, and for a cycle.

    A buffer in ``excused`` (wired to a node that could not be built, already reported) may
    lack its writer or reader.
    """
    producers, consumers = defaultdict(list), defaultdict(list)
    for spec in specs.values():
        for bufs in spec.outputs.values():
            for buf in bufs:
                producers[buf].append(spec.name)
        for buf, _ in spec.inputs.values():
            consumers[buf].append(spec.name)
    lines = {e.get('name'): e.line for e in config.data.get('nodes') or []
             if isinstance(e, LineDict)}
    known = sorted(set(producers) | set(consumers))
    for buf in known:
        prod, cons = producers.get(buf, []), consumers.get(buf, [])
        if not prod and buf not in excused:
            others = ', '.join(b for b in producers if b != buf) or 'none'
            issues.append(config.issue(lines.get(cons[0]), f'node {cons[0]!r} reads buffer '
                                       f'{buf!r}, which no node writes',
                                       f"write it from a node's outputs, or read one of: {others}"))
        if not cons and buf not in excused:
            issues.append(config.issue(lines.get(prod[0]), f'node {prod[0]!r} writes buffer '
                                       f'{buf!r}, which no node reads',
                                       'read it from a node, or remove it from outputs'))
        if len(prod) > 1:
            issues.append(config.issue(lines.get(prod[1]), f'buffer {buf!r} is written by both '
                                       f'{prod[0]!r} and {prod[1]!r}',
                                       'give each producer its own buffer'))
        if len(cons) > 1:
            issues.append(config.issue(lines.get(cons[1]), f'buffer {buf!r} is read by both '
                                       f'{cons[0]!r} and {cons[1]!r}', 'fan out instead: list '
                                       f'one buffer per reader, e.g. outputs: {{frame: [{buf}, '
                                       f'{buf}_2]}}'))
    cycle = _find_cycle(specs, producers)
    if cycle:
        issues.append(config.issue(lines.get(cycle[0]), 'the graph has a cycle: '
                                   + ' -> '.join(cycle), 'remove an edge, or mark the feedback '
                                   'input as kind: previous'))


def _find_cycle(specs: dict[str, NodeSpec], producers: dict) -> list[str]:
    upstream = {name: {p for buf, kind in s.inputs.values() if kind != 'previous'
                       for p in producers.get(buf, [])} for name, s in specs.items()}
    state: dict[str, int] = {}   # 1: on the stack, 2: done

    def visit(name: str, path: list[str]) -> list[str]:
        state[name] = 1
        for up in sorted(upstream.get(name, ())):
            if state.get(up) == 1:
                return path[path.index(up):] + [up] if up in path else [up, name, up]
            if up not in state:
                found = visit(up, path + [up])
                if found:
                    return found
        state[name] = 2
        return []

    for name in specs:
        if name not in state:
            found = visit(name, [name])
            if found:
                return list(reversed(found))
    return []
