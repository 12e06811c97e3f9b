"""Top-down pose pre- and post-processing in numpy and OpenCV, as mmpose does it (no torch).

A deployed top-down model sees a fixed-size crop and answers in crop coordinates. Around it:

1. ``bbox_to_center_scale``: box (x1, y1, x2, y2) to center and size, times ``padding`` (1.25);
2. ``fix_aspect_ratio``: widen or heighten the size to the model's aspect ratio;
3. ``warp_matrix`` / ``crop``: the affine warp to the input size (``cv2.warpAffine``);
4. ``normalize``: channel order, ``(x - mean) / std``, NCHW float32;
5. decode the model's outputs to crop coordinates: ``decode_simcc`` (RTMPose),
   ``decode_heatmap`` (``td-hm_*``, with mmpose's quarter-pixel shift), ``decode_regression``
   (``td-reg_*``, DeepPose); with flip test, ``flip_back`` first;
6. ``to_image``: back to image pixels (mmpose's ``transform_preds``).

``PoseCodec`` ties them together from an exported model's sidecar JSON::

    codec = PoseCodec(sidecar)
    batch, centers, scales = codec.preprocess(image_bgr, boxes_xyxy)
    outputs = session.run(None, {'input': batch})
    keypoints, scores = codec.postprocess(outputs, centers, scales)   # (N, K, 2) pixels, (N, K)
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import cv2
import numpy as np

__all__ = ['HEADS', 'PoseCodec', 'bbox_to_center_scale', 'crop', 'decode_heatmap',
           'decode_regression', 'decode_simcc', 'fix_aspect_ratio', 'flip_back', 'normalize',
           'to_image', 'warp_matrix']

#: the output kinds a pose sidecar may name
HEADS = ('simcc', 'heatmap', 'regression')


def bbox_to_center_scale(bboxes: np.ndarray,
                         padding: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) xyxy boxes to (N, 2) centers and (N, 2) sizes (w, h) times ``padding``."""
    bboxes = np.asarray(bboxes, np.float32).reshape(-1, 4)
    centers = (bboxes[:, :2] + bboxes[:, 2:]) * 0.5
    scales = (bboxes[:, 2:] - bboxes[:, :2]) * padding
    return centers, scales


def fix_aspect_ratio(scales: np.ndarray, aspect_ratio: float) -> np.ndarray:
    """Grow each (w, h) to ``aspect_ratio`` = w / h, keeping the larger side."""
    w, h = scales[:, :1], scales[:, 1:]
    return np.where(w > h * aspect_ratio, np.hstack([w, w / aspect_ratio]),
                    np.hstack([h * aspect_ratio, h])).astype(np.float32)


def warp_matrix(center: np.ndarray, scale: np.ndarray, size: Sequence[int],
                use_udp: bool = False) -> np.ndarray:
    """The 2x3 affine matrix taking the box (center, scale) onto an image of ``size`` (w, h).

    Plain (mmpose ``get_warp_matrix``, no rotation): the box's w maps onto the output's w.
    UDP (``get_udp_warp_matrix``): pixel centers map onto pixel centers, (w - 1) / scale.
    """
    (cx, cy), (sw, sh) = np.asarray(center, np.float64), np.asarray(scale, np.float64)
    out_w, out_h = float(size[0]), float(size[1])
    if use_udp:
        sx, sy = (out_w - 1) / sw, (out_h - 1) / sh
        return np.array([[sx, 0, sx * (0.5 * sw - cx)], [0, sy, sy * (0.5 * sh - cy)]],
                        np.float32)
    # plain: uniform scale out_w / sw (the aspect ratio is already fixed), centers aligned
    s = out_w / sw
    return np.array([[s, 0, out_w * 0.5 - s * cx], [0, s, out_h * 0.5 - s * cy]], np.float32)


def crop(image: np.ndarray, center: np.ndarray, scale: np.ndarray, size: Sequence[int],
         use_udp: bool = False) -> np.ndarray:
    """The warped crop of one box, ``size`` = (w, h), bilinear, black outside the image."""
    matrix = warp_matrix(center, scale, size, use_udp)
    return cv2.warpAffine(image, matrix, (int(size[0]), int(size[1])), flags=cv2.INTER_LINEAR)


def normalize(crops: np.ndarray, mean: Sequence[float], std: Sequence[float],
              bgr_to_rgb: bool) -> np.ndarray:
    """(N, H, W, 3) uint8 BGR crops to a (N, 3, H, W) float32 batch: channels, mean, std."""
    batch = crops[..., ::-1] if bgr_to_rgb else crops
    batch = (batch.astype(np.float32) - np.float32(mean)) / np.float32(std)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


def _argmax_last(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.argmax(values, axis=-1), np.max(values, axis=-1)


def decode_simcc(simcc_x: np.ndarray, simcc_y: np.ndarray,
                 split_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """SimCC (N, K, Wx) and (N, K, Hy) logits to (N, K, 2) crop coordinates and (N, K) scores.

    The score is the smaller of the two maxima; a point whose score is <= 0 becomes (-1, -1).
    """
    x, max_x = _argmax_last(simcc_x)
    y, max_y = _argmax_last(simcc_y)
    scores = np.minimum(max_x, max_y).astype(np.float32)
    keypoints = np.stack([x, y], axis=-1).astype(np.float32)
    keypoints[scores <= 0] = -1
    return keypoints / np.float32(split_ratio), scores


def decode_heatmap(heatmaps: np.ndarray, input_size: Sequence[int],
                   shift: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps (N, K, H, W) to (N, K, 2) crop coordinates and (N, K) scores (mmpose MSRA).

    The maximum's position moves a quarter pixel toward its higher neighbor on each axis
    (mmpose ``refine_keypoints``), then scales from heatmap to input size.
    """
    n, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, -1)
    index, scores = _argmax_last(flat)
    x, y = (index % w).astype(np.float32), (index // w).astype(np.float32)
    keypoints = np.stack([x, y], axis=-1)
    keypoints[scores <= 0] = -1
    if shift:
        xi, yi = keypoints[..., 0].astype(int), keypoints[..., 1].astype(int)
        pad = np.pad(heatmaps, ((0, 0), (0, 0), (1, 1), (1, 1)))    # pad[y + 1, x + 1] = hm[y, x]
        ni, ki = np.meshgrid(np.arange(n), np.arange(k), indexing='ij')
        dx = pad[ni, ki, yi + 1, xi + 2] - pad[ni, ki, yi + 1, xi]
        dy = pad[ni, ki, yi + 2, xi + 1] - pad[ni, ki, yi, xi + 1]
        dx[~((xi > 1) & (xi < w - 1) & (yi > 0) & (yi < h))] = 0     # mmpose's borders
        dy[~((yi > 1) & (yi < h - 1) & (xi > 0) & (xi < w))] = 0
        keypoints += np.stack([np.sign(dx), np.sign(dy)], axis=-1).astype(np.float32) * 0.25
    factor = np.array([input_size[0] / w, input_size[1] / h], np.float32)
    return keypoints * factor, scores.astype(np.float32)


def decode_regression(coords: np.ndarray,
                      input_size: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Normalized (N, K, 2) coordinates (or (N, K, 4) with sigmas, RLE) to crop pixels, scores."""
    if coords.shape[-1] == 4:
        scores = (1 - coords[..., 2:4]).mean(axis=-1)
    else:
        scores = np.ones(coords.shape[:2], np.float32)
    keypoints = coords[..., :2] * np.array(input_size[:2], np.float32)
    return keypoints.astype(np.float32), scores.astype(np.float32)


def flip_back(head: str, flipped: list[np.ndarray], flip_indices: Sequence[int],
              input_size: Sequence[int], shift: bool) -> list[np.ndarray]:
    """Map the outputs of horizontally flipped crops back onto the unflipped crops.

    ``shift``: mmpose's ``shift_heatmap`` (heatmaps move one column right) or ``shift_coords``
    (regression x moves 1 / input width left); SimCC needs none.
    """
    idx = np.asarray(flip_indices, int)
    if head == 'simcc':
        return [flipped[0][:, idx, ::-1], flipped[1][:, idx]]
    if head == 'heatmap':
        out = flipped[0][:, idx, :, ::-1].copy()
        if shift:
            out[..., 1:] = out[..., :-1].copy()
        return [out]
    out = flipped[0][:, idx].copy()
    out[..., 0] = 1.0 - out[..., 0]
    if shift:
        out[..., 0] -= 1.0 / input_size[0]
    return [out]


def to_image(keypoints: np.ndarray, centers: np.ndarray, scales: np.ndarray,
             input_size: Sequence[int]) -> np.ndarray:
    """Crop coordinates (N, K, 2) to image pixels: ``k / size * scale + center - scale / 2``."""
    size = np.array(input_size[:2], np.float32)
    return (keypoints / size * scales[:, None] + centers[:, None]
            - 0.5 * scales[:, None]).astype(np.float32)


class PoseCodec:
    """Pre- and post-processing of one exported pose model, configured by its sidecar dict."""

    def __init__(self, sidecar: Mapping[str, Any]) -> None:
        inp, codec = sidecar['input'], sidecar['codec']
        self.input_size = tuple(int(v) for v in inp['size'])        # (w, h)
        self.mean, self.std = inp['mean'], inp['std']
        self.bgr_to_rgb = inp['channel_order'] == 'rgb'
        self.padding = float(sidecar.get('bbox_padding', 1.25))
        self.use_udp = bool(sidecar.get('use_udp', False))
        self.head = codec['head']
        if self.head not in HEADS:
            raise ValueError(f"codec head must be one of {', '.join(HEADS)}, but got "
                             f'{self.head!r}')
        self.codec = dict(codec)
        self.flip_indices = list(sidecar.get('flip_indices') or [])

    def preprocess(self, image: np.ndarray, bboxes: np.ndarray,
                   flip: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A BGR image and (N, 4) xyxy boxes to the model's batch, the centers and the scales.

        With ``flip``, the batch holds the N crops, then the same N flipped left to right.
        """
        centers, scales = bbox_to_center_scale(bboxes, self.padding)
        w, h = self.input_size
        scales = fix_aspect_ratio(scales, w / h)
        crops = np.stack([crop(image, c, s, self.input_size, self.use_udp)
                          for c, s in zip(centers, scales)])
        if flip:
            crops = np.concatenate([crops, crops[:, :, ::-1]])
        return normalize(crops, self.mean, self.std, self.bgr_to_rgb), centers, scales

    def decode(self, outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The model's raw outputs to crop coordinates and scores."""
        if self.head == 'simcc':
            return decode_simcc(outputs[0], outputs[1], self.codec['simcc_split_ratio'])
        if self.head == 'heatmap':
            return decode_heatmap(outputs[0], self.input_size, self.codec.get('shift', True))
        return decode_regression(outputs[0], self.input_size)

    def merge_flip(self, outputs: list[np.ndarray], n: int) -> list[np.ndarray]:
        """The raw outputs of N boxes: with flip test (2N), averaged with the flipped half."""
        outputs = [np.asarray(o, np.float32) for o in outputs]
        if len(outputs[0]) == 2 * n:
            flipped = flip_back(self.head, [o[n:] for o in outputs], self.flip_indices,
                                self.input_size, self.codec.get('flip_shift', False))
            outputs = [(o[:n] + f) * 0.5 for o, f in zip(outputs, flipped)]
        return outputs

    def postprocess(self, outputs: list[np.ndarray], centers: np.ndarray,
                    scales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw outputs (of N crops, or 2N with flip) to (N, K, 2) image pixels and (N, K) scores."""
        keypoints, scores = self.decode(self.merge_flip(outputs, len(centers)))
        return to_image(keypoints, centers, scales, self.input_size), scores
