"""Cores split among nodes with their own thread pools, and a graph's ``defaults:``."""
from __future__ import annotations

import pytest

from webcam_app import ConfigError, Node, load_graph
from webcam_app.cores import allot_cores, available_cores
from tests.webcam_app import toy_nodes  # noqa: F401  (registers the toy node types)


@pytest.mark.parametrize('weights,cores,expected', [
    ({'det': 1, 'pose': 3}, 2, {'det': 1, 'pose': 2}),       # shares rounded up: 0.5, 1.5
    ({'det': 1, 'pose': 3}, 8, {'det': 2, 'pose': 6}),
    ({'det': 1, 'pose': 3}, 4, {'det': 1, 'pose': 3}),
    ({'det': 1, 'pose': 3}, 1, {'det': 1, 'pose': 1}),       # more pools than cores: 1 each
    ({'a': 1, 'b': 1, 'c': 1}, 16, {'a': 6, 'b': 6, 'c': 6}),
    ({'a': 1, 'b': 1}, 8, {'a': 4, 'b': 4}),                 # whole shares: exactly the cores
    ({'det': 1, 'viz': 0}, 4, {'det': 4}),                   # weight 0: no pool, no share
    ({}, 4, {})])
def test_allot_cores(weights, cores, expected) -> None:
    assert allot_cores(weights, cores) == expected


class Pooled(Node):
    """A node with a thread pool that takes its share of the cores."""

    def __init__(self, weight: float = 1.0, threads: int | None = None) -> None:
        self.weight, self.threads = weight, threads

    def core_weight(self) -> float:
        return self.weight

    def process(self, frame):
        return frame


def test_the_graph_gives_each_pooled_node_its_share(registry_snapshot) -> None:
    registry_snapshot.add(Pooled)
    graph = load_graph({'nodes': [
        {'name': 'src', 'type': 'CountSource', 'outputs': {'frame': 'a'}},
        {'name': 'det', 'type': 'Pooled', 'weight': 1, 'inputs': {'frame': 'a'},
         'outputs': {'frame': 'b'}},
        {'name': 'pose', 'type': 'Pooled', 'weight': 3, 'inputs': {'frame': 'b'},
         'outputs': {'frame': 'c'}},
        {'name': 'sink', 'type': 'Collect', 'inputs': {'frame': 'c'}}]})
    cores = graph.nodes['pose'].node.context.cores
    assert set(cores) == {'det', 'pose'} and cores['pose'] >= cores['det'] >= 1
    n = available_cores()
    assert cores == {'det': max(1, -(-n // 4)), 'pose': max(1, -(-3 * n // 4))}   # rounded up


def test_graph_defaults_fill_parameters_a_node_does_not_set(registry_snapshot) -> None:
    registry_snapshot.add(Pooled)
    config = {'defaults': {'threads': 2}, 'nodes': [
        {'name': 'src', 'type': 'CountSource', 'outputs': {'frame': 'a'}},
        {'name': 'one', 'type': 'Pooled', 'inputs': {'frame': 'a'}, 'outputs': {'frame': 'b'}},
        {'name': 'two', 'type': 'Pooled', 'threads': 1, 'inputs': {'frame': 'b'},
         'outputs': {'frame': 'c'}},
        {'name': 'sink', 'type': 'Collect', 'inputs': {'frame': 'c'}}]}
    graph = load_graph(config)
    assert graph.nodes['one'].node.threads == 2 and graph.nodes['two'].node.threads == 1
    config['defaults'] = {'thraeds': 2}
    with pytest.raises(ConfigError, match="defaults: no node of this graph has a parameter "
                                          "'thraeds'"):
        load_graph(config)
