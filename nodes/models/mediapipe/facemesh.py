"""Faces near and far: MediaPipe's full-range face detector and Face Mesh, run through LiteRT.

The legacy Face Mesh solution finds faces with the short-range detector (faces within about
2 m). This runs the wheel's full-range detector (``face_detection_full_range_sparse.tflite``,
faces up to about 5 m) and the same mesh model (``face_landmark.tflite``) itself, as
MediaPipe's graphs do (``face_detection_full_range.pbtxt``,
``face_detection_front_detection_to_roi.pbtxt``, ``face_landmark_cpu.pbtxt`` and
``face_landmark_landmarks_to_roi.pbtxt``):

- detector: 192x192 letterboxed input in [-1, 1]; 2304 anchors (one per cell of a 48x48 grid);
  a box and 6 keypoints (eyes first) each; sigmoid scores; weighted NMS;
- region: the box's centre, 1.5 times its longer side, turned to level the eyes;
- mesh: that region at 192x192 in [0, 1]; 468 (x, y, z) landmarks in input pixels and a face
  presence logit. In video mode the next region comes from the mesh itself (its box, levelled
  on the eye corners 33 and 263), and the detector looks for new faces only.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ...common import box_iou, inside
from .litert import LiteRTModel
from .ssd import Detection, Roi, affine, crop_input, decode_detections, letterbox_input, \
    normalize_angle, sigmoid, ssd_anchors

__all__ = ['DETECTOR', 'MESH', 'FullRangeFaceMesh', 'roi_from_face', 'roi_from_mesh']

DETECTOR = 'modules/face_detection/face_detection_full_range_sparse.tflite'
MESH = 'modules/face_landmark/face_landmark.tflite'
_DETECTOR_SIZE, _MESH_SIZE = 192, 192
_ROI_SCALE = 1.5
_SAME_FACE_IOU = 0.5
_EYE_CORNERS = (33, 263)          # the mesh's right and left outer eye corners


def _region(box: np.ndarray, start: np.ndarray, end: np.ndarray) -> Roi:
    """A square 1.5 times the box's longer side, turned so that ``start`` -> ``end`` is level."""
    (x1, y1, x2, y2), (dx, dy) = box, end - start
    return Roi(((x1 + x2) / 2, (y1 + y2) / 2), max(x2 - x1, y2 - y1) * _ROI_SCALE,
               normalize_angle(-math.atan2(-dy, dx)))


def roi_from_face(detection: Detection) -> Roi:
    """The mesh's region for a detected face (keypoints 0 and 1 are its eyes)."""
    return _region(detection.box, detection.keypoints[0], detection.keypoints[1])


def roi_from_mesh(mesh: np.ndarray) -> Roi:
    """The region where a face whose (468, 2+) mesh this is will be in the next frame."""
    points = mesh[:, :2]
    box = np.concatenate([points.min(axis=0), points.max(axis=0)])
    return _region(box, points[_EYE_CORNERS[0]], points[_EYE_CORNERS[1]])


def _box(points: np.ndarray) -> tuple[float, ...]:
    return (*points.min(axis=0), *points.max(axis=0))


class FullRangeFaceMesh:
    """Faces in RGB frames: ``faces(rgb)`` gives (presence score, (468, 3) mesh in pixels)."""

    def __init__(self, root: Path, max_faces: int, detection_thr: float, presence_thr: float,
                 follow: bool, threads: int = 2) -> None:
        self.detector = LiteRTModel(str(root / DETECTOR), threads)
        self.mesh = LiteRTModel(str(root / MESH), threads)
        self.anchors = ssd_anchors(_DETECTOR_SIZE, (4,), 1)
        self.max_faces, self.follow = max_faces, follow
        self.detection_thr, self.presence_thr = detection_thr, presence_thr
        self._followed: list[Roi] = []

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        tensor, to_image = letterbox_input(rgb, _DETECTOR_SIZE)
        out = self.detector(tensor)
        n = len(self.anchors)
        return decode_detections(out[(n, 16)], out[(n, 1)], self.anchors, to_image,
                                 _DETECTOR_SIZE, self.detection_thr, self.max_faces)

    def mesh_at(self, rgb: np.ndarray, roi: Roi) -> tuple[float, np.ndarray]:
        """(presence score, (468, 3) mesh in image pixels; z scaled like x) for one region."""
        out = self.mesh(crop_input(rgb, roi, _MESH_SIZE))
        presence = float(sigmoid(out[(1, 1, 1)].reshape(-1)[0]))
        raw = out[(1, 1, 1404)].reshape(468, 3).astype(np.float64)
        mesh = np.empty((468, 3), np.float32)
        mesh[:, :2] = affine(roi.to_image(_MESH_SIZE), raw[:, :2])
        mesh[:, 2] = raw[:, 2] * roi.size / _MESH_SIZE
        return presence, mesh

    def faces(self, rgb: np.ndarray) -> list[tuple[float, np.ndarray]]:
        found: list[tuple[float, np.ndarray]] = []
        regions = list(self._followed)
        if len(regions) < self.max_faces:     # detect only while there is room for a new face
            regions += [roi_from_face(d) for d in self.detect(rgb)]
        for roi in regions:
            if len(found) == self.max_faces:
                break
            if any(inside(_box(mesh[:, :2]), roi.centre) for _, mesh in found):
                continue                  # a detection of a face already followed
            presence, mesh = self.mesh_at(rgb, roi)
            box = _box(mesh[:, :2])
            if presence >= self.presence_thr and all(
                    box_iou(box, _box(other[:, :2])) < _SAME_FACE_IOU for _, other in found):
                found.append((presence, mesh))
        self._followed = [roi_from_mesh(mesh) for _, mesh in found] if self.follow else []
        return found
