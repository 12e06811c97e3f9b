"""Precision loss on trained weights: MediaPipe's keypoint models at fp32, fp16 and bf16.

    python bench/trained_precision.py [--crops 60] [--threads 1] [--json out.json]

No OpenMMLab checkpoint can be had offline, and the shaped weights of ``tests/nodes/onnx/`` have
near-tied peaks that any rounding flips. The ``mediapipe`` wheel ships trained keypoint models:

- ``hand_landmark_full.tflite``: 21 hand points regressed in a 224x224 crop; its weights are
  stored as fp16 (and dequantized at load), so fp16 weights lose nothing on it;
- ``iris_landmark.tflite``: 71 eye-contour and brow points and 5 iris points in a 64x64 crop;
  its weights are fp32, so it shows what rounding the weights to fp16 costs.

Each runs on:

- LiteRT (``ai_edge_litert``, fp32): the reference;
- MNN, converted by its TFLite front end (``_tools.mnnconvert -f TFLITE``), fp32 and ``--fp16``
  weights, through ``nodes/models/onnx/mnn_engine.py`` (never ``MNN.tools``);
- OpenVINO's TFLite reader, compiled with ``INFERENCE_PRECISION_HINT`` f32, bf16 (and f16 where
  the CPU runs it natively), telemetry blocked;

on rotated, scaled and shifted crops of real photos: the open hand of ``handSrc.jpg``
(opencv-doc), every other crop mirrored, and the eyes of scikit-image's astronaut. Errors are
keypoint distances in crop pixels, against LiteRT and against the same runtime at fp32; "bound"
is ``nodes/models/onnx/precision.py``'s: median <= 1 px and p95 <= 3 px against fp32.
"""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.modules.setdefault('openvino_telemetry', None)     # before openvino: no usage reports

from nodes.models.onnx.precision import MAX_MEDIAN_PX, MAX_P95_PX, keypoints_miss  # noqa: E402
from tests.footage import photo  # noqa: E402

log = logging.getLogger('bench.trained_precision')


@dataclass(frozen=True)
class Model:
    """A trained keypoint model of the mediapipe wheel and where its keypoints are."""

    file: str                 # under mediapipe/modules/
    size: int                 # square input, NHWC RGB in [0, 1]
    outputs: tuple[str, ...]  # the keypoint outputs, x y z per point
    photo: str
    centers: tuple[tuple[float, float], ...]   # of the subject in the photo (BGR), pixels
    extent: float             # the subject's size in the photo, pixels
    weights: str              # how the .tflite stores its weights


MODELS = {
    'hand_landmark_full': Model(
        'hand_landmark/hand_landmark_full.tflite', 224, ('Identity',), 'handSrc.jpg',
        ((335.0, 255.0),), 430.0, 'fp16 (dequantized at load)'),
    # the astronaut's eyes, found by eye on a gridded render; the right eye is mirrored, as
    # MediaPipe's iris graph does
    'iris_landmark': Model(
        'iris_landmark/iris_landmark.tflite', 64, ('output_eyes_contours_and_brows',
                                                   'output_iris'), 'astronaut',
        ((202.0, 100.0), (246.0, 103.0)), 46.0, 'fp32'),
}
Runner = Callable[[np.ndarray], np.ndarray]     # (1, size, size, 3) RGB in [0, 1] -> (K, 2)


def model_path(model: Model) -> Path:
    import mediapipe
    path = Path(mediapipe.__file__).parent / 'modules' / model.file
    if not path.is_file():
        raise SystemExit(f'{path} is missing: pip install mediapipe==0.10.21 (its wheel ships it)')
    return path


def load_photo(name: str) -> np.ndarray:
    if name == 'astronaut':
        from skimage.data import astronaut
        return np.ascontiguousarray(astronaut()[..., ::-1])
    return photo(name)


def crops(model: Model, n: int, seed: int = 0) -> np.ndarray:
    """``n`` crops of the subject: rotated +-60 deg (hand) or +-20 deg (eye), the subject 0.7 to
    1.3 of the crop, shifted by up to 10 %, every other hand mirrored (the second eye always).
    (n, size, size, 3) float32 RGB in [0, 1]."""
    rng = np.random.default_rng(seed)
    image, size = load_photo(model.photo), model.size
    eye = len(model.centers) > 1
    out = []
    for i in range(n):
        which = i % len(model.centers)
        center = np.array(model.centers[which])
        angle = rng.uniform(-20, 20) if eye else rng.uniform(-60, 60)
        m = cv2.getRotationMatrix2D(tuple(center), angle,
                                    size * rng.uniform(0.7, 1.3) / model.extent)
        m[:, 2] += size / 2 - center + rng.uniform(-0.1, 0.1, 2) * size
        crop = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        if (which == 1) if eye else (i % 2):
            crop = crop[:, ::-1]
        out.append(cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_BGR2RGB))
    return np.stack(out).astype(np.float32) / 255.0


def _points(outputs: list[np.ndarray]) -> np.ndarray:
    """(K, 2): x, y of every point of the keypoint outputs (x y z each)."""
    return np.concatenate([np.asarray(o).reshape(-1, 3)[:, :2] for o in outputs])


def litert(path: Path, model: Model, threads: int) -> Runner:
    from ai_edge_litert.interpreter import Interpreter
    interp = Interpreter(model_path=str(path), num_threads=threads)
    interp.allocate_tensors()
    index = interp.get_input_details()[0]['index']
    names = {d['name']: d['index'] for d in interp.get_output_details()}

    def run(x: np.ndarray) -> np.ndarray:
        interp.set_tensor(index, x)
        interp.invoke()
        return _points([interp.get_tensor(names[n]) for n in model.outputs])
    return run


def mnn(path: Path, model: Model, threads: int, precision: str) -> Runner:
    from nodes.models.onnx.mnn_engine import MnnEngine
    engine = MnnEngine(path, threads=threads, precision=precision)
    which = [engine.output_names.index(n) for n in model.outputs]
    return lambda x: _points([engine(x)[i] for i in which])


def openvino(path: Path, model: Model, threads: int, precision: str) -> Runner:
    import openvino as ov
    core = ov.Core()
    compiled = core.compile_model(core.read_model(str(path)), 'CPU', {
        'INFERENCE_PRECISION_HINT': precision, 'INFERENCE_NUM_THREADS': threads,
        'PERFORMANCE_HINT': 'LATENCY'})
    got = compiled.get_property('INFERENCE_PRECISION_HINT')
    if got != getattr(ov.Type, precision):
        raise RuntimeError(f'asked OpenVINO for {precision}, it compiled {got} (not native here)')
    outputs = [next(o for o in compiled.outputs if n in o.get_names()) for n in model.outputs]
    request = compiled.create_infer_request()

    def run(x: np.ndarray) -> np.ndarray:
        result = request.infer({0: x})
        return _points([result[o] for o in outputs])
    return run


def measure(run: Runner, batch: np.ndarray) -> tuple[np.ndarray, float]:
    """Keypoints (n, K, 2) and the median ms per crop (after one warm-up)."""
    run(batch[:1])
    points, times = [], []
    for x in batch:
        start = time.perf_counter()
        points.append(run(x[None]))
        times.append(time.perf_counter() - start)
    return np.stack(points), 1e3 * float(np.median(times))


def errors(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    d = np.linalg.norm(a - b, axis=-1).ravel()
    return {'median': float(np.median(d)), 'p95': float(np.percentile(d, 95)),
            'max': float(d.max())}


def fmt(e: dict[str, float]) -> str:
    return ' / '.join(f'{e[k]:.3f}' if e[k] < 0.1 else f'{e[k]:.2f}' for k in
                      ('median', 'p95', 'max'))


def study(name: str, n: int, threads: int, tmp: Path) -> dict[str, dict[str, Any]]:
    """Every runtime and precision on ``n`` crops, against LiteRT and their own fp32."""
    model = MODELS[name]
    batch = crops(model, n)
    path = Path(shutil.copy(model_path(model), tmp))    # MNN caches its conversion beside it
    runners: dict[str, tuple[str, Callable[[], Runner]]] = {
        'LiteRT fp32': ('', lambda: litert(path, model, threads)),
        'MNN fp32': ('', lambda: mnn(path, model, threads, 'f32')),
        'MNN fp16 weights (--fp16)': ('MNN fp32', lambda: mnn(path, model, threads, 'f16')),
        'OpenVINO f32': ('', lambda: openvino(path, model, threads, 'f32')),
        'OpenVINO bf16': ('OpenVINO f32', lambda: openvino(path, model, threads, 'bf16')),
        'OpenVINO f16': ('OpenVINO f32', lambda: openvino(path, model, threads, 'f16'))}
    points, rows = {}, {}
    for label, (base, make) in runners.items():
        try:
            points[label], ms = measure(make(), batch)
        except Exception as exc:      # e.g. a precision this CPU has not got
            log.warning('%s %s: skipped (%s)', name, label, exc)
            continue
        rows[label] = {'ms': ms, 'vs_litert': errors(points[label], points['LiteRT fp32'])}
        if base:
            why, _ = keypoints_miss(points[base], points[label])
            rows[label].update(vs_f32=errors(points[label], points[base]), holds=why is None)
    return rows


def table(name: str, rows: dict[str, dict[str, Any]]) -> str:
    model = MODELS[name]
    lines = [f'| {name} ({model.size}x{model.size}, {model.weights} weights) | ms per crop | '
             'vs LiteRT fp32: median / p95 / max px | vs same runtime fp32 | bound |',
             '|---|---:|---|---|---|']
    for label, r in rows.items():
        own = fmt(r['vs_f32']) if 'vs_f32' in r else ''
        ok = '' if 'vs_f32' not in r else ('holds' if r['holds'] else '**misses**')
        lines.append(f'| {label} | {r["ms"]:.1f} | {fmt(r["vs_litert"])} | {own} | {ok} |')
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--crops', type=int, default=60)
    p.add_argument('--threads', type=int, default=1, help='threads of every runtime')
    p.add_argument('--models', nargs='*', default=list(MODELS), choices=list(MODELS))
    p.add_argument('--json', metavar='PATH')
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            results[name] = study(name, args.crops, args.threads, Path(tmp))
    print(f'{args.crops} crops per model, {args.threads} thread(s); errors in crop pixels; '
          f'bound: median <= {MAX_MEDIAN_PX:g} and p95 <= {MAX_P95_PX:g} px against the same '
          'runtime at fp32\n')
    for name, rows in results.items():
        print(table(name, rows), end='\n\n')
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
