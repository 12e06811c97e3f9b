"""Per-crop times of the exported hand models on each engine and precision, and OpenVINO's first
and second start (compile, then load from its cache).

    python bench/openvino_start.py [--repeats 30]

RTMDet-nano hand (1x3x320x320) and RTMPose-m hand5 (1x3x256x256), random weights exported once
(compute does not depend on the weights), on ONNX Runtime f32, OpenVINO f32 and OpenVINO at each
precision this CPU runs natively, with 1 thread and with every core. Each row is the median of
``--repeats`` runs after 3 warm-up runs, in two rounds (the figures of both are printed).
A start is ``make_engine`` in a fresh process: read the model, compile it or load the cache.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nodes.models.onnx.engines import make_engine, native_precisions  # noqa: E402
from webcam_app.cores import available_cores  # noqa: E402

START = """
import sys, time
t = time.perf_counter()
from nodes.models.onnx.engines import make_engine
e = make_engine('openvino', sys.argv[1], 'cpu', None, sys.argv[2])
print(time.perf_counter() - t, e.seconds, e.from_cache)
"""


def export(folder: Path) -> dict[str, Path]:
    from nodes.models.onnx.export import export_model
    from nodes.models.openmmlab.model_zoo import resolve_model
    return {kind: export_model(resolve_model('hand', kind), None, folder / f'{kind}.onnx',
                               classes=['hand'] if kind == 'det' else None)
            for kind in ('det', 'pose')}


def per_crop_ms(engine, shape: tuple[int, ...], repeats: int) -> float:
    batch = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    for _ in range(3):
        engine(batch)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        engine(batch)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3


def start_seconds(path: Path, precision: str) -> tuple[float, float, bool]:
    """(seconds to import, read and compile or load in a fresh process; of which read and
    compile or load; whether it was loaded from the cache)."""
    out = subprocess.run([sys.executable, '-c', START, str(path), precision], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1]), out[2] == 'True'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=30)
    parser.add_argument('--json', help='also write the figures here')
    args = parser.parse_args()
    cores = available_cores()
    rows = [('onnxruntime', 'f32'), ('openvino', 'f32')] + [
        ('openvino', p) for p in native_precisions('openvino', 'cpu')]
    shapes = {'det': (1, 3, 320, 320), 'pose': (1, 3, 256, 256)}
    results: dict = {'cores': cores, 'per_crop_ms': {}, 'start_s': {}}
    with tempfile.TemporaryDirectory() as tmp:
        files = export(Path(tmp))
        for kind, path in files.items():
            for backend, precision in rows:
                for threads in dict.fromkeys((1, cores)):
                    engine = make_engine(backend, path, 'cpu', threads, precision)
                    ms = [per_crop_ms(engine, shapes[kind], args.repeats) for _ in range(2)]
                    key = f'{kind} {backend} {precision} {threads}t'
                    results['per_crop_ms'][key] = ms
                    print(f'{key:32s} ' + ' / '.join(f'{m:.1f}' for m in ms) + ' ms')
            for backend, precision in rows[1:]:
                cache = path.parent / 'openvino_cache' / path.stem
                for blob in cache.glob('*') if cache.is_dir() else ():
                    blob.unlink()
                first, second = start_seconds(path, precision), start_seconds(path, precision)
                assert not first[2] and second[2], (first, second)
                results['start_s'][f'{kind} {precision}'] = [first[:2], second[:2]]
                print(f'{kind} openvino {precision} start: first {first[0]:.2f} s (read and '
                      f'compile {first[1]:.2f}), second {second[0]:.2f} s (read and load from '
                      f'the cache {second[1]:.2f})')
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == '__main__':
    main()
