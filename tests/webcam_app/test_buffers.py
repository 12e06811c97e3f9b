from __future__ import annotations

import threading

import pytest

from webcam_app import Buffer, BufferClosed

pytestmark = pytest.mark.timeout(20)


def run_concurrently(buffer: Buffer, producers: int, items_each: int, consumers: int):
    """Producers put (producer, i) pairs; consumers take until the buffer is closed and empty."""
    taken: list[list] = [[] for _ in range(consumers)]

    def produce(p: int) -> None:
        for i in range(items_each):
            buffer.put((p, i), timeout=5)

    def consume(c: int) -> None:
        while True:
            try:
                taken[c].append(buffer.get(timeout=5))
            except BufferClosed:
                return

    cons = [threading.Thread(target=consume, args=(c,)) for c in range(consumers)]
    prods = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for t in cons + prods:
        t.start()
    for t in prods:
        t.join(10)
    buffer.close()
    for t in cons:
        t.join(10)
    assert not any(t.is_alive() for t in cons + prods)
    return taken


def test_block_policy_is_lossless_and_ordered_per_producer():
    buffer = Buffer('b', size=3, policy='block')
    taken = run_concurrently(buffer, producers=4, items_each=500, consumers=3)
    items = [item for part in taken for item in part]
    assert sorted(items) == sorted((p, i) for p in range(4) for i in range(500))
    for part in taken:   # each consumer sees each producer's items in order
        for p in range(4):
            ids = [i for q, i in part if q == p]
            assert ids == sorted(ids)
    assert buffer.stats.dropped == 0
    assert buffer.stats.put == buffer.stats.taken == 2000
    assert buffer.stats.high_water <= 3


@pytest.mark.parametrize('policy', ['drop_oldest', 'drop_newest'])
def test_dropping_policies_count_every_loss(policy):
    dropped = []
    buffer = Buffer('b', size=2, policy=policy, on_drop=dropped.append)
    taken = run_concurrently(buffer, producers=3, items_each=400, consumers=2)
    n_taken = sum(len(part) for part in taken)
    assert n_taken + buffer.stats.dropped == 1200
    assert len(dropped) == buffer.stats.dropped
    assert buffer.stats.taken == n_taken
    assert buffer.stats.high_water <= 2
    # nothing is both delivered and dropped
    assert not set(dropped) & {item for part in taken for item in part}


def test_drop_oldest_keeps_the_freshest():
    buffer = Buffer('b', size=2, policy='drop_oldest')
    for i in range(5):
        buffer.put(i)
    assert [buffer.get(0), buffer.get(0)] == [3, 4]
    assert buffer.stats.dropped == 3


def test_drop_newest_keeps_the_first():
    buffer = Buffer('b', size=2, policy='drop_newest')
    assert [buffer.put(i) for i in range(4)] == [True, True, False, False]
    assert [buffer.get(0), buffer.get(0)] == [0, 1]


def test_close_wakes_blocked_getters_and_putters():
    empty, full = Buffer('e', 1, 'block'), Buffer('f', 1, 'block')
    full.put('x')
    results = {}

    def getter():
        try:
            empty.get()
        except BufferClosed:
            results['get'] = 'closed'

    def putter():
        results['put'] = full.put('y')

    threads = [threading.Thread(target=getter), threading.Thread(target=putter)]
    for t in threads:
        t.start()
    empty.close()
    full.close()
    for t in threads:
        t.join(5)
    assert results == {'get': 'closed', 'put': False}
    assert full.get(0) == 'x'          # what was in it is still delivered
    with pytest.raises(BufferClosed):
        full.get(0)


def test_get_times_out():
    with pytest.raises(TimeoutError):
        Buffer('b').get(timeout=0.01)


@pytest.mark.parametrize('size,policy', [(0, 'block'), (1.5, 'block'), (1, 'leaky')])
def test_invalid_settings_say_what_is_allowed(size, policy):
    with pytest.raises(ValueError, match='must be'):
        Buffer('b', size, policy)
