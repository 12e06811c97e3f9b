"""What the web view reports: the run's metrics as a JSON dict and in Prometheus text format."""
from __future__ import annotations

import math
from typing import Any, Iterator, Mapping

__all__ = ['build_report', 'hot_keys', 'prometheus_text']

QUIT_KEY = 'q'


def hot_keys(hotkeys: Mapping[str, str]) -> list[dict[str, Any]]:
    """The buttons of the page: each node's ``enable_key`` (the help board's too), then quit."""
    keys = [{'key': key, 'label': f'toggle {node}', 'node': node}
            for key, node in sorted(hotkeys.items())]
    return keys + [{'key': QUIT_KEY, 'label': 'quit', 'node': None}]


def build_report(snapshot: Mapping[str, Any] | None, graph: str, mode: str,
                 hotkeys: Mapping[str, str], web: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON of ``/metrics``: the runtime's snapshot, the end-to-end latency, the hot keys
    and the web view's own counters."""
    snapshot = snapshot or {}
    nodes = snapshot.get('nodes', {})
    sinks = [s for s in nodes.values() if 'latency_ms_p50' in s]
    latency = ({'p50': max(s['latency_ms_p50'] for s in sinks),
                'p95': max(s['latency_ms_p95'] for s in sinks)} if sinks else None)
    return {'graph': graph, 'mode': mode, 'elapsed_s': snapshot.get('elapsed_s', 0.0),
            'latency_ms': latency, 'nodes': nodes, 'buffers': snapshot.get('buffers', {}),
            'keys': hot_keys(hotkeys), 'web': dict(web)}


# (metric, type, help, where in the report, field); one sample per node or buffer
_NODE_METRICS = (
    ('node_fps', 'gauge', 'Frames per second through the node', 'fps', 1),
    ('node_service_seconds_p50', 'gauge', 'Median time in process()', 'service_ms_p50', 1e-3),
    ('node_service_seconds_p95', 'gauge', '95th percentile time in process()',
     'service_ms_p95', 1e-3),
    ('node_frames_in_total', 'counter', 'Messages the node took', 'frames_in', 1),
    ('node_frames_out_total', 'counter', 'Times the node emitted', 'frames_out', 1),
    ('node_dropped_total', 'counter', 'Frames dropped before the node (its input buffers and, '
     'for a source, the flow limiter)', 'dropped', 1),
    ('node_errors_skipped_total', 'counter', 'Frames skipped after an error (on_error: skip)',
     'skipped_errors', 1),
    ('node_enabled', 'gauge', '1 while the node runs, 0 while its hot key has it off',
     'enabled', 1),
)
_BUFFER_METRICS = (
    ('buffer_depth', 'gauge', 'Messages waiting in the buffer', 'depth', 1),
    ('buffer_dropped_total', 'counter', 'Messages the buffer dropped', 'dropped', 1),
)
_WEB_METRICS = (
    ('web_viewers', 'gauge', 'MJPEG viewers connected', 'viewers', 1),
    ('web_frames_encoded_total', 'counter', 'Frames encoded as JPEG (once each)',
     'frames_encoded', 1),
    ('web_frames_skipped_total', 'counter', 'Frames replaced by a newer one before encoding',
     'frames_skipped', 1),
    ('web_viewer_drops_total', 'counter', 'Frames viewers missed because they were slower',
     'viewer_drops', 1),
)
_PREFIX = 'webcam_app_'


def _escape(value: str) -> str:
    return value.replace('\\', '\\\\').replace('\n', '\\n').replace('"', '\\"')


def _number(value: Any, scale: float) -> str | None:
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return repr(round(value * scale, 9)) if scale != 1 else repr(value)


def _family(table: tuple, rows: Mapping[str, Mapping[str, Any]], label: str,
            graph: str) -> Iterator[str]:
    for name, kind, text, key, scale in table:
        samples = [(row_name, _number(row.get(key), scale)) for row_name, row in rows.items()]
        samples = [(row_name, value) for row_name, value in samples if value is not None]
        if not samples:
            continue
        yield f'# HELP {_PREFIX}{name} {text}'
        yield f'# TYPE {_PREFIX}{name} {kind}'
        for row_name, value in samples:
            labels = f'graph="{_escape(graph)}"'
            if label:
                labels += f',{label}="{_escape(row_name)}"'
            yield f'{_PREFIX}{name}{{{labels}}} {value}'


def prometheus_text(report: Mapping[str, Any]) -> str:
    """The report in Prometheus' text exposition format (version 0.0.4)."""
    graph = str(report.get('graph', ''))
    lines = list(_family(_NODE_METRICS, report.get('nodes', {}), 'node', graph))
    lines += _family(_BUFFER_METRICS, report.get('buffers', {}), 'buffer', graph)
    lines += _family(_WEB_METRICS, {'': report.get('web', {})}, '', graph)
    latency = report.get('latency_ms') or {}
    if latency:
        lines += [f'# HELP {_PREFIX}latency_seconds End-to-end latency, capture to sink',
                  f'# TYPE {_PREFIX}latency_seconds gauge']
        lines += [f'{_PREFIX}latency_seconds{{graph="{_escape(graph)}",quantile="{q}"}} '
                  f'{_number(latency[key], 1e-3)}'
                  for q, key in (('0.5', 'p50'), ('0.95', 'p95')) if key in latency]
    return '\n'.join(lines) + '\n'
