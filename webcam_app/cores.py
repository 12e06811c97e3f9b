"""Split the machine's cores among the nodes that run their own thread pools (model nodes).

Two models that each take every core fight over them: on 2 cores, two torch or ONNX Runtime
pools of 2 threads run slower than pools of 1. A node asks for a share with
``Node.core_weight()``; the builder gives each such node its share of the cores, rounded up,
and puts the answer in ``NodeContext.cores``.

Rounding up, not down, is measured (``bench/backends.py``, 2 cores): a light detector (weight 1)
leaves most of its core idle, and the pose model (weight 3) that the pipeline waits for can use
that time. One thread each gave 11.9 frames/s on ONNX Runtime; detector 1 and pose 2 gave 19.3.

A node with several workers (``workers: N``, webcam_app.parallel) splits its share among them:
each worker's engine gets ``cores[name]`` threads. ``workers: auto`` (model nodes) decides the
number: several single-thread workers in replay mode, one in live mode (``auto_workers``).
"""
from __future__ import annotations

import math
import os
from typing import Mapping

__all__ = ['MAX_AUTO_WORKERS', 'allot_cores', 'auto_workers', 'available_cores']

#: ``workers: auto`` in replay mode: one per core, up to this many (each holds its own engine)
MAX_AUTO_WORKERS = 4


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), else ``os.cpu_count()``."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def allot_cores(weights: Mapping[str, float], cores: int | None = None,
                workers: Mapping[str, int] | None = None) -> dict[str, int]:
    """Threads per worker of each name: its weight's share of ``cores``, split among its
    ``workers`` (1 if not given), rounded up, at least 1.

    The total passes ``cores`` by less than one thread per worker, and only where shares are
    fractional: the heavy node takes the time the light ones leave idle.
    """
    cores = available_cores() if cores is None else cores
    workers = workers or {}
    wanted = {name: float(w) for name, w in weights.items() if w > 0}
    total = sum(wanted.values())
    return {name: max(1, math.ceil(cores * w / total / workers.get(name, 1) - 1e-9))
            for name, w in wanted.items()}


def auto_workers(weights: Mapping[str, float], asked: Mapping[str, int | str],
                 reentrant: Mapping[str, bool], replay: bool,
                 cores: int | None = None) -> dict[str, int]:
    """Each node's workers: 1 for a node that is not reentrant (now: a check may have made it
    serial), else the number it asked for, or for ``'auto'``: in replay mode, a node with a claim
    on the cores gets one worker per core, at most
    ``MAX_AUTO_WORKERS``; any other node, and every node in live mode (latency first), 1.

    Every model node working on several frames at once, each worker on one thread (on up to
    4 cores; beyond, its share of the cores split among its 4 workers), keeps every core busy
    whichever model the frames wait for: the idle-sleeping engine threads cost little when
    they outnumber the cores. Measured (``bench/README.md``, 2 cores, hand graph): detector
    2 × 1 and pose 2 × 1 threads made 52.8 frames/s; detector 1 × 1 and pose 1 × 2 (one
    worker each) 47.5; detector 1 × 1 and pose 2 × 1 (workers by weight) 48.4."""
    cores = available_cores() if cores is None else cores
    many = min(cores, MAX_AUTO_WORKERS)
    return {name: (1 if not reentrant.get(name) else
                   n if n != 'auto' else many if replay and weights.get(name, 0) > 0 else 1)
            for name, n in asked.items()}
