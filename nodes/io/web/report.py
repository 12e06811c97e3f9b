"""What the web view reports: the run's metrics as a JSON dict and in Prometheus text format.

The Prometheus text is written by ``prometheus_client`` (a custom collector over the report,
rendered by ``generate_latest``), so its format is the library's, not ours to get wrong.
"""
from __future__ import annotations

import math
from typing import Any, Iterator, Mapping

__all__ = ['ReportCollector', 'build_report', 'hot_keys', 'prometheus_text']

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
    ('node_frames_in', 'counter', 'Messages the node took', 'frames_in', 1),
    ('node_frames_out', 'counter', 'Times the node emitted', 'frames_out', 1),
    ('node_dropped', 'counter', 'Frames dropped before the node (its input buffers and, '
     'for a source, the flow limiter)', 'dropped', 1),
    ('node_errors_skipped', 'counter', 'Frames skipped after an error (on_error: skip)',
     'skipped_errors', 1),
    ('node_enabled', 'gauge', '1 while the node runs, 0 while its hot key has it off',
     'enabled', 1),
    # backend: remote (a model on an inference server)
    ('node_request_seconds_p50', 'gauge', 'Median inference request time', 'request_ms_p50',
     1e-3),
    ('node_request_seconds_p95', 'gauge', '95th percentile inference request time',
     'request_ms_p95', 1e-3),
    ('node_server_queue_seconds', 'gauge', "Mean time in the server's queue", 'server_queue_ms',
     1e-3),
    ('node_requests', 'counter', 'Inference requests answered', 'requests', 1),
    ('node_request_retries', 'counter', 'Requests tried again (replay)', 'retries', 1),
    ('node_request_failures', 'counter', 'Requests the server did not answer', 'failures', 1),
    ('node_server_reconnects', 'counter', 'Times the server answered again after an outage',
     'reconnects', 1),
    ('node_passed_through', 'counter', 'Frames passed on without results (live, server away)',
     'passed_through', 1),
    ('node_server_down', 'gauge', '1 while the inference server is away', 'server_down', 1),
)
_BUFFER_METRICS = (
    ('buffer_depth', 'gauge', 'Messages waiting in the buffer', 'depth', 1),
    ('buffer_dropped', 'counter', 'Messages the buffer dropped', 'dropped', 1),
)
_WEB_METRICS = (
    ('web_viewers', 'gauge', 'MJPEG viewers connected', 'viewers', 1),
    ('web_frames_encoded', 'counter', 'Frames encoded as JPEG (once each)',
     'frames_encoded', 1),
    ('web_frames_skipped', 'counter', 'Frames replaced by a newer one before encoding',
     'frames_skipped', 1),
    ('web_viewer_drops', 'counter', 'Frames viewers missed because they were slower',
     'viewer_drops', 1),
)
#: end-to-end latency, capture to sink: one gauge per quantile, each of its own name (a
#: Prometheus summary would need the count and sum of every latency, which the report lacks)
_LATENCY_METRICS = (
    ('latency_seconds_p50', 'gauge', 'End-to-end latency, capture to sink: median', 'p50',
     1e-3),
    ('latency_seconds_p95', 'gauge', 'End-to-end latency, capture to sink: 95th percentile',
     'p95', 1e-3),
)
_PREFIX = 'webcam_app_'


def _number(value: Any, scale: float) -> float | None:
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return round(value * scale, 9) if scale != 1 else float(value)


class ReportCollector:
    """A ``prometheus_client`` collector over one report (see :func:`build_report`): every
    node, buffer and web view figure as a labelled gauge or counter family."""

    def __init__(self, report: Mapping[str, Any]) -> None:
        self.report = report

    def collect(self) -> Iterator[Any]:
        report, graph = self.report, str(self.report.get('graph', ''))
        yield from self._families(_NODE_METRICS, report.get('nodes', {}), 'node', graph)
        yield from self._families(_BUFFER_METRICS, report.get('buffers', {}), 'buffer', graph)
        yield from self._families(_WEB_METRICS, {'': report.get('web', {})}, '', graph)
        yield from self._families(_LATENCY_METRICS, {'': report.get('latency_ms') or {}}, '',
                                  graph)

    @staticmethod
    def _families(table: tuple, rows: Mapping[str, Mapping[str, Any]], label: str,
                  graph: str) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
        labels = ['graph', label] if label else ['graph']
        for name, kind, text, key, scale in table:
            samples = [(row, _number(values.get(key), scale)) for row, values in rows.items()]
            samples = [(row, value) for row, value in samples if value is not None]
            if not samples:
                continue
            family = (CounterMetricFamily if kind == 'counter' else GaugeMetricFamily)(
                _PREFIX + name, text, labels=labels)
            for row, value in samples:
                family.add_metric([graph, row] if label else [graph], value)
            yield family


def prometheus_text(report: Mapping[str, Any]) -> tuple[bytes, str]:
    """The report in Prometheus' text exposition format, as ``prometheus_client`` writes it,
    and the Content-Type to serve it with."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReportCollector(report))
    return generate_latest(registry), CONTENT_TYPE_LATEST
