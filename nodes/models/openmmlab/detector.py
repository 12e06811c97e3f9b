"""DetectorNode: find objects with an mmdet detector (PyTorch) or its ONNX export; class names are
normalized at the boundary."""
from __future__ import annotations

import logging
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from webcam_app import Frame, Object
from webcam_app.params import NonEmpty, NonNegative, Positive, PositiveFloat, Unit

from ...common import boxes_from_keypoints, normalize_classes
from ..onnx.remote_client import RequestCancelled, ServerUnavailable
from .classes import ClassNamesMismatch, head_num_classes, resolve_classes
from .model_node import AUTO, Backend, ModelThreads, Precision, _ModelNode
from .weights import building

__all__ = ['ClassNamesMismatch', 'DetectorNode', 'head_num_classes', 'resolve_classes']

log = logging.getLogger(__name__)


def _overlaps(box: np.ndarray, kept: list[Object], thr: float) -> bool:
    """Whether ``box`` overlaps a kept box by IoU > ``thr``, in mmpose's ``nms`` convention
    (inclusive pixels: widths are x2 - x1 + 1), as MMPoseInferencer filters its detections."""
    if not kept:
        return False
    others = np.asarray([o.bbox for o in kept], np.float64)
    lt, rb = np.maximum(others[:, :2], box[:2]), np.minimum(others[:, 2:], box[2:])
    inter = np.prod(np.maximum(0.0, rb - lt + 1), axis=1)
    area = np.prod(box[2:] - box[:2] + 1)
    union = np.prod(others[:, 2:] - others[:, :2] + 1, axis=1) + area - inter
    return bool((inter / union > thr).any())


class DetectorNode(_ModelNode):
    """Detect objects with an mmdet model (RTMDet, YOLOX, ...); boxes, labels and scores.

    ``labels`` keeps the classes of those names, ``cat_ids`` those class ids (MMPoseInferencer's
    ``det_cat_ids``); ``nms_thr`` drops a box overlapping a better one by more than that IoU,
    as the inferencer does after the detector's own NMS.
    """

    inputs = {'frame': 'trigger', 'poses': 'previous'}   # feedback: the last frame's poses
    model_kind = 'det'      # how tools/download_models.py resolves ``model``
    provides = {'boxes'}
    core_cost = 1.0         # threads: auto gives the pose model three times the detector's share

    def __init__(self, model: NonEmpty, weights: str | None = None, device: str = 'cpu',
                 labels: list[str] | None = None, score_thr: Unit = 0.5,
                 max_objects: Positive | None = None, classes: list[str] | str | None = None,
                 det_interval: Positive = 1, models_dir: str | None = None,
                 threads: ModelThreads = AUTO, trust_checkpoint: bool = False,
                 backend: Backend = AUTO, precision: Precision = AUTO,
                 cat_ids: list[NonNegative] | None = None, nms_thr: Unit | None = None,
                 server: str | None = None, model_name: str | None = None,
                 timeout: PositiveFloat = 10.0) -> None:
        self._set_model(model, weights, device, models_dir, threads, trust_checkpoint, backend,
                        precision)
        self._set_remote(server, model_name, timeout)
        self.cat_ids = tuple(cat_ids) if cat_ids is not None else None
        self.nms_thr = nms_thr
        self.labels = normalize_classes(labels) or None
        self.classes_override = normalize_classes(classes) or None
        self.score_thr, self.max_objects = score_thr, max_objects
        self.det_interval = det_interval
        # between detector runs it follows the last poses: a state each frame needs in order
        self.reentrant = self.reentrant and det_interval <= 1
        self.classes: tuple[str, ...] = ()
        self.dataset_meta: Mapping[str, Any] = MappingProxyType({'classes': ()})
        self._det: Any = None
        self._pipeline: Any = None
        self._cat_ids: tuple[int, ...] | None = None
        self._keep_ids: frozenset[int] | None = None
        self._since_detection = 0

    def setup(self) -> None:
        self.locate()
        if self.runs_on != 'pytorch':
            self._setup_exported()
        else:
            self._setup_torch()
        self.dataset_meta = MappingProxyType({'classes': self.classes})   # once, for every frame
        self._keep_ids = self._label_filter()
        log.info('node %s: %s with classes %s on %s (%s)', self.name, self.model, self.classes,
                 self.device, self._describe_run())

    def _setup_exported(self) -> None:
        from ..onnx.exported import ExportedDetector
        det = ExportedDetector(self._exported, self.runs_on, self.device, self.thread_count(),
                               self.precision, self.name, self.score_thr,
                               **self._engine_options())
        self._engines_loaded(det)
        if self.classes_override and len(self.classes_override) != len(det.classes):
            raise ClassNamesMismatch(f'{self._exported}: classes {self.classes_override} do not '
                                     f'fit the exported {len(det.classes)} classes {det.classes}')
        self.classes = self.classes_override or det.classes
        self._cat_ids, self._det = det.cat_ids, det

    def _setup_torch(self) -> None:
        with building(random_weights=self._checkpoint is None):   # imports too: not thread-safe
            from mmcv.transforms import Compose
            from mmdet.apis import init_detector
            from mmdet.utils import get_test_pipeline_cfg
            from mmpose.utils import adapt_mmdet_pipeline
            det = init_detector(self._spec.config_path, None, device=self.device)
            meta = self._load_checkpoint(det)
            det.cfg = adapt_mmdet_pipeline(det.cfg)     # mmpose's registry scope would break it
            pipeline = get_test_pipeline_cfg(det.cfg.copy())
            pipeline[0].type = 'mmdet.LoadImageFromNDArray'
            self._pipeline = Compose(pipeline)
        self._runs_at = 'f32'
        self.classes = resolve_classes(self.classes_override, meta, det.cfg,
                                       head_num_classes(det), self._checkpoint)
        det.dataset_meta = {**getattr(det, 'dataset_meta', {}), 'classes': self.classes}
        self._det, self._cat_ids = det, self._spec.cat_ids

    def _label_filter(self) -> frozenset[int] | None:
        if self.cat_ids is not None and self.labels is None:
            return frozenset(self.cat_ids)
        if self.labels is None:
            cat_ids = self._cat_ids if self.classes_override is None else None
            return frozenset(cat_ids) if cat_ids is not None else None
        unknown = [name for name in self.labels if name not in self.classes]
        if unknown:
            raise ValueError(f'labels {unknown} are not classes of this detector; '
                             f'its classes are {self.classes}')
        return frozenset(i for i, name in enumerate(self.classes) if name in self.labels)

    def _torch_detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from mmdet.apis import inference_detector
        result = inference_detector(self._det, image, test_pipeline=self._pipeline)
        pred = result.pred_instances
        return (pred.bboxes.cpu().numpy()[:, :4], pred.scores.cpu().numpy(),
                pred.labels.cpu().numpy())

    def detect(self, image: np.ndarray) -> tuple[Object, ...]:
        """Run the detector once on a BGR image; objects sorted by score, filtered and capped."""
        if self.runs_on == 'pytorch':
            bboxes, scores, ids = self._torch_detect(image)
        else:
            bboxes, scores, ids = self._det.detect(image, self.score_thr)
        height, width = image.shape[:2]
        valid = np.isfinite(bboxes).all(axis=1) & np.isfinite(scores)
        bboxes = np.clip(np.nan_to_num(bboxes), 0, [width, height, width, height])
        objects = []
        for i in np.argsort(-scores, kind='stable'):
            label_id, score = int(ids[i]), float(scores[i])
            if not valid[i] or score < self.score_thr or (self._keep_ids is not None
                                                          and label_id not in self._keep_ids):
                continue
            label = self.classes[label_id] if label_id < len(self.classes) else str(label_id)
            if self.nms_thr is not None and _overlaps(bboxes[i], objects, self.nms_thr):
                continue
            objects.append(Object(bbox=tuple(bboxes[i]), label=label, score=score,
                                  label_id=label_id))
            if self.max_objects is not None and len(objects) >= self.max_objects:
                break
        return tuple(objects)

    def _tracked(self, frame: Frame, poses: Frame | None) -> tuple[Object, ...] | None:
        """Boxes from the previous poses' keypoints, between detector runs."""
        if self.det_interval <= 1 or self._since_detection >= self.det_interval:
            return None
        if poses is None or not poses.objects:
            return None
        height, width = frame.image.shape[:2]
        objects = boxes_from_keypoints(poses.objects, scale=1.25, kpt_thr=0.3,
                                       image_size=(width, height))
        if not objects:
            return None
        return tuple(o.replace(keypoints=None, keypoint_scores=None) for o in objects)

    def process(self, frame: Frame, poses: Frame | None = None) -> Frame | None:
        objects = self._tracked(frame, poses)
        if objects is None:
            try:
                objects = self.detect(frame.image)
            except ServerUnavailable:   # live, server away: the frame goes on without boxes
                self.passed_through += 1
                return frame.replace(objects=(), dataset_meta=self.dataset_meta)
            except RequestCancelled:    # the run stops during a request
                return None
            self._since_detection = 0
        self._since_detection += 1
        return frame.replace(objects=objects, dataset_meta=self.dataset_meta)

    def close(self) -> None:
        self._close_engine()
        self._det = self._pipeline = None
