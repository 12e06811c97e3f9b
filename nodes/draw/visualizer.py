"""Draw boxes, labels, track ids, keypoints and skeletons with OpenCV, in the meta's colors."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

import cv2
import numpy as np

from webcam_app import Frame, Node, Object
from webcam_app.params import NonNegative, Positive, Unit

from ..common import PALETTE, PerMeta
from ..keypoints import rgb_to_bgr
from .heatmap import blend_heatmaps

__all__ = ['PALETTE', 'PoseVisualizer', 'box_color', 'draw_poses']

log = logging.getLogger(__name__)

_LINK_BGR, _KPT_BGR = (255, 96, 96), (0, 128, 255)     # when the meta has no colors
_FONT = cv2.FONT_HERSHEY_SIMPLEX

COCO17 = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
          'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip',
          'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle')
# OpenPose's 18-point body (mmpose configs/_base_/datasets/coco_openpose.py): links and RGB colors.
_OP_LINKS = (
    ('neck', 'right_shoulder'), ('neck', 'left_shoulder'), ('right_shoulder', 'right_elbow'),
    ('right_elbow', 'right_wrist'), ('left_shoulder', 'left_elbow'),
    ('left_elbow', 'left_wrist'), ('neck', 'right_hip'), ('right_hip', 'right_knee'),
    ('right_knee', 'right_ankle'), ('neck', 'left_hip'), ('left_hip', 'left_knee'),
    ('left_knee', 'left_ankle'), ('neck', 'nose'), ('nose', 'right_eye'),
    ('right_eye', 'right_ear'), ('nose', 'left_eye'), ('left_eye', 'left_ear'))
_OP_RGB = ((255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
           (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 225), (0, 170, 255), (0, 85, 255),
           (0, 0, 255), (255, 0, 170), (170, 0, 255), (255, 0, 255), (255, 0, 170))
_OP_KPT_RGB = {'nose': (255, 0, 0), 'neck': (255, 85, 0), 'right_shoulder': (255, 170, 0),
               'right_elbow': (255, 255, 0), 'right_wrist': (170, 255, 0),
               'left_shoulder': (85, 255, 0), 'left_elbow': (0, 255, 0),
               'left_wrist': (0, 255, 85), 'right_hip': (0, 255, 170),
               'right_knee': (0, 255, 255), 'right_ankle': (0, 170, 255),
               'left_hip': (0, 85, 255), 'left_knee': (0, 0, 255), 'left_ankle': (85, 0, 255),
               'right_eye': (170, 0, 255), 'left_eye': (255, 0, 255),
               'right_ear': (255, 0, 170), 'left_ear': (255, 0, 85)}


@dataclass(frozen=True)
class _Style:
    """How to draw one meta's keypoints, precomputed once per meta."""

    num_keypoints: int
    links: np.ndarray                               # (L, 2) indices into the extended points
    link_groups: tuple[tuple[tuple[int, ...], np.ndarray], ...]   # (BGR, link indices)
    kpt_colors: tuple[tuple[int, ...], ...]         # BGR per extended point
    neck: tuple[int, int] | None = None             # openpose: neck = mean of these two
    link_scale: int = 1                             # openpose draws thicker links


def _groups(links: np.ndarray, colors: Sequence[tuple[int, ...]]) -> tuple:
    by_color: dict[tuple[int, ...], list[int]] = {}
    for i, color in enumerate(colors):
        by_color.setdefault(color, []).append(i)
    return tuple((color, np.asarray(ids, np.intp)) for color, ids in by_color.items())


def _mmpose_style(meta: Mapping[str, Any]) -> _Style:
    k = int(meta.get('num_keypoints') or len(meta.get('keypoint_name2id') or ()))
    links = meta.get('skeleton_links')
    links = np.asarray([] if links is None else links, np.intp).reshape(-1, 2)
    links = links[(links < k).all(axis=1)] if k else links[:0]
    colors = rgb_to_bgr(meta.get('skeleton_link_colors'), len(links), _LINK_BGR)
    return _Style(k, links, _groups(links, colors),
                  tuple(rgb_to_bgr(meta.get('keypoint_colors'), k, _KPT_BGR)))


def _openpose_style(meta: Mapping[str, Any]) -> _Style:
    """OpenPose colors for the 17 COCO body points (plus a neck); the rest as mmpose draws it."""
    base = _mmpose_style(meta)
    name2id = meta['keypoint_name2id']
    ids = {name: int(name2id[name]) for name in COCO17}
    ids['neck'] = base.num_keypoints                # appended after the model's points
    body = set(ids.values())
    links = [(ids[a], ids[b]) for a, b in _OP_LINKS]
    colors = [rgb[::-1] for rgb in _OP_RGB]
    link_colors = rgb_to_bgr(meta.get('skeleton_link_colors'), len(base.links), _LINK_BGR)
    for (a, b), color in zip(base.links.tolist(), link_colors):
        if a not in body or b not in body:          # hands, face, feet of bigger models
            links.append((a, b))
            colors.append(color)
    kpt_colors = list(base.kpt_colors) + [_OP_KPT_RGB['neck'][::-1]]
    for name, index in ids.items():
        kpt_colors[index] = _OP_KPT_RGB[name][::-1]
    links_arr = np.asarray(links, np.intp)
    return _Style(base.num_keypoints, links_arr, _groups(links_arr, colors), tuple(kpt_colors),
                  neck=(ids['left_shoulder'], ids['right_shoulder']), link_scale=2)


def _style(meta: Mapping[str, Any], skeleton_style: str) -> _Style:
    if skeleton_style == 'openpose':
        name2id = meta.get('keypoint_name2id') or {}
        if all(name in name2id for name in COCO17):
            return _openpose_style(meta)
    return _mmpose_style(meta)


def box_color(obj: Object) -> tuple[int, int, int]:
    """The BGR color of an object's box: by track id when tracked, else by label id."""
    key = obj.track_id if obj.track_id is not None else obj.label_id
    return PALETTE[int(key) % len(PALETTE)]


def _draw_label(image: np.ndarray, text: str, x: int, y: int, color: tuple[int, ...]) -> None:
    (w, h), base = cv2.getTextSize(text, _FONT, 0.5, 1)
    y = max(y, h + base)
    cv2.rectangle(image, (x, y - h - base), (x + w + 2, y), color, -1)
    cv2.putText(image, text, (x + 1, y - base), _FONT, 0.5, (0, 0, 0), 1, cv2.LINE_AA)


def _draw_box(image: np.ndarray, obj: Object, thickness: int, show_labels: bool) -> None:
    color = box_color(obj)
    x1, y1, x2, y2 = (int(round(v)) for v in obj.bbox)
    cv2.rectangle(image, (x1, y1), (x2, y2), color, thickness)
    if show_labels:
        parts = [f'#{obj.track_id}'] if obj.track_id is not None else []
        parts += [obj.label] if obj.label else []
        parts.append(f'{obj.score:.2f}')
        _draw_label(image, ' '.join(parts), x1, y1, color)


def _points_only(k: int) -> _Style:
    return _Style(k, np.zeros((0, 2), np.intp), (), (_KPT_BGR,) * k)


def _draw_keypoints(image: np.ndarray, kpts: np.ndarray, scores: np.ndarray, style: _Style,
                    kpt_thr: float, radius: int, thickness: int) -> None:
    """Draw the (N, K, 2) keypoints of N objects with one polylines call per link color."""
    ok = np.isfinite(kpts).all(axis=2) & (scores >= kpt_thr)
    pts = np.clip(np.where(ok[..., None], kpts, 0.0), -1e5, 1e5)
    if style.neck is not None:
        a, b = style.neck
        pts = np.concatenate([pts, (pts[:, a:a + 1] + pts[:, b:b + 1]) / 2], axis=1)
        ok = np.concatenate([ok, ok[:, a:a + 1] & ok[:, b:b + 1]], axis=1)
    pts = np.rint(pts).astype(np.int32)
    if len(style.links):
        shown = ok[:, style.links].all(axis=2)                   # (N, L)
        for color, ids in style.link_groups:
            segments = pts[:, style.links[ids]][shown[:, ids]]  # (M, 2, 2)
            if len(segments):
                cv2.polylines(image, segments, False, color, thickness * style.link_scale,
                              cv2.LINE_AA)
    if radius > 0:
        colors = style.kpt_colors
        for (x, y), i in zip(pts[ok].tolist(), np.nonzero(ok)[1].tolist()):
            cv2.circle(image, (x, y), radius, colors[i], -1, cv2.LINE_AA)


def draw_poses(image: np.ndarray, objects: Sequence[Object], meta: Mapping[str, Any], *,
               kpt_thr: float = 0.3, radius: int = 3, thickness: int = 2,
               draw_bbox: bool = True, skeleton_style: str = 'mmpose',
               show_labels: bool = True, styles: PerMeta | None = None) -> np.ndarray:
    """Draw ``objects`` onto ``image`` in place (a writable BGR array) and return it.

    Boxes and labels go first, then the skeletons of all objects over them. ``styles`` keeps
    the drawing style of the last meta, for a caller that draws many frames.
    """
    if draw_bbox:
        for obj in objects:
            _draw_box(image, obj, thickness, show_labels)
    posed = [o for o in objects if o.keypoints is not None]
    if not posed:
        return image
    style = styles(meta) if styles is not None else _style(meta, skeleton_style)
    by_size: dict[int, list[Object]] = {}
    for obj in posed:
        by_size.setdefault(len(obj.keypoints), []).append(obj)
    for k, group in by_size.items():       # one group, unless objects disagree with the meta
        kpts = np.stack([np.asarray(o.keypoints, np.float64) for o in group])
        scores = np.stack([np.ones(k) if o.keypoint_scores is None else
                           np.asarray(o.keypoint_scores, np.float64) for o in group])
        _draw_keypoints(image, kpts, scores, style if k == style.num_keypoints else
                        _points_only(k), kpt_thr, radius, thickness)
    return image


class PoseVisualizer(Node):
    """Draw boxes, labels, track ids, keypoints and skeletons in the dataset meta's colors.

    With ``poses`` wired (async layout: smooth video, latest results), the objects and meta of
    ``poses`` are drawn on the image of ``frame``; otherwise ``frame``'s own objects are. The
    emitted frame carries the drawn objects and their meta, so sinks see what was drawn.
    ``draw_heatmap`` blends the pose model's heat maps under the drawing (its node needs
    ``output_heatmaps: true``); ``black_background`` draws on black, as MMPoseInferencer does.
    """

    inputs = {'frame': 'trigger', 'poses': 'latest'}

    def __init__(self, kpt_thr: Unit = 0.3, radius: NonNegative = 3, thickness: Positive = 2,
                 draw_bbox: bool = True, skeleton_style: Literal['mmpose', 'openpose'] = 'mmpose',
                 show_labels: bool = True, draw_heatmap: bool = False,
                 black_background: bool = False) -> None:
        self.draw_heatmap, self.black_background = draw_heatmap, black_background
        self._heat_seen = False
        self.options = dict(kpt_thr=kpt_thr, radius=radius, thickness=thickness,
                            draw_bbox=draw_bbox, skeleton_style=skeleton_style,
                            show_labels=show_labels,
                            styles=PerMeta(lambda meta: _style(meta, skeleton_style)))

    @staticmethod
    def _source(frame: Frame, poses: Frame | None) -> Frame:
        return poses if isinstance(poses, Frame) else frame

    def process(self, frame: Frame, poses: Frame | None = None) -> Frame:
        src = self._source(frame, poses)
        image = np.zeros_like(frame.image) if self.black_background else frame.image.copy()
        if self.draw_heatmap:
            self._blend(image, src)
        draw_poses(image, src.objects, src.dataset_meta, **self.options)
        return frame.replace(image=image, objects=src.objects, dataset_meta=src.dataset_meta)

    def _blend(self, image: np.ndarray, src: Frame) -> None:
        if blend_heatmaps(image, src.objects) or self._heat_seen or not src.objects:
            self._heat_seen = True
            return
        self._heat_seen = True
        log.warning('node %s: draw_heatmap is on, but the pose model gives no heat maps (only '
                    "a top-down OpenMMLab model's heatmap or SimCC head does, with "
                    'output_heatmaps: true)', self.name)

    def bypass(self, frame: Frame, poses: Frame | None = None) -> Frame:
        """Disabled: the picture undrawn, but still carrying the results sinks expect."""
        src = self._source(frame, poses)
        return frame.replace(objects=src.objects, dataset_meta=src.dataset_meta)
