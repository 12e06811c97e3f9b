"""One person's whole body from MediaPipe Holistic, in mmpose's COCO-WholeBody 133-point layout.

Holistic gives BlazePose's 33 body landmarks, a Face Mesh and both hands (21 points each, the
order of mmpose's hand layouts). They fill ``WHOLEBODY_META`` (mmpose's ``coco_wholebody``), so
``PoseVisualizer`` draws the result as it draws mmpose's whole-body models:

- body 17: the BlazePose points of the same names; score: their visibility;
- feet: big toe from BlazePose's foot index, heel from its heel. BlazePose has no small toe;
- face 68: picked from the Face Mesh (see ``FACE68_FROM_MESH``); score: the mean visibility of
  BlazePose's face points, since Holistic reports no face confidence;
- hands: Holistic's left and right hand (the subject's); score: the visibility of that wrist.

A point MediaPipe does not give (the small toes, a face or hand not found) has score 0 and
position NaN: never a made-up place.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np

from webcam_app import Object
from webcam_app.params import Unit

from ...common import box_around

from .face import mesh_points
from .meta import COCO_FROM_BLAZEPOSE
from .solutions import _BOX_SCALE, _MediaPipeNode, pose_model_files
from .wholebody_meta import (FACE68_FROM_MESH, FEET_FROM_BLAZEPOSE, WHOLEBODY_META,
                             WHOLEBODY_PARTS)

__all__ = ['MediaPipeWholeBody', 'wholebody_from_holistic']

_BODY = np.array(COCO_FROM_BLAZEPOSE)
_FEET = [(i, j) for i, j in enumerate(FEET_FROM_BLAZEPOSE) if j is not None]
_FACE68 = np.array(FACE68_FROM_MESH)
_BLAZEPOSE_FACE = np.arange(11)          # nose, eyes, ears, mouth
_WRIST = {'left_hand': 15, 'right_hand': 16}


def _landmarks(landmarks: Any, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    points = np.array([(p.x * width, p.y * height) for p in landmarks.landmark], np.float32)
    return points, np.array([p.visibility for p in landmarks.landmark], np.float32)


def wholebody_from_holistic(result: Any, width: int, height: int
                            ) -> tuple[np.ndarray, np.ndarray] | None:
    """The (133, 2) keypoints and (133,) scores of a Holistic result; None with no body."""
    if not result.pose_landmarks:
        return None
    body, visibility = _landmarks(result.pose_landmarks, width, height)
    points = np.full((133, 2), np.nan, np.float32)
    scores = np.zeros(133, np.float32)
    points[:17], scores[:17] = body[_BODY], visibility[_BODY]
    first = WHOLEBODY_PARTS['feet'][0]
    for i, j in _FEET:
        points[first + i], scores[first + i] = body[j], visibility[j]
    if result.face_landmarks:
        first = WHOLEBODY_PARTS['face'][0]
        points[first:first + 68] = mesh_points(result.face_landmarks, width, height)[_FACE68, :2]
        scores[first:first + 68] = visibility[_BLAZEPOSE_FACE].mean()
    for part, wrist in _WRIST.items():
        hand = getattr(result, f'{part}_landmarks')
        if hand:
            first = WHOLEBODY_PARTS[part][0]
            points[first:first + 21] = _landmarks(hand, width, height)[0]
            scores[first:first + 21] = visibility[wrist]
    return points, scores


class MediaPipeWholeBody(_MediaPipeNode):
    """The most prominent person's 133 COCO-WholeBody keypoints, from MediaPipe Holistic.

    Keep ``static_image_mode`` off for video (tracking and smoothing), on for unrelated images.
    Only ``model_complexity=1`` is bundled with mediapipe 0.10.21.
    """

    def __init__(self, model_complexity: Literal[0, 1, 2] = 1,
                 min_detection_confidence: Unit = 0.5, min_tracking_confidence: Unit = 0.5,
                 static_image_mode: bool = False, smooth_landmarks: bool = True,
                 refine_face_landmarks: bool = False, visibility_threshold: Unit = 0.5) -> None:
        self.model_complexity = model_complexity
        self.min_detection_confidence = min_detection_confidence
        self.min_tracking_confidence = min_tracking_confidence
        self.visibility_threshold = visibility_threshold
        self.static_image_mode, self.smooth_landmarks = static_image_mode, smooth_landmarks
        self.refine_face_landmarks = refine_face_landmarks
        self.meta = WHOLEBODY_META
        self._solution: Any = None

    def _model_files(self) -> list[str]:
        mesh = 'face_landmark_with_attention' if self.refine_face_landmarks else 'face_landmark'
        return [*pose_model_files(self.model_complexity),
                'modules/hand_landmark/hand_landmark_full.tflite',
                'modules/holistic_landmark/hand_recrop.tflite',
                f'modules/face_landmark/{mesh}.tflite']

    def _build(self, mp: Any) -> Any:
        return mp.solutions.holistic.Holistic(
            static_image_mode=self.static_image_mode, model_complexity=self.model_complexity,
            smooth_landmarks=self.smooth_landmarks, enable_segmentation=False,
            refine_face_landmarks=self.refine_face_landmarks,
            min_detection_confidence=self.min_detection_confidence,
            min_tracking_confidence=self.min_tracking_confidence)

    def _objects(self, result: Any, width: int, height: int) -> tuple[Object, ...]:
        found = wholebody_from_holistic(result, width, height)
        if found is None:
            return ()
        points, scores = found
        seen = np.isfinite(points).all(axis=1) & (scores >= self.visibility_threshold)
        if not seen.any():
            seen = np.isfinite(points).all(axis=1)
        body = scores[:17]
        return (Object(bbox=box_around(points[seen], _BOX_SCALE, (width, height)),
                       label='person', score=float(body.mean()), label_id=0, keypoints=points,
                       keypoint_scores=scores),)
