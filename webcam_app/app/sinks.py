"""Graph edits the command line makes: attach a sink of a role to the video the display shows.

Sinks are found by their declared ``role`` (``'video_sink'`` for --out, ``'predictions'`` for
--pred-out), never by class name. A sink of those roles also says which paths it takes:
``accepts(path)``, and ``forms``, the same in words for the error message. Plugins can declare
the same and are found the same way.
"""
from __future__ import annotations

from ..config import GraphConfig, LineDict
from ..errors import ConfigError, ConfigIssue
from ..node import Node, registry

__all__ = ['attach_sink', 'sink_type']

_NODE_KEYS = ('name', 'type', 'inputs', 'outputs', 'enable_key', 'on_error')
_FOLDER_EXAMPLE = {'video_sink': 'out/', 'predictions': 'preds/'}


def _types_with_role(role: str) -> list[type[Node]]:
    """The node types that play ``role``, built-in ones first."""
    types = [registry.get(name) for name in registry.names()]
    return sorted((t for t in types if t.role == role),
                  key=lambda t: (not t.__module__.startswith('nodes.'), t.__name__))


def sink_type(role: str, path: str, flag: str = '--out') -> type[Node]:
    """The sink type of ``role`` that writes ``path`` (a built-in one when several do); raises
    one ConfigError naming the forms of path that the sinks of ``role`` take."""
    sinks = [t for t in _types_with_role(role) if callable(getattr(t, 'accepts', None))]
    if not sinks:
        raise ConfigError(ConfigIssue(flag, f'no node type has the role {role!r}',
                                      'install the built-in nodes (pip install -e .)'))
    for cls in sinks:
        if cls.accepts(path):
            return cls
    forms = ', or '.join(str(getattr(cls, 'forms', cls.__name__)) for cls in sinks)
    raise ConfigError(ConfigIssue(f'{flag} {path}', f'not a form {flag} takes; it takes {forms}',
                                  f'end a folder with / ({flag} '
                                  f'{_FOLDER_EXAMPLE.get(role, "out/")}), or use one of those '
                                  'file extensions'))


def _role(node: dict) -> str | None:
    cls = registry.get(str(node.get('type')))
    return cls.role if cls is not None else None


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
    existing = [n for n in config.data.get('nodes') or [] if isinstance(n, dict)
                and _role(n) == role]
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
