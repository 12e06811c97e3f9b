"""PersonMask (selfie segmentation) on a real photo; Background keeping only the masked people."""
from __future__ import annotations

import numpy as np
import pytest

from nodes.draw.effects import Background, fast_blur
from nodes.models.mediapipe.segmentation import MASK_KEY, PersonMask
from tests import haar
from webcam_app import Frame, NodeHarness

pytest.importorskip('mediapipe', reason="the lite models need: pip install -e '.[lite]'")


@pytest.fixture(scope='module')
def masked():
    with NodeHarness(PersonMask) as h:
        return h.feed(frame=Frame(frame_id=0, image=haar.astronaut()))['frame']


@pytest.mark.models
def test_the_mask_covers_the_face_and_not_the_corners(masked):
    mask = masked.meta[MASK_KEY]
    assert mask.shape == masked.image.shape[:2] and mask.dtype == np.float32
    assert not mask.flags.writeable
    x1, y1, x2, y2 = (int(v) for v in haar.faces(masked.image)[0])
    assert mask[y1:y2, x1:x2].mean() > 0.9, 'the face (found by OpenCV) is person'
    # The astronaut photo's top-left corner is the flag and the shuttle, not her.
    assert mask[:60, :60].mean() < 0.1


@pytest.mark.models
@pytest.mark.parametrize('mode', ['blur', 'color'])
def test_background_keeps_what_the_mask_keeps(masked, mode):
    with NodeHarness(Background(mode=mode, color=(0, 255, 0))) as h:
        out = h.feed(frame=masked)['frame'].image
    mask, image = masked.meta[MASK_KEY], masked.image
    person, scene = mask > 0.99, mask < 0.01
    assert person.sum() > 5000 and scene.sum() > 5000
    diff = np.abs(out.astype(int) - image)
    assert diff[person].max() <= 3, 'the person stays as it is'
    backdrop = fast_blur(image, 31) if mode == 'blur' else np.array([0, 255, 0], np.uint8)
    assert np.abs(out[scene].astype(int) - np.broadcast_to(backdrop, image.shape)[scene]).max() <= 3


def test_background_keep_mask_needs_a_mask_and_says_how_to_get_one():
    frame = Frame(frame_id=0, image=np.zeros((48, 64, 3), np.uint8))
    with pytest.raises(ValueError, match='put a PersonMask node before it, or set keep: boxes'):
        with NodeHarness(Background()) as h:
            h.feed(frame=frame)
    with pytest.raises(ValueError, match="keep must be .*, but got 'people'"):
        NodeHarness(Background, keep='people')


def test_a_mask_of_another_size_is_resized_to_the_frame():
    image = np.full((40, 60, 3), 200, np.uint8)
    mask = np.zeros((20, 30), np.float32)
    mask[:, 15:] = 1.0                                 # the right half is a person
    frame = Frame(frame_id=0, image=image, meta={MASK_KEY: mask})
    with NodeHarness(Background(mode='color', color=(0, 0, 0))) as h:
        out = h.feed(frame=frame)['frame'].image
    assert (out[:, :25] == 0).all() and (out[:, 35:] == 200).all()
