"""Graph edits the command line makes: attach a sink of a role (video, predictions, web view) to
the video the display shows. Sinks are found by their declared ``role``, never by class name."""
from __future__ import annotations

from typing import Any

from ..config import GraphConfig, LineDict
from ..errors import ConfigError, ConfigIssue
from ..node import Node, registry

__all__ = ['attach_sink', 'type_with_role']


def _role_of(entry: object) -> str | None:
    cls = registry.get(str(entry.get('type'))) if isinstance(entry, dict) else None
    return cls.role if cls is not None else None


def _nodes_with_role(config: GraphConfig, role: str) -> list[LineDict]:
    return [n for n in config.data.get('nodes') or [] if _role_of(n) == role]


def type_with_role(role: str) -> type[Node]:
    """The node type that plays ``role``: a built-in one when several do."""
    types = [registry.get(name) for name in registry.names()]
    found = sorted((t for t in types if t.role == role),
                   key=lambda t: (not t.__module__.startswith('nodes.'), t.__name__))
    if not found:
        raise ConfigError(ConfigIssue('--out/--pred-out/--serve',
                                      f'no node type has the role {role!r}',
                                      'install the built-in nodes (pip install -e .)'))
    return found[0]


def attach_sink(config: GraphConfig, role: str, params: dict[str, Any],
                add: bool = True) -> bool:
    """Set ``params`` on the graph's sinks of ``role``, or (``add``) add one beside the display.

    The new node reads what the display reads, through a buffer of its own. Returns whether
    the graph had such a sink already.
    """
    existing = _nodes_with_role(config, role)
    for node in existing:
        node.update(params)
    if existing or not add:
        return bool(existing)
    type_name = type_with_role(role).__name__
    displays = _nodes_with_role(config, 'display')
    if not displays or not isinstance(displays[0].get('inputs'), dict):
        raise ConfigError(ConfigIssue(config.where(), f'cannot add a {type_name}: the graph has '
                                      'no display node whose input to copy',
                                      f'add a {type_name} node to the graph yourself'))
    shown = displays[0]['inputs'].get('frame')
    shown = shown.get('buffer') if isinstance(shown, dict) else shown
    name = f'{type_name.lower()}_in'
    for node in config.data['nodes']:
        outputs = node.get('outputs') if isinstance(node, dict) else None
        for port, target in (outputs or {}).items():
            targets = target if isinstance(target, list) else [target]
            if shown in targets:
                outputs[port] = targets + [name]
    entry = LineDict({'name': type_name.lower(), 'type': type_name, **params,
                      'inputs': {'frame': name}})
    entry.line = displays[0].line
    config.data['nodes'].append(entry)
    return False
