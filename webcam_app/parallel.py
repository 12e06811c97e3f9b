"""Several workers for one reentrant node: frames processed at once, results sent in order.

A node whose class says ``reentrant = True`` (its ``process`` may run concurrently) may have
``workers: N``. N threads then share its input buffers:

* **in order in**: one worker at a time takes the next trigger message and reads its side
  inputs (a lock), and numbers it;
* **at once**: the workers run ``process`` on their messages concurrently (a model's inference
  releases the GIL);
* **in order out**: a worker sends its outputs only when every message numbered before its own
  is out, so the nodes downstream see exactly what one worker would send, in the same order.
  An error the node does not skip is raised in turn too: what came before it is sent.

Every wait wakes on shutdown: the intake's gets wake when buffers close, and a failed worker
breaks the order and closes the node's inputs, which frees every other worker.
"""
from __future__ import annotations

import threading
from typing import Any

__all__ = ['Job', 'run_parallel']


class Job:
    """One trigger message taken by a worker, its inputs, and what processing it gave."""

    __slots__ = ('item', 'kwargs', 'emitted', 'error', 'why', 'skipped', 't0', 't1')

    def __init__(self, item: Any, kwargs: dict[str, Any]) -> None:
        self.item, self.kwargs = item, kwargs
        self.emitted: list[dict[str, Any]] = []   # {port: message} per result, in order
        self.error: BaseException | None = None   # raised in turn (on_error: stop)
        self.why, self.skipped = 'no output', False
        self.t0 = self.t1 = 0.0


class _Turns:
    """The shared state of one node's workers."""

    def __init__(self, worker: Any) -> None:
        self.worker = worker
        self.intake = threading.Lock()      # one worker reads the inputs at a time
        self.order = threading.Condition()  # guards next_out and broken
        self.taken = 0                      # jobs numbered so far (under intake)
        self.next_out = 0                   # the job whose turn it is to send
        self.ended = False                  # the input ended (under intake)
        self.broken = False                 # a worker failed: nothing more is sent

    def loop(self) -> None:
        """One worker's life: take in order, process, send in order; until the input ends."""
        worker = self.worker
        while True:
            with self.intake:
                if self.ended or self.broken:
                    return
                try:
                    job = worker.take()
                except BaseException:
                    self.fail()
                    raise
                if job is None:
                    self.ended = True
                    return
                number, self.taken = self.taken, self.taken + 1
            try:
                try:
                    worker.work(job)
                except BaseException:
                    job.item.release()      # never sent: free its flow slot
                    raise
                with self.order:
                    self.order.wait_for(lambda: self.next_out == number or self.broken)
                    broken = self.broken
                if broken:
                    job.item.release()      # another worker failed: the graph is stopping
                    return
                worker.finish(job)
            except BaseException:
                self.fail()
                raise
            with self.order:
                self.next_out = number + 1
                self.order.notify_all()

    def fail(self) -> None:
        """Stop every worker: waiting ones give up their turn, and closing the node's inputs
        wakes the one reading them."""
        with self.order:
            self.broken = True
            self.order.notify_all()
        for buffer in self.worker.input_buffers:
            buffer.close()

    def guarded(self) -> None:
        """One worker's life; its error is reported with the node's name at once (which stops
        the graph and wakes a worker blocked in ``process``), not when the others are done."""
        try:
            self.loop()
        except BaseException as exc:
            self.worker.report(exc)


def run_parallel(worker: Any, workers: int) -> bool:
    """Run ``worker``'s node on ``workers`` threads (this one and ``workers - 1`` helpers);
    when every message taken is out, return whether all went well (False: a worker failed,
    and was reported)."""
    turns = _Turns(worker)
    helpers = [threading.Thread(target=turns.guarded, name=f'node:{worker.name}#{i}')
               for i in range(2, workers + 1)]
    for thread in helpers:
        thread.start()
    try:
        turns.guarded()
    finally:
        for thread in helpers:
            thread.join()
    return not turns.broken
