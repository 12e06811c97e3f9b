"""The lifecycle the runtime guarantees: check before setup, wait that wakes on stop, per-node
events and context, subscriptions dropped at close, one show/hide mechanism."""
from __future__ import annotations

import threading

import pytest

from webcam_app import EOS, EventBus, Node, NodeHarness, Runner, load_graph, make_frame
from webcam_app.events import Hotkeys
from tests.webcam_app import toy_nodes  # noqa: F401  (registers the toy node types)

pytestmark = pytest.mark.timeout(30)


class Recording(Node):
    """A pass-through that records its lifecycle calls and keys it hears."""

    calls: list[str] = []

    def check(self):
        Recording.calls.append('check')

    def setup(self):
        Recording.calls.append('setup')
        self.subscribe('key', lambda key: Recording.calls.append(f'key {key}'))

    def process(self, frame):
        return frame

    def close(self):
        Recording.calls.append('close')


class Sleeper(Node):
    """A source that sleeps a minute between frames, the way a paced camera waits."""

    inputs = {}
    woke: list[bool] = []
    sleeping = threading.Event()

    def process(self):
        Sleeper.sleeping.set()
        Sleeper.woke.append(self.wait(60.0))
        return EOS if self.stopping else make_frame(len(Sleeper.woke))


def graph(source: str = 'CountSource', **extra):
    return {'nodes': [
        {'name': 'source', 'type': source, 'outputs': {'frame': 'frames'}, **extra},
        {'name': 'rec', 'type': 'Recording', 'inputs': {'frame': 'frames'},
         'outputs': {'frame': 'out'}},
        {'name': 'sink', 'type': 'Collect', 'key': 'lifecycle', 'inputs': {'frame': 'out'}}]}


@pytest.fixture(autouse=True)
def reset():
    Recording.calls, Sleeper.woke = [], []
    Sleeper.sleeping.clear()


@pytest.mark.parametrize('checked', [True, False])
def test_check_runs_before_every_setup(checked):
    from webcam_app.builder import build_graph
    from webcam_app.config import load_config
    built = build_graph(load_config(graph(n=3)), check=checked)
    assert Recording.calls == (['check'] if checked else [])
    assert Runner(built).run() == 0
    assert Runner(built).run() == 0          # a second run checks again: close released things
    assert Recording.calls == ['check', 'setup', 'close'] * 2


def test_wait_wakes_on_stop():
    runner = Runner(load_graph(graph('Sleeper'))).start()
    assert Sleeper.sleeping.wait(10)
    runner.stop('test')
    assert runner.wait(timeout=10) == 0       # not -1: the 60 s sleep did not hold it
    assert Sleeper.woke == [False]            # wait() said: the run is stopping


def test_each_node_has_its_own_context_and_the_graphs_events():
    assert 'events' not in vars(Node) and 'context' not in vars(Node)   # no shared defaults
    built = load_graph(graph(n=1))
    runner = Runner(built)
    nodes = [spec.node for spec in built.nodes.values()]
    assert all(node.events is built.events is runner.events for node in nodes)
    assert len({id(node.context) for node in nodes}) == len(nodes)
    assert all(node.context.metrics is runner.metrics for node in nodes)
    assert Node().events is not Node().events


def test_subscriptions_are_dropped_at_close():
    built = load_graph(graph(n=2))
    built.events.publish('key', 'a')                     # before the run: not subscribed yet
    runner = Runner(built).start()
    assert runner.wait(timeout=10) == 0
    built.events.publish('key', 'b')                     # after the run: dropped
    assert not any(call.startswith('key') for call in Recording.calls)


def test_event_bus_unsubscribe():
    bus, heard = EventBus(), []
    bus.subscribe('key', heard.append)
    bus.publish('key', 'a')
    bus.unsubscribe('key', heard.append)
    bus.unsubscribe('key', heard.append)                 # twice: harmless
    bus.publish('key', 'b')
    assert heard == ['a']


def test_hotkeys_flip_enabled_and_the_harness_uses_them():
    node = toy_nodes.AddValue()
    Hotkeys({'a': node})('a')
    assert node.enabled is False
    frame = make_frame(3)
    with NodeHarness(toy_nodes.AddValue, enable_key='v') as h:
        assert h.feed(frame=frame)['frame'].meta['value'] == 3
        h.press('v')
        assert h.feed(frame=frame)['frame'] is frame     # bypassed
    with NodeHarness(Recording) as h:
        h.press('k')
    h.press('z')                                         # closed: its subscription is gone
    assert Recording.calls == ['check', 'setup', 'key k', 'close']


def test_a_check_that_fails_at_start_starts_no_thread(registry_snapshot):
    from webcam_app import ConfigError
    from webcam_app.builder import build_graph
    from webcam_app.config import load_config

    class Refuses(Recording):
        def check(self):
            raise ValueError('the camera is gone')

    built = build_graph(load_config({**graph(n=1), 'nodes': [
        {**n, 'type': 'Refuses'} if n['name'] == 'rec' else n for n in graph(n=1)['nodes']]}),
        check=False)
    runner = Runner(built)
    with pytest.raises(ConfigError, match="node 'rec' \\(Refuses\\): the camera is gone"):
        runner.start()
    assert runner.threads == [] and Recording.calls == []
    built.events.publish('quit', 'late')                  # the runner no longer listens
    assert not runner.stopping.is_set()


def test_interrupt_wakes_what_wait_does_not_cover(registry_snapshot):
    class Blocks(Node):
        inputs = {}
        woken = threading.Event()

        def process(self):
            Sleeper.sleeping.set()
            # a queue, a capture thread: not self.wait()
            assert Blocks.woken.wait(10), 'interrupt() did not wake the node'
            return EOS

        def interrupt(self):
            Blocks.woken.set()

    runner = Runner(load_graph(graph('Blocks'))).start()
    assert Sleeper.sleeping.wait(10)
    runner.stop('test')
    assert runner.wait(timeout=10) == 0
    assert Blocks.woken.is_set()
