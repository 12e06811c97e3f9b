"""A 3D view of every object's 3D keypoints, drawn with OpenCV in a panel beside the video.

Points come in the axes ``MMPoseInferencer`` writes (z up; see
:mod:`nodes.models.lift.skeletons`) from ``Object.extras['keypoints_3d']``, with the skeleton
and colours of the frame's ``dataset_meta['meta_3d']``. As mmpose's 3D visualizer does, each
instance (up to ``num_instances``; -1: all) gets a cell of its own, centred on it, over a ground
grid; the view orbits (azimuth, elevation) and zooms on hot keys, which work the same from the
window and from the browser view (keys typed on the ``--serve`` page).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import cv2
import numpy as np

from webcam_app import Frame, Node, Object
from webcam_app.params import NonNegative, Positive, Unit

from ..common import PerMeta
from ..keypoints import rgb_to_bgr
from .visualizer import _style as _style_2d, draw_poses

__all__ = ['KEYS', 'Camera', 'Pose3DView', 'render_view']

KPTS, SCORES, META = 'keypoints_3d', 'keypoint_scores_3d', 'meta_3d'
#: key -> (what it does, azimuth step, elevation step, zoom factor)
KEYS = {'j': ('orbit left', -15, 0, 1.0), 'l': ('orbit right', 15, 0, 1.0),
        'i': ('tilt up', 0, 10, 1.0), 'k': ('tilt down', 0, -10, 1.0),
        '+': ('zoom in', 0, 0, 1.25), '=': ('zoom in', 0, 0, 1.25),
        '-': ('zoom out', 0, 0, 0.8), '0': ('reset the view', 0, 0, 0.0)}
_GRID, _AXIS, _TEXT = (200, 200, 200), (150, 150, 150), (90, 90, 90)
_LINK, _KPT = (255, 96, 96), (0, 128, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass
class Camera:
    """Where the view looks from: azimuth and elevation in degrees (mmpose's 70 and 15), zoom."""

    azimuth: float = 70.0
    elevation: float = 15.0
    zoom: float = 1.0
    home: tuple[float, float, float] = field(default=(70.0, 15.0, 1.0), repr=False)

    def press(self, key: str) -> bool:
        """Apply a view key; True if it was one."""
        if key not in KEYS:
            return False
        _, d_az, d_el, factor = KEYS[key]
        if factor == 0.0:
            self.azimuth, self.elevation, self.zoom = self.home
        else:
            self.azimuth = (self.azimuth + d_az) % 360
            self.elevation = float(np.clip(self.elevation + d_el, -89, 89))
            self.zoom = float(np.clip(self.zoom * factor, 0.1, 20))
        return True

    def axes(self) -> np.ndarray:
        """(3, 3): rows are the screen's right, its up, and the direction towards the viewer."""
        a, e = math.radians(self.azimuth), math.radians(self.elevation)
        right = (-math.sin(a), math.cos(a), 0.0)
        up = (-math.sin(e) * math.cos(a), -math.sin(e) * math.sin(a), math.cos(e))
        toward = (math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e))
        return np.array([right, up, toward])


@dataclass(frozen=True)
class _Style3D:
    links: np.ndarray                      # (L, 2)
    link_bgr: tuple[tuple[int, ...], ...]
    kpt_bgr: tuple[tuple[int, ...], ...]


def _style(meta: Mapping[str, Any] | None) -> _Style3D:
    meta = meta or {}
    k = int(meta.get('num_keypoints') or 0)
    links = np.asarray(meta.get('skeleton_links') or [], np.intp).reshape(-1, 2)
    return _Style3D(links, tuple(rgb_to_bgr(meta.get('skeleton_link_colors'), len(links), _LINK)),
                    tuple(rgb_to_bgr(meta.get('keypoint_colors'), k, _KPT)))


def _cells(count: int, width: int, height: int) -> list[tuple[int, int, int, int]]:
    """``count`` cells (x, y, w, h) in a near-square grid filling width x height."""
    cols = max(1, math.ceil(math.sqrt(count * width / max(height, 1))))
    cols = min(cols, count) if count else 1
    rows = max(1, math.ceil(count / cols))
    w, h = width // cols, height // rows
    return [((i % cols) * w, (i // cols) * h, w, h) for i in range(count)]


def _draw_cell(panel: np.ndarray, cell: tuple[int, int, int, int], points: np.ndarray,
               scores: np.ndarray, style: _Style3D, camera: Camera, kpt_thr: float,
               radius: int, thickness: int, label: str) -> None:
    x0, y0, w, h = cell
    ok = np.isfinite(points).all(axis=1) & (scores >= kpt_thr)
    if not ok.any():
        return
    seen = points[ok]
    centre = np.array([*(seen[:, :2].min(0) + seen[:, :2].max(0)) / 2, seen[:, 2].min()])
    extent = max(float(np.abs(seen - centre).max()), 1e-6)
    centre[2] += extent / 2                                   # look at mid-height
    scale = 0.42 * min(w, h) / extent * camera.zoom
    axes = camera.axes()
    origin = np.array([x0 + w / 2, y0 + h / 2])

    def project(p: np.ndarray) -> np.ndarray:
        view = (p - centre) @ axes[:2].T * scale
        return np.stack([origin[0] + view[..., 0], origin[1] - view[..., 1]], -1)

    ground = centre[2] - extent / 2
    ticks = np.linspace(-extent, extent, 7)
    ends = []
    for t in ticks:
        ends.append([[t, -extent, 0], [t, extent, 0]])
        ends.append([[-extent, t, 0], [extent, t, 0]])
    grid = np.array(ends) + [centre[0], centre[1], ground]
    segments = np.rint(project(grid)).astype(np.int32)
    cv2.polylines(panel, list(segments), False, _GRID, 1, cv2.LINE_AA)
    screen = np.rint(np.clip(project(points), -1e5, 1e5)).astype(np.int32)
    depth = (points - centre) @ axes[2]
    if len(style.links):
        shown = [i for i, (a, b) in enumerate(style.links)
                 if a < len(ok) and b < len(ok) and ok[a] and ok[b]]
        for i in sorted(shown, key=lambda i: depth[style.links[i]].mean()):   # far first
            a, b = style.links[i]
            color = style.link_bgr[i] if i < len(style.link_bgr) else _LINK
            cv2.line(panel, tuple(screen[a]), tuple(screen[b]), color, thickness, cv2.LINE_AA)
    if radius > 0:
        for i in np.nonzero(ok)[0]:
            color = style.kpt_bgr[i] if i < len(style.kpt_bgr) else _KPT
            cv2.circle(panel, tuple(screen[i]), radius, color, -1, cv2.LINE_AA)
    if label:
        cv2.putText(panel, label, (x0 + 6, y0 + 18), _FONT, 0.5, _TEXT, 1, cv2.LINE_AA)


def render_view(objects: Sequence[Object], meta_3d: Mapping[str, Any] | None,
                width: int, height: int, camera: Camera | None = None, *,
                num_instances: int = -1, kpt_thr: float = 0.3, radius: int = 3,
                thickness: int = 2, background: tuple[int, int, int] = (255, 255, 255),
                style: _Style3D | None = None) -> np.ndarray:
    """A (height, width, 3) BGR panel with the 3D keypoints of ``objects``, one cell each."""
    camera = camera or Camera()
    panel = np.empty((height, width, 3), np.uint8)
    panel[:] = background
    posed = [o for o in objects if o.extras.get(KPTS) is not None]
    if num_instances >= 0:
        posed = posed[:num_instances]
    style = style or _style(meta_3d)
    for obj, cell in zip(posed, _cells(len(posed), width, height)):
        points = np.asarray(obj.extras[KPTS], np.float64).reshape(-1, 3)
        scores = obj.extras.get(SCORES)
        scores = np.ones(len(points)) if scores is None else np.asarray(scores, np.float64)
        label = f'#{obj.track_id}' if obj.track_id is not None else obj.label
        _draw_cell(panel, cell, points, scores, style, camera, kpt_thr, radius, thickness,
                   label)
    text = f'azim {camera.azimuth:.0f}  elev {camera.elevation:.0f}  zoom {camera.zoom:.2g}'
    cv2.putText(panel, text, (6, height - 8), _FONT, 0.45, _TEXT, 1, cv2.LINE_AA)
    return panel


class Pose3DView(Node):
    """Put a 3D view of the frame's 3D keypoints beside the video (the frame gets wider).

    ``panel_width``: the panel's width in pixels (0: as wide as the frame is high).
    ``num_instances``: how many instances to draw, as MMPoseInferencer's (-1: all).
    ``black_background``: as the inferencer's, the video's picture is left out: the 2D
    skeletons are drawn on black. Keys: j/l orbit, i/k tilt, +/- zoom, 0 resets.
    """

    inputs = {'frame': 'trigger'}

    def __init__(self, panel_width: NonNegative = 0, num_instances: int = -1,
                 kpt_thr: Unit = 0.3, radius: NonNegative = 3, thickness: Positive = 2,
                 black_background: bool = False, azimuth: float = 70.0,
                 elevation: float = 15.0, zoom: float = 1.0) -> None:
        if num_instances < -1:
            raise ValueError(f'num_instances must be -1 (all) or >= 0, but got {num_instances}')
        self.panel_width, self.num_instances = panel_width, num_instances
        self.kpt_thr, self.radius, self.thickness = kpt_thr, radius, thickness
        self.black_background = black_background
        self.camera = Camera(azimuth, elevation, zoom, home=(azimuth, elevation, zoom))
        self._styles = PerMeta(_style)
        self._styles_2d = PerMeta(lambda meta: _style_2d(meta, 'mmpose'))

    def setup(self) -> None:
        self.subscribe('key', self.camera.press)

    def process(self, frame: Frame) -> Frame:
        image = frame.image
        height, width = image.shape[:2]
        meta_3d = frame.dataset_meta.get(META)
        panel = render_view(frame.objects, meta_3d, self.panel_width or height, height,
                            self.camera, num_instances=self.num_instances,
                            kpt_thr=self.kpt_thr, radius=self.radius, thickness=self.thickness,
                            style=self._styles(meta_3d))
        if self.black_background:
            image = np.zeros_like(image)
            draw_poses(image, frame.objects, frame.dataset_meta, kpt_thr=self.kpt_thr,
                       radius=self.radius, thickness=self.thickness, draw_bbox=False,
                       styles=self._styles_2d)
        return frame.replace(image=np.hstack([image, panel]))
