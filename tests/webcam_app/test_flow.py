"""The live-mode flow limiter and the live latest join, driven step by step (no sleeps)."""
from __future__ import annotations

import threading
import time

import pytest

from webcam_app import EOS, Frame, Node, Runner, load_graph, make_frame
from webcam_app.buffers import Buffer
from webcam_app.flow import Envelope, FlowLimiter, SideInput
from tests.webcam_app import toy_nodes  # noqa: F401  (registers the toy nodes)
from tests.webcam_app.toy_nodes import Collect

pytestmark = pytest.mark.timeout(30)
WAIT = 10.0   # a generous bound for one step of another thread; never a timing assertion


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def frame(i: int) -> Frame:
    return make_frame(i, 8, 8)


def test_limiter_admits_at_most_its_limit_and_hands_the_slot_to_the_newest_frame():
    clock, buffer = FakeClock(), Buffer('b', size=8, on_drop=Envelope.release)
    limiter = FlowLimiter(2, buffer, clock=clock)
    tokens = [limiter.offer(frame(i)) for i in range(2)]
    clock.now += 0.05
    tokens += [limiter.offer(frame(i)) for i in range(2, 5)]
    assert [t is not None for t in tokens] == [True, True, False, False, False]
    assert limiter.in_flight == 2 and limiter.skipped == 2    # 2 and 3 replaced by 4
    tokens[0].release()             # frame 0 done: the waiting frame 4 enters at once
    handed = buffer.get_nowait()
    assert handed.message.frame_id == 4 and handed.token.frame_id == 4
    assert limiter.in_flight == 2 and limiter.peak == 2
    assert limiter.turnaround == pytest.approx(0.05)
    assert limiter.due_after(1) == pytest.approx(clock.now + 0.05)   # frame 4, admitted now
    assert limiter.due_after(0) == pytest.approx(clock.now)           # frame 1, since 0.05 s
    assert limiter.due_after(4) is None                               # nothing newer in flight


def test_limiter_skips_a_waiting_frame_that_went_stale():
    clock, buffer = FakeClock(), Buffer('b', size=8, on_drop=Envelope.release)
    limiter = FlowLimiter(1, buffer, stale=0.4, clock=clock)
    first = limiter.offer(frame(0))
    clock.now += 0.1
    first.release()                                            # turnaround 0.1 s
    second = limiter.offer(frame(1))
    assert limiter.offer(frame(2)) is None                     # waits from t
    clock.now += 0.041                                         # > 0.4 x 0.1 s
    second.release()
    assert buffer.get_nowait() is None and limiter.skipped == 1 and limiter.in_flight == 0
    assert limiter.offer(frame(3)) is not None                 # the next frame enters


def test_limiter_close_skips_the_waiting_frame_and_refuses_more():
    limiter = FlowLimiter(1, Buffer('b', size=8, on_drop=Envelope.release), clock=FakeClock())
    token = limiter.offer(frame(0))
    assert limiter.offer(frame(1)) is None
    limiter.close()
    token.release()
    assert limiter.skipped == 1 and limiter.in_flight == 0
    assert limiter.offer(frame(2)) is None


class FlowStepSource(Node):
    """A live source that emits one frame each time the test calls ``step()``."""

    inputs = {}

    def __init__(self, n: int = 100) -> None:
        self.n, self.mode_hint, self.i = n, 'live', 0
        self.steps, self.asked = threading.Semaphore(0), threading.Semaphore(0)

    def setup(self) -> None:
        self.stopped = False
        self.subscribe('stop', self._on_stop)

    def _on_stop(self, _reason) -> None:
        self.stopped = True
        self.steps.release()

    def process(self):
        self.asked.release()            # the frame before this call has been emitted
        if self.i >= self.n or not self.steps.acquire(timeout=WAIT) or self.stopped:
            return EOS
        self.i += 1
        return make_frame(self.i - 1, 16, 12)

    def step(self) -> None:
        """Emit one frame and return once the source has handed it to the graph."""
        self.steps.release()
        assert self.asked.acquire(timeout=WAIT)


class FlowGate(Node):
    """Holds each frame until the test opens the gate for it."""

    def __init__(self) -> None:
        self.entered: list[int] = []
        self.arrived, self.open = threading.Semaphore(0), threading.Semaphore(0)

    def process(self, frame):
        self.entered.append(frame.frame_id)
        self.arrived.release()
        assert self.open.acquire(timeout=WAIT)
        return frame


def gated(max_in_flight: int) -> dict:
    return {'name': 'gated', 'mode': 'live', 'max_in_flight': max_in_flight,
            'buffers': {'frames': {'size': 8, 'policy': 'drop_oldest'}},
            'nodes': [
                {'name': 'source', 'type': 'FlowStepSource', 'outputs': {'frame': 'frames'}},
                {'name': 'gate', 'type': 'FlowGate', 'inputs': {'frame': 'frames'},
                 'outputs': {'frame': 'out'}},
                {'name': 'sink', 'type': 'Collect', 'key': 'gated', 'inputs': {'frame': 'out'}}]}


@pytest.mark.parametrize('limit', [1, 2])
def test_no_more_than_max_in_flight_frames_enter_the_expensive_part(limit):
    graph = load_graph(gated(limit))
    source, gate = graph.nodes['source'].node, graph.nodes['gate'].node
    runner = Runner(graph)
    runner.limiters['frames'].stale = float('inf')   # no clock in this test: never stale
    runner.start()
    try:
        assert source.asked.acquire(timeout=WAIT)     # set up, asking for frame 0
        source.step()
        assert gate.arrived.acquire(timeout=WAIT)     # frame 0 is in the gate
        for _ in range(5):
            source.step()                             # frames 1..5 while the gate holds 0
        # in the expensive part: the frame in the gate, and the ones queued for it
        assert 1 + len(runner.buffers['frames']) == limit
        assert runner.limiters['frames'].in_flight == limit
        gate.open.release()                           # frame 0 leaves: frame 5 takes its slot
        for _ in range(limit):
            assert gate.arrived.acquire(timeout=WAIT)
            gate.open.release()
    finally:
        runner.stop('test')
        for _ in range(10):
            gate.open.release()
        assert runner.wait(timeout=WAIT) == 0
    assert gate.entered == list(range(limit)) + [5]      # the freshest frame, without waiting
    assert runner.limiters['frames'].peak == limit
    assert runner.buffers['frames'].stats.dropped == 0   # no work was wasted
    assert runner.metrics.nodes['source'].skipped_at_source == 5 - limit


class TagModel(Node):
    """Stands for a model: tags each frame as its result."""

    def process(self, frame):
        return frame.with_meta(value=frame.frame_id * 10)


def live_join() -> dict:
    return {'name': 'live_join', 'mode': 'live', 'nodes': [
        {'name': 'source', 'type': 'FlowStepSource', 'outputs': {'frame': ['video', 'model_in']}},
        {'name': 'model', 'type': 'TagModel', 'inputs': {'frame': 'model_in'},
         'outputs': {'frame': 'results'}},
        {'name': 'join', 'type': 'JoinLatest',
         'inputs': {'frame': 'video', 'side': 'results'}, 'outputs': {'frame': 'shown'}},
        {'name': 'sink', 'type': 'Collect', 'key': 'live_join', 'inputs': {'frame': 'shown'}}]}


def test_live_latest_join_draws_results_and_frees_the_model_when_it_is_done():
    graph = load_graph(live_join())
    source = graph.nodes['source'].node
    runner = Runner(graph).start()
    model_in = runner.limiters['model_in']
    try:
        assert source.asked.acquire(timeout=WAIT)
        for i in range(6):
            source.step()
            # Without a sleep: the model path's token is freed when the model has put its
            # result, whether or not the join has read it (results hold no token).
            assert _until(lambda: model_in.in_flight == 0 and runner.limiters['video'].in_flight
                          == 0)
            assert runner.buffers['results'].stats.put == i + 1
    finally:
        runner.stop('test')
        assert runner.wait(timeout=WAIT) == 0
    shown = Collect.seen['live_join']
    assert [f.frame_id for f in shown] == list(range(6))
    assert runner.metrics.nodes['model'].frames_in == 6    # the model never missed a frame
    assert all(f.meta['side_id'] is not None for f in shown[1:])   # results drawn on frames
    by_id = {f.frame_id: f.timestamp for f in shown}
    for f in shown:
        if f.meta['side_id'] is not None:    # the age of the results drawn is measured
            assert f.results_time == by_id[f.meta['side_id']]
    assert 'result_age_ms_p50' in runner.metrics.snapshot()['nodes']['sink']


def _until(condition, timeout: float = WAIT) -> bool:
    """Wait for another thread to reach a state (a bound, not a timing assertion)."""
    tick = threading.Event()
    for _ in range(int(timeout * 1000)):
        if condition():
            return True
        tick.wait(0.001)
    return condition()


class WatchedBuffer(Buffer):
    """A buffer that tells when a reader starts waiting in get()."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.waiting = threading.Event()

    def get(self, timeout=None):
        self.waiting.set()
        return super().get(timeout)


def _joined_side(due_in: float) -> tuple:
    """A live latest input whose upstream limiter has frame 7 in flight, due in ``due_in`` s;
    the trigger frames come every 4 s, and the input already holds frame 6's result."""
    results = WatchedBuffer('results', size=1, on_drop=Envelope.release)
    limiter = FlowLimiter(1, Buffer('model_in'))
    limiter.offer(make_frame(6, 8, 8)).release()
    limiter.turnaround = due_in
    limiter.offer(make_frame(7, 8, 8))                      # in flight, due in due_in s
    side = SideInput(results, 'latest', live=True, upstream=limiter)
    now = time.monotonic()
    results.put(Envelope(make_frame(6, 8, 8)))
    side.value_for(make_frame(6, 8, 8).replace(timestamp=now - 4.0), None)
    return side, results, make_frame(7, 8, 8).replace(timestamp=now)


def test_live_join_waits_for_a_result_due_within_the_frame_period():
    side, results, trigger = _joined_side(due_in=0.0)
    results.waiting.clear()
    putter = threading.Thread(target=lambda: results.waiting.wait(WAIT) and results.put(
        Envelope(make_frame(7, 8, 8))))
    putter.start()
    value = side.value_for(trigger, 6)       # waits (up to 3 s) for frame 7's result
    putter.join(WAIT)
    assert value.frame_id == 7


def test_live_join_does_not_wait_for_a_result_due_after_the_frame_period():
    side, results, trigger = _joined_side(due_in=10.0)
    results.waiting.clear()
    assert side.value_for(trigger, 6).frame_id == 6     # the latest there is, at once
    assert not results.waiting.is_set()
