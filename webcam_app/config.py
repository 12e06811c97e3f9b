"""Read graph configs from YAML with line numbers, and apply ``--set`` style overrides."""
from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, ConfigIssue

__all__ = ['GraphConfig', 'LineDict', 'apply_overrides', 'did_you_mean', 'load_config']


class LineDict(dict):
    """A dict from YAML that remembers the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict = {}
    origins: dict = {}     # key -> '--set ...' for values that came from the command line

    def line_of(self, key: str) -> int:
        return getattr(self, 'key_lines', {}).get(key, self.line)


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        mapping = LineDict(super().construct_mapping(node, deep=deep))
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {k.value: k.start_mark.line + 1 for k, _ in node.value
                             if isinstance(k, yaml.ScalarNode)}
        return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                            _LineLoader.construct_mapping)


def did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=3, cutoff=0.5)
    return f"did you mean {' or '.join(repr(c) for c in close)}?" if close else ''


class GraphConfig:
    """A parsed graph config: the YAML mapping plus where it came from."""

    def __init__(self, data: LineDict, path: Path | None) -> None:
        self.data, self.path = data, path
        self.issues: list[ConfigIssue] = []   # found while editing; reported with the rest

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def where(self, line: int | None = None) -> str:
        name = str(self.path) if self.path else '<graph>'
        return f'{name}:{line}' if line else name

    def issue(self, line: int | None, message: str, fix: str = '') -> ConfigIssue:
        return ConfigIssue(self.where(line), message, fix)

    def key_issue(self, mapping: dict, key: str, message: str, fix: str = '') -> ConfigIssue:
        """An issue about ``mapping[key]``, located where that key was set (file line or --set)."""
        origin = getattr(mapping, 'origins', {}).get(key)
        if origin:
            return ConfigIssue(origin, message, fix)
        line = mapping.line_of(key) if isinstance(mapping, LineDict) else None
        return self.issue(line, message, fix)


def _to_line_dict(value: Any) -> Any:
    if isinstance(value, dict) and not isinstance(value, LineDict):
        out = LineDict({k: _to_line_dict(v) for k, v in value.items()})
        out.key_lines = {}
        return out
    if isinstance(value, list):
        return [_to_line_dict(v) for v in value]
    return value


def load_config(source: str | Path | dict) -> GraphConfig:
    """Parse a graph config from a YAML path or a dict. Raises ConfigError with file:line."""
    if isinstance(source, dict):
        return GraphConfig(_to_line_dict(copy.deepcopy(source)), None)
    path = Path(source)
    if not path.is_file():
        raise ConfigError(ConfigIssue(str(path), 'graph config not found',
                                      'check the path; shipped graphs are in graphs/'))
    try:
        data = yaml.load(path.read_text(encoding='utf-8'), Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise ConfigError(ConfigIssue(f'{path}:{line}', f'YAML syntax error: {exc.problem}',
                                      'fix the indentation or quoting on that line')) from None
    except yaml.YAMLError as exc:
        raise ConfigError(ConfigIssue(str(path), f'YAML error: {exc}')) from None
    if not isinstance(data, dict):
        raise ConfigError(ConfigIssue(f'{path}:1', 'a graph config must be a mapping with '
                                      "a 'nodes:' list", 'see graphs/preview.yaml for an example'))
    return GraphConfig(data, path)


def apply_overrides(config: GraphConfig, overrides: list[str]) -> None:
    """Apply ``node.param=value`` overrides in place; values are typed by YAML rules.

    Problems are added to ``config.issues``, so they are reported with the graph's own.
    """
    nodes = {n.get('name'): n for n in config.data.get('nodes') or [] if isinstance(n, dict)}
    issues = config.issues
    for text in overrides:
        where = f'--set {text}'
        target, sep, raw = text.partition('=')
        node_name, dot, param = target.strip().partition('.')
        if not sep or not dot or not param:
            issues.append(ConfigIssue(where, 'an override must look like node.param=value',
                                      'for example: --set pose.bbox_thr=0.5'))
            continue
        if node_name not in nodes:
            hint = did_you_mean(node_name, nodes)
            issues.append(ConfigIssue(where, f'unknown node {node_name!r}',
                                      hint or f'nodes in this graph: {", ".join(map(str, nodes))}'))
            continue
        try:
            value = yaml.safe_load(raw) if raw.strip() else ''
        except yaml.YAMLError as exc:
            problem = getattr(exc, 'problem', None) or str(exc).splitlines()[0]
            issues.append(ConfigIssue(where, f'the value {raw!r} is not valid YAML ({problem})',
                                      f"quote it to mean text: --set \"{target.strip()}='{raw}'\""
                                      ', or fix the brackets or quotes'))
            continue
        node = nodes[node_name]
        node[param] = _to_line_dict(value)
        node.origins = {**getattr(node, 'origins', {}), param: where}
