"""A validated, wired graph: node instances, their ports and the buffers between them."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .errors import ConfigError, ConfigIssue, WebcamAppError, WeightsUnavailable, split_fix
from .events import EventBus
from .node import Node
from .topology import Topology

__all__ = ['BufferSpec', 'Graph', 'NodeSpec', 'default_buffer']

MODES = ('live', 'replay')


@dataclass(frozen=True)
class BufferSpec:
    name: str
    size: int
    policy: str


def default_buffer(name: str, mode: str) -> BufferSpec:
    """Live: keep only the freshest frame. Replay: lossless back-pressure."""
    return BufferSpec(name, 1, 'drop_oldest') if mode == 'live' else BufferSpec(name, 8, 'block')


@dataclass
class NodeSpec:
    """A node instance and how it is wired."""

    node: Node
    inputs: dict[str, tuple[str, str]] = field(default_factory=dict)   # port -> (buffer, kind)
    outputs: dict[str, list[str]] = field(default_factory=dict)        # port -> buffers
    enable_key: str | None = None
    on_error: str = 'stop'
    where: str = ''     # 'graph.yaml:12', where the node is written
    built: bool = True  # False: its parameters were refused, so it only carries its wiring

    @property
    def name(self) -> str:
        return self.node.name


@dataclass
class Graph:
    """The nodes, their wiring and buffers; the event bus they share; the offline fallback."""

    name: str
    mode: str
    nodes: dict[str, NodeSpec]
    buffers: dict[str, BufferSpec]
    max_in_flight: int = 1
    path: Path | None = None
    fallback: Path | None = None     # the graph to run instead when weights are unavailable
    events: EventBus = field(default_factory=EventBus)
    checked: bool = False            # every node's check() ran since the last run

    def check_nodes(self) -> None:
        """Run every node's cheap check of the outside world (files, cameras, weights) on this
        thread. Raises ConfigError with every problem, or, when weights are all that is missing,
        one WeightsUnavailable listing them (``missing``) so a caller can use the fallback."""
        issues: list[ConfigIssue] = []
        missing: list[WeightsUnavailable] = []
        for spec in self.nodes.values():
            try:
                spec.node.check()
            except WeightsUnavailable as exc:
                missing.append(exc)
            except ConfigError as exc:
                issues.extend(exc.issues)
            except (ValueError, OSError, WebcamAppError) as exc:
                message, fix = split_fix(exc)
                issues.append(ConfigIssue(spec.where or self.name, f'node {spec.name!r} '
                                          f'({type(spec.node).__name__}): {message}', fix))
        if issues:
            raise ConfigError(issues)
        if missing:
            missing[0].missing = missing
            raise missing[0]
        self.checked = True

    @cached_property
    def topology(self) -> Topology:
        """The wiring, walked once (a built graph's wiring does not change)."""
        return Topology(self.nodes)

    def producer_of(self, buffer: str) -> str:
        return self.topology.writers[buffer][0]

    def consumer_of(self, buffer: str) -> tuple[str, str, str]:
        """(node, port, kind) reading the buffer."""
        return self.topology.readers[buffer][0]

    def hotkeys(self) -> dict[str, str]:
        return {s.enable_key: s.name for s in self.nodes.values() if s.enable_key}

    def describe(self, fmt: str = 'text') -> str:
        """The wired graph as readable text or Graphviz dot."""
        return _dot(self) if fmt == 'dot' else _text(self)


def _buffer_label(spec: BufferSpec) -> str:
    return f'{spec.name} [{spec.policy} {spec.size}]'


def _text(graph: Graph) -> str:
    lines = [f'graph {graph.name!r} (mode: {graph.mode}, max_in_flight: {graph.max_in_flight})']
    for spec in graph.nodes.values():
        extra = f', key {spec.enable_key!r}' if spec.enable_key else ''
        info = ', '.join(f'{k} {v}' for k, v in spec.node.info().items())
        extra += f' [{info}]' if info else ''
        lines.append(f'  {spec.name}: {type(spec.node).__name__}{extra}')
        for port, (buf, kind) in spec.inputs.items():
            lines.append(f'    <- {port} ({kind}) {_buffer_label(graph.buffers[buf])}')
        for port, bufs in spec.outputs.items():
            for buf in bufs:
                lines.append(f'    -> {port} {_buffer_label(graph.buffers[buf])}')
    return '\n'.join(lines)


def _dot(graph: Graph) -> str:
    lines = [f'digraph "{graph.name}" {{', '  rankdir=LR;', '  node [shape=box];']
    for spec in graph.nodes.values():
        info = ', '.join(f'{k} {v}' for k, v in spec.node.info().items())
        info = f'\\n{info}' if info else ''
        lines.append(f'  "{spec.name}" [label="{spec.name}\\n{type(spec.node).__name__}{info}"];')
    for name, buf in graph.buffers.items():
        node, port, kind = graph.consumer_of(name)
        style = '' if kind == 'trigger' else ', style=dashed'
        lines.append(f'  "{graph.producer_of(name)}" -> "{node}" '
                     f'[label="{name}\\n{buf.policy} {buf.size}"{style}];')
    lines.append('}')
    return '\n'.join(lines)
