"""TopdownPoseEstimatorNode: keypoints of every detected object, one batched mmpose call a frame."""
from __future__ import annotations

import logging
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from webcam_app import Frame, Object
from webcam_app.params import NonEmpty, PositiveFloat, Unit

from ...common import normalize_classes
from ..heatmaps import HEATMAP_KEY, heat_patch, keypoint_maps
from ..onnx.remote_client import RequestCancelled, ServerUnavailable
from .model_node import AUTO, Backend, ModelThreads, Precision, _ModelNode
from .weights import building

__all__ = ['TopdownPoseEstimatorNode', 'frozen_meta']

log = logging.getLogger(__name__)


def frozen_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of an mmpose dataset_meta whose arrays are read-only, safe to share across frames."""
    out = {}
    for key, value in meta.items():
        if isinstance(value, np.ndarray):
            value = value.copy()
            value.flags.writeable = False
        out[key] = value
    return out


def torch_heat_patch(sample: Any) -> tuple | None:
    """The heat patch of one of ``inference_topdown``'s samples (its head's
    ``output_heatmaps``: (K, H, W) heatmaps, SimCC as y ⊗ x), or None when it has none."""
    fields = getattr(sample, 'pred_fields', None)
    heatmaps = getattr(fields, 'heatmaps', None) if fields is not None else None
    if heatmaps is None:
        return None
    heatmaps = np.asarray(heatmaps.cpu().numpy() if hasattr(heatmaps, 'cpu') else heatmaps)
    heat = keypoint_maps(heatmaps[None])[0]
    return heat_patch(heat, np.asarray(sample.input_center).reshape(2),
                      np.asarray(sample.input_scale).reshape(2))


class TopdownPoseEstimatorNode(_ModelNode):
    """Estimate keypoints of detected objects with an mmpose top-down model (RTMPose, ...).

    ``output_heatmaps`` keeps each object's heat map (``Object.extras['heatmap']``) for a
    visualizer's ``draw_heatmap``: heatmap heads' maps, or SimCC heads' marginals as y ⊗ x.
    """

    model_kind = 'pose'     # how tools/download_models.py resolves ``model``
    requires, provides = {'boxes'}, {'keypoints'}
    core_cost = 3.0         # threads: auto: a pose model costs about three detectors

    def __init__(self, model: NonEmpty, weights: str | None = None, device: str = 'cpu',
                 labels: list[str] | None = None, bbox_thr: Unit = 0.3,
                 flip_test: bool = False, models_dir: str | None = None,
                 threads: ModelThreads = AUTO, trust_checkpoint: bool = False,
                 backend: Backend = AUTO, precision: Precision = AUTO,
                 output_heatmaps: bool = False, server: str | None = None,
                 model_name: str | None = None, timeout: PositiveFloat = 10.0) -> None:
        self._set_model(model, weights, device, models_dir, threads, trust_checkpoint, backend,
                        precision)
        self._set_remote(server, model_name, timeout)
        self.labels = normalize_classes(labels) or None
        self.bbox_thr, self.flip_test = bbox_thr, flip_test
        self.output_heatmaps = output_heatmaps
        self.dataset_meta: Mapping[str, Any] = MappingProxyType({})
        self._metas: dict[Any, Mapping[str, Any]] = {}   # with each detector's classes, built once
        self._model: Any = None

    def setup(self) -> None:
        self.locate()
        if self.runs_on != 'pytorch':
            from ..onnx.exported import ExportedPose
            self._model = ExportedPose(self._exported, self.runs_on, self.device,
                                       self.thread_count(), self.precision, self.name,
                                       **self._engine_options())
            self._engines_loaded(self._model)
            self.dataset_meta = MappingProxyType(frozen_meta(self._model.dataset_meta))
        else:
            self._setup_torch()
            self._runs_at = 'f32'
        self._metas = {}
        log.info('node %s: %s (%s, %d keypoints) on %s (%s)', self.name, self.model,
                 self.dataset_meta.get('dataset_name'), self.dataset_meta.get('num_keypoints', 0),
                 self.device, self._describe_run())

    def _setup_torch(self) -> None:
        with building(random_weights=self._checkpoint is None):   # imports too: not thread-safe
            from mmengine.config import Config
            from mmpose.apis import init_model
            cfg = Config.fromfile(self._spec.config_path)
            if cfg.model.get('type') != 'TopdownPoseEstimator':
                raise ValueError(f'{self._spec.name} is a {cfg.model.get("type")}, not a top-down '
                                 'pose estimator (TopdownPoseEstimator)')
            if 'test_cfg' in cfg.model:
                cfg.model.test_cfg.flip_test = self.flip_test
            if self.output_heatmaps:
                cfg.model.setdefault('test_cfg', {})['output_heatmaps'] = True
            model = init_model(cfg, None, device=self.device)     # then our own loader
            meta = self._load_checkpoint(model)
        if meta.get('dataset_meta'):
            model.dataset_meta = meta['dataset_meta']
        self.dataset_meta = MappingProxyType(frozen_meta(model.dataset_meta))
        self._model = model

    def _wanted(self, obj: Object) -> bool:
        return obj.score >= self.bbox_thr and (self.labels is None or obj.label in self.labels)

    def _torch_estimate(self, image: np.ndarray,
                        bboxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, list]:
        from mmpose.apis import inference_topdown
        results = inference_topdown(self._model, image, bboxes, bbox_format='xyxy')
        keypoints = [np.asarray(s.pred_instances.keypoints[0][:, :2]) for s in results]
        scores = [np.asarray(s.pred_instances.keypoint_scores[0]) for s in results]
        heat = [torch_heat_patch(s) if self.output_heatmaps else None
                for s in results]
        return np.stack(keypoints), np.stack(scores), heat

    def estimate(self, image: np.ndarray, objects: tuple[Object, ...]) -> tuple[Object, ...]:
        """Keypoints for the wanted objects, in one batched call; the others pass unchanged."""
        picked = [i for i, obj in enumerate(objects) if self._wanted(obj)]
        if not picked:      # inference_topdown would take the whole image as one box
            return objects
        bboxes = np.array([objects[i].bbox for i in picked], dtype=np.float32)
        if self.runs_on == 'pytorch':
            keypoints, scores, heat = self._torch_estimate(image, bboxes)
        elif self.output_heatmaps:
            keypoints, scores, heat = self._model.estimate_with_heat(image, bboxes,
                                                                     self.flip_test)
        else:
            keypoints, scores = self._model.estimate(image, bboxes, self.flip_test)
            heat = [None] * len(picked)
        out = list(objects)
        for j, i in enumerate(picked):
            extras = out[i].extras if heat[j] is None else {**out[i].extras,
                                                            HEATMAP_KEY: heat[j]}
            out[i] = out[i].replace(keypoints=keypoints[j].astype(np.float32, copy=False),
                                    keypoint_scores=scores[j].astype(np.float32, copy=False),
                                    extras=extras)
        return tuple(out)

    def process(self, frame: Frame) -> Frame | None:
        try:
            objects = self.estimate(frame.image, frame.objects)
        except ServerUnavailable:       # live, server away: the boxes go on without keypoints
            self.passed_through += 1
            objects = frame.objects
        except RequestCancelled:        # the run stops during a request
            return None
        return frame.replace(objects=objects, dataset_meta=self._meta_with(
            frame.dataset_meta.get('classes')))

    def _meta_with(self, classes: Any) -> Mapping[str, Any]:
        """The model's meta plus the detector's class names: one object per classes tuple."""
        if classes is None:
            return self.dataset_meta
        meta = self._metas.get(classes)
        if meta is None:
            meta = self._metas[classes] = MappingProxyType({**self.dataset_meta,
                                                            'classes': classes})
        return meta

    def close(self) -> None:
        self._close_engine()
        self._model = None
