"""threads: auto on the model nodes: the runtime splits the cores between detector and pose."""
from __future__ import annotations

from pathlib import Path

import pytest

import nodes  # noqa: F401  (registers the built-in node types)
from nodes.models.openmmlab.detector import DetectorNode
from nodes.models.openmmlab.pose import TopdownPoseEstimatorNode
from webcam_app import ConfigError, NodeContext, build_graph, load_config
from webcam_app.cores import available_cores


def test_model_nodes_claim_cores_by_cost() -> None:
    det, pose = DetectorNode('hand'), TopdownPoseEstimatorNode('hand')
    assert det.threads == pose.threads == 'auto'
    assert pose.core_weight() == 3 * det.core_weight() > 0
    assert DetectorNode('hand', threads=2).core_weight() == 0       # a fixed count claims none
    det.name, det.context = 'detector', NodeContext(cores={'detector': 3})
    assert det.thread_count() == 3
    assert DetectorNode('hand', threads=None).thread_count() is None
    assert DetectorNode('hand', threads=2).thread_count() == 2


def test_a_model_graph_splits_every_core_between_its_models() -> None:
    config = load_config(Path(__file__).parents[3] / 'graphs' / 'hand.yaml')
    graph = build_graph(config, set_all={'headless': True}, check=False)
    cores = graph.nodes['pose'].node.context.cores
    assert set(cores) == {'detector', 'pose'}
    n = available_cores()
    assert cores == {'detector': max(1, -(-n // 4)), 'pose': max(1, -(-3 * n // 4))}
    assert graph.nodes['detector'].node.thread_count() == cores['detector']


def test_cuda_without_onnxruntime_gpu_stops_before_start() -> None:
    onnxruntime = pytest.importorskip('onnxruntime')
    if 'CUDAExecutionProvider' in onnxruntime.get_available_providers():
        pytest.skip('this onnxruntime has CUDA: the error cannot happen here')
    config = load_config(Path(__file__).parents[3] / 'graphs' / 'hand.yaml')
    with pytest.raises(ConfigError, match=r"hand.yaml:\d+: node 'detector'.*device cuda:0 needs "
                                          r'onnxruntime-gpu.*pip install onnxruntime-gpu'):
        build_graph(config, set_all={'headless': True, 'backend': 'onnxruntime',
                                     'device': 'cuda:0'})
