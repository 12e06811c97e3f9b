"""What a graph hands its offline fallback, which is another YAML: the settings given to the
graph itself go with it, as if given on the command line.

- A node of the fallback with the same name and type as one of the graph's (the source, the
  visualizer, the display) gets that node's parameters (``--set`` overrides that the user's own
  ``--set`` follow).
- The graph's video and predictions sinks become ``--out`` and ``--pred-out`` where those are
  not given, so the fallback writes the same files.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ..config import LineDict, load_config
from ..errors import ConfigError
from ..graph import Graph
from ..node_entries import NODE_KEYS

__all__ = ['fallback_args']

_SINK_FLAGS = {'video_sink': 'out', 'predictions': 'pred_out'}


def _shared_nodes(graph: Graph, fallback: Path) -> list[dict]:
    """The graph's node entries whose name and type the fallback's nodes have too."""
    try:
        theirs = load_config(fallback).data.get('nodes') or []
    except ConfigError:
        return []          # reported when the fallback itself is loaded
    kinds = {(n.get('name'), n.get('type')) for n in theirs if isinstance(n, dict)}
    ours = (graph.source or {}).get('nodes') or []
    return [n for n in ours if isinstance(n, dict) and (n.get('name'), n.get('type')) in kinds]


def fallback_args(graph: Graph, fallback: Path, args: argparse.Namespace) -> argparse.Namespace:
    """``args`` for running ``fallback`` in ``graph``'s place."""
    changes: dict = {}
    for spec in graph.nodes.values():
        dest, path = _SINK_FLAGS.get(str(spec.node.role)), getattr(spec.node, 'path', None)
        if dest and isinstance(path, str) and not getattr(args, dest, None):
            changes[dest] = os.path.join(spec.node.context.graph_dir, os.path.expanduser(path))
    carried = []
    for entry in _shared_nodes(graph, fallback):
        origins = getattr(entry, 'origins', {}) if isinstance(entry, LineDict) else {}
        carried += [f'{entry["name"]}.{key}={json.dumps(value)}' for key, value in entry.items()
                    if key not in NODE_KEYS and key not in origins]     # --set ones come again
    changes['overrides'] = carried + list(args.overrides)
    return argparse.Namespace(**{**vars(args), **changes})
