"""Pose3DView: a panel beside the video with each instance's 3D skeleton, orbiting on keys."""
from __future__ import annotations

import numpy as np
import pytest

from nodes.draw.view3d import Camera, Pose3DView, render_view
from nodes.models.lift.skeletons import H36M_META, points_3d, with_meta_3d
from nodes.models.mediapipe.meta import COCO_META
from webcam_app import Frame, NodeHarness, Object

# A standing person in camera axes (metres; x right, y down, z away), Human3.6M-17 order.
STANDING = np.array([[0, 0, 0], [-.1, 0, 0], [-.1, .45, 0], [-.1, .9, 0], [.1, 0, 0],
                     [.1, .45, 0], [.1, .9, 0], [0, -.25, 0], [0, -.5, 0], [0, -.6, 0],
                     [0, -.7, 0], [.18, -.5, 0], [.45, -.5, .1], [.7, -.5, .2], [-.18, -.5, 0],
                     [-.45, -.5, 0], [-.7, -.5, 0]])
META = with_meta_3d(COCO_META, H36M_META)


def person(track_id: int, shift: float = 0.0) -> Object:
    return Object(bbox=(10, 10, 60, 100), label='person', track_id=track_id,
                  keypoints=np.full((17, 2), 30.0, np.float32),
                  keypoint_scores=np.ones(17, np.float32),
                  extras=points_3d(STANDING + shift, np.ones(17)))


def colours(panel: np.ndarray) -> set[tuple[int, ...]]:
    return {tuple(int(c) for c in p) for p in panel.reshape(-1, 3)}


def test_the_panel_draws_the_skeleton_in_the_datasets_colours_over_a_grid():
    panel = render_view([person(0)], H36M_META, 320, 240)
    assert panel.shape == (240, 320, 3)
    seen = colours(panel)
    for rgb in {tuple(c) for c in H36M_META['skeleton_link_colors'].tolist()}:
        assert tuple(rgb[::-1]) in seen                          # BGR of every link colour
    assert (200, 200, 200) in seen                               # the ground grid
    assert render_view([], H36M_META, 320, 240)[:200].min() == 255   # nothing: just the page


def test_orbit_and_zoom_keys_move_the_view_and_0_resets_it():
    camera = Camera()
    before = render_view([person(0)], H36M_META, 320, 240, camera)
    for key in 'llk+':
        assert camera.press(key)
    assert (camera.azimuth, camera.elevation, camera.zoom) == (100, 5, 1.25)
    assert not camera.press('x')
    after = render_view([person(0)], H36M_META, 320, 240, camera)
    assert (after != before).any()
    camera.press('0')
    assert (camera.azimuth, camera.elevation, camera.zoom) == (70, 15, 1)
    assert (render_view([person(0)], H36M_META, 320, 240, camera) == before).all()


def test_each_instance_gets_a_cell_and_num_instances_limits_them():
    two = render_view([person(0), person(1, 0.5)], H36M_META, 400, 200)
    one = render_view([person(0), person(1, 0.5)], H36M_META, 400, 200, num_instances=1)
    def green_columns(panel: np.ndarray) -> np.ndarray:     # the left limbs' links
        return np.nonzero((panel == (0, 255, 0)).all(axis=2))[1]
    columns = green_columns(two)
    assert (columns < 150).any() and (columns > 250).any()     # a cell each, side by side
    assert abs(green_columns(one).mean() - 200) < 40           # one person, centred


def test_the_node_puts_the_panel_beside_the_video_and_keys_reach_it():
    image = np.full((120, 160, 3), 90, np.uint8)
    frame = Frame(frame_id=0, image=image, objects=(person(3),), dataset_meta=META)
    with NodeHarness(Pose3DView, panel_width=100) as h:
        out = h.feed(frame=frame)['frame']
        assert out.image.shape == (120, 260, 3)
        assert (out.image[:, :160] == 90).all()                # the video, untouched
        h.press('l')
        turned = h.feed(frame=frame)['frame']
    assert (turned.image[:, 160:] != out.image[:, 160:]).any()
    with NodeHarness(Pose3DView, black_background=True) as h:
        out = h.feed(frame=frame)['frame']
    assert out.image.shape == (120, 280, 3)
    video = out.image[:, :160]
    assert (video == 0).mean() > 0.9 and video.max() > 0       # black, with the 2D skeleton


def test_bad_num_instances_is_refused():
    with pytest.raises(ValueError, match='num_instances'):
        Pose3DView(num_instances=-2)
