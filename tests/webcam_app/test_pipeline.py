"""The Python API on small graphs: order, pipelining, live drops, errors, threads, validation."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

import webcam_app
from webcam_app import ConfigError, NodeError, NodeHarness, make_frame
from tests.webcam_app import toy_nodes  # noqa: F401  (registers the toy node types)
from tests.webcam_app.toy_nodes import CountSetups, Gate, Overlap

pytestmark = pytest.mark.timeout(30)


def write_graph(folder: Path, *middle: dict, name: str = 'g.yaml') -> Path:
    """source -> middle nodes (a chain) -> sink, as a YAML file."""
    nodes = [{'name': 'source', 'type': 'CountSource', 'n': 3, 'outputs': {'frame': 'b0'}}]
    for i, node in enumerate(middle):
        nodes.append({**node, 'inputs': {'frame': f'b{i}'}, 'outputs': {'frame': f'b{i + 1}'}})
    nodes.append({'name': 'sink', 'type': 'Collect', 'inputs': {'frame': f'b{len(middle)}'}})
    path = folder / name
    path.write_text(yaml.safe_dump({'name': 'test', 'nodes': nodes}, sort_keys=False))
    return path


def images(n: int) -> list[np.ndarray]:
    return [np.full((24, 32, 3), i, np.uint8) for i in range(n)]


def node_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith('node:')]


def stamps(result, node: str) -> tuple[float, float]:
    return next((enter, exit) for name, enter, exit in result.frame.stamps if name == node)


def test_stream_gives_one_result_per_frame_in_order(tmp_path):
    graph = write_graph(tmp_path, {'name': 'add', 'type': 'AddValue', 'factor': 2})
    with webcam_app.open(graph, fps=10) as p:
        results = list(p.stream(images(40)))
    assert [r.frame_id for r in results] == list(range(40))
    assert [r.frame.meta['value'] for r in results] == [2 * i for i in range(40)]
    assert [int(r.image[0, 0, 0]) for r in results] == list(range(40))   # each its own image
    assert [r.record['timestamp'] for r in results[:3]] == [0.0, 0.1, 0.2]
    assert not node_threads()


def test_calls_run_one_frame_at_a_time(tmp_path):
    graph = write_graph(tmp_path, {'name': 'a', 'type': 'AddValue'},
                        {'name': 'b', 'type': 'AddValue', 'key': 'b'})
    with webcam_app.open(graph) as p:
        called = [p(image) for image in images(8)]
    # frame k+1 enters the first stage only after frame k left the last one
    assert all(stamps(nxt, 'a')[0] >= stamps(cur, 'b')[1] for cur, nxt in zip(called, called[1:]))


def test_stream_overlaps_stages(tmp_path):
    Overlap.reset()
    graph = write_graph(tmp_path, {'name': 'a', 'type': 'Overlap'},
                        {'name': 'b', 'type': 'Overlap', 'stage': 'second', 'last': 7})
    with webcam_app.open(graph) as p:
        streamed = list(p.stream(images(8)))
    # pipelined: frame k waits in the second stage until frame k+1 is in the first one
    assert [r.frame.meta['overlapped'] for r in streamed] == [True] * 8


def test_a_stream_left_early_does_not_disturb_the_next_call(tmp_path):
    graph = write_graph(tmp_path, {'name': 'add', 'type': 'AddValue'})
    with webcam_app.open(graph, window=4) as p:
        stream = p.stream(images(20))
        assert next(stream).frame_id == 0
        stream.close()
        assert p(images(1)[0]).frame_id == 4    # frames 1 to 3 were in flight, then discarded


def test_submit_never_waits_and_counts_the_frames_it_drops(tmp_path):
    Gate.opened.clear()
    Gate.holding.clear()
    graph = write_graph(tmp_path, {'name': 'gate', 'type': 'Gate'})
    with webcam_app.open(graph) as p:
        assert p.latest() is None
        p.submit(images(1)[0])                   # frame 0 goes in and waits at the gate
        assert Gate.holding.wait(5)
        for image in images(5):                  # the graph is busy: each replaces the last
            p.submit(image)
        assert p.dropped == 4
        Gate.opened.set()
        first = p.latest(timeout=5)
        newest = first if first.frame_id == 1 else p.latest(timeout=5)
    assert first.frame_id in (0, 1)
    assert newest.frame_id == 1 and int(newest.image[0, 0, 0]) == 4   # the last one submitted
    assert not node_threads()


def test_node_exception_raises_in_the_caller_and_leaves_no_thread(tmp_path):
    graph = write_graph(tmp_path, {'name': 'add', 'type': 'AddValue', 'fail_at': 3})
    with pytest.raises(NodeError) as caught:
        with webcam_app.open(graph) as p:
            list(p.stream(images(10)))
    assert caught.value.node == 'add'
    assert "node 'add' failed: RuntimeError: boom at frame 3" in str(caught.value)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert not node_threads()


def test_setup_failure_raises_on_open(tmp_path):
    graph = write_graph(tmp_path, {'name': 'model', 'type': 'FailSetup'})
    with pytest.raises(NodeError, match="node 'model' failed: OSError: cannot load the model"):
        webcam_app.open(graph)
    assert not node_threads()


def test_close_stops_threads_after_an_error_in_the_callers_code(tmp_path):
    graph = write_graph(tmp_path, {'name': 'add', 'type': 'AddValue'})
    with pytest.raises(KeyError):
        with webcam_app.open(graph) as p:
            p(images(1)[0])
            raise KeyError('the caller failed')
    assert not node_threads()
    with pytest.raises(webcam_app.WebcamAppError, match='closed'):
        p(images(1)[0])


def test_models_load_once_however_many_calls(tmp_path):
    CountSetups.setups = 0
    graph = write_graph(tmp_path, {'name': 'model', 'type': 'CountSetups'})
    with webcam_app.open(graph) as p:
        assert CountSetups.setups == 1           # loaded on open, before the first frame
        results = [p(image) for image in images(3)] + list(p.stream(images(5)))
    assert CountSetups.setups == 1
    assert {r.frame.meta['setups'] for r in results} == {1}


def test_paths_and_grayscale_frames_are_accepted(tmp_path):
    graph = write_graph(tmp_path, {'name': 'add', 'type': 'AddValue'})
    cv2.imwrite(str(tmp_path / 'a.png'), np.full((24, 32, 3), 7, np.uint8))
    with webcam_app.open(graph) as p:
        assert int(p(tmp_path / 'a.png').image[5, 5, 1]) == 7
        assert p(np.full((24, 32), 9, np.uint8)).image.shape == (24, 32, 3)
        with pytest.raises(ValueError, match='cannot read an image from'):
            p(tmp_path / 'missing.png')
        with pytest.raises(ValueError, match=r'uint8 array of shape \(H, W, 3\)'):
            p(np.zeros((24, 32, 3), np.float32))


def test_graph_errors_are_reported_on_open_with_file_and_line(tmp_path):
    graph = write_graph(tmp_path, {'name': 'add', 'type': 'AddValue', 'factr': 2})
    with pytest.raises(ConfigError) as caught:
        webcam_app.open(graph)
    line = 1 + next(i for i, text in enumerate(graph.read_text().splitlines()) if 'factr' in text)
    assert f"{graph}:{line}: node 'add' (AddValue) has no parameter 'factr'" in str(caught.value)
    assert "did you mean 'factor'" in str(caught.value)
    assert not node_threads()


def test_keyword_overrides_set_parameters_and_typos_are_named(tmp_path):
    graph = write_graph(tmp_path, {'name': 'add', 'type': 'AddValue'})
    with webcam_app.open(graph, add={'factor': 5}) as p:
        values = [r.frame.meta['value'] for r in p.stream(images(3))]
    assert values == [0, 5, 10]
    with pytest.raises(ConfigError) as caught:
        webcam_app.open(graph, add={'factr': 5}, facto=3)
    text = str(caught.value)
    assert "open(add=...): node 'add' (AddValue) has no parameter 'factr'" in text
    assert "open(facto=...): no node is called 'facto' and none takes a parameter" in text
    assert "did you mean 'factor'" in text


def test_a_graph_without_a_source_is_refused(tmp_path):
    path = tmp_path / 'nosource.yaml'
    path.write_text('name: x\nnodes:\n  - name: add\n    type: AddValue\n'
                    '    inputs: {frame: a}\n    outputs: {frame: b}\n'
                    '  - name: sink\n    type: Collect\n    inputs: {frame: b}\n')
    with pytest.raises(ConfigError, match='no source node for the Python API to replace'):
        webcam_app.open(path)


def test_feed_and_collector_are_plain_nodes():
    from nodes.io.in_process import FrameCollector, FrameFeed
    got = []
    with NodeHarness(FrameCollector, name='out', on_frame=lambda n, f: got.append((n, f))) as h:
        h.feed(frame=make_frame(3))
    assert [(n, f.frame_id) for n, f in got] == [('out', 3)]
    with NodeHarness(FrameFeed, size=2) as h:
        h.node.inbox.put(make_frame(7))
        assert h.feed()['frame'].frame_id == 7
        h.stop()                                 # shutdown ends the stream
        assert h.node.process() is webcam_app.EOS


def test_every_sink_becomes_a_collector_and_the_first_one_gives_the_result(tmp_path):
    path = tmp_path / 'two_sinks.yaml'
    path.write_text('name: two\nnodes:\n'
                    '  - {name: source, type: CountSource, outputs: {frame: a}}\n'
                    '  - {name: add, type: AddValue, inputs: {frame: a},'
                    ' outputs: {frame: [b, c]}}\n'
                    '  - {name: first, type: Collect, inputs: {frame: b}}\n'
                    '  - {name: second, type: AddValue, key: more, inputs: {frame: c},'
                    ' outputs: {frame: d}}\n'
                    '  - {name: last, type: Collect, inputs: {frame: d}}\n')
    with webcam_app.open(path) as p:
        results = list(p.stream(images(5)))
    assert p.embedding.collectors == ['first', 'last']
    assert [sorted(r.outputs) for r in results] == [['first', 'last']] * 5
    assert all(r.frame is r.outputs['first'] and 'more' not in r.frame.meta for r in results)
    assert [r.outputs['last'].meta['more'] for r in results] == list(range(5))


def test_a_pipeline_left_open_does_not_hold_the_interpreter_at_exit(tmp_path):
    graph = write_graph(tmp_path, {'name': 'add', 'type': 'AddValue'})
    script = ('import numpy as np, webcam_app\n'
              'from tests.webcam_app import toy_nodes\n'
              f'p = webcam_app.open({str(graph)!r})\n'
              'print(p(np.zeros((24, 32, 3), np.uint8)).frame_id)\n')   # and no close()
    root = Path(__file__).parents[2]
    ran = subprocess.run([sys.executable, '-c', script], cwd=root, capture_output=True,
                         text=True, timeout=20, env={**os.environ, 'PYTHONPATH': str(root)})
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == '0'


def test_a_frame_a_node_skips_returns_at_once_naming_the_node(tmp_path):
    graph = write_graph(tmp_path, {'name': 'add', 'type': 'AddValue', 'fail_at': 1,
                                   'on_error': 'skip'})
    with webcam_app.open(graph) as p:
        first, skipped, after = (p(image) for image in images(3))
    assert first.frame.meta['value'] == 0 and not first.skipped
    assert skipped.frame_id == 1 and skipped.frame is None and skipped.image is None
    assert skipped.skipped == {'add': 'RuntimeError: boom at frame 1'}
    assert skipped.predictions == []
    assert after.frame_id == 2 and after.frame.meta['value'] == 2 and not after.skipped


def test_a_node_that_returns_nothing_is_named_too(tmp_path):
    graph = write_graph(tmp_path, {'name': 'add', 'type': 'AddValue', 'drop_from': 0,
                                   'drop_until': 1})
    with webcam_app.open(graph) as p:
        result = p(images(1)[0])
        streamed = list(p.stream(images(3)))
    assert result.frame is None and result.skipped == {'add': 'no output'}
    assert [r.frame is not None for r in streamed] == [True] * 3


FAN_OUT = '''name: fan
nodes:
  - {name: source, type: CountSource, outputs: {frame: [a, b]}}
  - {name: add, type: AddValue, fail_at: 1, on_error: skip, inputs: {frame: a},
     outputs: {frame: added}}
  - {name: shown, type: Collect, inputs: {frame: added}}
  - {name: kept, type: Collect, key: kept, inputs: {frame: b}}
'''


def test_a_skip_on_one_branch_leaves_the_other_sink_its_frame(tmp_path):
    (tmp_path / 'fan.yaml').write_text(FAN_OUT)
    with webcam_app.open(tmp_path / 'fan.yaml') as p:
        results = [p(image) for image in images(3)]
    assert [sorted(r.outputs) for r in results] == [['kept', 'shown'], ['kept'],
                                                    ['kept', 'shown']]
    assert results[1].frame is None and results[1].outputs['kept'].frame_id == 1
    assert results[1].skipped == {'add': 'RuntimeError: boom at frame 1'}


def test_an_interrupted_call_leaves_nothing_for_the_next(tmp_path):
    Gate.opened.clear()
    Gate.holding.clear()
    graph = write_graph(tmp_path, {'name': 'gate', 'type': 'Gate'})

    def interrupt() -> None:             # Ctrl-C while the call waits for its frame
        if Gate.holding.wait(10):
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    with webcam_app.open(graph) as p:
        ctrl_c = threading.Thread(target=interrupt)
        ctrl_c.start()
        with pytest.raises(KeyboardInterrupt):
            p(images(1)[0])
        ctrl_c.join(10)
        Gate.opened.set()                # frame 0 comes out now, with nobody waiting for it
        nxt = p(np.full((24, 32, 3), 7, np.uint8))
        left = dict(p._done)
    assert nxt.frame_id == 1 and int(nxt.image[0, 0, 0]) == 7
    assert left == {}, 'the interrupted call left its result behind'
