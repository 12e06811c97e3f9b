"""Split the machine's cores among the nodes that run their own thread pools (model nodes).

Two models that each take every core fight over them: on 2 cores, two torch or ONNX Runtime
pools of 2 threads run slower than pools of 1. A node asks for a share with
``Node.core_weight()``; the builder gives each such node ``round(cores * weight / total)``
threads, at least 1, and puts the answer in ``NodeContext.cores``.
"""
from __future__ import annotations

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
    """Threads per name, proportional to its weight, at least 1 each, summing to ``cores``
    (or to the number of names, when there are more names than cores).

    Largest remainders win the leftover cores, the heavier name first on a tie.
    """
    cores = available_cores() if cores is None else cores
    wanted = {name: float(w) for name, w in weights.items() if w > 0}
    if not wanted:
        return {}
    total = sum(wanted.values())
    spare = max(cores - len(wanted), 0)           # one each first, then share the rest
    shares = {name: spare * w / total for name, w in wanted.items()}
    result = {name: 1 + int(share) for name, share in shares.items()}
    left = cores - sum(result.values())
    order = sorted(wanted, key=lambda n: (-(shares[n] - int(shares[n])), -wanted[n]))
    for name in order[:max(left, 0)]:
        result[name] += 1
    return result
