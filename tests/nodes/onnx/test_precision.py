"""precision: auto keeps a lower precision only where it holds the keypoint bound against f32.

A trained model that misses the bound at bf16 (MediaPipe's hand landmarks, read by OpenVINO from
the mediapipe wheel's ``.tflite``) is kept at f32 by the real check, and the same test would fail
with the check skipped; the check's own comparisons are tested on made-up answers.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from nodes.models.onnx import precision as P
from tests.footage import photo

pytestmark = pytest.mark.timeout(300)


def test_keypoints_within_the_bound_pass_and_outside_it_miss() -> None:
    rng = np.random.default_rng(0)
    ref = rng.uniform(0, 256, (10, 21, 2))
    assert P.keypoints_miss(ref, ref + 0.5)[0] is None
    far = ref.copy()
    far[:2] += 50.0             # 2 of 10 crops flip far: the 95th percentile sees it
    why, figures = P.keypoints_miss(ref, far)
    assert why is not None and 'p95' in why and 'bound' in why
    assert P.keypoints_miss(ref, ref + 1.5)[0] is not None          # median > 1 px
    assert P.keypoints_miss(ref, ref * np.nan)[0] == 'keypoints not finite'


def test_detections_need_iou_and_score_within_the_bound() -> None:
    boxes, scores = np.array([[10, 10, 110, 110], [200, 50, 260, 120]], float), np.array([.9, .6])
    same = [(boxes, scores)]
    assert P.detections_miss(same, [(boxes + 0.5, scores + 0.01)])[0] is None
    assert 'IoU' in P.detections_miss(same, [(boxes + [0, 0, 20, 0], scores)])[0]
    assert P.detections_miss(same, [(boxes, scores - [0, 0.05])])[0] is not None
    extra = (np.vstack([boxes, [[300, 300, 400, 400]]]), np.append(scores, 0.8))
    assert P.detections_miss(same, [extra])[0] is not None       # a box f32 did not find
    assert P.detections_miss(same, [(boxes[:1], scores[:1])])[0] is not None   # one lost


def test_choose_precision_takes_the_first_that_holds_else_f32() -> None:
    answers = {'f32': np.zeros((2, 3, 2)), 'bf16': np.full((2, 3, 2), 9.0),
               'f16': np.full((2, 3, 2), 0.1)}
    chosen, why, figures = P.choose_precision(['bf16', 'f16'], answers.__getitem__,
                                              P.keypoints_miss)
    assert chosen == 'f16' and 'holds the bound' in why and set(figures) == {'bf16', 'f16'}
    chosen, why, _ = P.choose_precision(['bf16'], answers.__getitem__, P.keypoints_miss)
    assert chosen == 'f32' and why.startswith('bf16: keypoints moved')
    assert P.choose_precision([], answers.__getitem__, P.keypoints_miss)[0] == 'f32'


# -- a trained model that bf16 moves too far: MediaPipe's hand landmarks ------------------------
def hand_landmark_model() -> Path:
    spec = importlib.util.find_spec('mediapipe')
    if spec is None or not spec.submodule_search_locations:
        pytest.skip('needs the mediapipe wheel (its trained hand_landmark_full.tflite)')
    return Path(spec.submodule_search_locations[0]) / 'modules' / 'hand_landmark' / \
        'hand_landmark_full.tflite'


def rotated_crops(count: int = 40) -> np.ndarray:
    """224x224 RGB crops of handSrc.jpg in [0, 1], rotated -40..40 degrees and scaled 0.8..1.3
    around the hand (as MediaPipe's landmark model gets them from its palm detector)."""
    image, crops = photo('handSrc.jpg'), []
    for i in range(count):
        angle, scale = -40 + 80 * i / (count - 1), 0.8 + 0.5 * ((i * 7) % count) / count
        matrix = cv2.getRotationMatrix2D((335, 255), angle, 224 / (430 * scale))
        matrix[:, 2] += (112 - 335, 112 - 255)
        crops.append(cv2.warpAffine(image, matrix, (224, 224)))
    return np.stack(crops)[..., ::-1].astype(np.float32) / 255.0


def auto_pick(miss) -> tuple[str, str, dict]:
    """What precision: auto picks for MediaPipe's trained hand landmarks, by the check ``miss``."""
    pytest.importorskip('openvino')
    from nodes.models.onnx.engines import native_precisions
    from nodes.models.onnx.openvino_engine import OpenVinoEngine
    candidates = native_precisions('openvino', 'cpu')
    if 'bf16' not in candidates:
        pytest.skip('this CPU runs no bf16 natively (no AVX512-BF16 or AMX)')
    path, crops = hand_landmark_model(), rotated_crops()

    def landmarks(precision: str) -> np.ndarray:      # (N, 21, 2) in crop pixels
        engine = OpenVinoEngine(path, 'cpu', 1, precision, cache=False)
        return np.stack([engine(c[None])[0].reshape(21, 3)[:, :2] for c in crops])
    return P.choose_precision(candidates, landmarks, miss)


def test_auto_keeps_f32_for_a_trained_model_that_bf16_moves_too_far() -> None:
    chosen, why, figures = auto_pick(P.keypoints_miss)
    assert chosen == 'f32', figures
    assert why.startswith('bf16: keypoints moved') and 'bound' in why


def test_the_same_test_fails_when_the_check_is_skipped(monkeypatch) -> None:
    monkeypatch.setattr(P, 'keypoints_miss', lambda ref, other: (None, 'not checked'))
    assert auto_pick(P.keypoints_miss)[0] == 'bf16'
    with pytest.raises(AssertionError):
        test_auto_keeps_f32_for_a_trained_model_that_bf16_moves_too_far()
