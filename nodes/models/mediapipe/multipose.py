"""Every person's body keypoints, top-down from the BlazePose models bundled in the mediapipe wheel.

MediaPipe's legacy Pose solution follows one person, and MediaPipe Tasks bundles (``.task``)
built from the wheel's ``.tflite`` files do not load (they lack the metadata Tasks needs). So
this node runs the same two ``.tflite`` models itself, through LiteRT (``ai-edge-litert``): the
pose detector finds people, then the landmark model runs once per person on that person's
rotated region (see :mod:`.blazepose`).

BlazePose's detector favours the most prominent person: beside a striking one, another person
may score near zero. So the search goes in rounds: the people found are blanked out of a copy
of the frame and the detector looks again, until a round finds no one new (or ``max_people``
are found). Landmarks always come from the untouched frame.

In video mode (``static_image_mode: false``, the default) a person found in one frame is
followed into the next as MediaPipe's own Pose does: the landmark model runs on the region its
auxiliary landmarks predict, and the detector looks only for people not followed (a frame then
costs one detector round fewer). With ``detect_every: N`` the detector looks for newcomers only
every N frames while someone is followed (at once when no one is). In static-image mode every
frame is searched afresh.
"""
from __future__ import annotations

import logging
from typing import Literal

import numpy as np

from webcam_app import Frame, Object
from webcam_app.params import Positive, Unit

from ...common import box_around, box_iou, inside

from . import blazepose as bp
from .meta import BLAZEPOSE_META, COCO_FROM_BLAZEPOSE, COCO_META
from .litert import LiteRTModel, check_litert
from .solutions import _BOX_SCALE, _MediaPipeNode, _to_rgb, mediapipe_dir

__all__ = ['MediaPipeMultiPose']

log = logging.getLogger(__name__)

_DETECTOR = 'modules/pose_detection/pose_detection.tflite'
_LANDMARKS = 'modules/pose_landmark/pose_landmark_full.tflite'
_SAME_PERSON_IOU = 0.6     # two skeletons whose boxes overlap this much are one person
_BLANK_MARGIN = 0.15       # a found person is blanked out with this much of its box around it


def _blank(image: np.ndarray, box: tuple[float, ...]) -> None:
    """Paint ``box``, grown by ``_BLANK_MARGIN``, black in place."""
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * _BLANK_MARGIN, (y2 - y1) * _BLANK_MARGIN
    image[max(0, int(y1 - dy)):max(0, int(y2 + dy) + 1),
          max(0, int(x1 - dx)):max(0, int(x2 + dx) + 1)] = 0


class MediaPipeMultiPose(_MediaPipeNode):
    """Several people's 33 BlazePose landmarks (or their COCO-17 view), one object per person.

    ``min_detection_confidence`` is the detector's threshold, ``min_presence_confidence`` the
    landmark model's "a person is in this region" threshold. Keypoint scores are the landmarks'
    visibility; the object's score is the landmark model's presence score.
    """

    def __init__(self, max_people: Positive = 5, min_detection_confidence: Unit = 0.5,
                 min_presence_confidence: Unit = 0.5,
                 keypoints: Literal['blazepose', 'coco'] = 'blazepose',
                 visibility_threshold: Unit = 0.5, threads: Positive = 2,
                 static_image_mode: bool = False, detect_every: Positive = 1) -> None:
        self.max_people, self.threads, self.keypoints = max_people, threads, keypoints
        self.min_detection_confidence = min_detection_confidence
        self.min_presence_confidence = min_presence_confidence
        self.visibility_threshold = visibility_threshold
        self.meta = BLAZEPOSE_META if keypoints == 'blazepose' else COCO_META
        self._index = None if keypoints == 'blazepose' else np.array(COCO_FROM_BLAZEPOSE)
        self._detector: LiteRTModel | None = None
        self._landmarks: LiteRTModel | None = None
        self._anchors = bp.anchors()
        self.static_image_mode, self.detect_every = static_image_mode, detect_every
        self._followed: list[bp.Roi] = []      # video mode: where the people are expected next
        self._since_detection = 0              # video mode: frames since the last detection

    def _model_files(self) -> list[str]:
        return [_DETECTOR, _LANDMARKS]

    def check(self) -> None:
        super().check()
        check_litert(type(self).__name__)

    def setup(self) -> None:
        root = mediapipe_dir()
        self._detector = LiteRTModel(str(root / _DETECTOR), self.threads)
        self._landmarks = LiteRTModel(str(root / _LANDMARKS), self.threads)

    def close(self) -> None:
        self._detector = self._landmarks = None
        self._followed = []

    def detect(self, image_rgb: np.ndarray) -> list[bp.Detection]:
        """The people the pose detector finds in an RGB image, best first."""
        tensor, to_image = bp.detector_input(image_rgb)
        out = self._detector(tensor)
        anchors = len(self._anchors)
        return bp.detect(out[(anchors, 12)], out[(anchors, 1)], self._anchors, to_image,
                         self.min_detection_confidence, self.max_people)

    def landmarks(self, image_rgb: np.ndarray, roi: bp.Roi
                  ) -> tuple[float, np.ndarray, np.ndarray, bp.Roi]:
        """For one region: the presence score, the (33, 2) landmarks in image pixels, their (33,)
        visibility, and the region where the person is expected in the next frame."""
        out = self._landmarks(bp.landmark_input(image_rgb, roi))
        presence = float(out[(1,)].reshape(-1)[0])
        points, visibility = bp.landmarks_to_image(out[(195,)], roi, out[(64, 64, 39)])
        return presence, points[:33], visibility[:33], bp.roi_from_points(points[33], points[34])

    def _person(self, points: np.ndarray, scores: np.ndarray, presence: float, width: int,
                height: int) -> Object:
        seen = scores >= self.visibility_threshold
        bbox = box_around(points[seen] if seen.any() else points, _BOX_SCALE, (width, height))
        if self._index is not None:
            points, scores = points[self._index], scores[self._index]
        return Object(bbox=bbox, label='person', score=presence, label_id=0, keypoints=points,
                      keypoint_scores=scores)

    def _add_person(self, rgb: np.ndarray, roi: bp.Roi, people: list[Object],
                    followed: list[bp.Roi]) -> bool:
        """Add the person in ``roi`` to ``people`` (and where to follow it to ``followed``),
        unless the region holds no one or one of ``people``. Whether one was added."""
        presence, points, visibility, next_roi = self.landmarks(rgb, roi)
        if presence < self.min_presence_confidence:
            return False
        height, width = rgb.shape[:2]
        person = self._person(points, visibility, presence, width, height)
        if any(box_iou(person.bbox, other.bbox) >= _SAME_PERSON_IOU for other in people):
            return False
        people.append(person)
        followed.append(next_roi)
        return True

    def find_people(self, rgb: np.ndarray) -> list[Object]:
        """Everyone in an RGB image: the people followed from the previous frame (video mode),
        then rounds of detection (see the module's docstring)."""
        people: list[Object] = []
        followed: list[bp.Roi] = []
        for roi in self._followed[:self.max_people]:
            self._add_person(rgb, roi, people, followed)
        self._since_detection += 1
        if people and self._since_detection < self.detect_every:
            self._followed = followed
            return people
        self._since_detection = 0
        while len(people) < self.max_people:
            search = rgb
            if people:
                search = rgb.copy()
                for person in people:
                    _blank(search, person.bbox)
            added = False
            for detection in self.detect(search):
                if any(inside(p.bbox, detection.keypoints[0]) for p in people):
                    continue                     # its hips are on someone already found
                added |= self._add_person(rgb, bp.roi_from_detection(detection), people,
                                          followed)
                if len(people) == self.max_people:
                    break
            if not added:
                break
        self._followed = [] if self.static_image_mode else followed
        return people

    def process(self, frame: Frame) -> Frame:
        if frame.image is None:
            return frame.replace(objects=(), dataset_meta=self.meta)
        people = self.find_people(_to_rgb(frame.image))
        log.debug('%s: frame %d: %d people', self.name, frame.frame_id, len(people))
        return frame.replace(objects=tuple(people), dataset_meta=self.meta)
