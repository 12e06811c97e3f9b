"""The loop that runs one node on its own thread."""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

from .buffers import Buffer
from .errors import BufferClosed, ExitCode, WebcamAppError
from .events import EventBus, FrameDropped
from .flow import Envelope, FlowLimiter, NoResult, SideInput
from .graph import NodeSpec
from .messages import EOS, Frame
from .metrics import NodeStats
from .parallel import Job, run_parallel

__all__ = ['Supervisor', 'Worker', 'normalize_outputs']

log = logging.getLogger(__name__)
_clock = time.perf_counter


def normalize_outputs(node: Any, result: Any) -> dict[str, Any]:
    """What a node's process() returned, as {port: message}: None, a message, or a dict."""
    if result is None:
        return {}
    if isinstance(result, dict):
        unknown = set(result) - set(node.outputs)
        if unknown:
            raise ValueError(f'{type(node).__name__} returned unknown output ports '
                             f'{sorted(unknown)};'
                             f' its outputs are {list(node.outputs)}')
        return {port: msg for port, msg in result.items() if msg is not None}
    return {port: result for port in node.outputs}


class Supervisor(Protocol):
    """What a worker needs from whoever runs the graph (the executor's Runner)."""

    live: bool                    # live mode: side inputs never wait
    events: EventBus              # the graph's events: a worker publishes 'dropped' there
    drain_timeout: float          # how long the end of stream may wait for room
    stopping: threading.Event     # set when shutdown begins: sources stop reading
    cancelled: threading.Event    # set past the drain deadline: drop what is left

    def fail(self, name: str, exc: BaseException,
             exit_code: int = ExitCode.NODE_FAILED) -> None: ...

    def wait_for_setup(self) -> bool: ...

    def worker_done(self) -> None: ...


class Worker:
    """Feeds one node from its buffers and sends what it returns downstream."""

    def __init__(self, runner: Supervisor, spec: NodeSpec, inputs: dict[str, tuple[Buffer, str]],
                 outputs: dict[str, list[Buffer]], limiters: dict[str, FlowLimiter],
                 stats: NodeStats, side_outputs: set[str] = frozenset(),
                 upstream: dict[str, FlowLimiter] | None = None) -> None:
        """``limiters``: a source's flow limiter per output buffer (live mode);
        ``side_outputs``: output buffers read as side inputs (their items hold no flow token);
        ``upstream``: per side input port, the flow limiter of the path that feeds it."""
        self.runner, self.spec, self.node, self.name = runner, spec, spec.node, spec.name
        self.outputs, self.limiters, self.stats = outputs, limiters, stats
        self.side_outputs = side_outputs
        self.trigger_port, self.trigger = next(
            ((port, buf) for port, (buf, kind) in inputs.items() if kind == 'trigger'),
            (None, None))
        upstream = upstream or {}
        self.sides = {port: SideInput(buf, kind, runner.live, upstream.get(port))
                      for port, (buf, kind) in inputs.items() if kind != 'trigger'}
        self.latest_ports = [port for port, side in self.sides.items() if side.kind == 'latest']
        self.input_buffers = [buf for buf, _ in inputs.values()]
        self.is_sink = not any(outputs.values())
        # ports whose frames trigger nodes downstream (not only feed their side inputs)
        self.flow_ports = [port for port, buffers in outputs.items()
                           if any(b.name not in side_outputs for b in buffers)]
        # replay: ports whose side-input readers wait for each frame id, and must hear of a skip
        self.joined_ports = [] if runner.live else [
            port for port, buffers in outputs.items()
            if any(b.name in side_outputs for b in buffers)]
        self.workers = spec.workers     # a number, once the graph allotted cores
        self._previous_id: int | None = None
        self.ended = False      # the trigger input brought its end of stream

    def run(self) -> None:
        try:
            self._run()
        finally:
            for buffer in self.input_buffers:   # nobody reads them any more: free the producers
                buffer.close()
            self._emit_eos()
            self.node._end_run()
            self.runner.worker_done()

    def _run(self) -> None:
        if self.runner.stopping.is_set():   # stopped before it began (an early Ctrl-C)
            return
        try:
            self.node.setup()
        except BaseException as exc:
            self.runner.fail(self.name, exc, _exit_code(exc))
            return
        try:
            if self.runner.wait_for_setup():
                self.stats.started = time.monotonic()   # rates count from the first frame on
                self._loop_source() if self.trigger is None else self._loop()
        except BaseException as exc:
            self.report(exc)
        finally:
            try:
                self.node.close()
            except Exception:
                log.exception('node %r failed to close', self.name)

    def report(self, exc: BaseException) -> None:
        """The node failed (on any of its workers): report it and stop the graph."""
        self.runner.fail(self.name, exc, _exit_code(exc))

    def _loop_source(self) -> None:
        node, stopping = self.node, self.runner.stopping
        try:
            while not stopping.is_set():
                t0 = _clock()
                message = node.process()
                if message is EOS:
                    return
                if message is not None:
                    t1 = _clock()
                    self.stats.service.append(t1 - t0)
                    self._emit(normalize_outputs(node, message), None, t0, t1)
        finally:
            for limiter in self.limiters.values():   # a frame waiting for a slot: skipped
                limiter.close()

    def _loop(self) -> None:
        if self.workers > 1:
            ended = run_parallel(self, self.workers)
        else:
            while True:
                job = self.take()
                if job is None:
                    break
                self.work(job)
                self.finish(job)
            ended = True
        if ended and self.ended:
            self._flush()

    def take(self) -> 'Job | None':
        """The next trigger message with its side inputs, read in order; None at the end (end
        of stream, closed input, cancelled run). Never called concurrently."""
        t_wait = _clock()
        try:
            item = self.trigger.get()
        except BufferClosed:
            return None
        if self.runner.cancelled.is_set():
            item.release()
            return None
        message = item.message
        if message is EOS:
            self.ended = True
            return None
        self.stats.frames_in += 1
        kwargs = {port: side.value_for(message, self._previous_id)
                  for port, side in self.sides.items()}
        self._previous_id = message.frame_id
        kwargs[self.trigger_port] = message
        self.stats.wait_s += _clock() - t_wait
        return Job(item, kwargs)

    def work(self, job: 'Job') -> None:
        """Run the node on one job (concurrently with other jobs, for a reentrant node with
        several workers); an error the node does not skip is kept for ``finish`` to raise."""
        job.t0 = _clock()
        try:
            result = (self.node.process if self.node.enabled else self.node.bypass)(**job.kwargs)
            emitted = [normalize_outputs(self.node, r)
                       for r in (result if isinstance(result, list) else [result])]
            if self.latest_ports:
                latest = [job.kwargs[p] for p in self.latest_ports]
                emitted = [_with_results_time(o, latest) for o in emitted]
        except Exception as exc:
            if self.spec.on_error != 'skip':
                job.error = exc
                return
            log.warning('node %r skipped frame %s: %s: %s', self.name,
                        job.item.message.frame_id, type(exc).__name__, exc)
            emitted, job.skipped = [], True
            job.why = f'{type(exc).__name__}: {exc}'
        job.emitted, job.t1 = emitted, _clock()

    def finish(self, job: 'Job') -> None:
        """Send a job's outputs downstream (jobs finish in the order they were taken), or
        raise the error it met."""
        message, token = job.item.message, job.item.token
        if job.error is not None:
            job.item.release()
            raise job.error
        emitted, stats = job.emitted, self.stats
        if job.skipped:
            stats.skipped_errors += 1
        if self.flow_ports:
            self._tell_dropped(emitted[0] if len(emitted) == 1 else
                               {p: m for o in emitted for p, m in o.items()}, message, job.why)
        if self.is_sink:
            now = time.monotonic()
            stats.latency.append(now - message.timestamp)
            stats.result_age.append(now - message.results_time)
        stats.service.append(job.t1 - job.t0)
        for outputs in emitted:
            self._emit(outputs, token, job.t0, job.t1)
        for port in self.joined_ports:
            if not any(port in outputs for outputs in emitted):
                self._mark_no_result(port, message.frame_id)
        if token is not None:
            token.release()

    def _flush(self) -> None:
        """End of stream: emit what the node still holds (``Node.flush``), in order."""
        t0 = _clock()
        results = self.node.flush()     # even if switched off since: what it holds goes on
        t1 = _clock()
        for result in results or ():
            self._emit(normalize_outputs(self.node, result), None, t0, t1)

    def _emit(self, outputs: dict[str, Any], token: Any, t0: float, t1: float) -> None:
        stats = self.stats
        items = []
        for port, message in outputs.items():
            if isinstance(message, Frame):
                message = message.stamped(self.name, t0, t1)
            for buffer in self.outputs.get(port, ()):
                if self.limiters:   # a live source: every admission is decided before any put
                    item_token = self.limiters[buffer.name].offer(message)
                    if item_token is None:
                        continue    # it waits for a slot, and the limiter puts it
                elif token is not None and buffer.name not in self.side_outputs:
                    item_token = token
                    token.retain()
                else:
                    item_token = None
                items.append((buffer, Envelope(message, item_token)))
        for buffer, item in items:
            buffer.put(item)
        if outputs:
            stats.frames_out += 1

    def _tell_dropped(self, outputs: dict[str, Any], message: Any, why: str) -> None:
        """Publish a ``'dropped'`` event when a frame goes no further on a port that others
        wait on (an ``on_error: skip``, or no output), so whoever waits for it (the Python
        API) knows at once instead of at the next frame."""
        ports = tuple(port for port in self.flow_ports if port not in outputs)
        if ports:
            self.runner.events.publish('dropped', FrameDropped(self.name, message.frame_id,
                                                               ports, why))

    def _mark_no_result(self, port: str, frame_id: int) -> None:
        for buffer in self.outputs[port]:
            if buffer.name in self.side_outputs:
                buffer.put(Envelope(NoResult(frame_id)))

    def _emit_eos(self) -> None:
        for buffers in self.outputs.values():
            for buffer in buffers:
                buffer.put(Envelope(EOS), timeout=self.runner.drain_timeout, wait=True)


def _exit_code(exc: BaseException) -> int:
    """An app error brings its own exit code (a lost source: 3); anything else is 1."""
    return exc.exit_code if isinstance(exc, WebcamAppError) else ExitCode.NODE_FAILED


def _with_results_time(outputs: dict[str, Any], latest: list[Any]) -> dict[str, Any]:
    """Frames made with results from latest inputs carry the capture time of the frame those
    results came from (the oldest, if several), so a sink can tell how old the drawn results
    are."""
    times = [value.results_time for value in latest if isinstance(value, Frame)]
    if not times:
        return outputs
    when = min(times)
    return {port: (message.replace(results_timestamp=when)
                   if isinstance(message, Frame) and message.results_time != when else message)
            for port, message in outputs.items()}
