"""Graph edits for the Python API: its source becomes a FrameFeed, its sinks FrameCollectors."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Mapping

from ..builder import build_graph, node_parameters
from ..config import GraphConfig, LineDict, did_you_mean, load_config
from ..errors import ConfigError, ConfigIssue, WeightsUnavailable
from ..graph import Graph
from ..messages import Frame
from ..node import Node, registry
from ..roles import Role
from ..plugins import load_plugin
from .sinks import type_with_role

__all__ = ['Embedding', 'apply_keyword_overrides', 'build_embedded', 'collectors_below', 'embed']

log = logging.getLogger(__name__)

#: The roles of the node types that take the place of a graph's source and of its sinks.
FEED_ROLE, COLLECTOR_ROLE = Role.PYTHON_FEED, Role.PYTHON_COLLECTOR


class Embedding:
    """Which nodes of an embedded graph are the feed and the collectors (in graph order)."""

    def __init__(self, feed: str, collectors: list[str]) -> None:
        self.feed, self.collectors = feed, collectors


def _entries(config: GraphConfig) -> list[LineDict]:
    return [n for n in config.data.get('nodes') or [] if isinstance(n, LineDict)]


def _node_class(entry: LineDict) -> type[Node] | None:
    return registry.get(str(entry.get('type'))) if entry.get('type') else None


def _load_plugins(config: GraphConfig) -> None:
    """Import the graph's plugins, so its node types are known. A plugin that fails is reported
    later, with its file and line, by the graph builder."""
    plugins = config.data.get('plugins')
    for entry in plugins if isinstance(plugins, list) else ():
        try:
            load_plugin(str(entry), config.base_dir)
        except (FileNotFoundError, ImportError):
            pass


def _replace(entry: LineDict, type_name: str, params: dict[str, Any]) -> LineDict:
    """The entry as a node of another type: same name, ports and line; only ``params``."""
    new = LineDict({'name': entry.get('name'), 'type': type_name, **params,
                    **{k: entry[k] for k in ('inputs', 'outputs') if k in entry}})
    new.line, new.key_lines = entry.line, dict(getattr(entry, 'key_lines', {}))
    return new


def embed(config: GraphConfig, on_frame: Callable[[str, Frame], None]
          ) -> tuple[Embedding | None, list[ConfigIssue]]:
    """Replace the graph's one source by a FrameFeed and every sink by a FrameCollector.

    A source is a node type with no inputs, a sink one with no outputs. Returns the embedding
    and the problems found (no source, two sources, no sink), each with its file and line.
    """
    _load_plugins(config)
    nodes = config.data.get('nodes')
    entries = _entries(config)
    sources = [e for e in entries if (cls := _node_class(e)) is not None and cls.is_source()]
    sinks = [e for e in entries if (cls := _node_class(e)) is not None and not cls.outputs]
    issues = []
    if not sources:
        issues.append(config.issue(config.data.line_of('nodes') if entries else None,
                                   'the graph has no source node for the Python API to replace',
                                   'add a source, e.g. a VideoSource, whose outputs feed the '
                                   'graph'))
    for extra in sources[1:]:
        issues.append(config.issue(extra.line, f"the Python API feeds one source, but node "
                                   f"{extra.get('name')!r} is a second one "
                                   f"(the first is {sources[0].get('name')!r})",
                                   'run this graph with the command line, or remove a source'))
    if not sinks:
        issues.append(config.issue(config.data.line_of('nodes') if entries else None,
                                   'the graph has no sink (a node with no outputs) whose input '
                                   'the Python API could collect', 'end the graph with a '
                                   'Display or another sink'))
    if issues or not isinstance(nodes, list):
        return None, issues
    feed, collector = type_with_role(FEED_ROLE).__name__, type_with_role(COLLECTOR_ROLE).__name__
    for i, entry in enumerate(nodes):
        if entry is sources[0]:
            nodes[i] = _replace(entry, feed, {})   # the pipeline sizes its inbox
        elif any(entry is s for s in sinks):
            nodes[i] = _replace(entry, collector, {'on_frame': on_frame})
    return Embedding(str(sources[0].get('name')), [str(s.get('name')) for s in sinks]), []


def collectors_below(graph: Graph, collectors: list[str]) -> dict[tuple[str, str], set[str]]:
    """For each (node, output port), the collectors its frames reach: up each collector's
    chain of trigger inputs, since a side input never moves a frame on by itself."""
    topology = graph.topology
    below: dict[tuple[str, str], set[str]] = {}
    for collector in collectors:
        trigger = next((b for b, kind in graph.nodes[collector].inputs.values()
                        if kind == 'trigger'), None)
        for buffer in topology.trigger_chain(trigger) if trigger else ():
            for writer in topology.writers.get(buffer, ()):
                for port, buffers in graph.nodes[writer].outputs.items():
                    if buffer in buffers:
                        below.setdefault((writer, port), set()).add(collector)
    return below


def apply_keyword_overrides(config: GraphConfig, overrides: Mapping[str, Any],
                            strict: bool = True) -> tuple[dict[str, Any], list[ConfigIssue]]:
    """Apply ``open()``'s keyword overrides to the config.

    ``node={'param': value}`` sets a parameter of one node; ``param=value`` (e.g. ``device``)
    goes to every node whose constructor takes it, and is returned for the graph builder. A key
    that names no node and no parameter is an issue, unless ``strict`` is False (a fallback
    graph, which may lack the nodes the overrides were written for).
    """
    entries = {str(e.get('name')): e for e in _entries(config)}
    accepted: set[str] = set()
    for entry in entries.values():
        cls = _node_class(entry)
        params = node_parameters(cls) if cls is not None else {}
        accepted.update(params or ())
    set_all, issues = {}, []
    for key, value in overrides.items():
        where = f'open({key}=...)'
        if key in entries:
            if not isinstance(value, Mapping):
                issues.append(ConfigIssue(where, f'{key!r} names a node, so its value must map '
                                          f'parameters to values, but got {value!r}',
                                          f"for example: {key}={{'param': value}}"))
                continue
            node = entries[key]
            node.update(value)
            node.origins = {**getattr(node, 'origins', {}), **{p: where for p in value}}
        elif key in accepted:
            set_all[key] = value
        elif strict:
            hint = did_you_mean(key, sorted(accepted | set(entries)))
            issues.append(ConfigIssue(where, f'no node is called {key!r} and none takes a '
                                      f'parameter {key!r}', hint or
                                      f'nodes: {", ".join(entries)}; or a parameter such as '
                                      'device'))
    return set_all, issues


def build_embedded(source: str | Path | dict, on_frame: Callable[[str, Frame], None],
                   window: int | None, fallback: bool, overrides: Mapping[str, Any],
                   strict: bool = True) -> tuple[Graph, Embedding, int]:
    """Load the graph, embed it (see :func:`embed`), apply ``open()``'s overrides, build and
    check it (its offline fallback, if allowed, when weights are missing); with the window
    (how many frames ``stream`` keeps in the graph)."""
    config = load_config(source)
    set_all, issues = apply_keyword_overrides(config, overrides, strict)
    entries = config.data.get('nodes')
    window = window or max(4, 2 * len(entries if isinstance(entries, list) else ()))
    embedding, more = embed(config, on_frame)
    config.issues.extend(issues + more)
    graph = build_graph(config, mode='replay', set_all=set_all, check=False)
    try:
        graph.check_nodes()
    except WeightsUnavailable as exc:
        if not fallback or graph.fallback is None:
            raise
        log.warning('model weights are unavailable, so the offline fallback graph %s runs '
                    'instead (fallback=False fails instead):\n%s', graph.fallback,
                    '\n'.join(str(e) for e in exc.missing))
        # overrides of nodes or parameters that the fallback graph lacks do not apply
        return build_embedded(graph.fallback, on_frame, window, False, overrides, strict=False)
    if embedding is None:    # build_graph reports the config's issues; this is a guard
        raise ConfigError(more)
    return graph, embedding, window
