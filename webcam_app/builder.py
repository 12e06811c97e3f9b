"""Build a Graph from a config, validating everything before any thread starts."""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from .buffers import POLICIES
from .config import GraphConfig, LineDict, apply_overrides, did_you_mean, load_config
from .cores import allot_cores
from .errors import ConfigError, ConfigIssue, WebcamAppError, WeightsUnavailable
from .events import EventBus
from .graph import MODES, BufferSpec, Graph, NodeSpec, default_buffer
from .node import INPUT_KINDS, Node, NodeContext, registry
from .plugins import load_plugin
from .wiring_checks import check_wiring

__all__ = ['build_graph', 'load_graph', 'node_parameters']

NODE_KEYS = ('name', 'type', 'inputs', 'outputs', 'enable_key', 'on_error')
TOP_LEVEL_KEYS = ('name', 'description', 'mode', 'max_in_flight', 'fallback', 'plugins',
                  'defaults', 'buffers', 'nodes')


def node_parameters(cls: type[Node]) -> dict[str, inspect.Parameter] | None:
    """The YAML parameters of a node type (its constructor's), or None if it takes **kwargs."""
    params = {}
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if p.kind is p.VAR_KEYWORD:
            return None
        if p.kind is not p.VAR_POSITIONAL:
            params[p.name] = p
    return params


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
    events = events or EventBus()
    defaults = _defaults(config, issues)
    specs = _build_nodes(config, issues, events, set_all or {}, defaults)
    check_wiring(config, specs, issues)
    mode = _resolve_mode(config, specs, mode, issues)
    buffers = _buffer_specs(config, specs, mode, issues)
    max_in_flight = data.get('max_in_flight', 1)
    if not isinstance(max_in_flight, int) or isinstance(max_in_flight, bool) or max_in_flight < 1:
        issues.append(config.key_issue(data, 'max_in_flight', 'max_in_flight must be an integer '
                                       f'>= 1, but got {max_in_flight!r}', 'use 1 (the default)'))
    if issues:
        raise ConfigError(issues)
    graph = Graph(name=str(data.get('name') or (config.path.stem if config.path else 'graph')),
                  mode=mode, nodes=specs, buffers=buffers, max_in_flight=max_in_flight,
                  path=config.path,
                  fallback=config.base_dir / data['fallback'] if data.get('fallback') else None)
    context = NodeContext(mode=mode, graph_name=graph.name, graph_dir=str(config.base_dir),
                          hotkeys=graph.hotkeys(),
                          cores=allot_cores({n: s.node.core_weight() for n, s in specs.items()}))
    for spec in specs.values():
        spec.node.context = context
    if check:
        _check_nodes(config, specs, issues)
    if issues:
        raise ConfigError(issues)
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


def _defaults(config: GraphConfig, issues: list[ConfigIssue]) -> dict[str, Any]:
    """The graph's ``defaults:``, parameters for every node that takes them and sets none."""
    defaults = config.data.get('defaults') or {}
    if not isinstance(defaults, dict):
        issues.append(config.key_issue(config.data, 'defaults', 'defaults must map parameters '
                                       f'to values, but got {defaults!r}',
                                       'for example: defaults: {backend: onnxruntime}'))
        return {}
    classes = [registry.get(str(e.get('type'))) for e in config.data.get('nodes') or []
               if isinstance(e, dict)]
    params = [node_parameters(cls) for cls in classes if cls is not None]
    takers = {k for p in params if p for k in p}
    for key in defaults:
        if key not in takers and None not in params:
            issues.append(config.key_issue(defaults, key, f'defaults: no node of this graph has '
                                           f'a parameter {key!r}', 'remove it, or fix its name'))
    return dict(defaults)


def _build_nodes(config: GraphConfig, issues: list[ConfigIssue], events: EventBus,
                 set_all: dict[str, Any], defaults: dict[str, Any]) -> dict[str, NodeSpec]:
    nodes = config.data.get('nodes')
    if not isinstance(nodes, list) or not nodes:
        issues.append(config.issue(config.data.line_of('nodes') if 'nodes' in config.data else 1,
                                   "a graph needs a non-empty 'nodes:' list",
                                   'see graphs/preview.yaml for an example'))
        return {}
    specs: dict[str, NodeSpec] = {}
    for entry in nodes:
        if not isinstance(entry, LineDict):
            issues.append(config.issue(None, f'each node must be a mapping, but got {entry!r}'))
            continue
        spec = _build_node(config, entry, issues, events, set_all, defaults)
        if spec is None:
            continue
        if spec.name in specs:
            issues.append(config.key_issue(entry, 'name', f'duplicate node name {spec.name!r}',
                                           'give every node its own name'))
            continue
        specs[spec.name] = spec
    return specs


def _build_node(config: GraphConfig, entry: LineDict, issues: list[ConfigIssue],
                events: EventBus, set_all: dict[str, Any],
                defaults: dict[str, Any]) -> NodeSpec | None:
    name, type_name = entry.get('name'), entry.get('type')
    label = f'node {name!r}' if name else 'node'
    if not name or not isinstance(name, str):
        issues.append(config.issue(entry.line, f'{label} has no name', 'add: name: my_node'))
        return None
    cls = registry.get(str(type_name)) if type_name else None
    if cls is None:
        what = f'unknown node type {type_name!r}' if type_name else 'no type'
        hint = did_you_mean(type_name, registry.names()) if type_name else ''
        issues.append(config.key_issue(entry, 'type' if type_name else 'name', f'{label}: {what}',
                                       hint or 'run with --list-nodes to see every node type'))
        return None
    accepted = node_parameters(cls) or {}
    params = {k: v for k, v in defaults.items() if k in accepted}
    params.update({k: v for k, v in entry.items() if k not in NODE_KEYS})
    params.update({k: v for k, v in set_all.items() if k in accepted})
    if not _check_params(config, entry, cls, params, label, issues):
        return None
    try:
        node = cls(**params)
    except (ValueError, TypeError, WebcamAppError) as exc:
        issues.append(config.issue(entry.line, f'{label} ({cls.__name__}): {exc}',
                                   'fix the parameter value'))
        return None
    node.name, node.events = name, events
    spec = NodeSpec(node, enable_key=entry.get('enable_key'),
                    on_error=entry.get('on_error', 'stop'))
    _parse_ports(config, entry, spec, label, issues)
    if spec.on_error not in ('stop', 'skip'):
        issues.append(config.key_issue(entry, 'on_error', f"{label}: on_error must be 'stop' or "
                                       f"'skip', but got {spec.on_error!r}", 'use skip or stop'))
    key = spec.enable_key
    if key is not None and not (isinstance(key, str) and len(key) == 1):
        issues.append(config.key_issue(entry, 'enable_key', f'{label}: enable_key must be one '
                                       f'character, but got {key!r}', "for example: enable_key: m"))
    return spec


def _check_params(config: GraphConfig, entry: LineDict, cls: type[Node], params: dict,
                  label: str, issues: list[ConfigIssue]) -> bool:
    accepted = node_parameters(cls)
    if accepted is None:
        return True
    ok = True
    for key in params:
        if key not in accepted:
            ok = False
            hint = did_you_mean(key, list(accepted) + list(NODE_KEYS))
            names = ', '.join(accepted) or 'none'
            issues.append(config.key_issue(entry, key, f'{label} ({cls.__name__}) has no parameter '
                                           f'{key!r}', hint or f'its parameters: {names}'))
    for key, p in accepted.items():
        if p.default is p.empty and key not in params:
            ok = False
            issues.append(config.issue(entry.line, f'{label} ({cls.__name__}) needs parameter '
                                       f'{key!r}', f'add: {key}: ...'))
    return ok


def _parse_ports(config: GraphConfig, entry: LineDict, spec: NodeSpec, label: str,
                 issues: list[ConfigIssue]) -> None:
    cls = type(spec.node)
    inputs, outputs = entry.get('inputs') or {}, entry.get('outputs') or {}
    for key, value in (('inputs', inputs), ('outputs', outputs)):
        if not isinstance(value, dict):
            issues.append(config.key_issue(entry, key, f'{label}: {key} must map ports to '
                                           f'buffers, but got {value!r}',
                                           f'{key}: {{frame: frames}}'))
            return
    for port, target in inputs.items():
        where = inputs if isinstance(inputs, LineDict) else entry
        if port not in cls.inputs:
            issues.append(config.key_issue(where, port, f'{label} ({cls.__name__}) has no input '
                                           f'port {port!r}', did_you_mean(port, cls.inputs)
                                           or f'its inputs: {", ".join(cls.inputs) or "none"}'))
            continue
        buf, kind = target, cls.inputs[port]
        if isinstance(target, dict):
            buf, kind = target.get('buffer'), target.get('kind', kind)
        if kind not in INPUT_KINDS:
            issues.append(config.key_issue(where, port, f'{label}: input kind must be one of '
                                           f'{", ".join(INPUT_KINDS)}, but got {kind!r}'))
        elif (kind == 'trigger') != (cls.inputs[port] == 'trigger'):
            issues.append(config.key_issue(where, port, f'{label}: port {port!r} cannot change '
                                           f'between trigger and {kind}',
                                           'use latest, sync or previous'))
        spec.inputs[port] = (str(buf), kind)
    for port, target in outputs.items():
        if port not in cls.outputs:
            issues.append(config.key_issue(outputs if isinstance(outputs, LineDict) else entry,
                                           port, f'{label} ({cls.__name__}) has no output port '
                                           f'{port!r}', did_you_mean(port, cls.outputs)
                                           or f'its outputs: {", ".join(cls.outputs) or "none"}'))
            continue
        spec.outputs[port] = [str(b) for b in (target if isinstance(target, list) else [target])]
    for port, kind in cls.inputs.items():
        if kind == 'trigger' and port not in spec.inputs:
            issues.append(config.issue(entry.line, f'{label}: trigger input {port!r} is not '
                                       'connected', f'add: inputs: {{{port}: BUFFER}}'))


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
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            issues.append(config.key_issue(declared, name, f'buffer {name!r}: size must be an '
                                           f'integer >= 1, but got {size!r}',
                                           'for example: size: 1'))
        elif policy not in POLICIES:
            issues.append(config.key_issue(declared, name, f'buffer {name!r}: policy must be one '
                                           f'of {", ".join(POLICIES)}, but got {policy!r}',
                                           did_you_mean(policy, POLICIES) or ''))
        else:
            result[name] = BufferSpec(name, size, policy)
    return result


def _check_nodes(config: GraphConfig, specs: dict[str, NodeSpec],
                 issues: list[ConfigIssue]) -> None:
    """Run every node's cheap pre-flight check (files, cameras, weights) on this thread.

    Missing weights are raised as one WeightsUnavailable (listing all of them in ``missing``) so
    that a caller can fall back to another graph; every other problem is a config issue.
    """
    lines = {e.get('name'): e.line for e in config.data.get('nodes') or []
             if isinstance(e, LineDict)}
    missing: list[WeightsUnavailable] = []
    for spec in specs.values():
        try:
            spec.node.check()
        except WeightsUnavailable as exc:
            missing.append(exc)
        except ConfigError as exc:
            issues.extend(exc.issues)
        except (ValueError, OSError, WebcamAppError) as exc:
            issues.append(config.issue(lines.get(spec.name), f'node {spec.name!r} '
                                       f'({type(spec.node).__name__}): {exc}'))
    if missing and not issues:
        missing[0].missing = missing
        raise missing[0]
