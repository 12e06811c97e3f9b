"""The executor: end of stream, supervision, joins, modes, hot keys and shutdown."""
from __future__ import annotations

import logging

import pytest

from webcam_app import Runner, load_graph, run_graph
from tests.webcam_app import toy_nodes  # noqa: F401
from tests.webcam_app.toy_nodes import Collect

pytestmark = pytest.mark.timeout(30)


def chain(n=20, mode='replay', fps=None, **add):
    return {'name': 'chain', 'mode': mode, 'nodes': [
        {'name': 'source', 'type': 'CountSource', 'n': n, 'fps': fps,
         'outputs': {'frame': 'frames'}},
        {'name': 'add', 'type': 'AddValue', 'inputs': {'frame': 'frames'},
         'outputs': {'frame': 'out'}, **add},
        {'name': 'sink', 'type': 'Collect', 'key': 'chain', 'inputs': {'frame': 'out'}}]}


def joined(kind='latest', drop_every=None, n=30):
    return {'name': 'join', 'mode': 'replay', 'nodes': [
        {'name': 'source', 'type': 'CountSource', 'n': n, 'outputs': {'frame': ['video', 'model']}},
        {'name': 'model', 'type': 'AddValue', 'factor': 10, 'drop_every': drop_every,
         'work_s': 0.001, 'inputs': {'frame': 'model'}, 'outputs': {'frame': 'results'}},
        {'name': 'join', 'type': 'JoinLatest',
         'inputs': {'frame': 'video', 'side': {'buffer': 'results', 'kind': kind}},
         'outputs': {'frame': 'shown'}},
        {'name': 'sink', 'type': 'Collect', 'key': 'join', 'inputs': {'frame': 'shown'}}]}


def test_end_of_stream_ends_the_run_with_every_frame_in_order():
    runner = run_graph(load_graph(chain(n=25)), timeout=10)
    assert runner.exit_code == 0
    frames = Collect.seen['chain']
    assert [f.frame_id for f in frames] == list(range(25))
    assert [f.meta['value'] for f in frames] == list(range(25))
    assert not runner.stuck_threads and not any(t.is_alive() for t in runner.threads)
    # every frame carries the stamps of the nodes it went through, in order
    assert [s[0] for s in frames[0].stamps] == ['source', 'add']


def test_node_exception_names_the_node_and_stops(caplog):
    caplog.set_level(logging.ERROR)
    graph = load_graph(chain(n=-1, mode='live', fps=200, fail_at=5))
    runner = Runner(graph).start()
    code = runner.wait(timeout=10)
    assert code == 1
    assert [e.node for e in runner.errors] == ['add']
    assert isinstance(runner.errors[0].__cause__, RuntimeError)
    assert "node 'add' failed: RuntimeError: boom at frame 5" in caplog.text
    assert 'Traceback' in caplog.text or caplog.records[0].exc_info
    assert not any(t.is_alive() for t in runner.threads)


def test_on_error_skip_drops_only_the_failing_frame():
    runner = run_graph(load_graph(chain(n=10, fail_at=4, on_error='skip')), timeout=10)
    assert runner.exit_code == 0
    assert [f.frame_id for f in Collect.seen['chain']] == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert runner.metrics.nodes['add'].skipped_errors == 1


def test_latest_join_in_replay_is_deterministic():
    runs = []
    for _ in range(3):
        run_graph(load_graph(joined('latest', drop_every=3)), timeout=10)
        runs.append([(f.frame_id, f.meta['side_id'], f.meta['side_value'])
                     for f in Collect.seen['join']])
    assert runs[0] == runs[1] == runs[2]
    # frame k joins the newest result made for a frame <= k
    for frame_id, side_id, value in runs[0]:
        expected = frame_id if frame_id % 3 else (frame_id - 1 if frame_id else None)
        assert side_id == expected
        assert value == (None if expected is None else expected * 10)


def test_sync_join_pairs_by_frame_id():
    runner = run_graph(load_graph(joined('sync', drop_every=4)), timeout=10)
    assert runner.exit_code == 0
    frames = Collect.seen['join']
    assert [f.frame_id for f in frames] == list(range(30))     # every frame arrived, in order
    assert [f.meta['side_id'] for f in frames] == [None if i % 4 == 0 else i for i in range(30)]


@pytest.mark.parametrize('kind', ['sync', 'latest'])
def test_a_producer_silent_for_longer_than_its_buffer_does_not_stall_a_replay_join(kind):
    config = joined(kind)
    model = config['nodes'][1]
    model.update(drop_from=5, drop_until=25, work_s=0.0)    # 20 frames without output: > size 8
    runner = run_graph(load_graph(config), timeout=20)
    assert runner.exit_code == 0, 'the join waited for results that were never coming'
    frames = Collect.seen['join']
    assert [f.frame_id for f in frames] == list(range(30))
    made = [i for i in range(30) if not 5 <= i < 25]
    expected = ([i if i in made else None for i in range(30)] if kind == 'sync' else
                [max(j for j in made if j <= i) for i in range(30)])
    assert [f.meta['side_id'] for f in frames] == expected


def test_hot_key_toggles_a_node_through_the_event_bus():
    graph = load_graph({**chain(n=6), 'nodes': [
        {**n, 'enable_key': 'a'} if n['name'] == 'add' else n for n in chain(n=6)['nodes']]})
    events = graph.nodes['add'].node.events
    runner = Runner(graph)
    events.publish('key', 'a')
    assert graph.nodes['add'].node.enabled is False
    events.publish('key', 'x')                      # not a hot key: nothing changes
    assert graph.nodes['add'].node.enabled is False
    assert runner.run() == 0
    assert all('value' not in f.meta for f in Collect.seen['chain'])   # bypassed
    events.publish('key', 'a')                      # the run is over: nobody listens
    assert graph.nodes['add'].node.enabled is False


def test_live_mode_skips_at_the_source_and_wastes_no_work():
    config = chain(n=30, mode='live', fps=1000)
    config['nodes'][1] = {'name': 'add', 'type': 'HoldFirst', 'inputs': {'frame': 'frames'},
                          'outputs': {'frame': 'out'}}
    graph = load_graph(config)
    runner = Runner(graph).start()
    source = next(t for t in runner.threads if t.name == 'node:source')
    source.join(10)   # every frame is read while the model (the gate) holds frame 0
    assert not source.is_alive()
    graph.nodes['add'].node.opened.set()
    assert runner.wait(timeout=10) == 0
    source, add = runner.metrics.nodes['source'], runner.metrics.nodes['add']
    assert source.skipped_at_source >= 28                   # the source never waited
    assert add.frames_in + source.skipped_at_source == 30
    assert runner.buffers['frames'].stats.dropped == 0      # one frame in flight: no drops
    assert len(Collect.seen['chain']) == add.frames_in      # everything processed was shown
    ids = [f.frame_id for f in Collect.seen['chain']]
    assert ids == sorted(ids)


def test_quit_event_stops_a_live_run():
    graph = load_graph(chain(n=-1, mode='live', fps=100))
    runner = Runner(graph).start()
    graph.nodes['sink'].node.events.publish('quit', 'key q')
    assert runner.wait(timeout=5) == 0
    assert not any(t.is_alive() for t in runner.threads)


def test_setup_failure_stops_before_any_frame():
    class FailingSetup(toy_nodes.AddValue):
        def setup(self):
            raise OSError('device busy')
    try:
        graph = load_graph({'nodes': [
            {'name': 'source', 'type': 'CountSource', 'n': 5, 'outputs': {'frame': 'f'}},
            {'name': 'bad', 'type': 'FailingSetup', 'inputs': {'frame': 'f'}}]})
        runner = run_graph(graph, timeout=10)
        assert runner.exit_code == 1
        assert runner.errors[0].node == 'bad'
        assert 'OSError: device busy' in str(runner.errors[0])
        assert runner.metrics.nodes['source'].frames_out == 0
    finally:
        from webcam_app import registry
        registry._types.pop('FailingSetup', None)


def test_feedback_edge_gives_the_previous_frames_result():
    config = {'name': 'loop', 'mode': 'replay', 'nodes': [
        {'name': 'source', 'type': 'CountSource', 'n': 12, 'outputs': {'frame': 'frames'}},
        {'name': 'join', 'type': 'JoinLatest',
         'inputs': {'frame': 'frames', 'side': {'buffer': 'back', 'kind': 'previous'}},
         'outputs': {'frame': 'mid'}},
        {'name': 'add', 'type': 'AddValue', 'inputs': {'frame': 'mid'},
         'outputs': {'frame': ['back', 'shown']}},
        {'name': 'sink', 'type': 'Collect', 'key': 'loop', 'inputs': {'frame': 'shown'}}]}
    for _ in range(2):
        runner = run_graph(load_graph(config), timeout=10)
        assert runner.exit_code == 0
        frames = Collect.seen['loop']
        assert [f.frame_id for f in frames] == list(range(12))
        assert [f.meta['side_id'] for f in frames] == [None] + list(range(11))
