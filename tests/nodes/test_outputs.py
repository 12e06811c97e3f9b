"""Outputs as MMPoseInferencer writes them: ImageWriter, PredictionWriter's folder, FixedBoxes."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from nodes.io.images import ImageWriter, is_folder_path
from nodes.io.predictions import PredictionWriter
from nodes.io.recorder import Recorder
from nodes.io.sources import VideoSource
from nodes.models.fixed_boxes import FixedBoxes
from webcam_app import EOS, NodeHarness, Object, make_frame

from .conftest import index_of

INFERENCER_KEYS = ['keypoints', 'keypoint_scores', 'bbox', 'bbox_score']


def still(frame_id, name, **kwargs):
    """A frame as VideoSource emits it for an image file."""
    return make_frame(frame_id, width=64, height=48, path=f'/photos/{name}', input_name=name,
                      **kwargs)


def pose(x=10.0):
    return Object(bbox=(1, 2, 30.5, 40.25), label='person', score=0.875,
                  keypoints=np.array([[x, 20.5], [30.0, 7.25]], np.float32),
                  keypoint_scores=np.array([0.9, 0.1], np.float32), track_id=4)


@pytest.mark.parametrize('path,folder', [('out/', True), ('out', True), ('out.png', False),
                                         ('out.mp4', False), ('a.b/', True)])
def test_folder_paths_end_in_a_slash_or_have_no_suffix(path, folder):
    assert is_folder_path(path) is folder


def test_sink_roles_take_the_forms_of_path_they_write():
    assert [cls.accepts('o.mp4') for cls in (Recorder, ImageWriter)] == [True, False]
    assert [cls.accepts('o/') for cls in (Recorder, ImageWriter)] == [False, True]
    assert [cls.accepts('o.jpg') for cls in (Recorder, ImageWriter)] == [False, True]
    assert Recorder.role == ImageWriter.role == 'video_sink'
    assert PredictionWriter.role == 'predictions'
    assert [PredictionWriter.accepts(p) for p in ('p/', 'p.json', 'p.jsonl', 'p.txt')] == [
        True, True, True, False]
    with pytest.raises(ValueError, match='neither a folder nor an image'):
        ImageWriter(path='o.mp4')
    with pytest.raises(ValueError, match='neither a folder nor a .json'):
        PredictionWriter(path='p.txt')


def test_image_writer_keeps_image_names_and_numbers_video_frames(tmp_path):
    frames = [still(0, 'b.jpg', color=(0, 0, 200)), still(1, 'a.png', color=(0, 200, 0)),
              make_frame(12, width=64, height=48, input_name='clip.mp4')]
    out = tmp_path / 'new' / 'out'
    with NodeHarness(ImageWriter, path=f'{out}/') as h:
        h.run(frames)
    assert sorted(p.name for p in out.iterdir()) == ['000012.jpg', 'a.png', 'b.jpg']
    png = cv2.imread(str(out / 'a.png'))
    assert png.shape == (48, 64, 3) and (png == (0, 200, 0)).all()        # lossless, as given
    assert abs(cv2.imread(str(out / 'b.jpg')).astype(int) - (0, 0, 200)).max() < 8


def test_image_writer_to_one_file_overwrites_with_a_warning(tmp_path, caplog):
    path = tmp_path / 'result.png'
    with NodeHarness(ImageWriter, path=str(path)) as h:
        h.feed(frame=still(0, 'x.jpg', color=(9, 9, 9)))
        assert (cv2.imread(str(path)) == 9).all() and 'overwrites' not in caplog.text
        h.feed(frame=still(1, 'y.jpg', color=(50, 50, 50)))
    assert (cv2.imread(str(path)) == 50).all() and 'overwrites' in caplog.text
    assert list(tmp_path.iterdir()) == [path]


def test_image_writer_refuses_a_folder_inside_a_file(tmp_path):
    (tmp_path / 'file').write_text('')
    with pytest.raises(ValueError, match='is a file; fix: choose another folder'):
        with NodeHarness(ImageWriter, path=str(tmp_path / 'file' / 'out') + '/'):
            pass


def test_prediction_folder_writes_one_inferencer_json_per_image(tmp_path):
    frames = [still(0, 'b.jpg', objects=[pose(), Object(bbox=(0, 0, 5, 5))]),
              still(1, 'a.png')]
    with NodeHarness(PredictionWriter, path=str(tmp_path / 'preds')) as h:
        h.run(frames)
    assert sorted(p.name for p in (tmp_path / 'preds').iterdir()) == ['a.json', 'b.json']
    [instance] = json.loads((tmp_path / 'preds' / 'b.json').read_text())   # no box-only object
    assert list(instance) == INFERENCER_KEYS
    assert instance['keypoints'] == [[10.0, 20.5], [30.0, 7.25]]
    assert instance['keypoint_scores'] == pytest.approx([0.9, 0.1], abs=1e-3)
    assert instance['bbox'] == [[1.0, 2.0, 30.5, 40.25]] and instance['bbox_score'] == 0.875
    assert json.loads((tmp_path / 'preds' / 'a.json').read_text()) == []


def test_prediction_folder_writes_one_json_per_video(tmp_path):
    frames = [make_frame(i, objects=[pose(float(i))], input_name='clip.avi') for i in range(3)]
    with NodeHarness(PredictionWriter, path=f'{tmp_path}/preds/') as h:
        h.run(frames)
        assert not (tmp_path / 'preds' / 'clip.json').exists()     # atomic: written at close
    records = json.loads((tmp_path / 'preds' / 'clip.json').read_text())
    assert [list(r) for r in records] == [['frame_id', 'instances']] * 3
    assert [r['frame_id'] for r in records] == [0, 1, 2]
    assert [r['instances'][0]['keypoints'][0][0] for r in records] == [0.0, 1.0, 2.0]
    assert list(records[0]['instances'][0]) == INFERENCER_KEYS


def test_source_names_each_frame_after_its_input(tmp_path, image_folder, video_file):
    for target, names, total in ((image_folder, ['img1.png', 'img2.png', 'img10.png',
                                                 'img11.png'], 4),
                                 (video_file, ['clip.avi'] * 30, 30)):
        with NodeHarness(VideoSource, input=str(target)) as h:
            assert h.node.total_frames == total
            frames = []
            while (frame := h.node.process()) is not EOS:
                frames.append(frame)
        assert [f.meta['input_name'] for f in frames] == names
        assert [index_of(f.image) for f in frames] == list(range(total))
        assert all(('path' in f.meta) == (target == image_folder) for f in frames)
    with NodeHarness(VideoSource, input=str(video_file), start=5, max_frames=10) as h:
        assert h.node.total_frames == 10


def test_fixed_boxes_default_to_the_whole_image():
    frame = make_frame(width=64, height=48, dataset_meta={'x': 1})
    with NodeHarness(FixedBoxes) as h:
        [obj] = h.feed(frame=frame)['frame'].objects
    assert obj.bbox == (0.0, 0.0, 64.0, 48.0) and obj.label == 'person' and obj.score == 1.0
    with NodeHarness(FixedBoxes, boxes=[[1, 2, 3, 4], [5, 6, 7, 8]], label='hand') as h:
        out = h.feed(frame=frame)['frame']
    assert [o.bbox for o in out.objects] == [(1, 2, 3, 4), (5, 6, 7, 8)]
    assert out.dataset_meta == {'x': 1, 'classes': ('hand',)}
    with pytest.raises(ValueError, match=r'each box must be \[x1, y1, x2, y2\]'):
        FixedBoxes(boxes=[[3, 2, 1, 4]])


def test_outputs_are_written_beside_their_name_then_renamed(tmp_path, monkeypatch):
    from nodes.io import images
    target = tmp_path / 'a.json'
    target.write_text('old')
    seen = []
    real_replace = images.os.replace

    def replace(src, dst):   # what sits under the real name while the new file is written
        seen.append((Path(src).name.startswith('.a.json.'), Path(dst).read_text()))
        raise OSError('disk full')
    monkeypatch.setattr(images.os, 'replace', replace)
    with pytest.raises(OSError, match='disk full'):
        images.write_atomic(target, b'new')
    assert seen == [(True, 'old')]                        # never half of the new one
    assert target.read_text() == 'old' and list(tmp_path.iterdir()) == [target]   # tmp gone
    monkeypatch.setattr(images.os, 'replace', real_replace)
    images.write_atomic(target, b'new')
    assert target.read_text() == 'new' and oct(target.stat().st_mode & 0o777) == '0o644'
