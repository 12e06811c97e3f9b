"""Graph edits the command line makes: attach a sink, found by its role, to the shown video.

A sink node type declares ``role`` (``'vis_out'`` for --out, ``'pred_out'`` for --pred-out),
``accepts(path)`` (whether it writes that form of path) and ``forms`` (those forms, in words).
Plugins can declare the same and are found the same way.
"""
from __future__ import annotations

from ..config import GraphConfig, LineDict
from ..errors import ConfigError, ConfigIssue
from ..node import Node, registry

__all__ = ['attach_sink', 'sink_type']

_NODE_KEYS = ('name', 'type', 'inputs', 'outputs', 'enable_key', 'on_error')
_FOLDER_EXAMPLE = {'vis_out': 'out/', 'pred_out': 'preds/'}


def _sinks_of(role: str) -> list[type[Node]]:
    return [cls for cls in map(registry.get, registry.names())
            if getattr(cls, 'role', None) == role and callable(getattr(cls, 'accepts', None))]


def sink_type(role: str, path: str, flag: str) -> type[Node]:
    """The sink type of ``role`` that writes ``path``; raises one ConfigError naming the forms."""
    sinks = _sinks_of(role)
    for cls in sinks:
        if cls.accepts(path):
            return cls
    forms = ', or '.join(str(getattr(cls, 'forms', cls.__name__)) for cls in sinks) or 'none'
    raise ConfigError(ConfigIssue(f'{flag} {path}', f'not a form {flag} takes; it takes {forms}',
                                  f'end a folder with / ({flag} '
                                  f'{_FOLDER_EXAMPLE.get(role, "out/")}), or use one of those '
                                  'file extensions'))


def _nodes_of_type(config: GraphConfig, type_names: set[str]) -> list[LineDict]:
    return [n for n in config.data.get('nodes') or []
            if isinstance(n, dict) and n.get('type') in type_names]


def _role(node: dict) -> str | None:
    return getattr(registry.get(str(node.get('type'))), 'role', None)


def _frame_input(node: dict) -> str | None:
    target = node.get('inputs').get('frame') if isinstance(node.get('inputs'), dict) else None
    return target.get('buffer') if isinstance(target, dict) else target


def _writer_of(config: GraphConfig, buffer: str) -> dict | None:
    for node in config.data.get('nodes') or []:
        if isinstance(node, dict) and isinstance(node.get('outputs'), dict) and any(
                buffer == t or (isinstance(t, list) and buffer in t)
                for t in node['outputs'].values()):
            return node
    return None


def _shown_buffer(config: GraphConfig) -> str | None:
    """The buffer the Display reads, traced back past window-only overlays (monitor, help):
    outputs get the annotated picture without them."""
    displays = [n for n in config.data.get('nodes') or []
                if isinstance(n, dict) and _role(n) == 'display']
    shown = _frame_input(displays[0]) if displays else None
    writer = _writer_of(config, shown) if shown is not None else None
    passed: list[dict] = []     # a cycle of overlays would be reported by the wiring checks
    while (writer is not None and _role(writer) == 'window_overlay' and _frame_input(writer)
           and not any(writer is p for p in passed)):
        passed.append(writer)
        shown = _frame_input(writer)
        writer = _writer_of(config, shown)
    return shown


def attach_sink(config: GraphConfig, role: str, given: str, flag: str,
                path: str | None = None) -> None:
    """Make the graph write ``path`` (default: ``given``, as the user gave it after ``flag``)
    with the sink of ``role`` that takes that form of path.

    A graph's own sinks of that role are pointed at ``path`` (and change type if the form needs
    another one). A graph without one gets one that reads, through a buffer of its own, what
    the Display shows, less the window-only overlays.
    """
    cls = sink_type(role, given, flag)
    path = given if path is None else path
    existing = _nodes_of_type(config, {c.__name__ for c in _sinks_of(role)})
    if existing:
        for node in existing:
            if node['type'] != cls.__name__:     # e.g. a Recorder becomes an ImageWriter
                for key in [k for k in node if k not in _NODE_KEYS]:
                    del node[key]
                node['type'] = cls.__name__
            node['path'] = path
        return
    type_name = cls.__name__
    shown = _shown_buffer(config)
    if shown is None:
        raise ConfigError(ConfigIssue(config.where(), f'cannot add a {type_name} for {flag}: '
                                      'the graph has no Display node whose input to copy',
                                      f'add a {type_name} node to the graph yourself'))
    name = f'{type_name.lower()}_in'
    for node in config.data['nodes']:
        outputs = node.get('outputs') if isinstance(node, dict) else None
        for port, target in (outputs or {}).items():
            targets = target if isinstance(target, list) else [target]
            if shown in targets:
                outputs[port] = targets + [name]
    entry = LineDict({'name': type_name.lower(), 'type': type_name, 'path': path,
                      'inputs': {'frame': name}})
    entry.line = getattr(_writer_of(config, shown), 'line', 0)
    config.data['nodes'].append(entry)
