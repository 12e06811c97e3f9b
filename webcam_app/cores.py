"""Split the machine's cores among the nodes that run their own thread pools (model nodes).

Two models that each take every core fight over them: on 2 cores, two torch or ONNX Runtime
pools of 2 threads run slower than pools of 1. A node asks for a share with
``Node.core_weight()``; the builder gives each such node its share of the cores, rounded up,
and puts the answer in ``NodeContext.cores``.

Rounding up, not down, is measured (``bench/backends.py``, 2 cores): a light detector (weight 1)
leaves most of its core idle, and the pose model (weight 3) that the pipeline waits for can use
that time. One thread each gave 11.9 frames/s on ONNX Runtime; detector 1 and pose 2 gave 19.3.
"""
from __future__ import annotations

import math
import os
from typing import Mapping

__all__ = ['allot_cores', 'available_cores']


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), else ``os.cpu_count()``."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def allot_cores(weights: Mapping[str, float], cores: int | None = None) -> dict[str, int]:
    """Threads per name: its weight's share of ``cores``, rounded up, at least 1.

    The total passes ``cores`` by less than one thread per name, and only where shares are
    fractional: the heavy node takes the time the light ones leave idle.
    """
    cores = available_cores() if cores is None else cores
    wanted = {name: float(w) for name, w in weights.items() if w > 0}
    total = sum(wanted.values())
    return {name: max(1, math.ceil(cores * w / total - 1e-9)) for name, w in wanted.items()}
