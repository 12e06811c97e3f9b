"""`webcam-app infer`: the inferencer lines of MMPose's docs, run as a user types them, offline.

The lines are those of mmpose 1.3.2's docs (docs/en/user_guides/inference.md and the demo pages
it links: image, folder, video and webcam, with their output folders), with this machine's
footage in place of mmpose's tests/data. With no OpenMMLab weights here, each runs the graph's
offline fallback (MediaPipe), as a YAML graph would; tests/test_infer_models.py runs the
OpenMMLab path with seeded weights.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import pytest
import yaml

from tests import footage
from tests.test_end_to_end import count_frames, run_app

pytestmark = [pytest.mark.timeout(240), pytest.mark.models]

OFFLINE = {'WEBCAM_APP_OFFLINE': '1'}
INSTANCE_KEYS = ['keypoints', 'keypoint_scores', 'bbox', 'bbox_score']


def infer(*args: str, cwd: Path, timeout: float = 180) -> tuple[int, str, str]:
    return run_app(*args, cwd=cwd, env=OFFLINE, timeout=timeout)


def assert_instances(instances: list, keypoints: int) -> None:
    """The layout of MMPoseInferencer's instances: exactly its four keys, its nesting."""
    assert isinstance(instances, list) and instances
    for inst in instances:
        assert list(inst) == INSTANCE_KEYS
        assert len(inst['keypoints']) == keypoints
        assert all(len(p) == 2 for p in inst['keypoints'])
        assert len(inst['keypoint_scores']) == keypoints
        assert len(inst['bbox']) == 1 and len(inst['bbox'][0]) == 4      # [[x1, y1, x2, y2]]
        assert isinstance(inst['bbox_score'], float)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return footage.write_clip(footage.hand_clip(6).frames, tmp_path / 'hand_clip.mp4')


def test_image_line_with_and_without_infer(tmp_path):
    """inference.md: python demo/inferencer_demo.py IMAGE --pose2d human --pred-out-dir
    predictions (here a hand photo and --pose2d hand, as 2d_hand_demo.md)."""
    image = str(footage.photo_path('handSrc.jpg'))
    code, _, err = infer('infer', image, '--pose2d', 'hand', '--vis-out-dir', 'vis_results/hand',
                         '--pred-out-dir', 'predictions', cwd=tmp_path)
    assert code == 0, err
    assert 'offline fallback' in err
    assert [p.name for p in (tmp_path / 'vis_results' / 'hand').iterdir()] == ['handSrc.jpg']
    drawn = cv2.imread(str(tmp_path / 'vis_results' / 'hand' / 'handSrc.jpg'))
    assert drawn.shape == cv2.imread(image).shape
    first = json.loads((tmp_path / 'predictions' / 'handSrc.json').read_text())
    assert_instances(first, 21)
    shutil.rmtree(tmp_path / 'predictions')
    code, _, err = infer(image, '--pose2d', 'hand', '--pred-out-dir', 'predictions',
                         cwd=tmp_path)           # the main command, no `infer`
    assert code == 0, err
    assert json.loads((tmp_path / 'predictions' / 'handSrc.json').read_text()) == first


def test_folder_line(tmp_path):
    """2d_human_pose_demo.md style: a folder of photos, one image and one JSON per photo."""
    photos = tmp_path / 'photos'
    photos.mkdir()
    for name in ('messi5.jpg', 'basketball1.png'):
        shutil.copy(footage.photo_path(name), photos / name)
    code, _, err = infer('infer', str(photos), '--pose2d', 'human', '--vis-out-dir',
                         'vis_results/human', '--pred-out-dir', 'preds', cwd=tmp_path)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / 'vis_results' / 'human').iterdir()) == [
        'basketball1.png', 'messi5.jpg']
    assert sorted(p.name for p in (tmp_path / 'preds').iterdir()) == [
        'basketball1.json', 'messi5.json']
    assert_instances(json.loads((tmp_path / 'preds' / 'messi5.json').read_text()), 17)
    people = json.loads((tmp_path / 'preds' / 'basketball1.json').read_text())
    assert len(people) >= 2


def test_video_line_writes_the_video_into_the_folder_as_the_inferencer(tmp_path, clip):
    """2d_human_pose_demo.md: VIDEO --pose2d human --vis-out-dir vis_results/posetrack18 writes
    vis_results/posetrack18/<video name>, and --pred-out-dir one <video>.json of every frame."""
    code, _, err = infer('infer', str(clip), '--pose2d', 'hand', '--vis-out-dir',
                         'vis_results/video', '--pred-out-dir', 'preds', cwd=tmp_path)
    assert code == 0, err
    assert count_frames(tmp_path / 'vis_results' / 'video' / clip.name) == 6
    frames = json.loads((tmp_path / 'preds' / 'hand_clip.json').read_text())
    assert [f['frame_id'] for f in frames] == list(range(6))
    assert all(list(f) == ['frame_id', 'instances'] for f in frames)
    assert_instances(frames[0]['instances'], 21)


@pytest.mark.parametrize('pose3d,photo,points', [('human3d', 'messi5.jpg', 17),
                                                  ('hand3d', 'handSrc.jpg', 21)])
def test_3d_lines(tmp_path, pose3d, photo, points):
    """3d_human_pose_demo.md and 3d_hand_demo.md: IMAGE --pose3d human3d (hand3d)
    --vis-out-dir vis_results/human3d: the drawing with its 3D view, and 3D keypoints."""
    image = footage.photo_path(photo)
    code, _, err = infer('infer', str(image), '--pose3d', pose3d, '--vis-out-dir',
                         f'vis_results/{pose3d}', '--pred-out-dir', 'preds', cwd=tmp_path)
    assert code == 0, err
    drawn = cv2.imread(str(tmp_path / 'vis_results' / pose3d / photo))
    height, width = cv2.imread(str(image)).shape[:2]
    assert drawn.shape[0] == height and drawn.shape[1] > width      # the 3D view beside it
    people = json.loads((tmp_path / 'preds' / (Path(photo).stem + '.json')).read_text())
    assert people and all(len(p['keypoints']) == points for p in people)
    assert all(len(xyz) == 3 for p in people for xyz in p['keypoints'])
    assert all(len(xy) == 2 for p in people for xy in p['keypoints_2d'])


def test_webcam_line_without_a_camera_fails_clearly(tmp_path):
    """webcam_api_demo.md: webcam --pose2d human. There is no camera here: exit 2 before any
    thread starts, naming the camera and what to do."""
    code, out, err = infer('infer', 'webcam', '--pose2d', 'human', cwd=tmp_path, timeout=60)
    assert code == 2, err
    assert 'camera' in err.lower() and 'Traceback' not in err
    assert '--input' in err or 'file' in err      # the fix: give a file instead


def test_printed_graph_is_yaml_that_runs_the_same(tmp_path):
    image = str(footage.photo_path('handSrc.jpg'))
    args = (image, '--pose2d', 'hand', '--draw-bbox', '--radius', '5', '--pred-out-dir', 'preds',
            '--vis-out-dir', 'vis')
    code, text, err = infer('infer', *args, '--print-graph', cwd=tmp_path)
    assert code == 0, err
    assert not (tmp_path / 'preds').exists()            # printing runs nothing
    graph = yaml.safe_load(text)
    nodes = {n['name']: n for n in graph['nodes']}
    assert nodes['pose']['model'] == 'rtmpose-m_8xb256-210e_hand5-256x256'
    assert nodes['detector']['model'] == 'rtmdet_nano_320-8xb32_hand'
    assert nodes['visualizer']['draw_bbox'] is True and nodes['visualizer']['radius'] == 5
    assert nodes['source']['input'] == image
    assert Path(graph['fallback']).name == 'hand_lite.yaml'
    saved = tmp_path / 'edit' / 'my_hand.yaml'
    saved.parent.mkdir()
    saved.write_text(text)
    code, _, err = infer('--config', str(saved), cwd=saved.parent)   # from another folder
    assert code == 0, err
    from_yaml = json.loads((tmp_path / 'preds' / 'handSrc.json').read_text())
    shutil.rmtree(tmp_path / 'preds')
    code, _, err = infer('infer', *args, cwd=tmp_path)
    assert code == 0, err
    assert json.loads((tmp_path / 'preds' / 'handSrc.json').read_text()) == from_yaml


@pytest.mark.parametrize('args,words', [
    (['--pose2d', 'hnd'], ['--pose2d hnd', "'hand'"]),
    (['--pose2d', 'hand', '--kpt-thr', '2'], ['--kpt-thr', 'from 0 to 1']),
    (['--pose2d', 'hand', '--scope', 'mmdet'], ['--scope mmdet', 'mmpose']),
    (['--det-model', 'whole_image'], ['--pose2d', '--pose3d human3d']),
    (['--pose2d', 'rtmo'], ['--pose2d rtmo', 'BottomupPoseEstimator', 'top-down']),
])
def test_bad_options_are_refused_naming_the_option(tmp_path, args, words):
    code, _, err = infer('infer', str(footage.photo_path('handSrc.jpg')), *args, cwd=tmp_path,
                         timeout=60)
    assert code == 2, err
    assert 'Traceback' not in err
    for word in words:
        assert word in err
