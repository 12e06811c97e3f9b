"""``--list-nodes``: every node type, its ports and its parameters."""
from __future__ import annotations

import sys
from pathlib import Path

from ..config import load_config
from ..errors import ConfigError, ExitCode
from ..node import registry
from ..params import node_params
from ..plugins import load_plugin

__all__ = ['list_nodes', 'print_node_list']


def list_nodes() -> str:
    """Every node type: its docstring's first line, ports, and parameters with types and
    defaults."""
    lines = []
    for name in registry.names():
        cls = registry.get(name)
        doc = (cls.__doc__ or '').strip().splitlines()
        lines.append(f'{name} ({cls.__module__})' + (f': {doc[0]}' if doc else ''))
        ins = ', '.join(f'{p} ({k})' for p, k in cls.inputs.items()) or 'none (source)'
        lines.append(f'    inputs: {ins}; outputs: {", ".join(cls.outputs) or "none (sink)"}')
        params = node_params(cls)
        if params is None:
            lines.append('    parameters: any')
        lines += [f'    {param}' for param in (params or {}).values()]
    return '\n'.join(lines)


def print_node_list(config: str | Path | None = None) -> int:
    """Print the node types (with ``config``: and the plugins that graph names); the exit code."""
    if config:
        try:
            loaded = load_config(config)
            for entry in loaded.data.get('plugins') or []:
                load_plugin(str(entry), loaded.base_dir)
        except (ConfigError, OSError, ImportError) as exc:
            sys.stderr.write(f'error: {exc}\n')
            return ExitCode.CONFIG
    print(list_nodes())
    return ExitCode.OK
