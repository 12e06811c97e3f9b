"""Per-node and per-buffer counters, service-time percentiles, end-to-end latency and the age of
the results shown."""
from __future__ import annotations

import collections
import time
from typing import Any, Mapping

__all__ = ['Metrics', 'NodeStats', 'percentile']

_WINDOW = 512   # samples kept for percentiles: recent behaviour, constant memory


def percentile(samples: Any, q: float) -> float:
    """The q-th percentile (0..100) of samples, nearest rank; 0.0 when empty."""
    data = sorted(samples)
    if not data:
        return 0.0
    rank = min(len(data) - 1, max(0, round(q / 100 * (len(data) - 1))))
    return data[rank]


class NodeStats:
    """Counters one node's worker updates; only that thread writes them (no lock needed)."""

    __slots__ = ('frames_in', 'frames_out', 'skipped_errors', 'wait_s',
                 'service', 'latency', 'result_age', 'started', 'limiters')

    def __init__(self) -> None:
        self.frames_in = self.frames_out = self.skipped_errors = 0
        self.wait_s = 0.0
        self.service: collections.deque = collections.deque(maxlen=_WINDOW)
        self.latency: collections.deque = collections.deque(maxlen=_WINDOW)
        self.result_age: collections.deque = collections.deque(maxlen=_WINDOW)
        self.limiters: list[Any] = []   # a live source's flow limiters: their skips are its own
        self.started = time.monotonic()

    @property
    def skipped_at_source(self) -> int:
        """Live source: frames that never entered a flow-limited path (all slots were taken)."""
        return sum(limiter.skipped for limiter in self.limiters)

    def fps(self, now: float | None = None) -> float:
        elapsed = (now or time.monotonic()) - self.started
        return max(self.frames_in, self.frames_out) / elapsed if elapsed > 0 else 0.0

    def summary(self, now: float) -> dict[str, Any]:
        service = list(self.service)
        out = {'frames_in': self.frames_in, 'frames_out': self.frames_out,
               'fps': round(self.fps(now), 2),
               'service_ms_p50': round(percentile(service, 50) * 1e3, 3),
               'service_ms_p95': round(percentile(service, 95) * 1e3, 3),
               'wait_s': round(self.wait_s, 3), 'skipped_errors': self.skipped_errors,
               'skipped_at_source': self.skipped_at_source}
        for key, samples in (('latency', self.latency), ('result_age', self.result_age)):
            if samples:
                samples = list(samples)
                out[f'{key}_ms_p50'] = round(percentile(samples, 50) * 1e3, 3)
                out[f'{key}_ms_p95'] = round(percentile(samples, 95) * 1e3, 3)
        return out


def _info(node: Any) -> dict[str, str]:
    """What a node says about how it runs (``Node.info``); {} if it cannot say."""
    try:
        return {str(k): str(v) for k, v in (node.info() or {}).items()}
    except Exception:   # a plugin's info() must not break the metrics
        return {}


def _extra(node: Any) -> Mapping[str, Any]:
    """A node's own numbers (``Node.extra_metrics``); {} if it has none or fails."""
    try:
        return dict(node.extra_metrics() or {})
    except Exception:   # a plugin's extra_metrics() must not break the metrics
        return {}


class Metrics:
    """All the numbers of one run; ``snapshot()`` is safe to call from any thread."""

    def __init__(self, node_names: list[str], buffers: dict[str, Any],
                 reads: Mapping[str, list[str]] | None = None,
                 switches: Mapping[str, Any] | None = None,
                 workers: Mapping[str, int] | None = None) -> None:
        """``reads``: node -> the buffers it reads (to count its drops); ``switches``: node ->
        the node object, whose ``enabled`` flag the snapshot reports; ``workers``: node -> the
        threads that run it (1 if not given)."""
        self.nodes = {name: NodeStats() for name in node_names}
        self.buffers = buffers
        self.reads = dict(reads or {})
        self.switches = dict(switches or {})
        self.workers = dict(workers or {})
        self.started = time.monotonic()

    def reset_clock(self) -> None:
        now = time.monotonic()
        self.started = now
        for stats in self.nodes.values():
            stats.started = now

    def snapshot(self) -> dict[str, Any]:
        now = time.monotonic()
        return {
            'elapsed_s': round(now - self.started, 3),
            'nodes': {name: self._node_summary(name, s, now) for name, s in self.nodes.items()},
            'buffers': {name: {'depth': len(b), 'size': b.size, 'policy': b.policy,
                               'put': b.stats.put, 'taken': b.stats.taken,
                               'dropped': b.stats.dropped, 'high_water': b.stats.high_water}
                        for name, b in self.buffers.items()},
        }

    def _node_summary(self, name: str, stats: NodeStats, now: float) -> dict[str, Any]:
        out = stats.summary(now)
        out['workers'] = self.workers.get(name, 1)
        out['dropped'] = stats.skipped_at_source + sum(
            self.buffers[b].stats.dropped for b in self.reads.get(name, ()) if b in self.buffers)
        if name in self.switches:
            node = self.switches[name]
            out['enabled'] = bool(node.enabled)
            info = _info(node)
            if info:
                out['info'] = info
            out.update(_extra(node))
        return out

    def warnings(self, snapshot: Mapping[str, Any] | None = None) -> list[str]:
        """What nodes warn of now (their metrics' ``warning``), e.g. a model server away."""
        snap = snapshot or self.snapshot()
        return [s['warning'] for s in snap['nodes'].values() if s.get('warning')]

    def one_line(self) -> str:
        snap = self.snapshot()
        parts = []
        for name, s in snap['nodes'].items():
            text = f"{name} {s['fps']:.1f}fps {s['service_ms_p50']:.1f}ms"
            if 'latency_ms_p50' in s:
                text += (f" e2e {s['latency_ms_p50']:.0f}/{s['latency_ms_p95']:.0f}ms"
                         f" result age {s['result_age_ms_p50']:.0f}/{s['result_age_ms_p95']:.0f}ms"
                         ' (p50/p95)')
            parts.append(text)
        drops = sum(b['dropped'] for b in snap['buffers'].values())
        drops += sum(s['skipped_at_source'] for s in snap['nodes'].values())
        warnings = ''.join(f' | {w}' for w in self.warnings(snap))
        return ' | '.join(parts) + f' | drops {drops}' + warnings
