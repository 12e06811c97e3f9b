"""Exported models loaded for inference: an engine plus the codec its sidecar describes."""
from __future__ import annotations

from typing import Any

import numpy as np

from .det_codec import DetCodec
from .engines import make_engine
from .pose_codec import PoseCodec
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
    """A top-down pose model: all boxes of a frame in one batched run (twice as many with flip)."""

    def __init__(self, path: Any, backend: str = 'onnxruntime', device: str = 'cpu',
                 threads: int | None = None, **options: Any) -> None:
        self.sidecar = _load(path, 'pose')
        self.codec = PoseCodec(self.sidecar)
        self.dataset_meta = dataset_meta_from_json(self.sidecar['dataset_meta'])
        self.engine = make_engine(backend, path, device, threads, **options)

    def estimate(self, image: np.ndarray, bboxes: np.ndarray,
                 flip: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(N, K, 2) keypoints in image pixels and (N, K) scores for (N, 4) xyxy boxes."""
        batch, centers, scales = self.codec.preprocess(image, bboxes, flip)
        return self.codec.postprocess(self.engine(batch), centers, scales)


class ExportedDetector:
    """A one-stage detector whose decoding and NMS run here, in numpy."""

    def __init__(self, path: Any, backend: str = 'onnxruntime', device: str = 'cpu',
                 threads: int | None = None, **options: Any) -> None:
        self.sidecar = _load(path, 'det')
        self.codec = DetCodec(self.sidecar)
        self.classes: tuple[str, ...] = tuple(self.sidecar['classes'])
        cat_ids = self.sidecar.get('cat_ids')
        self.cat_ids: tuple[int, ...] | None = tuple(cat_ids) if cat_ids is not None else None
        self.engine = make_engine(backend, path, device, threads, **options)

    def detect(self, image: np.ndarray,
               score_thr: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (M, 4) xyxy in image pixels, scores (M,) and class ids (M,), best first."""
        return self.codec.detect(self.engine, image, score_thr)
