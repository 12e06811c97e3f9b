"""The offline embedded default, end to end: no network, no OpenMMLab weights, real footage.

`graphs/hand.yaml` and `graphs/body.yaml` need RTMDet/RTMPose weights that cannot be downloaded
here, so the app falls back to the MediaPipe graphs and must still find real hands and people.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests import footage, haar

pytestmark = [pytest.mark.timeout(300), pytest.mark.models]

ROOT = Path(__file__).parents[1]
FINGERTIPS = ('thumb4', 'forefinger4', 'middle_finger4', 'ring_finger4', 'pinky_finger4')


def run_app(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, 'PYTHONPATH': str(ROOT),
           'TORCH_HOME': str(cwd / 'torch_home'),              # an empty weights cache
           'WEBCAM_APP_MODELS_DIR': str(cwd / 'no_models'),
           'WEBCAM_APP_OFFLINE': '1'}        # offline even where the network is up
    env.pop('DISPLAY', None)
    return subprocess.run([sys.executable, str(ROOT / 'run_webcam.py'), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=280)


@pytest.fixture(scope='module')
def hand_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('hand')
    clip = footage.hand_clip(40)
    video = footage.write_clip(clip.frames, tmp / 'hand.avi')
    result = run_app('--config', str(ROOT / 'graphs' / 'hand.yaml'), '--input', str(video),
                     '--headless', '--pred-out', 'p.json', '--out', 'o.mp4', cwd=tmp)
    return clip, tmp, result


def test_hand_graph_falls_back_with_a_warning_and_exits_0(hand_run):
    _, tmp, result = hand_run
    assert result.returncode == 0, result.stderr
    assert 'WARNING' in result.stderr and 'hand_lite.yaml' in result.stderr
    assert 'weights are unavailable' in result.stderr
    assert (tmp / 'o.mp4').stat().st_size > 0


def test_fallback_finds_the_hand_in_90_percent_of_frames(hand_run):
    clip, tmp, _ = hand_run
    predictions = json.loads((tmp / 'p.json').read_text())
    assert len(predictions) == len(clip)
    found = sum(1 for p in predictions if p['instances'])
    assert found >= 0.9 * len(clip)


def test_fingertips_land_on_the_real_hand(hand_run):
    clip, tmp, _ = hand_run
    from nodes.models.mediapipe.meta import HAND_META
    ids = [HAND_META['keypoint_name2id'][name] for name in FINGERTIPS]
    region = footage.hand_region()
    checked = 0
    for entry in json.loads((tmp / 'p.json').read_text()):
        if not entry['instances']:
            continue
        best = max(entry['instances'], key=lambda i: i['bbox_score'])
        tips = np.asarray(best['keypoints'])[ids]
        in_photo = clip.to_source(entry['frame_id'], tips)
        assert footage.inside(region, in_photo).all(), (entry['frame_id'], in_photo)
        checked += 1
    assert checked >= 36


@pytest.mark.parametrize('graph', ['hand', 'body', 'face', 'wholebody'])
def test_no_fallback_exits_2_with_the_weights_message(tmp_path, graph):
    video = footage.write_clip(footage.hand_clip(3).frames, tmp_path / 'hand.avi')
    result = run_app('--config', str(ROOT / 'graphs' / f'{graph}.yaml'), '--input', str(video),
                     '--headless', '--no-fallback', cwd=tmp_path)
    assert result.returncode == 2
    assert 'weights are unavailable' in result.stderr
    assert 'fix: download that file and put it at' in result.stderr
    assert 'Traceback' not in result.stderr


@pytest.mark.parametrize('photo,people', [('messi5.jpg', [footage.MESSI_PERSON]),
                                          ('basketball1.png', footage.BASKETBALL_PEOPLE)])
def test_body_graph_falls_back_and_finds_people(tmp_path, photo, people):
    result = run_app('--config', str(ROOT / 'graphs' / 'body.yaml'),
                     '--input', str(footage.photo_path(photo)), '--headless',
                     '--pred-out', 'p.json', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'body_lite.yaml' in result.stderr
    [entry] = json.loads((tmp_path / 'p.json').read_text())
    assert len(entry['instances']) == len(people), 'every person, one skeleton each'
    for _, (x1, y1, x2, y2) in people:
        noses = [np.asarray(i['keypoints'])[0] for i in entry['instances']]   # COCO: nose first
        assert sum(x1 <= x <= x2 and y1 <= y <= y2 for x, y in noses) == 1


def test_body_fallback_follows_both_players_with_stable_ids(tmp_path):
    clip = footage.affine_clip(footage.photo('basketball2.png'), n=8, max_shift=(20, 10),
                               scales=(0.9, 1.0), max_angle=5.0)
    video = footage.write_clip(clip.frames, tmp_path / 'players')       # lossless PNGs
    result = run_app('--config', str(ROOT / 'graphs' / 'body.yaml'), '--input', str(video),
                     '--headless', '--pred-out', 'p.json', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    heads = {}                                    # track id -> the head its nose is in
    for entry in json.loads((tmp_path / 'p.json').read_text()):
        assert len(entry['instances']) == 2, f"frame {entry['frame_id']}"
        for instance in entry['instances']:
            nose = clip.to_source(entry['frame_id'], np.asarray(instance['keypoints'])[:1])[0]
            [head] = [i for i, (_, (x1, y1, x2, y2)) in enumerate(footage.BASKETBALL_PEOPLE)
                      if x1 <= nose[0] <= x2 and y1 <= nose[1] <= y2]
            assert heads.setdefault(instance['track_id'], head) == head, 'an id changed person'
    assert sorted(heads.values()) == [0, 1] and len(heads) == 2


def test_face_graph_falls_back_and_puts_the_eyes_where_opencv_finds_them(tmp_path):
    import cv2
    image = haar.astronaut()
    cv2.imwrite(str(tmp_path / 'astronaut.png'), image)
    result = run_app('--config', str(ROOT / 'graphs' / 'face.yaml'), '--input',
                     'astronaut.png', '--headless', '--pred-out', 'p.json', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'face_lite.yaml' in result.stderr and 'weights are unavailable' in result.stderr
    [entry] = json.loads((tmp_path / 'p.json').read_text())
    [face] = entry['instances']
    points = np.asarray(face['keypoints'])
    assert points.shape == (68, 2) and face['label'] == 'face'
    eye_boxes = haar.eyes(image, haar.faces(image)[0])
    for eye in (points[36:42], points[42:48]):          # 300W: her right eye, then her left
        assert any(haar.contains(box, eye.mean(axis=0)) for box in eye_boxes)


def detail(picture: np.ndarray) -> float:
    """How much fine detail a BGR picture has: the variance of its Laplacian."""
    import cv2
    return float(cv2.Laplacian(cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def test_face_effects_put_sunglasses_on_the_eyes_and_blur_the_backdrop(tmp_path):
    import cv2
    image = haar.astronaut()
    cv2.imwrite(str(tmp_path / 'astronaut.png'), image)
    result = run_app('--config', str(ROOT / 'graphs' / 'face_effects.yaml'), '--input',
                     'astronaut.png', '--headless', '--out', 'o.avi', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    ok, shown = cv2.VideoCapture(str(tmp_path / 'o.avi')).read()
    assert ok
    eyes = haar.eyes(image, haar.faces(image)[0])
    assert len(eyes) >= 2, 'Haar did not find both eyes'
    for x1, y1, x2, y2 in eyes.astype(int):
        cx, cy = (x1 + x2) // 2, (y1 + y2) // 2
        lens = shown[cy - 3:cy + 4, cx - 3:cx + 4].astype(int)
        assert lens.mean() < 60 < image[y1:y2, x1:x2].mean(), 'a dark lens on each eye'
    # The shuttle (top right, behind her) is blurred: far less fine detail.
    assert detail(shown[:150, 380:]) < detail(image[:150, 380:]) / 4


def test_body_effects_put_sunglasses_on_every_player(tmp_path):
    import cv2
    result = run_app('--config', str(ROOT / 'graphs' / 'body_effects.yaml'), '--input',
                     str(footage.photo_path('basketball2.png')), '--headless', '--out', 'o.avi',
                     '--pred-out', 'p.json', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    ok, shown = cv2.VideoCapture(str(tmp_path / 'o.avi')).read()
    assert ok
    [entry] = json.loads((tmp_path / 'p.json').read_text())
    assert len(entry['instances']) == 2
    source = footage.photo('basketball2.png')
    for instance in entry['instances']:
        for eye in (1, 2):                                # COCO: left_eye, right_eye
            x, y = (int(round(v)) for v in instance['keypoints'][eye])
            lens = shown[y - 1:y + 2, x - 1:x + 2].astype(int)
            assert lens.mean() < 50 < source[y - 1:y + 2, x - 1:x + 2].mean(), (x, y)


def test_wholebody_graph_falls_back_with_133_points_and_the_nose_in_the_face(tmp_path):
    result = run_app('--config', str(ROOT / 'graphs' / 'wholebody.yaml'),
                     '--input', str(footage.photo_path('messi5.jpg')), '--headless',
                     '--pred-out', 'p.json', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'wholebody_lite.yaml' in result.stderr
    [entry] = json.loads((tmp_path / 'p.json').read_text())
    [person] = entry['instances']
    assert len(person['keypoints']) == 133 == len(person['keypoint_scores'])
    boxes = haar.faces(footage.photo('messi5.jpg'), min_size=20)
    assert any(haar.contains(box, person['keypoints'][0]) for box in boxes), 'nose'
    small_toe = 18
    assert person['keypoints'][small_toe] == [None, None]
    assert person['keypoint_scores'][small_toe] == 0


def test_body_graph_on_a_folder_writes_an_image_and_a_json_per_photo(tmp_path):
    import cv2
    photos = tmp_path / 'photos'
    photos.mkdir()
    for name in ('messi5.jpg', 'basketball1.png'):
        shutil.copy(footage.photo_path(name), photos / name)
    result = run_app('--config', str(ROOT / 'graphs' / 'body.yaml'), '--input', 'photos/',
                     '--headless', '--out', 'out/', '--pred-out', 'preds/', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == ['basketball1.png',
                                                                    'messi5.jpg']
    assert sorted(p.name for p in (tmp_path / 'preds').iterdir()) == ['basketball1.json',
                                                                      'messi5.json']
    for name, shown, people in (('messi5', 'messi5.jpg', [footage.MESSI_PERSON]),
                                ('basketball1', 'basketball1.png', footage.BASKETBALL_PEOPLE)):
        instances = json.loads((tmp_path / 'preds' / f'{name}.json').read_text())
        assert instances and list(instances[0]) == ['keypoints', 'keypoint_scores', 'bbox',
                                                    'bbox_score']
        x, y = (int(v) for v in instances[0]['keypoints'][0])     # COCO: nose first
        assert any(x1 <= x <= x2 and y1 <= y <= y2 for _, (x1, y1, x2, y2) in people)
        drawn = cv2.imread(str(tmp_path / 'out' / shown))
        original = footage.photo(shown)
        assert drawn.shape == original.shape
        patch = cv2.absdiff(drawn, original)[y - 3:y + 4, x - 3:x + 4]
        assert patch.max() > 60, 'no keypoint drawn at the nose'


def test_lite_replay_is_deterministic(tmp_path):
    video = footage.write_clip(footage.hand_clip(15).frames, tmp_path / 'hand.avi')
    outputs = []
    for run in range(2):
        result = run_app('--config', str(ROOT / 'graphs' / 'hand_lite.yaml'), '--input',
                         str(video), '--headless', '--pred-out', f'p{run}.json', cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        outputs.append((tmp_path / f'p{run}.json').read_text())
    assert outputs[0] == outputs[1]
    assert any(e['instances'] for e in json.loads(outputs[0]))


def test_example_plugin_runs_end_to_end(tmp_path):
    clip = footage.hand_clip(6)
    video = footage.write_clip(clip.frames, tmp_path / 'hand.avi')
    result = run_app('--config', str(ROOT / 'examples' / 'plugins' / 'spotlight.yaml'),
                     '--input', str(video), '--headless', '--out', 'o.avi',
                     '--pred-out', 'p.json', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    import cv2
    cap = cv2.VideoCapture(str(tmp_path / 'o.avi'))
    predictions = json.loads((tmp_path / 'p.json').read_text())
    checked = 0
    for entry, source in zip(predictions, clip.frames):
        ok, shown = cap.read()
        assert ok
        if not entry['instances']:
            continue
        dark = np.ones(source.shape[:2], bool)          # outside every box and its padding
        for instance in entry['instances']:
            x1, y1, x2, y2 = (int(v) for v in instance['bbox'][0])
            dark[max(0, y1 - 25):y2 + 25, max(0, x1 - 25):x2 + 25] = False
        if dark.sum() < 500:
            continue
        assert shown[dark].mean() < 0.5 * source[dark].mean()     # dimmed (dim: 0.25)
        checked += 1
    assert checked >= 3
