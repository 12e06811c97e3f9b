"""A validated, wired graph: node instances, their ports and the buffers between them."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from .cores import allot_cores, auto_workers
from .errors import ConfigError, ConfigIssue, WebcamAppError, WeightsUnavailable, split_fix
from .events import EventBus
from .node import Node
from .params import node_params
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
    workers: int | str = 1   # threads running a reentrant node ('auto' until the builder decides)
    asked_workers: int | str = 1   # what the graph asked for (``workers:`` or the class default)
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
    source: dict[str, Any] | None = None   # the config it was built from, after every edit
    set_all: dict[str, Any] = field(default_factory=dict)   # values for every node taking them

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
        self.allot_cores()     # a check may have changed a node's mind (auto ran PyTorch)
        self.checked = True

    def allot_cores(self) -> None:
        """Decide each node's workers (``workers: auto``) and its engines' threads per worker,
        from the nodes' claims on the cores and whether they may run concurrently now, and put
        both in every node's context."""
        specs = self.nodes.values()
        weights = {s.name: s.node.core_weight() for s in specs}
        workers = auto_workers(weights, {s.name: s.asked_workers for s in specs},
                               {s.name: bool(getattr(s.node, 'reentrant', False)) for s in specs},
                               replay=self.mode == 'replay')
        cores = allot_cores(weights, workers=workers)
        for spec in specs:
            spec.workers = workers[spec.name]
            spec.node.context = replace(spec.node.context, cores=cores, workers=workers)

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
        """The wired graph as readable text, Graphviz dot, or YAML that runs it as it is."""
        if fmt == 'yaml':
            return _yaml(self)
        return _dot(self) if fmt == 'dot' else _text(self)


def _buffer_label(spec: BufferSpec) -> str:
    return f'{spec.name} [{spec.policy} {spec.size}]'


def _text(graph: Graph) -> str:
    lines = [f'graph {graph.name!r} (mode: {graph.mode}, max_in_flight: {graph.max_in_flight})']
    for spec in graph.nodes.values():
        extra = f', key {spec.enable_key!r}' if spec.enable_key else ''
        extra += f', {spec.workers} workers' if spec.workers != 1 else ''
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


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _yaml(graph: Graph) -> str:
    """The graph's config with every command-line edit in it (outputs, ``--set``, and the values
    given to all nodes, written into the nodes that take them) and its paths made absolute, so
    that the saved text runs the same graph from anywhere."""
    import yaml
    data = _plain(graph.source or {})
    base = graph.path.parent if graph.path else Path.cwd()
    if graph.fallback is not None:
        data['fallback'] = str(graph.fallback)
    plugins = data.get('plugins')
    if isinstance(plugins, list):
        data['plugins'] = [str((base / p).resolve()) if str(p).endswith('.py') else p
                           for p in plugins]
    for entry in data.get('nodes') or []:
        spec = graph.nodes.get(str(entry.get('name')))
        declared = node_params(type(spec.node)) if spec is not None else None
        values = {k: v for k, v in graph.set_all.items() if declared and k in declared}
        ports = {k: entry.pop(k) for k in ('inputs', 'outputs') if k in entry}
        entry.update(values, **ports)
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100).rstrip()
