"""Faces from MediaPipe's bundled face detector and Face Mesh, in COCO-WholeBody's 68-point layout.

Each face found is one object: its 68 keypoints (``FACE_META``, mmpose's ``coco_wholebody_face``
layout, so ``Sunglasses`` and ``BigEye`` find the eyes by name) and, in ``extras['mesh']``, all
468 Face Mesh landmarks (478 with ``refine_landmarks``: the irises too) as (x, y, z) pixels.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from webcam_app import Object

from webcam_app.params import Positive, Unit

from .solutions import _landmark_box, _MediaPipeNode
from .wholebody_meta import FACE68_FROM_MESH, FACE_META

__all__ = ['MediaPipeFace', 'mesh_points']

_FACE68 = np.array(FACE68_FROM_MESH)


def mesh_points(landmarks: Any, width: int, height: int) -> np.ndarray:
    """(N, 3) float32 pixels of a NormalizedLandmarkList; z is scaled like x (MediaPipe's rule)."""
    return np.array([(p.x * width, p.y * height, p.z * width) for p in landmarks.landmark],
                    np.float32)


class MediaPipeFace(_MediaPipeNode):
    """Several faces per frame: MediaPipe face detection, then Face Mesh on each face.

    Keep ``static_image_mode`` off for video: faces are then tracked from frame to frame and the
    detector runs only when one is lost. MediaPipe's Face Mesh reports no confidence: a face it
    returns has passed its detector's and its mesh's presence thresholds, and gets score 1.
    """

    def __init__(self, max_num_faces: Positive = 4, refine_landmarks: bool = False,
                 min_detection_confidence: Unit = 0.5, min_tracking_confidence: Unit = 0.5,
                 static_image_mode: bool = False) -> None:
        self.max_num_faces, self.refine_landmarks = max_num_faces, refine_landmarks
        self.min_detection_confidence = min_detection_confidence
        self.min_tracking_confidence = min_tracking_confidence
        self.static_image_mode = static_image_mode
        self.meta = FACE_META
        self._solution: Any = None

    def _model_files(self) -> list[str]:
        mesh = 'face_landmark_with_attention' if self.refine_landmarks else 'face_landmark'
        return ['modules/face_detection/face_detection_short_range.tflite',
                f'modules/face_landmark/{mesh}.tflite']

    def _build(self, mp: Any) -> Any:
        return mp.solutions.face_mesh.FaceMesh(
            static_image_mode=self.static_image_mode, max_num_faces=self.max_num_faces,
            refine_landmarks=self.refine_landmarks,
            min_detection_confidence=self.min_detection_confidence,
            min_tracking_confidence=self.min_tracking_confidence)

    def _objects(self, result: Any, width: int, height: int) -> tuple[Object, ...]:
        objects = []
        for landmarks in result.multi_face_landmarks or []:
            mesh = mesh_points(landmarks, width, height)
            mesh.flags.writeable = False
            objects.append(Object(
                bbox=_landmark_box(mesh[:, :2], width, height), label='face', score=1.0,
                label_id=0, keypoints=mesh[_FACE68, :2], keypoint_scores=np.ones(68, np.float32),
                extras={'mesh': mesh}))
        return tuple(objects)
