"""The numbers around a pose lifter, in numpy, as mmpose 1.3.2 computes them.

- ``norm_pose_2d``: ``Pose3DInferencer``'s 2D normalisation (``disable_norm_pose_2d`` off): each
  pose moved and scaled from its box into the dataset's average box (``stats_info``);
- ``window``: the frames a lifter sees for a target frame, padded as ``extract_pose_sequence``
  and ``collate_pose_sequence`` pad a track (its first or last pose repeated);
- ``MotionBertCodec`` / ``VideoPoseCodec``: the model input (``MotionBERTLabel`` /
  ``VideoPoseLifting`` ``encode``, as ``PackPoseInputs`` stacks it) and the 3D output
  (``decode``), so the torch model and its ONNX export share them.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

__all__ = ['MotionBertCodec', 'VideoPoseCodec', 'make_codec', 'norm_pose_2d', 'window']


def norm_pose_2d(points: np.ndarray, bbox: tuple[float, ...],
                 stats: Mapping[str, Any]) -> np.ndarray:
    """(K, 2) image points moved from ``bbox`` into the dataset's average box."""
    x1, y1, x2, y2 = bbox
    centre = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
    scale = max(x2 - x1, y2 - y1) or 1.0
    return ((np.asarray(points, np.float64) - centre) / scale * float(stats['bbox_scale'])
            + np.asarray(stats['bbox_center'], np.float64)).astype(np.float32)


def window(track: np.ndarray, target: int, length: int, causal: bool) -> np.ndarray:
    """The (length, K, C) frames of ``track`` (T, K, C) around ``target``: the ``length`` frames
    up to it (causal) or centred on it, the track's first or last frame repeated past its ends."""
    left = length - 1 if causal else (length - 1) // 2
    index = np.clip(np.arange(target - left, target - left + length), 0, len(track) - 1)
    return track[index]


class MotionBertCodec:
    """MotionBERT (``MotionBERTLabel``, ``rootrel``): a window of T frames in, T frames out."""

    seq2seq = True

    def __init__(self, root_index: int = 0) -> None:
        self.root_index = root_index

    @staticmethod
    def encode(frames: np.ndarray, width: int, height: int) -> np.ndarray:
        """(T, K, 2) image points -> the (T, K, 3) model input: x and y scaled by the width
        into about [-1, 1], and a visibility of 1."""
        points = np.asarray(frames, np.float32) / width * 2 - np.float32([1, height / width])
        return np.concatenate([points, np.ones((*points.shape[:2], 1), np.float32)], axis=2)

    def decode(self, output: np.ndarray, width: int, height: int) -> np.ndarray:
        """(T, K, 3) raw output -> root-relative camera-frame points (``decode`` with
        ``camera_param`` w and h, and the encoder's factor of 4)."""
        points = np.array(output, np.float64)
        points[..., self.root_index, :] = 0
        points[..., :2] = (points[..., :2] + [1, height / width]) * width / 2
        points[..., 2:] = points[..., 2:] * width / 2
        points *= 4.0
        points -= points[..., self.root_index:self.root_index + 1, :]
        return (points / 1000.0).astype(np.float32)


class VideoPoseCodec:
    """VideoPose3D's TCN (``VideoPoseLifting``): a window of T frames in, its target frame out."""

    seq2seq = False

    @staticmethod
    def encode(frames: np.ndarray, width: int, height: int) -> np.ndarray:
        """(T, K, 2) image points -> the (K * 2, T) model input, centred and scaled by the
        half width."""
        points = (np.asarray(frames, np.float32) - np.float32([width / 2, height / 2])) / \
            np.float32(width / 2)
        return np.ascontiguousarray(points.transpose(1, 2, 0).reshape(-1, len(points)))

    @staticmethod
    def decode(output: np.ndarray, width: int, height: int) -> np.ndarray:
        """(1, K, 3) raw output -> (1, K, 3) points (the target root is 0 here, as in mmpose's
        inferencer, which has no 3D target)."""
        return np.asarray(output, np.float32).reshape(1, -1, 3)


def make_codec(cfg: Any) -> MotionBertCodec | VideoPoseCodec:
    """The codec of a lifter config (its head's decoder), or of the decoder's dict itself."""
    decoder = dict(cfg if isinstance(cfg, Mapping) else cfg.model.head.decoder)
    kind = decoder.get('type')
    if kind == 'MotionBERTLabel':
        return MotionBertCodec(int(decoder.get('root_index', 0)))
    if kind == 'VideoPoseLifting':
        if decoder.get('remove_root') or decoder.get('concat_vis'):
            raise ValueError('VideoPoseLifting with remove_root or concat_vis is not supported')
        return VideoPoseCodec()
    raise ValueError(f'a pose lifter with a {kind} codec is not supported; use a MotionBERT '
                     '(MotionBERTLabel) or VideoPose3D (VideoPoseLifting) config')
