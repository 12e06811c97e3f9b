"""The lifter on ONNX Runtime against the same lifter in torch: MotionBERT's replay windows and
the causal VideoPose3D of live mode, within 1e-4 (metres) on every keypoint of every frame.

The node finds no export, writes one (sidecar with the window, causality and sha256) into the
models folder, and runs it; a second node reuses the file. MotionBERT runs as a slim DSTFormer
(its config with 1 block of 64 channels, the same code paths): exporting the full one takes
about 40 s on 2 cores, which ``bench/lift3d.py`` spends instead.
"""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from nodes.models.lift.lifter import MOTIONBERT, PoseLifterNode
from nodes.models.openmmlab.model_zoo import resolve_model
from nodes.models.lift.skeletons import KEYPOINTS_3D
from tests.nodes.test_lifter import frame, walk
from webcam_app import NodeHarness

pytest.importorskip('onnxruntime')
pytest.importorskip('mmpose')
pytestmark = [pytest.mark.models, pytest.mark.timeout(600)]


def lift(backend: str, models_dir, mode: str, n: int, **params) -> np.ndarray:
    with NodeHarness(PoseLifterNode, weights='none', live_weights='none', backend=backend,
                     models_dir=str(models_dir), run_mode=mode, threads=2, **params) as h:
        frames = h.run([frame(i, p) for i, p in enumerate(walk(n))])
    assert [f.frame_id for f in frames] == list(range(n))
    return np.stack([f.objects[0].extras[KEYPOINTS_3D] for f in frames])


def slim_motionbert(folder) -> str:
    path = folder / 'motionbert_slim.py'
    path.write_text(f"_base_ = [{resolve_model(MOTIONBERT, 'pose').config_path!r}]\n"
                    "model = dict(backbone=dict(feat_size=64, depth=1, num_heads=2),\n"
                    "             head=dict(in_channels=64, embedding_size=64))\n")
    return str(path)


ENGINES = [b for b in ('onnxruntime', 'openvino') if importlib.util.find_spec(b)]


@pytest.mark.parametrize('mode', ['replay', 'live'])
def test_the_exported_lifter_matches_torch(tmp_path, mode):
    params = {'window': 4, 'model': slim_motionbert(tmp_path)} if mode == 'replay' else {}
    torch_out = lift('pytorch', tmp_path, mode, 6, **params)
    assert np.abs(torch_out).max() > 1e-3
    for engine in ENGINES:                       # one export, every engine (OpenVINO at f32)
        np.testing.assert_allclose(lift(engine, tmp_path, mode, 6, **params), torch_out,
                                   atol=1e-4, err_msg=engine)
    [sidecar] = [json.loads(p.read_text()) for p in tmp_path.glob('*.w*.json')]
    assert sidecar['kind'] == 'lift' and sidecar['causal'] == (mode == 'live')
    assert sidecar['window'] == (4 if mode == 'replay' else 27)
    exported = sorted(tmp_path.glob('*.onnx'))
    assert len(exported) == 1
    stamp = exported[0].stat().st_mtime_ns
    lift('onnxruntime', tmp_path, mode, 2, **params)               # reused, not exported again
    assert exported[0].stat().st_mtime_ns == stamp
