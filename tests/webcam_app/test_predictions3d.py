"""3D keypoints are written as mmpose's Pose3DInferencer writes them, with the 2D beside them."""
from __future__ import annotations

import numpy as np

from webcam_app import Frame, Object
from webcam_app.app.results import Result
from webcam_app.predictions import frame_record, inferencer_instances


def body(track_id: int | None, z: float) -> Object:
    return Object(bbox=(1, 2, 30, 40), label='person', score=0.9, track_id=track_id,
                  keypoints=np.full((17, 2), 5.0, np.float32),
                  keypoint_scores=np.full(17, 0.8, np.float32),
                  extras={'keypoints_3d': np.full((17, 3), z, np.float32),
                          'keypoint_scores_3d': np.ones(17, np.float32)})


def test_a_3d_instance_has_3d_keypoints_and_keeps_its_2d_beside_them():
    [record] = inferencer_instances(Frame(frame_id=0, objects=(body(1, 0.25),)))
    assert set(record) == {'keypoints', 'keypoint_scores', 'keypoints_2d', 'keypoint_scores_2d',
                           'bbox', 'bbox_score'}
    assert record['keypoints'] == [[0.25, 0.25, 0.25]] * 17
    assert record['keypoint_scores'] == [1.0] * 17
    assert record['keypoints_2d'] == [[5.0, 5.0]] * 17
    assert record['keypoint_scores_2d'] == [0.8] * 17
    assert record['bbox'] == [[1.0, 2.0, 30.0, 40.0]] and record['bbox_score'] == 0.9


def test_3d_instances_come_by_track_id_as_the_inferencer_sorts_them():
    frame = Frame(frame_id=0, objects=(body(7, 0.7), body(None, 0.9), body(2, 0.2)))
    order = [r['keypoints'][0][0] for r in inferencer_instances(frame)]
    assert order == [0.2, 0.7, 0.9]


def test_the_python_api_and_the_json_file_carry_the_same_3d_record():
    frame = Frame(frame_id=3, objects=(body(1, 0.5),))
    [instance] = Result(frame_id=3, frame=frame).predictions
    assert instance == frame_record(frame)['instances'][0]
    assert instance['keypoints'][0] == [0.5, 0.5, 0.5] and instance['track_id'] == 1
    assert len(instance['keypoints_2d']) == 17


def test_2d_objects_are_written_as_before():
    obj = Object(bbox=(0, 0, 1, 1), keypoints=np.zeros((2, 2)), keypoint_scores=np.ones(2))
    [record] = inferencer_instances(Frame(frame_id=0, objects=(obj,)))
    assert set(record) == {'keypoints', 'keypoint_scores', 'bbox', 'bbox_score'}
