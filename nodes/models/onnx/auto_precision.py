"""``precision: auto`` for an exported model: checked once per model and machine, then remembered.

The first time a model is compiled on a machine whose runtime has a native precision below f32
(bf16 on CPUs with AVX512-BF16 or AMX), the model runs on real photos at f32 and at that
precision, and the lower one is kept only if it holds the bound of ``precision.py``. The result
goes into ``<model>.precision.json`` beside the export, keyed by the model's sha256, the runtime
and its version, the device and the CPU, so later starts skip the check.

The photos are the project's test footage from Debian's ``opencv-doc`` (``handSrc.jpg``,
``messi5.jpg``, ``basketball1.png``); without them ``auto`` runs f32 and says so.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import platform
import time
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from .engines import AUTO, make_engine, native_precisions, runtime_version
from .precision import choose_precision
from .sidecar import sha256_of

__all__ = ['PHOTO_DIRS', 'PHOTOS', 'check_photos', 'load_engine', 'machine_id', 'pose_boxes',
           'record_path']

log = logging.getLogger(__name__)

PHOTO_DIRS = (Path('/usr/share/doc/opencv-doc/opencv4/html'),
              Path('/usr/share/doc/opencv-doc/examples/data'))
PHOTOS = ('handSrc.jpg', 'messi5.jpg', 'basketball1.png')
FORMAT = 'webcam-app-precision/1'
#: fixed boxes on each photo, as fractions of its width and height (x1, y1, x2, y2)
_BOXES = ((0.0, 0.0, 1.0, 1.0), (0.15, 0.1, 0.85, 0.95), (0.25, 0.05, 0.75, 0.6),
          (0.0, 0.3, 0.5, 1.0), (0.5, 0.0, 1.0, 0.7))

Engine = Callable[[np.ndarray], list]


@functools.lru_cache(maxsize=1)
def check_photos() -> tuple[np.ndarray, ...]:
    """The photos the check runs on (BGR, read-only), those that are installed."""
    images = []
    for name in PHOTOS:
        for folder in PHOTO_DIRS:
            image = cv2.imread(str(folder / name)) if (folder / name).is_file() else None
            if image is not None:
                image.flags.writeable = False
                images.append(image)
                break
    return tuple(images)


def pose_boxes(image: np.ndarray) -> np.ndarray:
    """The fixed (N, 4) xyxy boxes a pose model is checked on in ``image``."""
    h, w = image.shape[:2]
    return (np.array(_BOXES, np.float32) * np.float32([w, h, w, h])).astype(np.float32)


def machine_id() -> str:
    """The CPU, by its model name and feature flags (a short hash)."""
    text = platform.machine()
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            lines = [ln for ln in f if ln.startswith(('model name', 'flags', 'Features'))]
        text += ''.join(sorted(set(lines)))
    except OSError:
        text += platform.processor()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def record_path(model: str | Path) -> Path:
    """``x.onnx`` -> ``x.precision.json``."""
    return Path(model).with_suffix('.precision.json')


def _read_record(model: Path) -> dict[str, Any]:
    try:
        data = json.loads(record_path(model).read_text(encoding='utf-8'))
    except (OSError, ValueError):
        return {}
    return data.get('checks', {}) if isinstance(data, dict) and data.get('format') == FORMAT \
        else {}


def _write_record(model: Path, key: str, entry: dict[str, Any]) -> None:
    checks = {**_read_record(model), key: entry}
    path = record_path(model)
    tmp = path.with_suffix('.json.tmp')
    try:
        tmp.write_text(json.dumps({'format': FORMAT, 'checks': checks}, indent=1), 'utf-8')
        tmp.replace(path)
    except OSError as exc:      # a read-only models folder: check again next time
        log.info('could not record the precision check in %s (%s)', path, exc)


def load_engine(name: str, backend: str, path: str | Path, device: str, threads: int | None,
                precision: str, answers: Callable[[Engine], Any] | None,
                miss: Callable[[Any, Any], tuple[str | None, str]]) -> Any:
    """The engine for ``path`` at ``precision``; for ``auto``, the precision checked (or
    recorded) for this model and machine. ``answers(engine)`` runs the model on the check's
    photos (None: no photos); ``miss`` compares them (``precision.keypoints_miss``, ...)."""
    if precision != AUTO:
        return make_engine(backend, path, device, threads, precision)
    candidates = native_precisions(backend, device)
    if not candidates:
        return make_engine(backend, path, device, threads, 'f32')
    path = Path(path)
    key = f'{sha256_of(path)} {runtime_version(backend)} {device} {machine_id()}'
    recorded = _read_record(path).get(key)
    if recorded and recorded.get('precision') in ('f32', *candidates):
        log.info('node %s: precision auto: %s, as checked on %s (%s)', name,
                 recorded['precision'], recorded.get('checked', '?'), recorded.get('why', ''))
        return make_engine(backend, path, device, threads, recorded['precision'])
    if answers is None:
        log.warning('node %s: precision auto runs f32: no photos to check %s against f32 on '
                    '(apt-get install opencv-doc)', name, '/'.join(candidates))
        return make_engine(backend, path, device, threads, 'f32')
    engines: dict[str, Any] = {}

    def run(p: str) -> Any:
        engines[p] = make_engine(backend, path, device, threads, p)
        return answers(engines[p])
    start = time.perf_counter()
    chosen, why, figures = choose_precision(candidates, run, miss)
    _write_record(path, key, {'precision': chosen, 'why': why, 'figures': figures,
                              'checked': time.strftime('%Y-%m-%d')})
    if chosen == 'f32':
        log.info('node %s: precision auto runs f32, checked on photos in %.1f s: %s', name,
                 time.perf_counter() - start, why)
    else:
        log.info('node %s: precision auto: %s, checked on photos in %.1f s: %s', name, chosen,
                 time.perf_counter() - start, why)
    return engines[chosen]
