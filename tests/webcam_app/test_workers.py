"""``workers: N``: a reentrant node runs several frames at once, and sends them on in order."""
from __future__ import annotations

import logging
import threading

import pytest

from webcam_app import ConfigError, Node, Runner, load_graph, run_graph
from webcam_app.builder import build_graph
from webcam_app.config import load_config
from webcam_app.cores import allot_cores, auto_workers, available_cores
from tests.webcam_app import toy_nodes  # noqa: F401
from tests.webcam_app.toy_nodes import Collect

pytestmark = pytest.mark.timeout(30)


class Shuffled(Node):
    """Reentrant: the value is 10 × the frame id. ``pairs``: frames 2j and 2j+1 are inside
    process() together (a barrier), and 2j+1 returns first, so they finish out of order."""

    reentrant = True

    def __init__(self, pairs: bool = False, drop_every: int | None = None,
                 fail_at: int | None = None, hold_from: int | None = None) -> None:
        self.pairs, self.drop_every, self.fail_at = pairs, drop_every, fail_at
        self.hold_from = hold_from      # frames from this id on wait until the run stops
        # past the test's timeout: a frame whose partner never comes waits for the stop
        self.barrier = threading.Barrier(2, timeout=60)
        self.odd_done: dict[int, threading.Event] = {}
        self.finished: list[int] = []
        self.held = threading.Semaphore(0)

    def interrupt(self) -> None:
        self.barrier.abort()            # a frame whose partner never comes wakes on stop

    def process(self, frame):
        k = frame.frame_id
        if self.hold_from is not None and k >= self.hold_from:
            self.held.release()
            self.wait(60)               # wakes on stop
        if self.pairs:
            self.barrier.wait()         # both frames of the pair are in process() at once
            done = self.odd_done.setdefault(k // 2, threading.Event())
            if k % 2:
                done.set()
            else:
                assert done.wait(5), 'the odd frame never finished'
        self.finished.append(k)
        if self.fail_at == k:
            raise RuntimeError(f'boom at frame {k}')
        if self.drop_every and k % self.drop_every == 0:
            return None
        return frame.with_meta(value=k * 10)


def graph(workers, n=20, mode='replay', **shuffled):
    return {'name': 'workers', 'mode': mode, 'nodes': [
        {'name': 'source', 'type': 'CountSource', 'n': n,
         'outputs': {'frame': ['video', 'model']}},
        {'name': 'model', 'type': 'Shuffled', 'workers': workers, **shuffled,
         'inputs': {'frame': 'model'}, 'outputs': {'frame': ['results', 'direct']}},
        {'name': 'direct', 'type': 'Collect', 'key': f'direct{workers}',
         'inputs': {'frame': 'direct'}},
        {'name': 'join', 'type': 'JoinLatest',
         'inputs': {'frame': 'video', 'side': {'buffer': 'results', 'kind': 'latest'}},
         'outputs': {'frame': 'shown'}},
        {'name': 'sink', 'type': 'Collect', 'key': f'join{workers}',
         'inputs': {'frame': 'shown'}}]}


def _run(config):
    loaded = load_graph(config)
    dropped = []
    loaded.events.subscribe('dropped', lambda event: dropped.append(event.frame_id))
    runner = run_graph(loaded, timeout=20)
    return runner, loaded, dropped


def _seen(key):
    return [(f.frame_id, f.meta.get('value'), f.meta.get('side_id'), f.meta.get('side_value'))
            for f in Collect.seen[key]]


def test_two_workers_send_what_one_sends_in_the_same_order_though_they_finish_out_of_order():
    one, _, dropped_one = _run(graph(1, drop_every=3))
    two, loaded, dropped_two = _run(graph(2, pairs=True, drop_every=3))
    assert one.exit_code == two.exit_code == 0
    node = loaded.nodes['model'].node
    assert node.finished[:2] == [1, 0] and node.finished != sorted(node.finished)
    assert _seen('direct2') == _seen('direct1')
    assert [f[0] for f in _seen('direct2')] == [k for k in range(20) if k % 3]
    assert _seen('join2') == _seen('join1') and len(_seen('join2')) == 20   # EOS after all
    assert dropped_two == dropped_one == [0, 3, 6, 9, 12, 15, 18]
    stats = two.metrics.snapshot()['nodes']['model']
    assert stats['frames_in'] == 20 and stats['frames_out'] == 13
    assert stats['service_ms_p50'] > 0 and not two.stuck_threads


def test_an_error_in_one_worker_names_the_node_stops_the_graph_and_what_came_before_is_out(
        caplog):
    caplog.set_level(logging.INFO)
    runner, _, _ = _run(graph(2, n=40, pairs=True, fail_at=5))
    # the error stopped the graph at once, waking frame 6's worker (waiting in process() for a
    # partner that never comes): not run_graph's timeout
    assert "stopping: node 'model' failed" in caplog.text and 'timeout' not in caplog.text
    assert runner.exit_code == 1
    assert [e.node for e in runner.errors] == ['model']
    assert "node 'model' failed: RuntimeError: boom at frame 5" in caplog.text
    assert [f.frame_id for f in Collect.seen['direct2']] == [0, 1, 2, 3, 4]   # frame 4 too
    assert not runner.stuck_threads and not any(t.is_alive() for t in threading.enumerate()
                                                if t.name.startswith('node:model'))


def test_on_error_skip_with_workers_drops_only_the_failing_frame():
    config = graph(2, pairs=True, fail_at=7)
    config['nodes'][1]['on_error'] = 'skip'
    runner, _, dropped = _run(config)
    assert runner.exit_code == 0 and dropped == [7]
    assert [f.frame_id for f in Collect.seen['direct2']] == [k for k in range(20) if k != 7]
    assert runner.metrics.snapshot()['nodes']['model']['skipped_errors'] == 1


@pytest.mark.parametrize('mode', ['replay', 'live'])
def test_a_stop_while_every_worker_is_blocked_ends_the_run(mode):
    config = graph(3, n=-1 if mode == 'live' else 50, mode=mode, hold_from=4)
    config['max_in_flight'] = 3
    config['nodes'][0]['fps'] = 100 if mode == 'live' else None
    loaded = load_graph(config)
    node = loaded.nodes['model'].node
    runner = Runner(loaded, drain_timeout=0.2).start()
    for _ in range(3):      # three workers, each inside process() at once
        assert node.held.acquire(timeout=10)
    runner.stop('test')
    assert runner.wait(timeout=10) == 0
    assert not runner.stuck_threads
    assert not any(t.is_alive() for t in threading.enumerate() if t.name.startswith('node:'))


def test_workers_on_a_node_that_is_not_reentrant_is_refused_at_its_line(tmp_path):
    path = tmp_path / 'g.yaml'
    path.write_text('nodes:\n'
                    '  - {name: source, type: CountSource, outputs: {frame: a}}\n'
                    '  - name: add\n'
                    '    type: AddValue\n'
                    '    workers: 2\n'
                    '    inputs: {frame: a}\n'
                    '    outputs: {frame: b}\n'
                    '  - {name: sink, type: Collect, workers: zero, inputs: {frame: b}}\n')
    with pytest.raises(ConfigError) as info:
        load_graph(path)
    text = str(info.value)
    assert f'{path}:5' in text and 'AddValue does not declare reentrant = True' in text
    assert f'{path}:8' in text and "workers must be a number >= 1 or 'auto'" in text


def test_workers_auto_is_one_per_core_in_replay_and_one_live():
    weights, reentrant = {'det': 1.0, 'pose': 3.0}, {'det': True, 'pose': True}
    asked = {'det': 'auto', 'pose': 'auto', 'sink': 'auto'}
    replay = auto_workers(weights, asked, reentrant, replay=True, cores=2)
    assert replay == {'det': 2, 'pose': 2, 'sink': 1}
    assert allot_cores(weights, 2, replay) == {'det': 1, 'pose': 1}    # 2 × 1 + 2 × 1 threads
    many = auto_workers(weights, asked, reentrant, replay=True, cores=16)
    assert many == {'det': 4, 'pose': 4, 'sink': 1}
    assert allot_cores(weights, 16, many) == {'det': 1, 'pose': 3}     # 4 × 1 + 4 × 3
    assert auto_workers(weights, asked, reentrant, replay=False, cores=2) == {
        'det': 1, 'pose': 1, 'sink': 1}
    assert auto_workers(weights, asked, {'pose': False}, replay=True, cores=2)['pose'] == 1
    assert auto_workers(weights, {'pose': 3}, reentrant, replay=True, cores=2) == {'pose': 3}
    assert allot_cores(weights, 8, {'pose': 2}) == {'det': 2, 'pose': 3}


class TurnsSerial(Node):
    """Reentrant until its check finds it must run one frame at a time (as backend auto does
    when it falls back to PyTorch); it claims the cores as a model node does."""

    reentrant = True
    default_workers = 'auto'

    def core_weight(self) -> float:
        return 3.0

    def check(self) -> None:
        self.reentrant = False

    def process(self, frame):
        return frame


def test_a_node_its_check_makes_serial_gets_one_worker_and_all_its_threads():
    config = {'name': 'serial', 'mode': 'replay', 'nodes': [
        {'name': 'source', 'type': 'CountSource', 'n': 3, 'outputs': {'frame': 'a'}},
        {'name': 'model', 'type': 'TurnsSerial', 'inputs': {'frame': 'a'},
         'outputs': {'frame': 'b'}},
        {'name': 'sink', 'type': 'Collect', 'key': 'serial', 'inputs': {'frame': 'b'}}]}
    built = build_graph(load_config(config), check=False)
    cores = available_cores()
    if cores > 1:       # before its check: one single-thread worker per core
        assert built.nodes['model'].workers == min(cores, 4)
    built.check_nodes()
    assert built.nodes['model'].workers == 1
    node = built.nodes['model'].node
    assert node.context.workers['model'] == 1 and node.context.cores['model'] == cores
