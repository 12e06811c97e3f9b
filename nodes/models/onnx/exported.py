"""Exported models loaded for inference: an engine plus the codec its sidecar describes."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..heatmaps import heat_patch, keypoint_maps, simcc_maps
from .auto_precision import check_photos, load_engine, pose_boxes
from .det_codec import DetCodec
from .engines import make_engine
from .pose_codec import PoseCodec
from .precision import MAX_SCORE_DIFF, detections_miss, keypoints_miss
from .sidecar import dataset_meta_from_json, read_sidecar

__all__ = ['ExportedDetector', 'ExportedPose']


def _load(path: Any, kind: str) -> dict[str, Any]:
    """The sidecar of an exported file, or of a RemoteModel (found on a server)."""
    sidecar = path.sidecar if hasattr(path, 'sidecar') else read_sidecar(path)
    if sidecar['kind'] != kind:
        what = {'det': 'a detector', 'pose': 'a pose model'}
        raise ValueError(f'{path} is {what[sidecar["kind"]]}, not {what[kind]}')
    return sidecar


class ExportedPose:
    """A top-down pose model: all boxes of a frame in one batched run (twice as many with flip).

    ``precision``: f32, bf16, f16, or auto (see ``auto_precision``); ``self.precision`` is the
    one it runs. ``name`` names the model node in log lines. ``backend: remote``: ``path`` is the
    RemoteModel that check() found, and ``remote`` (``live``, ``timeout``) goes to its engine.
    """

    def __init__(self, path: Any, backend: str = 'onnxruntime', device: str = 'cpu',
                 threads: int | None = None, precision: str = 'f32', name: str = '',
                 **remote: Any) -> None:
        self.sidecar = _load(path, 'pose')
        self.codec = PoseCodec(self.sidecar)
        self.dataset_meta = dataset_meta_from_json(self.sidecar['dataset_meta'])
        if backend == 'remote':         # the server holds the model and its precision
            self.engine = make_engine(backend, path, **remote)
        else:
            self.engine = load_engine(name or Path(path).stem, backend, path, device, threads,
                                      precision, self._check_answers(), keypoints_miss)
        self.precision: str = self.engine.precision

    def _check_answers(self) -> Any:
        """The precision check's run: keypoints in crop pixels on fixed boxes of the photos."""
        photos = check_photos()
        if not photos:
            return None
        batches: list[np.ndarray] = []

        def answers(engine: Any) -> np.ndarray:
            if not batches:     # made when a check runs, not when a record answers
                batches.extend(self.codec.preprocess(image, pose_boxes(image))[0]
                               for image in photos)
            return np.concatenate([self.codec.decode([np.asarray(o, np.float32)
                                                      for o in engine(b)])[0] for b in batches])
        return answers

    def estimate(self, image: np.ndarray, bboxes: np.ndarray,
                 flip: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(N, K, 2) keypoints in image pixels and (N, K) scores for (N, 4) xyxy boxes."""
        batch, centers, scales = self.codec.preprocess(image, bboxes, flip)
        return self.codec.postprocess(self.engine(batch), centers, scales)

    def estimate_with_heat(self, image: np.ndarray, bboxes: np.ndarray, flip: bool = False
                           ) -> tuple[np.ndarray, np.ndarray, list[tuple | None]]:
        """As ``estimate``, and each box's heat patch (``nodes.models.heatmaps``; None for a
        regression head, which has no map)."""
        batch, centers, scales = self.codec.preprocess(image, bboxes, flip)
        raw = self.codec.merge_flip(self.engine(batch), len(centers))
        keypoints, scores = self.codec.postprocess(raw, centers, scales)
        if self.codec.head == 'simcc':
            maps = simcc_maps(raw[0], raw[1])
        elif self.codec.head == 'heatmap':
            maps = keypoint_maps(raw[0])
        else:
            return keypoints, scores, [None] * len(centers)
        return keypoints, scores, [heat_patch(m, c, s) for m, c, s in zip(maps, centers, scales)]


class ExportedDetector:
    """A one-stage detector whose decoding and NMS run here, in numpy.

    ``score_thr``: the threshold the precision check compares boxes at (the node's). The rest
    as for ExportedPose.
    """

    def __init__(self, path: Any, backend: str = 'onnxruntime', device: str = 'cpu',
                 threads: int | None = None, precision: str = 'f32', name: str = '',
                 score_thr: float = 0.3, **remote: Any) -> None:
        self.sidecar = _load(path, 'det')
        self.codec = DetCodec(self.sidecar)
        self.classes: tuple[str, ...] = tuple(self.sidecar['classes'])
        cat_ids = self.sidecar.get('cat_ids')
        self.cat_ids: tuple[int, ...] | None = tuple(cat_ids) if cat_ids is not None else None
        if backend == 'remote':
            self.engine = make_engine(backend, path, **remote)
            self.precision = self.engine.precision
            return
        photos = check_photos()
        # the lower precision's boxes a little below the threshold count as found again
        low = max(0.0, score_thr - 2 * MAX_SCORE_DIFF)

        def answers(engine: Any) -> list[tuple]:
            return [self.codec.detect(engine, image, low)[:2] for image in photos]

        def miss(ref: Any, other: Any) -> tuple[str | None, str]:
            return detections_miss(ref, other, score_thr)
        self.engine = load_engine(name or Path(path).stem, backend, path, device, threads,
                                  precision, answers if photos else None, miss)
        self.precision: str = self.engine.precision

    def detect(self, image: np.ndarray,
               score_thr: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (M, 4) xyxy in image pixels, scores (M,) and class ids (M,), best first."""
        return self.codec.detect(self.engine, image, score_thr)
