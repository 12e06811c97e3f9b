"""Graph edits the command line makes: attach a recorder or prediction writer to the shown video."""
from __future__ import annotations

from typing import Any

from ..config import GraphConfig, LineDict
from ..errors import ConfigError, ConfigIssue

__all__ = ['attach_sink']


def _nodes_of_type(config: GraphConfig, type_name: str) -> list[LineDict]:
    return [n for n in config.data.get('nodes') or []
            if isinstance(n, dict) and n.get('type') == type_name]


def attach_sink(config: GraphConfig, type_name: str, params: dict[str, Any],
                add: bool = True) -> bool:
    """Set ``params`` on the graph's ``type_name`` nodes, or (``add``) add one beside the Display.

    The new node reads what the Display reads, through a buffer of its own. Returns whether
    the graph had such a node already.
    """
    existing = _nodes_of_type(config, type_name)
    for node in existing:
        node.update(params)
    if existing or not add:
        return bool(existing)
    displays = _nodes_of_type(config, 'Display')
    if not displays or not isinstance(displays[0].get('inputs'), dict):
        raise ConfigError(ConfigIssue(config.where(), f'cannot add a {type_name}: the graph has '
                                      'no Display node whose input to copy',
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
