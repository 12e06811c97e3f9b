"""InterNetNode: both hands in 3D from the whole image, as ``MMPoseInferencer(pose3d='hand3d')``.

InterNet (``internet_res50_4xb16-20e_interhand3d-256x256``) takes the whole picture as one box
(no detector, as mmpose's ``Hand3DInferencer`` does without one) and gives 42 keypoints, the
right hand's 21 then the left's, each with image x, y and a depth in millimetres; which hands
are there (``hand_type``) and the left root's depth relative to the right's
(``rel_root_depth``). Post-processing is ``Hand3DInferencer.forward``'s: the left hand moved by
the root depth, scores zeroed for an absent hand, the points turned so z is up and rebased.
One object carries both hands, as the inferencer writes it.
"""
from __future__ import annotations

import logging
from types import MappingProxyType
from typing import Any

import numpy as np

from webcam_app import Frame, Object

from ..openmmlab.model_node import AUTO, Backend, ModelThreads
from ..openmmlab.model_zoo import resolve_model
from ..openmmlab.pose import frozen_meta
from ..openmmlab.weights import building, resolve_weights
from .base import _SelfExportingNode
from .skeletons import points_3d, with_meta_3d

__all__ = ['InterNetNode', 'hand3d_postprocess']

log = logging.getLogger(__name__)

INTERNET = 'internet_res50_4xb16-20e_interhand3d-256x256'


def hand3d_postprocess(keypoints: np.ndarray, scores: np.ndarray, rel_root_depth: float,
                       hand_type: np.ndarray, rebase: bool = True
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(42, 3) InterNet points, (42,) scores, the root depth and (2,) hand type -> the 2D
    points (42, 2), the 3D points in the inferencer's axes (42, 3) and the scores (42,)."""
    points = np.array(keypoints, np.float64)
    scores = np.array(scores, np.float64)
    points[21:, 2] += rel_root_depth
    scores[:21] *= hand_type[0]
    scores[21:] *= hand_type[1]
    if scores.max() > 1:
        scores /= 255
    flat = points[:, :2].copy()
    valid = scores > 0
    extras = points_3d(points, scores, rebase=False, flip_x=False)
    points_3 = extras['keypoints_3d']
    if rebase:
        low = points_3[valid, 2].min() if valid.any() else points_3[:, 2].min()
        points_3 = points_3 - np.float32([0, 0, low])
    return flat.astype(np.float32), points_3.astype(np.float32), scores.astype(np.float32)


class InterNetNode(_SelfExportingNode):
    """Both hands in 3D from the whole picture with InterNet (see the module's docstring)."""

    default_workers = 1

    model_kind = 'pose'
    core_cost = 3.0

    def __init__(self, model: str = INTERNET, weights: str | None = None, device: str = 'cpu',
                 disable_rebase_keypoint: bool = False, models_dir: str | None = None,
                 threads: ModelThreads = AUTO, trust_checkpoint: bool = False,
                 backend: Backend = AUTO) -> None:
        self._set_model(model, weights, device, models_dir, threads, trust_checkpoint, backend)
        self.disable_rebase_keypoint = disable_rebase_keypoint
        self._model: Any = None
        self._exported_model: Any = None
        self.meta: Any = MappingProxyType({})


    def setup(self) -> None:
        self.locate()
        self._model = self._exported_model = None
        if self.runs_on != 'pytorch':
            from ..onnx.locate import export_target
            from ..onnx.sidecar import export_is_current
            from .internet_onnx import ExportedInterNet, export_internet
            path = export_target(self._spec.config_path, self._checkpoint, self.models_dir)
            if not export_is_current(path, 'hand3d', self._checkpoint):
                log.warning('node %s: exporting %s to ONNX once (%s); later runs reuse it',
                            self.name, self._spec.name, path)
                export_internet(self._build(), path, self._checkpoint, (self.model,))
            self._exported_model = ExportedInterNet(path, self.runs_on, self.device,
                                                    self.thread_count())
            dataset_meta = MappingProxyType(frozen_meta(self._exported_model.dataset_meta))
        else:
            self._model = self._build()
            dataset_meta = MappingProxyType(frozen_meta(self._model.dataset_meta))
        self.meta = with_meta_3d(dataset_meta, dataset_meta)
        log.info('node %s: %s (%d keypoints, both hands, whole image) on %s (%s)', self.name,
                 self._spec.name, dataset_meta.get('num_keypoints', 0), self.device,
                 self.runs_on)

    def export(self) -> Any:
        """Write InterNet's ONNX file and sidecar (``webcam-app export``); the .onnx path."""
        from ..onnx.locate import export_target
        from .internet_onnx import export_internet
        self._spec = resolve_model(self.model, 'pose', base_dir=self.context.graph_dir)
        self._checkpoint = resolve_weights(self.name, self._spec.weights_url, self.weights,
                                           self.models_dir, self.context.graph_dir)
        path = export_target(self._spec.config_path, self._checkpoint, self.models_dir)
        return export_internet(self._build(), path, self._checkpoint, (self.model,))

    def _build(self) -> Any:
        with building(random_weights=self._checkpoint is None):
            from mmpose.apis import init_model
            model = init_model(self._spec.config_path, None, device=self.device)
            meta = self._load_checkpoint(model)
        if meta.get('dataset_meta'):
            model.dataset_meta = meta['dataset_meta']
        return model.eval()

    def _predict(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
        """(42, 3) points, (42,) scores, the root depth and the (2,) hand type."""
        if self._exported_model is not None:
            return self._exported_model.estimate(image)
        from mmpose.apis import inference_topdown
        height, width = image.shape[:2]
        box = np.array([[0, 0, width, height]], np.float32)
        [sample] = inference_topdown(self._model, image, box, bbox_format='xyxy')
        pred = sample.pred_instances
        return (np.asarray(pred.keypoints)[0], np.asarray(pred.keypoint_scores)[0],
                float(np.asarray(pred.rel_root_depth).reshape(-1)[0]),
                np.asarray(pred.hand_type).reshape(-1))

    def estimate(self, image: np.ndarray) -> Object:
        height, width = image.shape[:2]
        keypoints, scores, depth, hand_type = self._predict(image)
        flat, points, scores = hand3d_postprocess(keypoints, scores, depth, hand_type,
                                                  not self.disable_rebase_keypoint)
        return Object(bbox=(0, 0, width, height), label='hands', score=1.0,
                      keypoints=flat, keypoint_scores=scores,
                      extras={'keypoints_3d': points, 'keypoint_scores_3d': scores,
                              'hand_type': tuple(int(v) for v in hand_type),
                              'rel_root_depth': depth})

    def process(self, frame: Frame) -> Frame:
        return frame.replace(objects=(self.estimate(frame.image),), dataset_meta=self.meta)

    def close(self) -> None:
        self._model = self._exported_model = None
