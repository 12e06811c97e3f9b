"""The numpy/OpenCV codecs on hand-made inputs whose answers are known (no torch, no models)."""
from __future__ import annotations

import numpy as np
import pytest

from nodes.models.onnx import det_codec, pose_codec
from nodes.models.onnx.engines import check_backend


def test_box_to_center_scale_and_aspect_fix() -> None:
    centers, scales = pose_codec.bbox_to_center_scale(np.array([[10, 20, 110, 60]]), 1.25)
    assert centers.tolist() == [[60, 40]] and scales.tolist() == [[125, 50]]
    assert pose_codec.fix_aspect_ratio(scales, 1.0).tolist() == [[125, 125]]      # wide box
    assert pose_codec.fix_aspect_ratio(np.float32([[30, 80]]), 0.75).tolist() == [[60, 80]]


def test_warp_maps_the_box_onto_the_input_and_back() -> None:
    center, scale, size = np.float32([300, 200]), np.float32([160, 160]), (256, 256)
    matrix = pose_codec.warp_matrix(center, scale, size)
    corners = np.float32([[220, 120, 1], [380, 280, 1], [300, 200, 1]]) @ matrix.T
    assert np.allclose(corners, [[0, 0], [256, 256], [128, 128]], atol=1e-4)
    back = pose_codec.to_image(corners[None], center[None], scale[None], size)
    assert np.allclose(back[0], [[220, 120], [380, 280], [300, 200]], atol=1e-3)
    udp = pose_codec.warp_matrix(center, scale, size, use_udp=True)      # pixel centers align
    assert np.allclose(np.float32([380, 280, 1]) @ udp.T, [255, 255], atol=1e-3)


def test_crop_reads_the_right_pixels() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    image[40:60, 150:170] = (255, 0, 0)                # a blue square on the right
    crop = pose_codec.crop(image, np.float32([160, 50]), np.float32([40, 40]), (40, 40))
    assert crop[20, 20].tolist() == [255, 0, 0] and crop[2, 2].tolist() == [0, 0, 0]
    batch = pose_codec.normalize(crop[None], [255, 0, 0], [1, 1, 1], bgr_to_rgb=True)
    assert batch.shape == (1, 3, 40, 40)
    assert batch[0, :, 20, 20].tolist() == [-255, 0, 255]     # R, G, B after the swap


def test_decode_simcc_takes_the_peaks_and_the_smaller_score() -> None:
    x, y = np.zeros((1, 2, 512)), np.zeros((1, 2, 512))
    x[0, 0, 101], y[0, 0, 300], x[0, 1, 7], y[0, 1, 9] = 0.9, 0.4, 0.5, 0.6
    keypoints, scores = pose_codec.decode_simcc(x, y, 2.0)
    assert keypoints[0].tolist() == [[50.5, 150], [3.5, 4.5]]
    assert np.allclose(scores, [[0.4, 0.5]])


def test_decode_heatmap_shifts_a_quarter_pixel_toward_the_higher_neighbor() -> None:
    heatmaps = np.zeros((1, 2, 64, 64), np.float32)
    heatmaps[0, 0, 10, 20], heatmaps[0, 0, 10, 21], heatmaps[0, 0, 9, 20] = 1.0, 0.5, 0.2
    heatmaps[0, 1, 0, 0] = 0.7          # on the border: no shift
    keypoints, scores = pose_codec.decode_heatmap(heatmaps, (256, 256))
    assert keypoints[0].tolist() == [[(20 + 0.25) * 4, (10 - 0.25) * 4], [0, 0]]
    assert scores[0].tolist() == pytest.approx([1.0, 0.7])


def test_flip_back_undoes_a_flip() -> None:
    rng = np.random.default_rng(0)
    flip_indices = [1, 0, 2]
    x, y = rng.random((2, 3, 8)), rng.random((2, 3, 6))
    flipped = [x[:, flip_indices, ::-1], y[:, flip_indices]]
    back = pose_codec.flip_back('simcc', flipped, flip_indices, (4, 3), False)
    assert np.allclose(back[0], x) and np.allclose(back[1], y)
    coords = rng.random((2, 3, 2))
    mirrored = coords[:, flip_indices].copy()
    mirrored[..., 0] = 1 - mirrored[..., 0]
    assert np.allclose(pose_codec.flip_back('regression', [mirrored], flip_indices, (4, 3),
                                            False)[0], coords)


def test_letterbox_and_boxes_back_to_the_image() -> None:
    image = np.full((480, 640, 3), 7, np.uint8)
    padded, fx, fy, resized = det_codec.letterbox(image, (320, 320))
    assert padded.shape == (320, 320, 3) and (fx, fy) == (0.5, 0.5) and resized == (320, 240)
    assert padded[239, 0, 0] == 7 and padded[240, 0, 0] == 114
    square, *_ = det_codec.letterbox(image, (640, 640), square=True)
    assert square.shape == (640, 640, 3)


def test_priors_are_row_major_per_level() -> None:
    points = det_codec.priors([[2, 3, 8], [1, 1, 16]])
    assert points.tolist() == [[0, 0, 8], [8, 0, 8], [16, 0, 8], [0, 8, 8], [8, 8, 8],
                               [16, 8, 8], [0, 0, 16]]


def test_nms_is_per_class() -> None:
    boxes = np.float32([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]])
    scores, labels = np.float32([0.9, 0.8, 0.7, 0.6]), np.array([0, 0, 1, 0])
    assert det_codec.batched_nms(boxes, scores, labels, 0.5).tolist() == [0, 2, 3]
    assert det_codec.nms(boxes, scores, 0.5).tolist() == [0, 3]
    assert det_codec.batched_nms(boxes, scores, labels, 0.5, limit=2).tolist() == [0, 2]


def test_rtmdet_and_yolox_decode() -> None:
    points = det_codec.priors([[1, 2, 8]])                   # (0, 0) and (8, 0)
    logits = np.float32([[-9.0], [2.0]])
    distances = np.float32([[1, 1, 1, 1], [2, 3, 4, 5]])
    boxes, scores, labels = det_codec.decode_rtmdet(logits, distances, points, 0.5, 10, (64, 64))
    assert boxes.tolist() == [[6, 0, 12, 5]] and labels.tolist() == [0]      # clipped at y=0
    boxes, scores, labels = det_codec.decode_yolox(
        np.float32([[9.0], [9.0]]), np.float32([[0, 0, 0, 0], [0.5, 1, np.log(2), 0]]),
        np.float32([[-9.0], [9.0]]), points, 0.5)
    assert boxes.tolist() == [[4, 4, 20, 12]] and scores[0] == pytest.approx(1.0, abs=1e-3)


def test_backend_errors_are_clear() -> None:
    with pytest.raises(ValueError, match='backend must be one of'):
        check_backend('tensorrt', 'cpu')
    pytest.importorskip('onnxruntime')
    import onnxruntime
    if 'CUDAExecutionProvider' not in onnxruntime.get_available_providers():
        with pytest.raises(ValueError, match='needs onnxruntime-gpu'):
            check_backend('onnxruntime', 'cuda:0')
