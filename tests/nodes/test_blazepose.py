"""BlazePose's anchors, regions and decoding, in numpy (test_multipose runs the models)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from nodes.models.mediapipe import blazepose as bp


def test_anchors_are_the_2254_the_detector_outputs_in_its_order():
    anchors = bp.anchors()
    assert anchors.shape == (2254, 2)
    # stride 8: a 28x28 grid, 2 anchors per cell, row by row
    np.testing.assert_allclose(anchors[:4], [[0.5 / 28, 0.5 / 28]] * 2 + [[1.5 / 28, 0.5 / 28]] * 2)
    # the three stride-32 layers share one 7x7 grid with 6 anchors per cell, last of all
    np.testing.assert_allclose(anchors[-6:], [[6.5 / 7, 6.5 / 7]] * 6)
    assert 28 * 28 * 2 + 14 * 14 * 2 == 1960
    np.testing.assert_allclose(anchors[1960], [0.5 / 7, 0.5 / 7])


def test_region_from_points_is_upright_when_the_scale_point_is_above():
    roi = bp.roi_from_points(np.array([100.0, 200.0]), np.array([100.0, 120.0]))
    assert roi.centre == (100.0, 200.0)
    assert roi.rotation == pytest.approx(0.0)
    assert roi.size == pytest.approx(2 * 80 * 1.25)
    m = roi.to_image(256)
    # the input's centre is the region's centre, its top edge lies half a side above it
    np.testing.assert_allclose(m @ [128, 128, 1], [100, 200])
    np.testing.assert_allclose(m @ [128, 0, 1], [100, 200 - roi.size / 2])


def test_region_turns_with_a_lying_person():
    # scale point to the right of the centre: the body lies along +x, the region turns by 90 deg
    roi = bp.roi_from_points(np.array([0.0, 0.0]), np.array([50.0, 0.0]))
    assert abs(roi.rotation) == pytest.approx(math.pi / 2)
    top = roi.to_image(256) @ [128, 0, 1]               # the input's "up" is the scale point's way
    np.testing.assert_allclose(top / np.linalg.norm(top), [1, 0], atol=1e-9)


def test_decode_maps_anchor_offsets_through_the_letterbox_and_merges_neighbours():
    anchors = bp.anchors()
    image = np.zeros((240, 480, 3), np.uint8)        # letterboxed: scale 224/480, 56 px bars
    _, to_image = bp.detector_input(image)
    raw = np.zeros((2254, 12), np.float32)
    scores = np.full((2254, 1), -10.0, np.float32)
    i = 28 * 10 * 2 + 14 * 2                         # grid cell (14, 10) of the stride-8 layer
    raw[i, :4] = (2.0, -3.0, 20.0, 30.0)             # a 20x30 box offset from the anchor
    raw[i, 4:6] = (0.0, 40.0)                        # keypoint 0: 40 px below the anchor
    scores[i] = scores[i + 1] = 3.0
    raw[i + 1] = raw[i]                              # the same person seen by the next anchor
    [det] = bp.detect(raw, scores, anchors, to_image, 0.5, 5)
    centre = anchors[i] * 224 + (2.0, -3.0)
    s = 480 / 224
    np.testing.assert_allclose(det.box, [(centre[0] - 10) * s, (centre[1] - 15 - 56) * s,
                                         (centre[0] + 10) * s, (centre[1] + 15 - 56) * s],
                               rtol=1e-5)
    np.testing.assert_allclose(det.keypoints[0], [(anchors[i, 0] * 224) * s,
                                                  (anchors[i, 1] * 224 + 40 - 56) * s], rtol=1e-5)
    assert det.score == pytest.approx(1 / (1 + math.exp(-3.0)))
    assert bp.detect(raw, scores, anchors, to_image, 0.99, 5) == []


def test_landmarks_come_back_through_the_region():
    roi = bp.Roi((300.0, 200.0), 128.0, math.pi / 2)
    raw = np.zeros((39, 5), np.float32)
    raw[0] = (128, 128, 0, 10, 10)                   # the centre
    raw[1] = (128, 0, 0, -10, 0)                     # the input's top edge
    points, visibility = bp.landmarks_to_image(raw.reshape(1, -1), roi)
    np.testing.assert_allclose(points[0], [300, 200], atol=1e-4)
    np.testing.assert_allclose(points[1], [364, 200], atol=1e-4)    # turned 90 deg: to +x
    assert visibility[0] > 0.99 and visibility[1] < 0.01


def test_heatmap_refinement_moves_confident_points_to_their_peak():
    heatmap = np.full((64, 64, 3), -8.0, np.float32)          # sigmoid ~ 0: nowhere confident
    heatmap[30, 20, 0] = 8.0                                   # a sharp peak for landmark 0
    heatmap[10, 10, 1] = -1.0                                  # landmark 1: below 0.5 everywhere
    points = np.array([[(21 + 0.5) * 4, (31 + 0.5) * 4],     # within the 7x7 kernel of the peak
                       [10 * 4, 10 * 4], [-5.0, 300.0]])      # the last lies off the heatmap
    refined = bp.refine_with_heatmap(points, heatmap)
    np.testing.assert_allclose(refined[0], [20 * 4, 30 * 4], atol=0.1)
    np.testing.assert_array_equal(refined[1:], points[1:])
