"""Checks of a graph's wiring: every buffer has one writer and one reader, no cycles, and every
node gets from upstream what it needs."""
from __future__ import annotations

from .config import GraphConfig, LineDict
from .errors import ConfigIssue
from .graph import NodeSpec
from .node import registry
from .topology import Topology

__all__ = ['check_needs', 'check_wiring', 'unbuilt_buffers']


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
    """Add an issue for each buffer with no or two writers or readers, for a cycle, and for a
    node that needs what no node upstream of it gives.

    A buffer in ``excused`` (wired to a node that could not be built, already reported) may
    lack its writer or reader.
    """
    topology = Topology(specs)
    producers = topology.writers
    consumers = {buf: [name for name, _, _ in readers]
                 for buf, readers in topology.readers.items()}
    lines = _lines(config)
    for buf in topology.buffers():
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
    cycle = topology.cycle()
    if cycle:
        issues.append(config.issue(lines.get(cycle[0]), 'the graph has a cycle: '
                                   + ' -> '.join(cycle), 'remove an edge, or mark the feedback '
                                   'input as kind: previous'))
    else:
        check_needs(config, topology, issues)


def _lines(config: GraphConfig) -> dict[str, int]:
    return {e.get('name'): e.line for e in config.data.get('nodes') or []
            if isinstance(e, LineDict)}


def check_needs(config: GraphConfig, topology: Topology, issues: list[ConfigIssue]) -> None:
    """Add an issue for each node that needs (``Node.needs``) what no node upstream of it gives
    (``Node.gives``), naming the node types that give it. Nodes that could not be built (their
    issues are reported already) are skipped."""
    given: dict[str, frozenset[str]] = {}     # node -> what reaches it from upstream
    lines = _lines(config)
    for name in topology.order():
        spec = topology.specs[name]
        given[name] = frozenset().union(*(given[up] | _gives(topology.specs[up])
                                          for up in topology.feeders(name) if up in given))
        missing = sorted(_needs(spec) - given[name])
        for what in missing:
            makers = [t for t in (registry.get(n) for n in registry.names())
                      if what in t.provides]
            types = ' or '.join(t.__name__ for t in makers[:4]) or f'a node that provides {what}'
            issues.append(config.issue(
                lines.get(name), f'node {name!r} ({type(spec.node).__name__}) needs {what} '
                'from upstream, which no node before it gives',
                f'add a {types} node before {name}'))


def _needs(spec: NodeSpec) -> frozenset[str]:
    return spec.node.needs() if spec.built else frozenset()


def _gives(spec: NodeSpec) -> frozenset[str]:
    return spec.node.gives() if spec.built else frozenset()
