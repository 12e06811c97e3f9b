"""Build MMPoseInferencer's 2D graph from its arguments: source, detector (or one box over the
whole image), top-down pose model, visualizer, display; the offline fallback by object type.

The graph is plain YAML data, so ``--print-graph`` can show it and a user can save and edit it.
The 3D graphs come from ``graph3d``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from webcam_app import ConfigError, ConfigIssue

from ..io.images import is_folder_path
from ..io.recorder import Recorder
from ..io.inputs import input_kind as source_input_kind
from .models import DETECTORS, WHOLE_IMAGE_LABEL, PoseModel, pose_model

__all__ = ['GRAPHS_DIR', 'VISUALIZER_OPTIONS', 'detector_node', 'flag', 'graph_2d', 'input_kind',
           'model_name', 'output_paths', 'resolve_pose', 'source_node',
           'tail_nodes']

#: the shipped graphs (the fallbacks live there)
GRAPHS_DIR = Path(__file__).resolve().parents[2] / 'graphs'
#: object type -> the shipped offline graph that stands in for it
FALLBACKS = {'human': 'body_lite.yaml', 'body': 'body_lite.yaml', 'hand': 'hand_lite.yaml',
             'face': 'face_lite.yaml', 'wholebody': 'wholebody_lite.yaml'}
#: the inferencer's drawing arguments, as PoseVisualizer's parameters
VISUALIZER_OPTIONS = ('kpt_thr', 'radius', 'thickness', 'draw_bbox', 'skeleton_style',
                      'draw_heatmap', 'black_background')
WEBCAM_VIDEO = 'webcam_output.mp4'   # the inferencer's name for a camera's video


def flag(key: str, value: Any = None) -> str:
    """An inferencer argument as the command line spells it: ``--pose2d hand``."""
    name = '--' + key.replace('_', '-')
    return name if value is None else f'{name} {value}'


def input_kind(value: str) -> str:
    """'camera', 'url', 'image', 'folder' or 'video' (a value the source refuses: 'video')."""
    return source_input_kind(value) or 'video'


def output_paths(options: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``vis_out_dir`` and ``pred_out_dir`` as the inferencer writes them: a folder takes a video
    as one file named after the video (a camera's: webcam_output.mp4), images one by one."""
    vis, pred = options.get('vis_out_dir') or None, options.get('pred_out_dir') or None
    kind = input_kind(str(options.get('input') or ''))
    if vis and kind in ('video', 'camera', 'url') and is_folder_path(vis):
        name = WEBCAM_VIDEO if kind != 'video' else Path(str(options['input'])).name
        if not Recorder.accepts(name):
            name = Path(name).stem + '.mp4'
        vis = os.path.join(vis, name)
    elif vis and is_folder_path(vis) and not vis.endswith(('/', os.sep)):
        vis += os.sep
    if pred and not pred.endswith(('/', os.sep)):
        pred += os.sep              # always a folder, even when its name has a dot
    return vis, pred


def detector_node(options: Mapping[str, Any], pose: PoseModel) -> dict[str, Any]:
    det_model = options.get('det_model')
    kind = pose.object_type
    known = (str(det_model).lower() if det_model else kind) in DETECTORS
    if det_model in ('whole_image', 'whole-image') or (not det_model and not known):
        return {'name': 'detector', 'type': 'FixedBoxes',
                'label': WHOLE_IMAGE_LABEL.get(kind, 'person')}
    entry: dict[str, Any] = {'name': 'detector', 'type': 'DetectorNode'}
    if known:    # an alias of mmpose's detector table, or the pose model's default
        model, classes, cat_ids = DETECTORS[str(det_model).lower() if det_model else kind]
        entry.update(model=model, **({'classes': classes, 'labels': classes} if classes else {}))
        if cat_ids is not None:
            entry['cat_ids'] = list(cat_ids)
    else:
        entry['model'] = str(det_model)
    if options.get('det_weights'):
        entry['weights'] = str(options['det_weights'])
    if det_model and options.get('det_cat_ids') is not None:   # as the inferencer: given only
        ids = options['det_cat_ids']
        entry['cat_ids'] = [int(i) for i in (ids if isinstance(ids, (list, tuple)) else [ids])]
        entry.pop('labels', None)
    entry['score_thr'] = float(options.get('bbox_thr', 0.3))
    entry['nms_thr'] = float(options.get('nms_thr', 0.3))
    return entry


def tail_nodes(options: Mapping[str, Any], poses: str = 'poses') -> list[dict[str, Any]]:
    """Visualizer, monitor, help board and display, drawing ``poses`` on the video."""
    drawing = {k: options[k] for k in VISUALIZER_OPTIONS if options.get(k) is not None}
    return [
        {'name': 'visualizer', 'type': 'PoseVisualizer', 'enable_key': 'v',
         **drawing, 'show_labels': False,
         'inputs': {'frame': 'video', 'poses': poses}, 'outputs': {'frame': 'drawn'}},
        {'name': 'monitor', 'type': 'Monitor', 'enable_key': 'm', 'inputs': {'frame': 'drawn'},
         'outputs': {'frame': 'monitored'}},
        {'name': 'help', 'type': 'HelpBoard', 'enable_key': 'h',
         'inputs': {'frame': 'monitored'}, 'outputs': {'frame': 'shown'}},
        {'name': 'display', 'type': 'Display', 'inputs': {'frame': 'shown'}},
    ]


def source_node(options: Mapping[str, Any]) -> dict[str, Any]:
    return {'name': 'source', 'type': 'VideoSource', 'input': options.get('input') or 0,
            'outputs': {'frame': ['video', 'model_in']}}


def resolve_pose(options: Mapping[str, Any], key: str) -> PoseModel:
    """``options[key]`` (pose2d or pose3d) as a PoseModel; a ConfigError naming the option."""
    name = str(options[key])
    try:
        return pose_model(name, flag(key))
    except ValueError as exc:
        raise ConfigError(ConfigIssue(flag(key, name), str(exc),
                                      'see the aliases with --show-alias')) from exc


def model_name(given: str, model: PoseModel) -> str:
    """How the graph names a model: a config file by its absolute path, else by the name its
    metafile gives it (an alias resolved)."""
    if Path(given).expanduser().is_file():
        return str(Path(given).expanduser().resolve())
    return model.spec.name


def graph_2d(options: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The graph of ``--pose2d`` and what was chosen (for the log)."""
    pose = resolve_pose(options, 'pose2d')
    where = flag('pose2d', options['pose2d'])
    if pose.data_mode == 'bottomup' or pose.model_type not in ('', 'TopdownPoseEstimator'):
        kind = pose.model_type or 'bottom-up'
        raise ConfigError(ConfigIssue(where, f'{pose.spec.name} is a {kind} model; this app '
                                      'runs top-down pose models '
                                      '(TopdownPoseEstimator) behind a detector',
                                      'pick a top-down model: see --show-alias (human, hand, '
                                      'face, wholebody, animal, vitpose, ...)'))
    detector = detector_node(options, pose)
    estimator = {'name': 'pose', 'type': 'TopdownPoseEstimatorNode',
                 'model': model_name(str(options['pose2d']), pose), 'flip_test': pose.flip_test,
                 'bbox_thr': float(options.get('bbox_thr', 0.3))}
    if options.get('pose2d_weights'):
        estimator['weights'] = str(options['pose2d_weights'])
    if options.get('draw_heatmap'):
        estimator['output_heatmaps'] = True
    detector.update(inputs={'frame': 'model_in'}, outputs={'frame': 'detections'})
    estimator.update(inputs={'frame': 'detections'}, outputs={'frame': 'poses'})
    graph: dict[str, Any] = {'name': f'infer_{Path(str(options["pose2d"])).stem}'}
    fallback = FALLBACKS.get(pose.object_type)
    if fallback and (GRAPHS_DIR / fallback).is_file():
        graph['fallback'] = str(GRAPHS_DIR / fallback)
    graph['nodes'] = [source_node(options), detector, estimator, *tail_nodes(options)]
    notes = [f'{where}: {pose.spec.name} ({pose.object_type or "unknown"} keypoints), detector: '
             f'{detector.get("model", "the whole image")}'
             + (f', offline fallback: {fallback}' if 'fallback' in graph else ', no offline '
                'fallback')]
    return graph, notes
