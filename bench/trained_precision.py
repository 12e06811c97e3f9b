"""Precision loss on trained weights: MediaPipe's hand-landmark model at fp32, fp16 and bf16.

    python bench/trained_precision.py [--crops 60] [--threads 1] [--json out.json]

No OpenMMLab checkpoint can be had offline, and the shaped weights of ``tests/nodes/onnx/`` have
near-tied peaks that any rounding flips. The ``mediapipe`` wheel's ``hand_landmark_full.tflite``
is a trained keypoint model (21 hand points regressed in its 224x224 input), so it shows what
reduced precision does to trained weights. It runs:

- LiteRT (``ai_edge_litert``, fp32): the reference;
- MNN, converted by its TFLite front end (``_tools.mnnconvert -f TFLITE``), fp32 and ``--fp16``
  weights, through ``nodes/models/onnx/mnn_engine.py`` (never ``MNN.tools``);
- OpenVINO's TFLite reader, compiled with ``INFERENCE_PRECISION_HINT`` f32, bf16 (and f16 where
  the CPU takes it), telemetry blocked.

on rotated, scaled and shifted crops of the real open-hand photo ``handSrc.jpg`` (opencv-doc),
half of them mirrored. Errors are keypoint distances in crop pixels (224x224), against LiteRT and
against the same runtime's fp32; "bound" is the issue's: median <= 1 px and p95 <= 3 px.
"""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.modules.setdefault('openvino_telemetry', None)     # before openvino: no usage reports

from tests.footage import photo  # noqa: E402

log = logging.getLogger('bench.trained_precision')

SIZE = 224
HAND_BOX = (150, 40, 520, 470)          # handSrc.jpg's open palm, xyxy (tests/nodes/onnx)
BOUND_MEDIAN, BOUND_P95 = 1.0, 3.0
Runner = Callable[[np.ndarray], np.ndarray]     # (1, 224, 224, 3) RGB in [0, 1] -> (21, 2)


def model_path() -> Path:
    import mediapipe
    path = Path(mediapipe.__file__).parent / 'modules' / 'hand_landmark' / \
        'hand_landmark_full.tflite'
    if not path.is_file():
        raise SystemExit(f'{path} is missing: pip install mediapipe==0.10.21 (its wheel ships it)')
    return path


def crops(n: int, seed: int = 0) -> np.ndarray:
    """``n`` crops of the hand: rotated +-60 deg, the box 0.7 to 1.3 of the crop, shifted,
    every other one mirrored. (n, 224, 224, 3) float32 RGB in [0, 1]."""
    rng = np.random.default_rng(seed)
    image = photo('handSrc.jpg')
    x1, y1, x2, y2 = HAND_BOX
    center = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
    out = []
    for i in range(n):
        angle = rng.uniform(-60, 60)
        scale = SIZE * rng.uniform(0.7, 1.3) / max(x2 - x1, y2 - y1)
        m = cv2.getRotationMatrix2D(tuple(center), angle, scale)
        m[:, 2] += SIZE / 2 - center + rng.uniform(-0.1, 0.1, 2) * SIZE
        crop = cv2.warpAffine(image, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)
        if i % 2:
            crop = crop[:, ::-1]
        out.append(cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_BGR2RGB))
    return np.stack(out).astype(np.float32) / 255.0


def litert(path: Path, threads: int) -> Runner:
    from ai_edge_litert.interpreter import Interpreter
    interp = Interpreter(model_path=str(path), num_threads=threads)
    interp.allocate_tensors()
    index = interp.get_input_details()[0]['index']
    out = next(d['index'] for d in interp.get_output_details() if d['name'] == 'Identity')

    def run(x: np.ndarray) -> np.ndarray:
        interp.set_tensor(index, x)
        interp.invoke()
        return interp.get_tensor(out).reshape(21, 3)[:, :2]
    return run


def mnn(path: Path, threads: int, precision: str) -> Runner:
    from nodes.models.onnx.mnn_engine import MnnEngine
    engine = MnnEngine(path, threads=threads, precision=precision)
    which = engine.output_names.index('Identity')
    return lambda x: engine(x)[which].reshape(21, 3)[:, :2]


def openvino(path: Path, threads: int, precision: str) -> Runner:
    import openvino as ov
    core = ov.Core()
    compiled = core.compile_model(core.read_model(str(path)), 'CPU', {
        'INFERENCE_PRECISION_HINT': precision, 'INFERENCE_NUM_THREADS': threads,
        'PERFORMANCE_HINT': 'LATENCY'})
    got = compiled.get_property('INFERENCE_PRECISION_HINT')
    if got != getattr(ov.Type, precision):
        raise RuntimeError(f'asked OpenVINO for {precision}, it compiled {got} (not native here)')
    output = next(o for o in compiled.outputs if 'Identity' in o.get_names())
    request = compiled.create_infer_request()

    def run(x: np.ndarray) -> np.ndarray:
        return request.infer({0: x})[output].reshape(21, 3)[:, :2]
    return run


def measure(run: Runner, batch: np.ndarray) -> tuple[np.ndarray, float]:
    """Keypoints (n, 21, 2) and the median ms per crop (after one warm-up)."""
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


def table(rows: dict[str, dict[str, Any]]) -> str:
    lines = ['| runtime, precision | ms per crop | vs LiteRT fp32: median / p95 / max px | '
             'vs same runtime fp32 | bound (median <= 1, p95 <= 3) |', '|---|---:|---|---|---|']
    for name, r in rows.items():
        own = fmt(r['vs_f32']) if 'vs_f32' in r else ''
        ok = '' if 'vs_f32' not in r else ('holds' if r['holds'] else '**misses**')
        lines.append(f'| {name} | {r["ms"]:.1f} | {fmt(r["vs_litert"])} | {own} | {ok} |')
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--crops', type=int, default=60)
    p.add_argument('--threads', type=int, default=1, help='threads of every runtime')
    p.add_argument('--model', type=Path, help='the .tflite (default: the mediapipe wheel\'s '
                   'hand_landmark_full.tflite)')
    p.add_argument('--json', metavar='PATH')
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    batch = crops(args.crops)
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(shutil.copy(args.model or model_path(), tmp))     # MNN caches its conversion beside it
        runners: dict[str, tuple[str, Callable[[], Runner]]] = {
            'LiteRT fp32': ('', lambda: litert(path, args.threads)),
            'MNN fp32': ('', lambda: mnn(path, args.threads, 'f32')),
            'MNN fp16 weights (--fp16)': ('MNN fp32', lambda: mnn(path, args.threads, 'f16')),
            'OpenVINO f32': ('', lambda: openvino(path, args.threads, 'f32')),
            'OpenVINO bf16': ('OpenVINO f32', lambda: openvino(path, args.threads, 'bf16')),
            'OpenVINO f16': ('OpenVINO f32', lambda: openvino(path, args.threads, 'f16'))}
        points = {}
        for name, (base, make) in runners.items():
            try:
                points[name], ms = measure(make(), batch)
            except Exception as exc:      # e.g. a precision this CPU has not got
                log.warning('%s: skipped (%s)', name, exc)
                continue
            rows[name] = {'ms': ms, 'vs_litert': errors(points[name], points['LiteRT fp32'])}
            if base:
                rows[name]['vs_f32'] = errors(points[name], points[base])
                rows[name]['holds'] = (rows[name]['vs_f32']['median'] <= BOUND_MEDIAN
                                       and rows[name]['vs_f32']['p95'] <= BOUND_P95)
    spread = np.ptp(points['LiteRT fp32'].reshape(-1, 2), axis=0)
    print(f'hand_landmark_full.tflite, {args.crops} crops of handSrc.jpg ({SIZE}x{SIZE}), '
          f'{args.threads} thread(s); keypoints spread {spread[0]:.0f} x {spread[1]:.0f} px\n')
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
