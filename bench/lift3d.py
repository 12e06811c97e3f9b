"""3D graphs' frames per second on a clip, against a serial loop of mmpose's own 3D calls.

- body3d: the offline default (``body3d_lite.yaml``: MediaPipe world landmarks) and the
  OpenMMLab path (``body3d.yaml``: RTMDet-m, RTMPose-m, tracker, MotionBERT windows; random
  weights, one person a frame) against mmpose's serial loop as its demo runs it per frame:
  ``inference_detector``, ``inference_topdown``, ``convert_keypoint_definition``,
  ``extract_pose_sequence`` and ``inference_pose_lifter_model``;
- hand3d: ``hand3d_lite.yaml`` and ``hand3d.yaml`` (InterNet) against a serial loop of
  ``inference_topdown`` with InterNet on the whole image.

The graphs run as the command line runs them (a subprocess, ``--metrics-out``); their rate is
the display's (frames over the time from the first frame on; model loading is not counted, as
the loops' first frame is not). Run: python bench/lift3d.py [--frames 40].
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from tests.footage import affine_clip, hand_clip, photo, write_clip  # noqa: E402

RANDOM = ['--set', 'detector.weights=none', '--set', 'pose.weights=none',
          '--set', 'lifter.weights=none', '--set', 'detector.max_objects=1',
          '--set', 'detector.score_thr=0.0', '--no-fallback']


def graph_fps(graph: str, clip: Path, *args: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        metrics = Path(tmp) / 'm.json'
        env = {**os.environ, 'PYTHONPATH': str(ROOT)}
        env.pop('DISPLAY', None)
        subprocess.run([sys.executable, str(ROOT / 'run_webcam.py'), '--config',
                        str(ROOT / 'graphs' / graph), '--input', str(clip), '--headless',
                        '--metrics-out', str(metrics), '--log-level', 'WARNING', *args],
                       env=env, check=True, capture_output=True, timeout=900)
        return json.loads(metrics.read_text())['nodes']['display']['fps']


def serial_body(frames: list[np.ndarray]) -> float:
    """mmpose's demo, one frame at a time (random weights, the top box a frame)."""
    from mmdet.apis import inference_detector, init_detector
    from mmpose.apis import (convert_keypoint_definition, extract_pose_sequence,
                             inference_pose_lifter_model, inference_topdown, init_model)
    from mmpose.utils import adapt_mmdet_pipeline

    from nodes.models.lift.lifter import MOTIONBERT
    from nodes.models.openmmlab.model_zoo import resolve_model
    from nodes.models.openmmlab.weights import building
    with building(random_weights=True):
        det = init_detector(resolve_model('rtmdet_m_640-8xb32_coco-person', 'det').config_path,
                            None, device='cpu')
        det.cfg = adapt_mmdet_pipeline(det.cfg)
        pose = init_model(resolve_model('rtmpose-m_8xb256-420e_body8-256x192', 'pose')
                          .config_path, None, device='cpu')
        lifter = init_model(resolve_model(MOTIONBERT, 'pose').config_path, None, device='cpu')
    dataset = lifter.cfg.test_dataloader.dataset
    history, times = [], []
    for i, image in enumerate(frames):
        t0 = time.perf_counter()
        boxes = inference_detector(det, image).pred_instances.bboxes[:1].cpu().numpy()
        results = inference_topdown(pose, image, boxes)
        for r in results:
            r.pred_instances.keypoints = convert_keypoint_definition(
                r.pred_instances.keypoints, 'coco', 'h36m')
            r.set_field(0, 'track_id')
        history.append(results)
        seq = extract_pose_sequence(history, i, dataset.get('causal', False),
                                    dataset.get('seq_len', 1), dataset.get('seq_step', 1))
        inference_pose_lifter_model(lifter, seq, image_size=image.shape[1::-1],
                                    norm_pose_2d=True)
        times.append(time.perf_counter() - t0)
    return 1.0 / float(np.mean(times[1:]))


def serial_hand(frames: list[np.ndarray]) -> float:
    from mmpose.apis import inference_topdown, init_model

    from nodes.models.lift.internet import INTERNET
    from nodes.models.openmmlab.model_zoo import resolve_model
    from nodes.models.openmmlab.weights import building
    with building(random_weights=True):
        model = init_model(resolve_model(INTERNET, 'pose').config_path, None, device='cpu')
    times = []
    for image in frames:
        t0 = time.perf_counter()
        h, w = image.shape[:2]
        inference_topdown(model, image, np.array([[0, 0, w, h]], np.float32))
        times.append(time.perf_counter() - t0)
    return 1.0 / float(np.mean(times[1:]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--frames', type=int, default=40)
    args = p.parse_args()
    import torch
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        body = affine_clip(photo('basketball1.png'), n=args.frames, max_shift=(20, 10),
                           scales=(0.85, 1.0), max_angle=8)
        hands = hand_clip(n=args.frames)
        body_clip = write_clip(body.frames, Path(tmp) / 'body.avi')
        hand_clip_path = write_clip(hands.frames, Path(tmp) / 'hand.avi')
        rows = [
            ('body3d_lite (MediaPipe world landmarks)', graph_fps('body3d_lite.yaml', body_clip)),
            ('body3d (RTMDet-m, RTMPose-m, MotionBERT)',
             graph_fps('body3d.yaml', body_clip, *RANDOM)),
            ('mmpose serial loop (same models, per frame)', serial_body(list(body.frames))),
            ('hand3d_lite (MediaPipe world landmarks)', graph_fps('hand3d_lite.yaml',
                                                                  hand_clip_path)),
            ('hand3d (InterNet)', graph_fps('hand3d.yaml', hand_clip_path,
                                            '--set', 'hands.weights=none', '--no-fallback')),
            ('mmpose serial loop (InterNet, per frame)', serial_hand(list(hands.frames))),
        ]
    print(f'# {args.frames} frames, {os.cpu_count()} cores')
    print('| run | frames/s |\n|---|---|')
    for name, fps in rows:
        print(f'| {name} | {fps:.2f} |')


if __name__ == '__main__':
    main()
