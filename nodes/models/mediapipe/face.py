"""Faces from MediaPipe's bundled face detector and Face Mesh, in COCO-WholeBody's 68-point layout.

Each face found is one object: its 68 keypoints (``FACE_META``, mmpose's ``coco_wholebody_face``
layout, so ``Sunglasses`` and ``BigEye`` find the eyes by name) and, in ``extras['mesh']``, all
468 Face Mesh landmarks (478 with ``refine_landmarks``: the irises too) as (x, y, z) pixels.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np

from webcam_app import Frame, Object
from webcam_app.params import Positive, Unit

from ...common import box_around

from .facemesh import DETECTOR, MESH, FullRangeFaceMesh
from .litert import check_litert
from .solutions import _BOX_SCALE, _MediaPipeNode, _to_rgb, mediapipe_dir
from .wholebody_meta import FACE68_FROM_MESH, FACE_META

__all__ = ['MediaPipeFace', 'mesh_points']

_FACE68 = np.array(FACE68_FROM_MESH)


def mesh_points(landmarks: Any, width: int, height: int) -> np.ndarray:
    """(N, 3) float32 pixels of a NormalizedLandmarkList; z is scaled like x (MediaPipe's rule)."""
    return np.array([(p.x * width, p.y * height, p.z * width) for p in landmarks.landmark],
                    np.float32)


class MediaPipeFace(_MediaPipeNode):
    """Several faces per frame: MediaPipe face detection, then Face Mesh on each face.

    ``detector: short`` (the default) is MediaPipe's Face Mesh solution with its short-range
    detector, for faces within about 2 m of a webcam; it reports no confidence, so a face it
    returns (it passed the detector's and the mesh's thresholds) gets score 1. ``detector: full``
    runs the full-range detector (faces up to about 5 m) and the same mesh model through LiteRT
    (``ai-edge-litert``); a face's score is then the mesh model's face presence. Keep
    ``static_image_mode`` off for video: faces are then followed from frame to frame.
    """

    def __init__(self, max_num_faces: Positive = 4, refine_landmarks: bool = False,
                 min_detection_confidence: Unit = 0.5, min_tracking_confidence: Unit = 0.5,
                 static_image_mode: bool = False,
                 detector: Literal['short', 'full'] = 'short') -> None:
        if detector == 'full' and refine_landmarks:
            raise ValueError('refine_landmarks needs detector: short (the iris model uses an '
                             'operation only MediaPipe itself runs), but got detector: full')
        self.max_num_faces, self.refine_landmarks = max_num_faces, refine_landmarks
        self.min_detection_confidence = min_detection_confidence
        self.min_tracking_confidence = min_tracking_confidence
        self.static_image_mode, self.detector = static_image_mode, detector
        self.meta = FACE_META
        self._solution: Any = None

    def _model_files(self) -> list[str]:
        if self.detector == 'full':
            return [DETECTOR, MESH]
        mesh = 'face_landmark_with_attention' if self.refine_landmarks else 'face_landmark'
        return ['modules/face_detection/face_detection_short_range.tflite',
                f'modules/face_landmark/{mesh}.tflite']

    def check(self) -> None:
        super().check()
        if self.detector == 'full':
            check_litert(type(self).__name__)

    def _build(self, mp: Any) -> Any:
        return mp.solutions.face_mesh.FaceMesh(
            static_image_mode=self.static_image_mode, max_num_faces=self.max_num_faces,
            refine_landmarks=self.refine_landmarks,
            min_detection_confidence=self.min_detection_confidence,
            min_tracking_confidence=self.min_tracking_confidence)

    def setup(self) -> None:
        if self.detector == 'short':
            super().setup()
            return
        self._solution = FullRangeFaceMesh(
            mediapipe_dir(), self.max_num_faces, self.min_detection_confidence,
            self.min_tracking_confidence, follow=not self.static_image_mode)

    def close(self) -> None:
        if self.detector == 'short':
            super().close()
        self._solution = None

    def process(self, frame: Frame) -> Frame:
        if self.detector == 'short' or frame.image is None:
            return super().process(frame)
        height, width = frame.image.shape[:2]
        faces = self._solution.faces(_to_rgb(frame.image))
        objects = tuple(self._face(mesh, score, width, height) for score, mesh in faces)
        return frame.replace(objects=objects, dataset_meta=self.meta)

    def _objects(self, result: Any, width: int, height: int) -> tuple[Object, ...]:
        return tuple(self._face(mesh_points(landmarks, width, height), 1.0, width, height)
                     for landmarks in result.multi_face_landmarks or [])

    @staticmethod
    def _face(mesh: np.ndarray, score: float, width: int, height: int) -> Object:
        mesh.flags.writeable = False
        return Object(bbox=box_around(mesh[:, :2], _BOX_SCALE, (width, height)), label='face',
                      score=score, label_id=0, keypoints=mesh[_FACE68, :2],
                      keypoint_scores=np.full(68, score, np.float32), extras={'mesh': mesh})
