"""Graph edits the command line makes: attach a sink of a role (video, predictions, web view) to
the video the display shows. Sinks are found by their declared ``role``, never by class name.

A file-writing sink (roles ``'video_sink'`` for --out, ``'predictions'`` for --pred-out) also
says which paths it takes: ``accepts(path)``, and ``forms``, the same in words for the error
message. Plugins can declare the same and are found the same way.
"""
from __future__ import annotations

import argparse
from typing import Any

from ..config import GraphConfig, LineDict
from ..errors import ConfigError, ConfigIssue
from ..node import Node, registry
from ..roles import Role

__all__ = ['attach_sink', 'serve_address', 'sink_type', 'type_with_role', 'types_with_role']

_NODE_KEYS = ('name', 'type', 'inputs', 'outputs', 'enable_key', 'on_error')
_FOLDER_EXAMPLE = {Role.VIDEO_SINK: 'out/', Role.PREDICTIONS: 'preds/'}


def types_with_role(role: Role) -> list[type[Node]]:
    """The node types that play ``role``, built-in ones first."""
    types = [registry.get(name) for name in registry.names()]
    return sorted((t for t in types if t.role == role),
                  key=lambda t: (not t.__module__.startswith('nodes.'), t.__name__))


def _no_type(role: Role, flag: str) -> ConfigError:
    return ConfigError(ConfigIssue(flag, f'no node type has the role {str(role)!r}',
                                   'install the built-in nodes (pip install -e .)'))


def type_with_role(role: Role) -> type[Node]:
    """The node type that plays ``role``: a built-in one when several do."""
    found = types_with_role(role)
    if not found:
        raise _no_type(role, '--out/--pred-out/--serve')
    return found[0]


def sink_type(role: Role, path: str, flag: str = '--out') -> type[Node]:
    """The sink type of ``role`` that writes ``path`` (a built-in one when several do); raises
    one ConfigError naming the forms of path that the sinks of ``role`` take."""
    sinks = [t for t in types_with_role(role) if callable(getattr(t, 'accepts', None))]
    if not sinks:
        raise _no_type(role, flag)
    for cls in sinks:
        if cls.accepts(path):
            return cls
    forms = ', or '.join(str(getattr(cls, 'forms', cls.__name__)) for cls in sinks)
    raise ConfigError(ConfigIssue(f'{flag} {path}', f'not a form {flag} takes; it takes {forms}',
                                  f'end a folder with / ({flag} '
                                  f'{_FOLDER_EXAMPLE.get(role, "out/")}), or use one of those '
                                  'file extensions'))


def _role(node: object) -> Role | None:
    cls = registry.get(str(node.get('type'))) if isinstance(node, dict) else None
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
    displays = [n for n in config.data.get('nodes') or [] if _role(n) == Role.DISPLAY]
    shown = _frame_input(displays[0]) if displays else None
    writer = _writer_of(config, shown) if shown is not None else None
    passed: list[dict] = []     # a cycle of overlays would be reported by the wiring checks
    while (writer is not None and _role(writer) == Role.WINDOW_OVERLAY and _frame_input(writer)
           and not any(writer is p for p in passed)):
        passed.append(writer)
        shown = _frame_input(writer)
        writer = _writer_of(config, shown)
    return shown


def attach_sink(config: GraphConfig, role: Role, params: dict[str, Any], add: bool = True,
                sink: type[Node] | None = None, flag: str = '') -> bool:
    """Set ``params`` on the graph's sinks of ``role``, or (``add``) add one that reads, through
    a buffer of its own, what the display shows, less the window-only overlays.

    ``sink`` (e.g. from :func:`sink_type`) is the type that takes the form of path given: the
    graph's own sinks of another type are retyped to it (a Recorder becomes an ImageWriter).
    ``flag`` names the option in the error. Returns whether the graph had such a sink already.
    """
    existing = [n for n in config.data.get('nodes') or [] if _role(n) == role]
    for node in existing:
        if sink is not None and node['type'] != sink.__name__:
            for key in [k for k in node if k not in _NODE_KEYS]:
                del node[key]
            node['type'] = sink.__name__
        node.update(params)
    if existing or not add:
        return bool(existing)
    type_name = (sink or type_with_role(role)).__name__
    shown = _shown_buffer(config)
    if shown is None:
        raise ConfigError(ConfigIssue(config.where(), f'cannot add a {type_name}'
                                      f'{" for " + flag if flag else ""}: the graph has no '
                                      'display node whose input to copy',
                                      f'add a {type_name} node to the graph yourself'))
    name = f'{type_name.lower()}_in'
    for node in config.data['nodes']:
        outputs = node.get('outputs') if isinstance(node, dict) else None
        for port, target in (outputs or {}).items():
            targets = target if isinstance(target, list) else [target]
            if shown in targets:
                outputs[port] = targets + [name]
    entry = LineDict({'name': type_name.lower(), 'type': type_name, **params,
                      'inputs': {'frame': name}})
    entry.line = getattr(_writer_of(config, shown), 'line', 0)
    config.data['nodes'].append(entry)
    return False


def serve_address(value: str) -> tuple[str, int]:
    """``PORT``, ``HOST:PORT`` or ``[IPv6]:PORT`` as (host, port); the host defaults to loopback."""
    host, sep, port = value.rpartition(':')
    if not port.isdigit() or int(port) > 65535 or (sep and not host):
        raise argparse.ArgumentTypeError(
            f'must be PORT or HOST:PORT with a port from 0 to 65535, such as 8080 or '
            f'0.0.0.0:8080, but got {value!r}')
    return (host.strip('[]') if sep else '127.0.0.1'), int(port)
