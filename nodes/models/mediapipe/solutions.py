"""Hand and body keypoints from the models bundled in the mediapipe wheel: the offline default.

``mediapipe==0.10.21`` ships pretrained palm-detection, hand-landmark, pose-detection and
pose-landmark models and runs them through its legacy ``mp.solutions`` API, with no download.
These nodes wrap that API and emit objects in mmpose's layouts (see
:mod:`nodes.models.mediapipe.meta`).
mediapipe is imported in ``setup()`` only, so graphs that do not use it never load it.
"""
from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, Mapping

import cv2
import numpy as np

from webcam_app import Frame, Node, Object, WeightsUnavailable
from webcam_app.params import Positive, Unit

from ...common import box_around

from .meta import BLAZEPOSE_META, COCO_FROM_BLAZEPOSE, COCO_META, HAND_META

__all__ = ['MediaPipeHands', 'MediaPipePose', 'mediapipe_dir']

log = logging.getLogger(__name__)

_INSTALL_HINT = "pip install 'mediapipe==0.10.21' (or: pip install -e '.[lite]')"
_MODEL_URL = 'https://storage.googleapis.com/mediapipe-assets/'
_BOX_SCALE = 1.2    # a landmark box grows by a tenth of its size on every side


def pose_model_files(model_complexity: int) -> list[str]:
    """The BlazePose detector and the landmark model of that complexity, in the wheel."""
    name = {0: 'lite', 1: 'full', 2: 'heavy'}[model_complexity]
    return ['modules/pose_detection/pose_detection.tflite',
            f'modules/pose_landmark/pose_landmark_{name}.tflite']


def mediapipe_dir() -> Path | None:
    """The installed mediapipe package's folder, found without importing it (None if absent)."""
    spec = importlib.util.find_spec('mediapipe')
    return Path(spec.origin).parent if spec is not None and spec.origin else None


def _to_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB if image.shape[2] == 4 else cv2.COLOR_BGR2RGB)


class _MediaPipeNode(Node):
    """Shared life cycle: check the bundled model files, build the solution, close it."""

    meta: Mapping[str, Any] = MappingProxyType({})   # the dataset_meta of every frame it emits
    provides = {'boxes', 'keypoints'}

    def _model_files(self) -> list[str]:
        """Model files, relative to the mediapipe package, that the parameters need."""
        raise NotImplementedError

    def _build(self, mp: Any) -> Any:
        raise NotImplementedError

    def check(self) -> None:
        root = mediapipe_dir()
        if root is None:
            raise ValueError(f'{type(self).__name__} needs mediapipe, which is not installed; '
                             f'fix: {_INSTALL_HINT}')
        for rel in self._model_files():
            if not (root / rel).is_file():
                # Newer mediapipe wheels (and 0.10.21 for pose complexity 0 and 2) ship no model:
                # the legacy API would try to download it, which fails offline.
                raise WeightsUnavailable(self.name or type(self).__name__,
                                         _MODEL_URL + Path(rel).name, str(root / rel),
                                         f'not bundled with this mediapipe; {_INSTALL_HINT} '
                                         'bundles the default models')

    def setup(self) -> None:
        import mediapipe as mp
        self._solution = self._build(mp)

    def close(self) -> None:
        solution, self._solution = getattr(self, '_solution', None), None
        if solution is not None:
            solution.close()

    def process(self, frame: Frame) -> Frame:
        if frame.image is None:
            return frame.replace(objects=(), dataset_meta=self.meta)
        height, width = frame.image.shape[:2]
        result = self._solution.process(_to_rgb(frame.image))
        objects = self._objects(result, width, height)
        log.debug('%s: frame %d: %d objects', self.name, frame.frame_id, len(objects))
        return frame.replace(objects=objects, dataset_meta=self.meta)

    def _objects(self, result: Any, width: int, height: int) -> tuple[Object, ...]:
        raise NotImplementedError


class MediaPipeHands(_MediaPipeNode):
    """Hands with 21 keypoints each (mmpose's OneHand10K layout), from mediapipe's bundled models.

    Keep ``static_image_mode`` off for video: hands are then tracked from frame to frame and the
    palm detector runs only when tracking is lost. Turn it on for folders of unrelated images.
    The ``handedness`` extra is mediapipe's, which assumes a mirrored (selfie) picture. MediaPipe
    gives no per-point score, so every keypoint's score is the hand's score.
    """

    def __init__(self, max_num_hands: Positive = 2, model_complexity: Literal[0, 1] = 1,
                 min_detection_confidence: Unit = 0.5, min_tracking_confidence: Unit = 0.5,
                 static_image_mode: bool = False) -> None:
        self.max_num_hands, self.model_complexity = max_num_hands, model_complexity
        self.min_detection_confidence = min_detection_confidence
        self.min_tracking_confidence = min_tracking_confidence
        self.static_image_mode = static_image_mode
        self.meta = HAND_META      # already read-only: every frame carries this same object
        self._solution: Any = None

    def _model_files(self) -> list[str]:
        kind = ('lite', 'full')[self.model_complexity]
        return [f'modules/palm_detection/palm_detection_{kind}.tflite',
                f'modules/hand_landmark/hand_landmark_{kind}.tflite']

    def _build(self, mp: Any) -> Any:
        return mp.solutions.hands.Hands(
            static_image_mode=self.static_image_mode, max_num_hands=self.max_num_hands,
            model_complexity=self.model_complexity,
            min_detection_confidence=self.min_detection_confidence,
            min_tracking_confidence=self.min_tracking_confidence)

    def _objects(self, result: Any, width: int, height: int) -> tuple[Object, ...]:
        hands = result.multi_hand_landmarks or []
        handedness = result.multi_handedness or []
        objects = []
        for landmarks, classes in zip(hands, handedness):
            best = classes.classification[0]
            points = np.array([(p.x * width, p.y * height) for p in landmarks.landmark],
                              np.float32)
            scores = np.array([p.visibility if p.HasField('visibility') else best.score
                               for p in landmarks.landmark], np.float32)
            bbox = box_around(points, _BOX_SCALE, (width, height))
            objects.append(Object(bbox=bbox, label='hand', score=float(best.score), label_id=0,
                                  keypoints=points, keypoint_scores=scores,
                                  extras={'handedness': best.label}))
        return tuple(objects)


class MediaPipePose(_MediaPipeNode):
    """One person's body keypoints: the 33 BlazePose landmarks, or their COCO-17 view.

    ``keypoints='coco'`` emits mmpose's COCO-17 layout and meta, so body effects written for
    mmpose's body models work unchanged. The legacy solution finds the most prominent person
    only. Keypoint scores are the landmarks' visibility; the object's score is their mean.
    Keep ``static_image_mode`` off for video (tracking and smoothing), on for unrelated images.
    Only ``model_complexity=1`` is bundled with mediapipe 0.10.21.
    """

    def __init__(self, model_complexity: Literal[0, 1, 2] = 1,
                 min_detection_confidence: Unit = 0.5, min_tracking_confidence: Unit = 0.5,
                 static_image_mode: bool = False, smooth_landmarks: bool = True,
                 keypoints: Literal['blazepose', 'coco'] = 'blazepose',
                 visibility_threshold: Unit = 0.5) -> None:
        self.model_complexity = model_complexity
        self.min_detection_confidence = min_detection_confidence
        self.min_tracking_confidence = min_tracking_confidence
        self.visibility_threshold = visibility_threshold
        self.static_image_mode, self.smooth_landmarks = static_image_mode, smooth_landmarks
        self.keypoints = keypoints
        self.meta = BLAZEPOSE_META if keypoints == 'blazepose' else COCO_META
        self._index = None if keypoints == 'blazepose' else np.array(COCO_FROM_BLAZEPOSE)
        self._solution: Any = None

    def _model_files(self) -> list[str]:
        return pose_model_files(self.model_complexity)

    def _build(self, mp: Any) -> Any:
        return mp.solutions.pose.Pose(
            static_image_mode=self.static_image_mode, model_complexity=self.model_complexity,
            smooth_landmarks=self.smooth_landmarks, enable_segmentation=False,
            min_detection_confidence=self.min_detection_confidence,
            min_tracking_confidence=self.min_tracking_confidence)

    def _objects(self, result: Any, width: int, height: int) -> tuple[Object, ...]:
        if not result.pose_landmarks:
            return ()
        landmarks = result.pose_landmarks.landmark
        points = np.array([(p.x * width, p.y * height) for p in landmarks], np.float32)
        scores = np.array([p.visibility for p in landmarks], np.float32)
        # The box holds the landmarks a person would see; all of them if none is visible.
        seen = scores >= self.visibility_threshold
        bbox = box_around(points[seen] if seen.any() else points, _BOX_SCALE, (width, height))
        score = float(scores.mean())
        if self._index is not None:
            points, scores = points[self._index], scores[self._index]
        return (Object(bbox=bbox, label='person', score=score, label_id=0, keypoints=points,
                       keypoint_scores=scores),)
