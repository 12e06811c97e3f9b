"""3D keypoints from the models bundled in the mediapipe wheel: MediaPipe's world landmarks.

Both landmark models have a second head that gives each landmark in metres:

- BlazePose's ``pose_landmark_full.tflite`` outputs 39 world landmarks (117 numbers) with the
  origin between the hips, in the axes of its rotated input region; MediaPipe's
  ``WorldLandmarkProjectionCalculator`` turns them by the region's rotation, as done here;
- the legacy Hands solution returns ``multi_hand_world_landmarks``, 21 per hand, with the
  origin at the hand's approximate centre.

Objects keep their 2D keypoints and carry the 3D ones in ``extras['keypoints_3d']`` (with
``extras['keypoint_scores_3d']``), in the axes ``MMPoseInferencer`` writes (z up; see
:func:`nodes.models.lift.skeletons.to_inferencer_axes`); the frame's ``dataset_meta['meta_3d']``
names their skeleton. Body 3D comes as Human3.6M-17 (``keypoints_3d: h36m``, the lifters'
schema) or as the 33 BlazePose landmarks.
"""
from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from webcam_app import Object
from webcam_app.params import Positive, Unit

from .skeletons import H36M_META, h36m_from_blazepose, points_3d, with_meta_3d
from ..mediapipe import blazepose as bp
from ..mediapipe.meta import BLAZEPOSE_META, HAND_META
from ..mediapipe.multipose import MediaPipeMultiPose
from ..mediapipe.solutions import MediaPipeHands

__all__ = ['MediaPipeHands3D', 'MediaPipePose3D', 'world_points']


def world_points(raw: np.ndarray, rotation: float) -> np.ndarray:
    """The 33 BlazePose world landmarks (metres, camera axes: x right, y down, z away) from the
    landmark model's (117,) output for a region turned by ``rotation`` radians."""
    points = np.asarray(raw, np.float64).reshape(-1, 3)[:33]
    c, s = math.cos(rotation), math.sin(rotation)
    out = points.copy()
    out[:, 0] = c * points[:, 0] - s * points[:, 1]
    out[:, 1] = s * points[:, 0] + c * points[:, 1]
    return out


class MediaPipePose3D(MediaPipeMultiPose):
    """Every person's 2D keypoints (as ``MediaPipeMultiPose``) and their 3D world landmarks.

    ``keypoints_3d: h36m`` (default) maps the 33 world landmarks to Human3.6M-17 as mmpose maps
    COCO to it, so the lifters and this node share one schema; ``blazepose`` keeps all 33.
    ``rebase: false`` is ``disable_rebase_keypoint``: the hips stay at the origin.
    """

    def __init__(self, max_people: Positive = 5, min_detection_confidence: Unit = 0.5,
                 min_presence_confidence: Unit = 0.5,
                 keypoints: Literal['blazepose', 'coco'] = 'coco',
                 keypoints_3d: Literal['h36m', 'blazepose'] = 'h36m', rebase: bool = True,
                 visibility_threshold: Unit = 0.5, threads: Positive = 2,
                 static_image_mode: bool = False, detect_every: Positive = 1) -> None:
        super().__init__(max_people, min_detection_confidence, min_presence_confidence,
                         keypoints, visibility_threshold, threads, static_image_mode,
                         detect_every)
        self.keypoints_3d, self.rebase = keypoints_3d, rebase
        self.meta = with_meta_3d(self.meta, H36M_META if keypoints_3d == 'h36m'
                                 else BLAZEPOSE_META)
        self._world: tuple[np.ndarray, np.ndarray] | None = None

    def landmarks(self, image_rgb: np.ndarray, roi: bp.Roi
                  ) -> tuple[float, np.ndarray, np.ndarray, bp.Roi]:
        out = self._landmarks(bp.landmark_input(image_rgb, roi))
        presence = float(out[(1,)].reshape(-1)[0])
        points, visibility = bp.landmarks_to_image(out[(195,)], roi, out[(64, 64, 39)])
        self._world = world_points(out[(117,)], roi.rotation), visibility[:33]
        return presence, points[:33], visibility[:33], bp.roi_from_points(points[33], points[34])

    def _person(self, points: np.ndarray, scores: np.ndarray, presence: float, width: int,
                height: int) -> Object:
        person = super()._person(points, scores, presence, width, height)
        world, visibility = self._world
        if self.keypoints_3d == 'h36m':
            world = h36m_from_blazepose(world)
            visibility = h36m_from_blazepose(visibility[:, None])[:, 0]
        return person.replace(extras={**person.extras, **points_3d(world, visibility,
                                                                   self.rebase, flip_x=True)})


class MediaPipeHands3D(MediaPipeHands):
    """Hands with 21 keypoints each (as ``MediaPipeHands``), and each hand's 21 world landmarks
    in metres (origin at the hand's centre, then rebased unless ``rebase: false``)."""

    def __init__(self, max_num_hands: Positive = 2, model_complexity: Literal[0, 1] = 1,
                 min_detection_confidence: Unit = 0.5, min_tracking_confidence: Unit = 0.5,
                 static_image_mode: bool = False, rebase: bool = True) -> None:
        super().__init__(max_num_hands, model_complexity, min_detection_confidence,
                         min_tracking_confidence, static_image_mode)
        self.rebase = rebase
        self.meta = with_meta_3d(HAND_META, HAND_META)

    def _objects(self, result: Any, width: int, height: int) -> tuple[Object, ...]:
        hands = super()._objects(result, width, height)
        worlds = result.multi_hand_world_landmarks or []
        out = []
        for hand, world in zip(hands, worlds):
            camera = np.array([(p.x, p.y, p.z) for p in world.landmark], np.float64)
            extras = points_3d(camera, hand.keypoint_scores, self.rebase, flip_x=False)
            out.append(hand.replace(extras={**hand.extras, **extras}))
        return tuple(out)
