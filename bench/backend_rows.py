"""The rows of ``bench/backends.py``: each pipeline run once on the clip, with its keypoints.

Every runner returns ``{'fps', 'frames', 'keypoints': [(N, K, 2) per frame], ...}``.
"""
from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from models import BenchSink, bench_inferencer, steady_fps  # noqa: F401  (bench/models.py)
from nodes.models.onnx.exported import ExportedDetector, ExportedPose
from nodes.models.onnx.precision import detections_miss, keypoints_miss
from video import read_frames  # bench/video.py
from webcam_app import load_graph, run_graph

#: (backend, precision) that our engines run here, for the physical limit's candidates
CANDIDATES = (('onnxruntime', 'f32'), ('openvino', 'f32'), ('openvino', 'bf16'),
              ('mnn', 'f32'), ('mnn', 'f16'))


def graph_row(video: Path, m: dict[str, str], backend: str, precision: str, flip: bool,
              models_dir: Path) -> dict[str, Any]:
    """Source, detector and pose on their own threads, replay mode, ``threads: auto``."""
    common = {'backend': backend, 'models_dir': str(models_dir), 'threads': 'auto'}
    if backend != 'pytorch':
        common['precision'] = precision
    config = {'name': f'bench_{backend}', 'mode': 'replay', 'nodes': [
        {'name': 'source', 'type': 'VideoSource', 'input': str(video),
         'outputs': {'frame': 'frames'}},
        {'name': 'detector', 'type': 'DetectorNode', 'model': m['det_cfg'],
         'weights': m['det_ckpt'], 'score_thr': 0.0, **common,
         'inputs': {'frame': 'frames'}, 'outputs': {'frame': 'dets'}},
        {'name': 'pose', 'type': 'TopdownPoseEstimatorNode', 'model': m['pose_cfg'],
         'weights': m['pose_ckpt'], 'bbox_thr': 0.0, 'flip_test': flip, **common,
         'inputs': {'frame': 'dets'}, 'outputs': {'frame': 'poses'}},
        {'name': 'sink', 'type': 'BenchSink', 'inputs': {'frame': 'poses'}}]}
    import nodes  # noqa: F401  (registers VideoSource)
    graph = load_graph(config)
    sink = graph.nodes['sink'].node
    runner = run_graph(graph, timeout=3600)
    if runner.exit_code:
        raise RuntimeError(f'the graph failed (exit code {runner.exit_code}): {runner.errors}')
    stats = runner.metrics.snapshot()['nodes']
    ran = {n: graph.nodes[n].node.info() for n in ('detector', 'pose')}
    return {'frames': len(sink.times), 'fps': steady_fps(sink.times),
            'keypoints': sink.keypoints, 'threads': dict(graph.nodes['pose'].node.context.cores),
            'ran': {n: f"{i.get('backend')} {i.get('precision')}" for n, i in ran.items()},
            'det_ms': stats['detector']['service_ms_p50'],
            'pose_ms': stats['pose']['service_ms_p50']}


@contextlib.contextmanager
def openvino_precision(precision: str | None) -> Iterator[None]:
    """Every ``openvino.Core.compile_model`` in the block adds INFERENCE_PRECISION_HINT."""
    if precision is None:
        yield
        return
    from nodes.models.onnx.openvino_engine import _openvino
    ov = _openvino()        # telemetry blocked
    original = ov.Core.compile_model
    hint = {'f32': 'f32', 'bf16': 'bf16', 'f16': 'f16'}[precision]

    def compile_model(self: Any, model: Any, device_name: Any = None, config: Any = None,
                      *args: Any, **kwargs: Any) -> Any:
        config = {**(config or {}), 'INFERENCE_PRECISION_HINT': hint}
        return original(self, model, device_name, config, *args, **kwargs)
    ov.Core.compile_model = compile_model
    try:
        yield
    finally:
        ov.Core.compile_model = original


def rtmlib_row(video: Path, onnx: dict[str, str], backend: str,
               precision: str | None) -> dict[str, Any]:
    """rtmlib's RTMPose on our pose file, one box at a time, after our exported detector on the
    same engine (rtmlib's RTMDet reads mmdeploy's single-output export, not ours). ``precision``
    None: OpenVINO's own default. rtmlib gets RGB frames: it feeds its input unconverted, and
    our model, like the config, wants RGB."""
    from rtmlib import RTMPose
    with openvino_precision(precision if backend == 'openvino' else None):
        pose = RTMPose(onnx['pose_onnx'], model_input_size=(256, 256), backend=backend)
        det_precision = precision or _openvino_default()
        det = ExportedDetector(onnx['det_onnx'], backend=backend,
                               precision=det_precision if backend == 'openvino' else 'f32')
    times, keypoints = [], []
    for image in read_frames(video):
        boxes, _, _ = det.detect(image)
        points, _ = pose(np.ascontiguousarray(image[..., ::-1]), bboxes=list(boxes))
        keypoints.append(np.asarray(points, np.float32).reshape(len(boxes), -1, 2))
        times.append(time.perf_counter())
    return {'frames': len(times), 'fps': steady_fps(times), 'keypoints': keypoints,
            'compiled': _compiled_precision(pose) if backend == 'openvino' else 'f32'}


def _openvino_default() -> str:
    from nodes.models.onnx.openvino_engine import native_precisions
    return (native_precisions('cpu') or ('f32',))[0]


def _compiled_precision(pose: Any) -> str:
    got = str(pose.compiled_model.get_property('INFERENCE_PRECISION_HINT'))
    return {'bfloat16': 'bf16', 'float32': 'f32', 'float16': 'f16'}.get(
        got.split("'")[1] if "'" in got else got, got)


def inferencer_row(video: Path, m: dict[str, str]) -> dict[str, Any]:
    return bench_inferencer(video, m, 'cpu')


def one_thread_ms(video: Path, onnx: dict[str, str], backend: str, precision: str,
                  n: int = 10, answers: bool = True) -> dict[str, Any]:
    """Median detector and pose times per frame (flip off and on) on one thread each, with
    pre- and post-processing, and the precision's answers for the bound."""
    det = ExportedDetector(onnx['det_onnx'], backend=backend, threads=1, precision=precision)
    pose = ExportedPose(onnx['pose_onnx'], backend=backend, threads=1, precision=precision)
    det.engine, pose.engine = _Timed(det.engine), _Timed(pose.engine)
    frames = [image for _, image in zip(range(n), read_frames(video))]
    det_ms, off_ms, on_ms, dets, crops, engine_ms = [], [], [], [], [], []
    for image in frames:
        start = time.perf_counter()
        boxes, scores, _ = det.detect(image, 0.0)
        middle = time.perf_counter()
        pose.estimate(image, boxes[:1], False)
        end = time.perf_counter()
        engine_ms.append((det.engine.last, pose.engine.last))
        pose.estimate(image, boxes[:1], True)
        det_ms.append(middle - start)
        off_ms.append(end - middle)
        on_ms.append(time.perf_counter() - end)
        dets.append((boxes, scores))
    for image in frames if answers else ():    # the bound: keypoints in crop px, fixed boxes
        h, w = image.shape[:2]
        fixed = np.float32([[0.2 * w, 0.1 * h, 0.8 * w, 0.9 * h], [0, 0, w, h]])
        batch = pose.codec.preprocess(image, fixed)[0]
        crops.append(pose.codec.decode([np.asarray(o, np.float32) for o in pose.engine(batch)])[0])
    engines = 1e3 * np.median(engine_ms, axis=0)
    return {'det_ms': 1e3 * float(np.median(det_ms)), 'pose_ms': 1e3 * float(np.median(off_ms)),
            'pose_flip_ms': 1e3 * float(np.median(on_ms)), 'det_engine_ms': float(engines[0]),
            'pose_engine_ms': float(engines[1]), 'dets': dets,
            'crops': np.stack(crops) if crops else None}


class _Timed:
    """An engine that keeps the time of its last call (the rest is pre- and post-processing)."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.precision, self.last = engine, engine.precision, 0.0

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        start = time.perf_counter()
        out = self.engine(batch)
        self.last = time.perf_counter() - start
        return out


def limit_choice(measured: dict[tuple[str, str], dict[str, Any]],
                 flip: bool) -> dict[str, tuple[str, str]]:
    """Each model's fastest (backend, precision) on one thread whose answers hold the bound
    against the same backend's f32 (``nodes/models/onnx/precision.py``)."""
    def holds(kind: str, backend: str, precision: str) -> bool:
        if precision == 'f32':
            return True
        ref, got = measured[(backend, 'f32')], measured[(backend, precision)]
        if kind == 'pose':
            return keypoints_miss(ref['crops'], got['crops'])[0] is None
        # the bench's detector keeps its best box at any score: compare those
        return detections_miss(ref['dets'], got['dets'], 0.0)[0] is None
    keys = {'det': 'det_ms', 'pose': 'pose_flip_ms' if flip else 'pose_ms'}
    return {kind: min((r[key], c) for c, r in measured.items() if holds(kind, *c))[1]
            for kind, key in keys.items()}


def limit_row(video: Path, onnx: dict[str, str], cores: int, choice: dict[str, tuple[str, str]],
              flip: bool) -> dict[str, Any]:
    """The physical limit, measured now: cores / (detector + pose one-thread ms)."""
    times = {c: one_thread_ms(video, onnx, *c, answers=False) for c in set(choice.values())}
    det = times[choice['det']]['det_ms']
    pose = times[choice['pose']]['pose_flip_ms' if flip else 'pose_ms']
    pre_post = (det - times[choice['det']]['det_engine_ms']
                + times[choice['pose']]['pose_ms'] - times[choice['pose']]['pose_engine_ms'])
    return {'fps': cores / (det + pose) * 1e3, 'det_ms': det, 'pose_ms': pose,
            'pre_post_ms': pre_post, 'alone': True,
            'ran': {k: ' '.join(v) for k, v in choice.items()}}


def keypoint_error(rows: list[np.ndarray], reference: list[np.ndarray]) -> dict[str, float]:
    """Median and p95 distance (image px) of each frame's poses to the reference's, in order."""
    d = []
    for ours, theirs in zip(rows, reference):
        n = min(len(ours), len(theirs))
        if n:
            d.append(np.linalg.norm(np.asarray(ours[:n])[..., :2] - theirs[:n][..., :2],
                                    axis=-1).ravel())
    if not d:
        return {'median': float('nan'), 'p95': float('nan')}
    d = np.concatenate(d)
    return {'median': float(np.median(d)), 'p95': float(np.percentile(d, 95))}
