"""Build a Graph from a config, validating everything before any thread starts."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .buffers import POLICIES, Policy
from .config import GraphConfig, apply_overrides, did_you_mean, load_config
from .errors import ConfigError, ConfigIssue
from .events import EventBus
from .graph import MODES, BufferSpec, Graph, NodeSpec, default_buffer
from .node import NodeContext
from .node_entries import build_nodes, graph_defaults
from .params import ParamError, Positive, check_value, node_params
from .plugins import load_plugin
from .wiring_checks import check_wiring, unbuilt_buffers

__all__ = ['build_graph', 'load_graph', 'node_parameters']

#: The declared parameters of a node type (see webcam_app.params.node_params).
node_parameters = node_params
TOP_LEVEL_KEYS = ('name', 'description', 'mode', 'max_in_flight', 'fallback', 'plugins',
                  'defaults', 'buffers', 'nodes')


def load_graph(source: str | Path | dict, overrides: list[str] = (), mode: str | None = None,
               set_all: dict[str, Any] | None = None, events: EventBus | None = None) -> Graph:
    """Load, override and validate a graph from a YAML path or a dict. Raises ConfigError.

    Args:
        overrides: ``node.param=value`` strings, as ``--set`` takes them.
        mode: 'live' or 'replay', overriding the YAML and the sources' hints.
        set_all: parameters given to every node whose constructor accepts them (e.g. device).
    """
    config = load_config(source)
    apply_overrides(config, list(overrides))
    return build_graph(config, mode=mode, set_all=set_all, events=events)


def build_graph(config: GraphConfig, mode: str | None = None,
                set_all: dict[str, Any] | None = None, events: EventBus | None = None,
                check: bool = True) -> Graph:
    """Validate a parsed config and build its nodes; report every problem at once.

    ``check=False`` skips the nodes' checks of the outside world (camera, files, weights), for
    printing a graph without touching devices.
    """
    issues: list[ConfigIssue] = list(config.issues)
    data = config.data
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            issues.append(config.key_issue(data, key, f'unknown top-level key {key!r}',
                                           did_you_mean(key, TOP_LEVEL_KEYS)
                                           or f'allowed keys: {", ".join(TOP_LEVEL_KEYS)}'))
    _load_plugins(config, issues)
    specs = build_nodes(config, issues, set_all or {}, graph_defaults(config, issues))
    check_wiring(config, specs, issues, excused=unbuilt_buffers(config, specs))
    mode = _resolve_mode(config, specs, mode, issues)
    buffers = _buffer_specs(config, specs, mode, issues)
    max_in_flight = data.get('max_in_flight', 1)
    try:
        check_value(Positive, max_in_flight)
    except ParamError as exc:
        issues.append(config.key_issue(data, 'max_in_flight', f'max_in_flight {exc}',
                                       'use 1 (the default)'))
    if issues:
        raise ConfigError(issues)
    graph = Graph(name=str(data.get('name') or (config.path.stem if config.path else 'graph')),
                  mode=mode, nodes=specs, buffers=buffers, max_in_flight=max_in_flight,
                  path=config.path, events=events or EventBus(),
                  fallback=config.base_dir / data['fallback'] if data.get('fallback') else None,
                  source=data, set_all=dict(set_all or {}))
    hotkeys = graph.hotkeys()
    for spec in specs.values():
        spec.asked_workers = spec.workers
        spec.node.context = NodeContext(mode=mode, graph_name=graph.name,
                                        graph_dir=str(config.base_dir), hotkeys=hotkeys)
        spec.node.events = graph.events
    graph.allot_cores()
    if check:
        graph.check_nodes()
    return graph


def _load_plugins(config: GraphConfig, issues: list[ConfigIssue]) -> None:
    plugins = config.data.get('plugins') or []
    if not isinstance(plugins, list):
        issues.append(config.key_issue(config.data, 'plugins', 'plugins must be a list',
                                       'write: plugins: [my_effects.py]'))
        return
    line = config.data.line_of('plugins')
    for entry in plugins:
        try:
            load_plugin(str(entry), config.base_dir)
        except FileNotFoundError as exc:
            issues.append(config.issue(line, f'plugin file not found: {exc}',
                                       'plugin paths are relative to the YAML file'))
        except ImportError as exc:
            issues.append(config.issue(line, f'plugin {entry!r} failed to import: {exc}',
                                       'fix the plugin, or check the module name'))


def _resolve_mode(config: GraphConfig, specs: dict[str, NodeSpec], mode: str | None,
                  issues: list[ConfigIssue]) -> str:
    mode = mode or config.data.get('mode')
    if mode is None:
        hints = [s.node.mode_hint for s in specs.values() if s.node.mode_hint]
        return 'live' if 'live' in hints or not hints else 'replay'
    if mode not in MODES:
        issues.append(config.key_issue(config.data, 'mode', f'mode must be live or replay, but got '
                                       f'{mode!r}',
                                       did_you_mean(mode, MODES) or 'use live or replay'))
        return 'live'
    return mode


def _buffer_specs(config: GraphConfig, specs: dict[str, NodeSpec], mode: str,
                  issues: list[ConfigIssue]) -> dict[str, BufferSpec]:
    used = {buf for s in specs.values() for bufs in s.outputs.values() for buf in bufs}
    declared = config.data.get('buffers') or {}
    result = {name: default_buffer(name, mode) for name in sorted(used)}
    for name, options in (declared.items() if isinstance(declared, dict) else ()):
        if name not in used:
            issues.append(config.key_issue(declared, name, f'buffer {name!r} is declared but no '
                                           'node writes it', did_you_mean(name, used)
                                           or 'remove it, or wire it in outputs'))
            continue
        options = options if isinstance(options, dict) else {}
        size = options.get('size', result[name].size)
        policy = options.get('policy', result[name].policy)
        try:
            check_value(Positive, size)
            check_value(Policy, policy)
        except ParamError as exc:
            what = 'size' if exc.value is size else 'policy'
            issues.append(config.key_issue(declared, name, f'buffer {name!r}: {what} {exc}',
                                           'for example: size: 1' if what == 'size'
                                           else did_you_mean(policy, POLICIES)))
            continue
        result[name] = BufferSpec(name, size, policy)
    return result
