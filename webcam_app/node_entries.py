"""Turn the YAML entries of a graph's ``nodes:`` list into wired NodeSpecs, checking each value."""
from __future__ import annotations

from typing import Any

from .config import GraphConfig, LineDict, did_you_mean
from .errors import ConfigIssue, WebcamAppError, split_fix
from .graph import NodeSpec
from .node import INPUT_KINDS, Node, registry
from .params import Param, convert_params, describe, node_params
from .plugins import not_a_node

__all__ = ['NODE_KEYS', 'build_nodes', 'graph_defaults']

NODE_KEYS = ('name', 'type', 'inputs', 'outputs', 'enable_key', 'on_error')


def graph_defaults(config: GraphConfig, issues: list[ConfigIssue]) -> dict[str, Any]:
    """The graph's ``defaults:``: parameters for every node that takes them and sets none."""
    defaults = config.data.get('defaults') or {}
    if not isinstance(defaults, dict):
        issues.append(config.key_issue(config.data, 'defaults', 'defaults must map parameters '
                                       f'to values, but got {defaults!r}',
                                       'for example: defaults: {backend: onnxruntime}'))
        return {}
    classes = [registry.get(str(e.get('type'))) for e in config.data.get('nodes') or []
               if isinstance(e, dict)]
    declared = [node_params(cls) for cls in classes if cls is not None]
    takers = {key for params in declared if params for key in params}
    for key in defaults:
        if key not in takers and None not in declared:
            issues.append(config.key_issue(defaults, key, f'defaults: no node of this graph has '
                                           f'a parameter {key!r}', 'remove it, or fix its name'))
    return dict(defaults)


def build_nodes(config: GraphConfig, issues: list[ConfigIssue], set_all: dict[str, Any],
                defaults: dict[str, Any] | None = None) -> dict[str, NodeSpec]:
    """A NodeSpec per valid entry, by name; every problem found is added to ``issues``."""
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
        spec = _build_node(config, entry, issues, set_all, defaults or {})
        if spec is None:
            continue
        if spec.name in specs:
            issues.append(config.key_issue(entry, 'name', f'duplicate node name {spec.name!r}',
                                           'give every node its own name'))
            continue
        specs[spec.name] = spec
    return specs


def _build_node(config: GraphConfig, entry: LineDict, issues: list[ConfigIssue],
                set_all: dict[str, Any], defaults: dict[str, Any]) -> NodeSpec | None:
    name, type_name = entry.get('name'), entry.get('type')
    label = f'node {name!r}' if name else 'node'
    if not name or not isinstance(name, str):
        issues.append(config.issue(entry.line, f'{label} has no name', 'add: name: my_node'))
        return None
    cls = registry.get(str(type_name)) if type_name else None
    plugin = not_a_node(str(type_name), Node) if type_name and cls is None else None
    if plugin:
        issues.append(config.key_issue(entry, 'type', f'{label}: {type_name!r} in {plugin} is '
                                       'not a Node: it does not subclass webcam_app.Node',
                                       f'write: class {type_name}(Node): ... (with '
                                       'from webcam_app import Node)'))
        return None
    if cls is None:
        what = f'unknown node type {type_name!r}' if type_name else 'no type'
        hint = did_you_mean(type_name, registry.names()) if type_name else ''
        issues.append(config.key_issue(entry, 'type' if type_name else 'name', f'{label}: {what}',
                                       hint or 'run with --list-nodes to see every node type'))
        return None
    declared = node_params(cls)
    params = {k: v for k, v in defaults.items() if k in (declared or {})}
    params.update({k: v for k, v in entry.items() if k not in NODE_KEYS})
    params.update({k: v for k, v in set_all.items() if k in (declared or {})})
    built = declared is None or _check_params(config, entry, cls, params, declared, issues)
    if not built:
        node = cls.__new__(cls)   # never runs (issues were found): it only carries the wiring
    else:
        try:
            node = cls(**params)
        except (ValueError, TypeError, WebcamAppError) as exc:
            message, fix = split_fix(exc)
            issues.append(config.issue(entry.line, f'{label} ({cls.__name__}): {message}', fix))
            return None
    node.name = name
    spec = NodeSpec(node, enable_key=entry.get('enable_key'), built=built,
                    on_error=entry.get('on_error', 'stop'), where=config.where(entry.line))
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
                  declared: dict[str, Param], issues: list[ConfigIssue]) -> bool:
    """Names against the constructor, then each value against its declared type (in place)."""
    ok, name = True, entry.get('name')
    for key in params:
        if key not in declared:
            ok = False
            hint = did_you_mean(key, list(declared) + list(NODE_KEYS))
            names = ', '.join(declared) or 'none'
            issues.append(config.key_issue(entry, key, f'node {name!r} ({cls.__name__}) has no '
                                           f'parameter {key!r}',
                                           hint or f'its parameters: {names}'))
    for key, param in declared.items():
        if param.required and key not in params:
            ok = False
            issues.append(config.issue(entry.line, f'node {name!r} ({cls.__name__}) needs '
                                       f'parameter {key!r} ({describe(param.hint)})',
                                       f'add: {key}: ...'))
    for key, exc in convert_params(declared, params):
        ok = False
        default = declared[key].default
        example = '' if declared[key].required else f'the default is {key}: {default!r}'
        issues.append(config.key_issue(entry, key, f'{name}.{key} {exc}', example))
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
