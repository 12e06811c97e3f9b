"""Build MMPoseInferencer's 3D graphs (``--pose3d human3d``, ``--pose3d hand3d``) from the
shipped 3D graphs, with the inferencer's arguments set on the nodes that take them.

As the inferencer: a name with 'hand3d' in it is InterNet on the whole image (graphs/hand3d.yaml);
anything else is a lifter behind a 2D model (graphs/body3d.yaml), the 2D model being ``--pose2d``
or ``human``, and its detector as in 2D.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import yaml

from webcam_app import ConfigError, ConfigIssue

from .graph import GRAPHS_DIR, VISUALIZER_OPTIONS, detector_node, flag, model_name, resolve_pose

__all__ = ['TEMPLATES', 'graph_3d']

#: which shipped graph runs each kind of 3D model
TEMPLATES = {'hand3d': 'hand3d.yaml', 'human3d': 'body3d.yaml'}
#: node type -> the inferencer's arguments it takes (as its own parameter names)
_TAKES = {
    'PoseLifterNode': ('disable_norm_pose_2d', 'disable_rebase_keypoint'),
    'InterNetNode': ('disable_rebase_keypoint',),
    'Pose3DView': ('num_instances', 'black_background', 'kpt_thr', 'radius', 'thickness'),
    'PoseVisualizer': VISUALIZER_OPTIONS,
}


def _template(kind: str, where: str) -> dict[str, Any]:
    path = GRAPHS_DIR / TEMPLATES[kind]
    if not path.is_file():
        raise ConfigError(ConfigIssue(where, f'3D pose ({kind}) runs the shipped graph {path}, '
                                      'which this install does not have',
                                      f'update the project to one with graphs/{TEMPLATES[kind]}'
                                      ', or use --pose2d'))
    graph = yaml.safe_load(path.read_text(encoding='utf-8'))
    if graph.get('fallback'):
        graph['fallback'] = str(GRAPHS_DIR / graph['fallback'])
    return graph


def _set_2d(nodes: dict[str, dict], options: Mapping[str, Any], notes: list[str]) -> None:
    """The lifter's 2D model and its detector, from --pose2d and the detector options."""
    pose = resolve_pose({**options, 'pose2d': options.get('pose2d') or 'human'}, 'pose2d')
    estimator = nodes['pose']
    estimator.update(model=model_name(str(options.get('pose2d') or 'human'), pose),
                     flip_test=pose.flip_test, bbox_thr=float(options.get('bbox_thr', 0.3)))
    if options.get('pose2d_weights'):
        estimator['weights'] = str(options['pose2d_weights'])
    if options.get('draw_heatmap'):
        estimator['output_heatmaps'] = True
    detector = detector_node(options, pose)
    nodes['detector'] = {**detector, 'inputs': nodes['detector']['inputs'],
                         'outputs': nodes['detector']['outputs']}
    notes.append(f'2D: {pose.spec.name}, detector: {detector.get("model", "the whole image")}')


def graph_3d(options: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The graph of ``--pose3d`` and what was chosen (for the log)."""
    name = str(options['pose3d'])
    where = flag('pose3d', name)
    kind = 'hand3d' if 'hand3d' in name.lower() else 'human3d'
    graph = _template(kind, where)
    model = resolve_pose(options, 'pose3d')
    nodes = {n['name']: n for n in graph['nodes']}
    notes = [f'{where}: {model.spec.name} ({TEMPLATES[kind]})']
    three_d = next((n for n in graph['nodes'] if n['type'] in ('PoseLifterNode', 'InterNetNode')),
                   None)
    if three_d is None:
        raise ConfigError(ConfigIssue(where, f'{TEMPLATES[kind]} has no PoseLifterNode or '
                                      'InterNetNode to run the 3D model', 'restore the file'))
    three_d['model'] = model_name(name, model)
    if options.get('pose3d_weights'):
        three_d['weights'] = str(options['pose3d_weights'])
    if kind == 'human3d':
        _set_2d(nodes, options, notes)
    elif options.get('det_model') or options.get('pose2d'):
        notes.append('hand3d runs on the whole image: --det-model and --pose2d are not used')
    values = {**options, 'num_instances': max(-1, int(options.get('num_instances', 1)))}
    for node in graph['nodes']:
        for key in _TAKES.get(node['type'], ()):
            if values.get(key) is not None:
                node[key] = values[key]
        if node['type'] == 'PoseVisualizer':
            node['show_labels'] = False
        if node['type'] == 'Tracker':     # the inferencer's tracking of 3D poses
            node.update(match='keypoints' if options.get('use_oks_tracking') else 'iou',
                        iou_thr=float(options.get('tracking_thr', 0.3)),
                        oks_thr=float(options.get('tracking_thr', 0.3)))
    nodes['source']['input'] = options.get('input') or 0
    graph['name'] = f'infer_{Path(name).stem}'
    graph['nodes'] = [nodes.get(n['name'], n) for n in graph['nodes']]
    if graph.get('fallback'):
        notes.append(f'offline fallback: {Path(graph["fallback"]).name}')
    return graph, notes
