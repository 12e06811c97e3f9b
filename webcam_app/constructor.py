"""Every node's constructor checks its arguments against the declared parameter types, however
the node is made (the graph builder, NodeHarness, the Python API, or ``MyNode(size=3)``).

``Node.__init_subclass__`` wraps each ``__init__`` with :func:`checked_init`. The outermost
constructor of a call checks every argument, its bases' forwarded ``**kwargs`` included, and
converts them (a list to a tuple, an int to a float); the bases' own constructors then run
unchecked. A key that no constructor of the chain declares is refused with a did-you-mean,
unless the class declares ``takes_any_key = True``.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from .config import did_you_mean
from .params import Param, convert_params, declared_params, node_params

__all__ = ['check_arguments', 'checked_init']


def checked_init(init: Callable[..., None]) -> Callable[..., None]:
    """``init``, checking its arguments first when it is the constructor the call began with."""
    if getattr(init, '__node_checked__', False):
        return init

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if type(self).__init__ is __init__:     # the outermost constructor: it checks for all
            args, kwargs = check_arguments(type(self), init, args, kwargs)
        init(self, *args, **kwargs)

    __init__.__node_checked__ = True  # type: ignore[attr-defined]
    return __init__


def check_arguments(cls: type, init: Callable[..., None], args: tuple, kwargs: dict[str, Any]
                    ) -> tuple[tuple, dict[str, Any]]:
    """``args`` and ``kwargs`` of ``cls(...)``, checked against the declared types and
    converted. Raises TypeError for a key no constructor declares, ValueError for a value that
    does not fit its type."""
    declared = node_params(cls)     # None: the class takes any key
    params = declared if declared is not None else declared_params(cls)
    if declared is not None:
        for key in kwargs:
            if key not in declared:
                raise TypeError(_unknown(cls, key, declared))
    try:
        bound = inspect.signature(inspect.unwrap(init)).bind(None, *args, **kwargs)
    except TypeError as exc:        # a missing or extra positional argument
        raise TypeError(f'{cls.__name__}: {exc}') from None
    values = _named(bound)
    problems = convert_params(params, values)
    if problems:
        raise ValueError('; '.join(f'{cls.__name__}.{key} {exc}' for key, exc in problems))
    for name, value in values.items():
        _set(bound, name, value)
    return bound.args[1:], bound.kwargs


def _unknown(cls: type, key: str, declared: dict[str, Param]) -> str:
    hint = did_you_mean(key, declared)
    names = ', '.join(declared) or 'none'
    return (f'{cls.__name__} has no parameter {key!r}; fix: '
            + (hint or f'its parameters are: {names}'))


def _named(bound: inspect.BoundArguments) -> dict[str, Any]:
    """Every argument by its name, those collected by ``**kwargs`` included."""
    values: dict[str, Any] = {}
    for name, value in list(bound.arguments.items())[1:]:
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            values.update(value)
        elif kind is not inspect.Parameter.VAR_POSITIONAL:
            values[name] = value
    return values


def _set(bound: inspect.BoundArguments, name: str, value: Any) -> None:
    if name in bound.arguments and bound.signature.parameters[name].kind not in (
            inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL):
        bound.arguments[name] = value
        return
    for param in bound.signature.parameters.values():
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            bound.arguments[param.name][name] = value
