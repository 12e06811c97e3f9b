"""Run a Graph: one thread per node, supervised, with one shutdown path for every cause."""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

from .buffers import Buffer
from .errors import ExitCode, NodeError, WebcamAppError
from .events import Hotkeys
from .graph import Graph
from .metrics import Metrics
from .flow import Envelope
from .flow_wiring import source_limiters, worker_flow
from .worker import Worker

__all__ = ['Runner', 'run_graph']

log = logging.getLogger(__name__)


class Runner:
    """Runs a graph until its sinks end, ``stop()`` is called, or a node fails.

    Shutdown, whatever its cause: sources stop, the graph drains for ``drain_timeout`` seconds,
    then every buffer is closed, which wakes every waiting thread, and all threads are joined.
    ``hurry()`` (a second Ctrl-C) skips the drain: nodes close at once, and sinks finalize their
    files with what they have, within ``finalize_timeout`` seconds.
    """

    setup_grace = 1.0   # how long a stop waits for nodes still inside setup() (a model loading)
    finalize_timeout = 0.5    # of the 1 s a 2nd Ctrl-C allows: the rest writes metrics, exits

    def __init__(self, graph: Graph, drain_timeout: float = 1.0,
                 metrics_interval: float = 5.0) -> None:
        self.graph, self.drain_timeout = graph, drain_timeout
        self.metrics_interval = metrics_interval
        self.live = graph.mode == 'live'
        self.buffers = {name: Buffer(name, spec.size, spec.policy, on_drop=Envelope.release)
                        for name, spec in graph.buffers.items()}
        self.metrics = Metrics(
            list(graph.nodes), self.buffers,
            reads={s.name: [buf for buf, _ in s.inputs.values()] for s in graph.nodes.values()},
            switches={s.name: s.node for s in graph.nodes.values()},
            workers={s.name: s.workers for s in graph.nodes.values()})
        self.limiters = source_limiters(graph, self.buffers, self.metrics.nodes)
        self.stopping = threading.Event()
        self.cancelled = threading.Event()
        self.hurried = threading.Event()
        self.exit_code: int | None = None
        self.errors: list[NodeError] = []   # each names its node; the cause is chained
        self._state = threading.Condition()
        self._stop_at: float | None = None
        self._join_by: float | None = None    # when _cancel gives up on the threads
        self._ready = False
        self._barrier = threading.Barrier(len(graph.nodes), action=self._on_ready)
        self._running = 0
        self._in_setup: set[str] = set()   # threads inside a node's setup(): nothing to drain
        self.workers = [self._make_worker(spec) for spec in graph.nodes.values()]
        self.threads: list[threading.Thread] = []
        self.events = graph.events
        self._subscriptions = (('quit', self._on_quit), ('key', Hotkeys(
            {s.enable_key: s.node for s in graph.nodes.values() if s.enable_key})))
        for topic, callback in self._subscriptions:   # until the run ends
            self.events.subscribe(topic, callback)
        for spec in graph.nodes.values():   # each node its own context, and the graph's events
            node = spec.node
            node.context = dataclasses.replace(node.context, metrics=self.metrics)
            node.events = self.events

    def _make_worker(self, spec: Any) -> Worker:
        inputs = {port: (self.buffers[buf], kind) for port, (buf, kind) in spec.inputs.items()}
        outputs = {port: [self.buffers[b] for b in bufs] for port, bufs in spec.outputs.items()}
        limiters, side_outputs, upstream = worker_flow(self.graph, spec, self.limiters)
        return Worker(self, spec, inputs, outputs, limiters, self.metrics.nodes[spec.name],
                      side_outputs, upstream)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> 'Runner':
        """Check the nodes if they were not checked since their last run (raises ConfigError),
        then start one thread per node."""
        if not self.graph.checked:
            try:
                self.graph.check_nodes()
            except BaseException:
                self._unsubscribe()
                raise
        self.graph.checked = False      # setup may take what check found; the next run re-checks
        for spec in self.graph.nodes.values():
            spec.node._begin_run()
        for worker in self.workers:     # the checks may have changed them (auto ran PyTorch)
            worker.workers = self.metrics.workers[worker.name] = worker.spec.workers
        self.metrics.reset_clock()
        for worker in self.workers:
            thread = threading.Thread(target=worker.run, name=f'node:{worker.name}')
            self.threads.append(thread)
        with self._state:
            self._running = len(self.threads)
            self._in_setup = {t.name for t in self.threads}
        for thread in self.threads:
            thread.start()
        return self

    def stop(self, reason: str = 'stop', exit_code: int = ExitCode.OK) -> None:
        """Begin shutdown (idempotent; the first cause sets the exit code). Safe from any thread."""
        with self._state:
            if self.exit_code in (None, ExitCode.OK):   # the first cause that is not OK
                self.exit_code = exit_code
            first = self._stop_at is None
            if first:
                log.info('stopping: %s', reason)
                self._stop_at = time.monotonic() + self.drain_timeout
            self.stopping.set()
            self._state.notify_all()
        self._barrier.abort()   # nodes still setting up will not start
        if first:
            for spec in self.graph.nodes.values():   # wakes nodes sleeping in self.wait()
                spec.node._stop_run()
            self.events.publish('stop', reason)

    def hurry(self, reason: str = 'stop now', exit_code: int = ExitCode.OK) -> None:
        """Stop without draining: buffers close now; sinks still finalize their outputs.

        Publishes ``'hurry'``, so that a sink with a backlog (a recorder's queue) drops it.
        """
        self.stop(reason, exit_code)
        with self._state:
            if self.hurried.is_set():
                return
            self.hurried.set()
            now = time.monotonic()
            self._stop_at = min(self._stop_at or now, now)
            self._join_by = min(self._join_by or now + 1e9, now + self.finalize_timeout)
            self._state.notify_all()
        log.info('stopping now: skipping the drain (%s)', reason)
        self.events.publish('hurry', reason)

    def fail(self, name: str, exc: BaseException, exit_code: int = ExitCode.NODE_FAILED) -> None:
        """A node failed: report it with its name and stop the graph. An app error (e.g. a
        source lost for good) says what to do in its message: it is logged without a traceback."""
        log.error('node %r failed: %s: %s', name, type(exc).__name__, exc,
                  exc_info=None if isinstance(exc, WebcamAppError) else exc)
        error = NodeError(name, f'{type(exc).__name__}: {exc}')
        error.__cause__ = exc
        self.errors.append(error)
        self.stop(f'node {name!r} failed', exit_code)

    def worker_done(self) -> None:
        with self._state:
            self._running -= 1
            self._in_setup.discard(threading.current_thread().name)
            self._state.notify_all()

    def wait_for_setup(self) -> bool:
        """Called by each worker after setup; False if the run was aborted meanwhile."""
        with self._state:
            self._in_setup.discard(threading.current_thread().name)
        try:
            self._barrier.wait()
            return True
        except threading.BrokenBarrierError:
            return False

    def _on_ready(self) -> None:
        with self._state:
            self._ready = True
            self._state.notify_all()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until every node's ``setup()`` has succeeded (True), or the run stops first
        or ``timeout`` passes (False)."""
        with self._state:
            self._state.wait_for(lambda: self._ready or self.stopping.is_set(), timeout)
            return self._ready

    def wait(self, timeout: float | None = None, tick: Callable[[], None] | None = None,
             tick_interval: float = 0.25) -> int:
        """Wait for the run to end and return the exit code (-1 if ``timeout`` passed first).

        Logs a metrics line every ``metrics_interval`` s and calls ``tick`` (a progress bar)
        every ``tick_interval`` s, on the calling thread.
        """
        now = time.monotonic()
        deadline = None if timeout is None else now + timeout
        next_report = now + self.metrics_interval
        next_tick = now + tick_interval if tick else None
        while True:
            with self._state:   # decide under the lock; log and tick outside it
                now = time.monotonic()
                if self._running <= 0 or self._stop_at is not None and (
                        now >= self._stop_at or self._only_setting_up):
                    break
                if deadline is not None and now >= deadline:
                    return -1
                report, ticking = now >= next_report, next_tick is not None and now >= next_tick
                if not (report or ticking):
                    waits = [t for t in (self._stop_at, deadline, next_report, next_tick)
                             if t is not None]
                    self._state.wait(max(0.0, min(waits) - now))
                    continue
            if report:
                log.info('%s', self.metrics.one_line())
                next_report = now + self.metrics_interval
            if ticking:
                tick()
                next_tick = now + tick_interval
        if tick:
            tick()
        self._cancel()
        if self.exit_code is None:
            self.exit_code = ExitCode.OK
        return self.exit_code

    def run(self) -> int:
        return self.start().wait()

    def _cancel(self) -> None:
        """Past the drain deadline, or all done: close every buffer and join the threads."""
        self.cancelled.set()
        self.stopping.set()
        self._barrier.abort()
        for buffer in self.buffers.values():
            buffer.close()
        with self._state:
            now = time.monotonic()
            end = now + max(1.0, self.drain_timeout)
            self._join_by = min(self._join_by or end, end)
            setup_by = now + self.setup_grace   # a setup may be a sink opening its file
            while self._running > 0:   # hurry() may bring _join_by forward
                left = (min(self._join_by, setup_by) if self._only_setting_up
                        else self._join_by) - time.monotonic()
                if left <= 0:
                    break
                self._state.wait(left)
        if self._running == 0:   # each worker's last act was worker_done(): they are ending
            for thread in self.threads:
                thread.join(1.0)
        self._unsubscribe()
        if self._in_setup:
            log.info('not waiting for %s, still in setup(); it ends by itself',
                     ', '.join(sorted(self._in_setup)))
        if self.stuck_threads:
            log.error('threads still busy after shutdown: %s', ', '.join(self.stuck_threads))
            if self.exit_code in (None, ExitCode.OK):
                self.exit_code = ExitCode.NODE_FAILED

    @property
    def _only_setting_up(self) -> bool:
        """Every node still running is inside its setup(): it holds no frame to drain, and
        cannot be interrupted. Call with ``_state`` held."""
        return self._running == len(self._in_setup)

    @property
    def stuck_threads(self) -> list[str]:
        """Threads still alive after shutdown, other than those still inside a node's setup()."""
        return [t.name for t in self.threads if t.is_alive() and t.name not in self._in_setup]

    def _unsubscribe(self) -> None:
        for topic, callback in self._subscriptions:
            self.events.unsubscribe(topic, callback)

    def _on_quit(self, reason: Any) -> None:
        self.stop(str(reason or 'quit'))

    def write_metrics(self, path: str | Path) -> None:
        """Write the metrics as JSON, atomically: a reader never sees half a file."""
        snap = self.metrics.snapshot()
        snap.update(graph=self.graph.name, mode=self.graph.mode, exit_code=self.exit_code)
        path = Path(path)
        tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
        try:
            tmp.write_text(json.dumps(snap, indent=2))
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)


def run_graph(graph: Graph, timeout: float | None = None, **kwargs: Any) -> Runner:
    """Run a graph to its end on threads; returns the finished Runner (see ``exit_code``)."""
    runner = Runner(graph, **kwargs).start()
    if runner.wait(timeout) == -1:
        runner.stop('timeout', ExitCode.NODE_FAILED)
        runner.wait()
    return runner
