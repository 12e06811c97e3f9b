"""Where a graph's live-mode flow limiters go, and what each worker needs to know of them."""
from __future__ import annotations

from typing import Any

from .buffers import Buffer
from .flow import FlowLimiter
from .graph import Graph, NodeSpec

__all__ = ['WorkerFlow', 'source_limiters', 'worker_flow']

WorkerFlow = tuple[dict[str, FlowLimiter], set[str], dict[str, 'FlowLimiter | None']]


def source_limiters(graph: Graph, buffers: dict[str, Buffer],
                    node_stats: dict[str, Any]) -> dict[str, FlowLimiter]:
    """Live mode: a flow limiter on every buffer a source writes (none in replay). Each source's
    stats learn its limiters, whose skipped frames are the source's."""
    if graph.mode != 'live':
        return {}
    limiters = {}
    for spec in graph.nodes.values():
        if spec.node.is_source():
            for name in (b for bufs in spec.outputs.values() for b in bufs):
                limiters[name] = FlowLimiter(graph.max_in_flight, buffers[name])
                node_stats[spec.name].limiters.append(limiters[name])
    return limiters


def worker_flow(graph: Graph, spec: NodeSpec, limiters: dict[str, FlowLimiter]) -> WorkerFlow:
    """For one node: the limiters of the buffers it writes (a source), the buffers it writes
    that are read as side inputs (their messages hold no token), and, per latest input, the
    limiter of the path that makes its messages."""
    written = [b for bufs in spec.outputs.values() for b in bufs]
    own = {b: limiters[b] for b in written if b in limiters}
    side_outputs = {b for b in written if graph.consumer_of(b)[2] != 'trigger'}
    upstream = {port: _upstream(graph, limiters, buf) for port, (buf, kind) in spec.inputs.items()
                if kind == 'latest' and limiters}
    return own, side_outputs, upstream


def _upstream(graph: Graph, limiters: dict[str, FlowLimiter], buffer: str) -> FlowLimiter | None:
    """The limiter of the source buffer whose frames, trigger by trigger, make the messages
    written to ``buffer`` (None if there is none)."""
    return next((limiters[b] for b in graph.topology.trigger_chain(buffer) if b in limiters),
                None)
