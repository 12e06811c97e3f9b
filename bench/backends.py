"""Benchmark the hand graph on every backend and precision against PyTorch, MMPoseInferencer and
rtmlib, each row with its keypoint error against PyTorch f32.

    python bench/backends.py [--frames 40] [--rounds 3] [--cores 2] [--json out.json]

One run, one clip (handSrc.jpg moved, scaled and rotated: ``tests/footage.py``), the same models
(RTMDet-nano hand with ``max_per_img`` 1, RTMPose-m hand5; seeded weights shaped to give clear
peaks, ``tests/nodes/onnx/shaped.py``), exported once; every row runs on ``--cores`` cores
(the process's CPU affinity), ``threads: auto``. Rows, in alternating rounds (the order reversed
every other round), flip test off and on:

- ours: the graph on onnxruntime f32, openvino f32 and bf16, mnn f32 and f16 (fp16 weights),
  and ``backend: auto, precision: auto`` (the default);
- the PyTorch graph (the reference: its keypoints are the "PyTorch f32" the errors are against);
- MMPoseInferencer (flip on: its config's);
- rtmlib's ``RTMPose`` on our pose file, one box at a time, after our exported detector on the
  same engine: ``backend='onnxruntime'``, and ``'openvino'`` forced to each precision we run
  (``openvino.Core.compile_model`` wrapped to add INFERENCE_PRECISION_HINT) and at its default;
- the physical limit: cores / (detector + pose one-thread time per frame), each model at the
  fastest backend and precision whose answers hold the bound against f32
  (``nodes/models/onnx/precision.py``).

Frames per second count the steady state, from the first finished frame to the last; a row's
figure is the median of its rounds, with the spread (min-max). Prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import backend_rows as rows  # noqa: E402  (bench/backend_rows.py)
from nodes.models.onnx.export import export_model  # noqa: E402
from nodes.models.openmmlab.model_zoo import resolve_model  # noqa: E402
from webcam_app.cores import available_cores  # noqa: E402

log = logging.getLogger('bench.backends')

OURS = (('onnxruntime', 'f32'), ('openvino', 'f32'), ('openvino', 'bf16'), ('mnn', 'f32'),
        ('mnn', 'f16'), ('auto', 'auto'))
RTMLIB = (('onnxruntime', 'f32'), ('openvino', 'f32'), ('openvino', 'bf16'),
          ('openvino', None))


def make_models(folder: Path, boxes: int) -> dict[str, str]:
    """Shaped checkpoints of the hand models; the detector keeps its ``boxes`` best boxes."""
    from tests.nodes.onnx.shaped import detector_checkpoint, pose_checkpoint
    det_spec, pose_spec = resolve_model('hand', 'det'), resolve_model('hand', 'pose')
    det_cfg = folder / 'bench_rtmdet_nano_hand.py'
    det_cfg.write_text(f'_base_ = {det_spec.config_path!r}\n'
                       f'model = dict(test_cfg=dict(max_per_img={boxes}, score_thr=0.0))\n')
    return {'det_cfg': str(det_cfg), 'pose_cfg': pose_spec.config_path,
            'det_ckpt': str(detector_checkpoint(str(det_cfg), folder / 'det.pth', ['hand'])),
            'pose_ckpt': str(pose_checkpoint(pose_spec.config_path, folder / 'pose.pth'))}


def export_models(m: dict[str, str], folder: Path) -> dict[str, str]:
    """``<checkpoint-stem>.onnx`` for both models, where the graph's nodes will look."""
    det_spec = resolve_model(m['det_cfg'], 'det')
    pose_spec = resolve_model(m['pose_cfg'], 'pose')
    return {'det_onnx': str(export_model(det_spec, m['det_ckpt'], folder / 'det.onnx')),
            'pose_onnx': str(export_model(pose_spec, m['pose_ckpt'], folder / 'pose.onnx'))}


def plan(video: Path, m: dict[str, str], onnx: dict[str, str], folder: Path, cores: int,
         choices: dict[bool, dict[str, tuple[str, str]]]) -> dict[str, Callable[[], dict]]:
    """Row label -> its run."""
    runs: dict[str, Callable[[], dict[str, Any]]] = {}
    for flip in (False, True):
        tag = 'flip on' if flip else 'flip off'
        runs[f'physical limit|{tag}'] = (
            lambda f=flip: rows.limit_row(video, onnx, cores, choices[f], f))
        for backend, precision in (*OURS, ('pytorch', 'f32')):
            runs[f'{backend} {precision}|{tag}'] = (
                lambda b=backend, p=precision, f=flip: rows.graph_row(video, m, b, p, f, folder))
    runs['MMPoseInferencer|flip on'] = lambda: rows.inferencer_row(video, m)
    for backend, precision in RTMLIB:
        runs[f'rtmlib {backend} {precision or "default"}|flip off'] = (
            lambda b=backend, p=precision: rows.rtmlib_row(video, onnx, b, p))
    return runs


def run_rounds(runs: dict[str, Callable[[], dict[str, Any]]], n: int,
               skip: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    labels = [k for k in runs if not any(s in k for s in skip)]
    for i in range(n):
        for label in (labels if i % 2 == 0 else labels[::-1]):
            try:
                r = runs[label]()
            except Exception as exc:        # a row that cannot run here says why in the table
                log.warning('%s: %s', label, exc)
                out.setdefault(label, {'fps_runs': [], 'error': str(exc)[:200]})
                continue
            row = out.setdefault(label, {'fps_runs': []})
            row['fps_runs'].append(r.pop('fps'))
            row.setdefault('first', r)
            print(f'round {i + 1}: {label:36} {row["fps_runs"][-1]:6.2f} fps', flush=True)
    return out


def summarize(results: dict[str, dict[str, Any]]) -> None:
    """fps median and spread; keypoint error of the first round against PyTorch f32."""
    for label, r in results.items():
        runs = r['fps_runs']
        r['fps'] = float(np.median(runs)) if runs else float('nan')
        r['spread'] = (min(runs), max(runs)) if runs else None
        tag = label.split('|')[1]
        ref = results.get(f'pytorch f32|{tag}', {}).get('first', {}).get('keypoints')
        got = r.get('first', {}).get('keypoints')
        r['error'] = rows.keypoint_error(got, ref) if ref is not None and got is not None \
            else None


def cell(r: dict[str, Any] | None) -> tuple[str, str]:
    if not r:
        return '', ''
    if not r['fps_runs']:
        return 'failed', r.get('error', '')
    lo, hi = r['spread']
    fps = f'{r["fps"]:.2f} ({lo:.1f}-{hi:.1f})'
    e = r['error']
    return fps, f'{e["median"]:.2f} / {e["p95"]:.2f}' if e else ''


def table(results: dict[str, dict[str, Any]]) -> str:
    names = dict.fromkeys(k.split('|')[0] for k in results)
    lines = ['| pipeline | flip off: fps (spread) | error px (median / p95) | flip on: fps '
             '(spread) | error px | ran as; detector / pose p50 ms in the graph |',
             '|---|---:|---|---:|---|---|']
    for name in names:
        off, on = results.get(f'{name}|flip off'), results.get(f'{name}|flip on')
        first = (off or on or {}).get('first', {})
        ran = first.get('ran') or first.get('compiled', '')
        ran = ', '.join(f'{k} {v}' for k, v in ran.items()) if isinstance(ran, dict) else ran
        ms = f"; {first['det_ms']:.0f} / {first['pose_ms']:.0f}" if 'det_ms' in first else ''
        ms += (f" (one thread each, alone; pre- and post-processing {first['pre_post_ms']:.1f} "
               'ms of it, flip off)') if first.get('alone') else ''
        label = name if not name.startswith('rtmlib') else name.replace('rtmlib', 'rtmlib 0.0.16')
        lines.append(f'| {label} | {" | ".join(cell(off))} | {" | ".join(cell(on))} | '
                     f'{ran}{ms} |')
    return '\n'.join(lines)


def targets(results: dict[str, dict[str, Any]]) -> str:
    fps = {k: r['fps'] for k, r in results.items() if r['fps_runs']}
    auto = results.get('auto auto|flip off', {}).get('first', {})
    precision = auto.get('ran', {}).get('pose', ' f32').split()[-1]
    same = [f'rtmlib openvino {precision}|flip off'] + (
        ['rtmlib onnxruntime f32|flip off'] if precision == 'f32' else [])
    best = max((k for k in same if k in fps), key=fps.get, default=None)
    checks = [(f'auto >= 1.3x rtmlib best at {precision} (flip off)', 1.3,
               'auto auto|flip off', best),
              ('auto >= 0.9x the physical limit (flip off)', 0.9, 'auto auto|flip off',
               'physical limit|flip off'),
              ('auto >= 3x MMPoseInferencer (flip on)', 3.0, 'auto auto|flip on',
               'MMPoseInferencer|flip on')]
    lines = ['| target | measured | |', '|---|---:|---|']
    for name, goal, a, b in checks:
        if a not in fps or b not in fps:
            lines.append(f'| {name} | n/a | not run |')
            continue
        got = fps[a] / fps[b]
        lines.append(f'| {name} (against {b.split("|")[0]}) | {got:.2f}x | '
                     f'{"met" if got >= goal else "**missed**"} |')
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--frames', type=int, default=40)
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--cores', type=int, default=2, help='run on this many cores (affinity)')
    p.add_argument('--boxes', type=int, default=1, help='hands per frame (detector max_per_img)')
    p.add_argument('--skip', nargs='*', default=[], metavar='TEXT',
                   help='leave out rows whose label has TEXT (e.g. mnn pytorch)')
    p.add_argument('--json', metavar='PATH')
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:args.cores])
    cores = available_cores()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        from tests.footage import hand_clip, write_clip
        video = write_clip(hand_clip(args.frames).frames, folder / 'clip.avi')
        m = make_models(folder, args.boxes)
        onnx = export_models(m, folder)
        measured = {c: rows.one_thread_ms(video, onnx, *c) for c in rows.CANDIDATES
                    if not any(s in ' '.join(c) for s in args.skip)}
        choices = {flip: rows.limit_choice(measured, flip) for flip in (False, True)}
        results = run_rounds(plan(video, m, onnx, folder, cores, choices), args.rounds,
                             tuple(args.skip))
    summarize(results)
    load = os.getloadavg()
    print(f'\n{cores} cores, {args.frames} frames 640x480, {args.boxes} hand(s) per frame, '
          f'{args.rounds} rounds; load average {load[0]:.1f} at the end\n')
    print(table(results))
    print()
    print(targets(results))
    if args.json:
        slim = {k: {**{x: y for x, y in r.items() if x != 'first'},
                    'first': {x: y for x, y in r.get('first', {}).items() if x != 'keypoints'}}
                for k, r in results.items()}
        one = {f'{b} {p}': {k: v for k, v in r.items() if k.endswith('ms')}
               for (b, p), r in measured.items()}
        Path(args.json).write_text(json.dumps({'results': slim, 'one_thread': one}, indent=1,
                                              default=str))
    return 0


if __name__ == '__main__':
    sys.exit(main())
