"""Load OpenMMLab checkpoints safely: tensors and the few types their training runs save, no code.

A ``.pth`` file is a pickle, and a pickle can run any code while it loads. ``torch.load`` with
``weights_only=True`` refuses every type it does not know; here it is also told the types that
OpenMMLab training checkpoints really carry (mmengine's message hub state with its
``HistoryBuffer``s, numpy arrays, scalars and dtypes), and nothing else. A checkpoint that holds
anything more is refused, naming the file and the type, unless the user trusts it
(``trust_checkpoint: true`` on the node, or ``--trust-checkpoints``).
"""
from __future__ import annotations

import logging
import pickle
import re
from contextlib import contextmanager
from typing import Any, Iterator

__all__ = ['CheckpointRefused', 'load_checkpoint', 'unsafe_globals']

log = logging.getLogger(__name__)

_TRUST_HINT = ('if you trust where this file comes from, set trust_checkpoint: true on the node '
               '(or run with --trust-checkpoints)')


class CheckpointRefused(ValueError):
    """A checkpoint holds types whose loading could run code."""

    def __init__(self, path: str, types: list[str]) -> None:
        self.path, self.types = path, types
        super().__init__(f'checkpoint {path} was refused: it holds {", ".join(types)}, which '
                         f'loading could run as code; fix: {_TRUST_HINT}')


def _history_buffer_method(obj: Any, name: str) -> Any:
    """``getattr`` as mmengine's pickled HistoryBuffers need it (their statistics methods), and
    for nothing else: a general ``getattr`` would let a pickle reach any function."""
    from mmengine.logging import HistoryBuffer
    if obj is HistoryBuffer and not name.startswith('_') and callable(getattr(obj, name, None)):
        return getattr(obj, name)
    raise pickle.UnpicklingError(f'getattr({obj!r}, {name!r}) is not allowed in a checkpoint')


def _numpy_globals() -> list[Any]:
    import numpy as np
    from numpy.core import multiarray
    found: list[Any] = [np.ndarray, np.dtype]
    for name in ('_reconstruct', 'scalar'):   # numpy 1 and numpy 2 paths of the same function
        fn = getattr(multiarray, name)
        found += [fn, (fn, f'numpy._core.multiarray.{name}')]
    dtypes = {type(np.dtype(c)) for c in '?bBhHiIlLqQefdgFDGSUVOMm'}
    found += [(cls, f'numpy.dtypes.{cls.__name__}') for cls in dtypes]
    return found


def _safe_globals() -> list[Any]:
    allowed = _numpy_globals()
    try:
        from mmengine.logging import HistoryBuffer
    except ImportError:
        return allowed
    return allowed + [HistoryBuffer, (_history_buffer_method, 'builtins.getattr')]


@contextmanager
def _allowed() -> Iterator[None]:
    import torch
    with torch.serialization.safe_globals(_safe_globals()):
        yield


def unsafe_globals(path: str) -> list[str]:
    """The types in a checkpoint that loading it safely would refuse (statically: nothing runs).

    A checkpoint in torch's legacy (non-zip) format cannot be read this way: [] is returned, and
    ``load_checkpoint`` refuses it at load time instead.
    """
    import torch
    with _allowed():
        try:
            return sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path))
        except (ValueError, RuntimeError):   # legacy format, or not a checkpoint at all
            return []


def _refused_type(exc: pickle.UnpicklingError) -> str:
    """What torch's safe unpickler refused, out of its long message."""
    text = str(exc)
    for pattern in (r'GLOBAL (\S+)', r'(getattr\(.*\)) is not allowed', r'got (<class [^>]+>)',
                    r'WeightsUnpickler error: \s*(\S.*)'):
        match = re.search(pattern, text)
        if match:
            return match.group(1)
    return text.splitlines()[0]


def load_checkpoint(model: object, path: str, trust: bool = False) -> dict:
    """Load a checkpoint's weights into ``model`` (on CPU first) and return its ``meta`` dict.

    Raises:
        CheckpointRefused: it holds a type that is not allowed, and ``trust`` is False.
        ValueError: the file is not a checkpoint.
    """
    import torch
    from mmengine.runner import load_state_dict
    if trust:
        log.warning('loading %s in full (trust_checkpoint is set): a pickle can run code', path)
        checkpoint = torch.load(path, map_location='cpu', weights_only=False)
    else:
        try:
            with _allowed():
                checkpoint = torch.load(path, map_location='cpu', weights_only=True)
        except pickle.UnpicklingError as exc:
            raise CheckpointRefused(path, [_refused_type(exc)]) from None
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{path} is not a checkpoint: it holds a {type(checkpoint).__name__}')
    state = checkpoint.get('state_dict', checkpoint)
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    load_state_dict(model, state, strict=False, logger='current')
    meta = checkpoint.get('meta')
    return dict(meta) if isinstance(meta, dict) else {}
