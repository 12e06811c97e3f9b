"""Declared parameter types: a node's constructor type hints are the schema of its YAML keys.

Supported hints: ``int``, ``float`` (an int is accepted), ``bool``, ``str``, ``Literal[...]``,
``X | None``, unions, ``list[X]``, ``tuple[X, ...]``, ``tuple[X, Y]``, ``Sequence[X]``,
``dict[K, V]``, ``Any``, ``Annotated[X, Range(...)]`` for bounds and ``Annotated[str, Match(...)]``
for a pattern. A parameter without a hint
takes any value. Values are checked once, before any thread starts, and converted where YAML
cannot say it (a list for a tuple, an int for a float).
"""
from __future__ import annotations

import collections.abc
import inspect
import re
import sys
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

__all__ = ['Byte', 'Color', 'Doc', 'Match', 'NonEmpty', 'NonNegative', 'NonNegativeFloat', 'Param',
           'ParamError', 'Positive', 'PositiveFloat', 'Range', 'Threads', 'Unit', 'check_params',
           'check_value', 'convert_params', 'declared_params', 'describe', 'node_params']


class ParamError(ValueError):
    """A value does not fit its declared type; ``expected`` says what would."""

    def __init__(self, expected: str, value: Any) -> None:
        self.expected, self.value = expected, value
        super().__init__(f'must be {expected}, but got {value!r}')


@dataclass(frozen=True)
class Range:
    """Bounds of a number: ``Annotated[float, Range(0, 1)]``; ``min_open``/``max_open`` exclude
    the bound itself (``Range(0, 1, max_open=True)`` is [0, 1))."""

    min: float | None = None
    max: float | None = None
    min_open: bool = False
    max_open: bool = False

    def __contains__(self, value: float) -> bool:
        lo, hi = self.min, self.max
        if lo is not None and (value <= lo if self.min_open else value < lo):
            return False
        return hi is None or (value < hi if self.max_open else value <= hi)

    def __str__(self) -> str:
        if self.min is not None and self.max is not None:
            return (f'in {"(" if self.min_open else "["}{self.min}, {self.max}'
                    f'{")" if self.max_open else "]"}')
        if self.min is not None:
            return f'{">" if self.min_open else ">="} {self.min}'
        return f'{"<" if self.max_open else "<="} {self.max}' if self.max is not None else 'any'


@dataclass(frozen=True)
class Doc:
    """Replaces the generated description of an annotated type, e.g. for a color."""

    text: str


@dataclass(frozen=True)
class Match:
    """A str that matches a regular expression in full: ``Annotated[str, Match('.{4}')]``."""

    pattern: str

    def __contains__(self, value: str) -> bool:
        return re.fullmatch(self.pattern, value, re.DOTALL) is not None

    def __str__(self) -> str:
        return f'matching {self.pattern}'


#: Reusable parameter types.
Unit = Annotated[float, Range(0, 1)]
Positive = Annotated[int, Range(1)]
NonNegative = Annotated[int, Range(0)]
PositiveFloat = Annotated[float, Range(0, min_open=True)]
NonNegativeFloat = Annotated[float, Range(0)]
Byte = Annotated[int, Range(0, 255)]
NonEmpty = Annotated[str, Match('.+'), Doc('a non-empty string')]
Color = Annotated[tuple[Byte, Byte, Byte], Doc('a color: 3 ints from 0 to 255 (B, G, R)')]
Threads = Annotated[int, Range(1)] | None

_NAMES = {int: 'int', float: 'float', bool: 'bool', str: 'str',
          type(None): 'null'}


def describe(hint: Any) -> str:
    """What a hint accepts, in words: ``int >= 1 or null``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is inspect.Parameter.empty:
        return 'any value'
    if origin is Annotated:
        docs = [m.text for m in hint.__metadata__ if isinstance(m, Doc)]
        if docs:
            return docs[0]
        ranges = ' '.join(str(m) for m in hint.__metadata__ if isinstance(m, (Range, Match)))
        return f'{describe(args[0])} {ranges}'.strip()
    if origin is Literal:
        return 'one of ' + ', '.join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return ' or '.join(describe(a) for a in args)
    if origin is tuple and args and args[-1] is not Ellipsis:
        return f'a list of {len(args)}: [' + ', '.join(describe(a) for a in args) + ']'
    if origin in (list, tuple, collections.abc.Sequence) or hint in (list, tuple):
        return f'a list of {describe(args[0])}' if args else 'a list'
    if origin is collections.abc.Callable:
        return 'a callable'
    if origin in (dict, collections.abc.Mapping) or hint is dict:
        return 'a mapping' + (f' of {describe(args[0])} to {describe(args[1])}' if args else '')
    return _NAMES.get(hint, getattr(hint, '__name__', str(hint)))


def check_value(hint: Any, value: Any) -> Any:
    """``value`` if it fits ``hint`` (converted: list -> tuple, int -> float); else ParamError."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is inspect.Parameter.empty or isinstance(hint, (str, typing.TypeVar)):
        return value
    try:
        return _check(hint, origin, args, value)
    except ParamError:
        raise ParamError(describe(hint), value) from None


def _check(hint: Any, origin: Any, args: tuple, value: Any) -> Any:
    if origin is Annotated:
        value = check_value(args[0], value)
        for bound in (m for m in hint.__metadata__ if isinstance(m, (Range, Match))):
            if value not in bound:
                raise ParamError('', value)
        return value
    if origin is Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        raise ParamError('', value)
    if origin in (typing.Union, types.UnionType):
        for arg in sorted(args, key=lambda a: a is float):   # int before float: keep 3 an int
            try:
                return check_value(arg, value)
            except ParamError:
                pass
        raise ParamError('', value)
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ParamError('', value)
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ParamError('', value)
    if hint is type(None) or hint is None:
        if value is None:
            return None
        raise ParamError('', value)
    if origin is tuple or hint is tuple or origin in (list, collections.abc.Sequence) \
            or hint is list:
        return _check_sequence(hint, origin, args, value)
    if origin is collections.abc.Callable:
        if not callable(value):
            raise ParamError('', value)
        return value
    if origin in (dict, collections.abc.Mapping) or hint is dict:
        if not isinstance(value, dict):
            raise ParamError('', value)
        if not args:
            return value
        return {check_value(args[0], k): check_value(args[1], v) for k, v in value.items()}
    if isinstance(hint, type) and not isinstance(value, hint):
        raise ParamError('', value)
    return value


def _check_sequence(hint: Any, origin: Any, args: tuple, value: Any) -> Any:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ParamError('', value)
    make = list if (origin or hint) is list else tuple
    if not args:
        return make(value)
    if (origin or hint) is tuple and args[-1] is not Ellipsis:
        if len(value) != len(args):
            raise ParamError('', value)
        return make(check_value(a, v) for a, v in zip(args, value))
    return make(check_value(args[0], v) for v in value)


@dataclass(frozen=True)
class Param:
    """One YAML parameter of a node type: its name, declared type and default."""

    name: str
    hint: Any = Any
    default: Any = inspect.Parameter.empty
    empty: ClassVar[Any] = inspect.Parameter.empty   # as on inspect.Parameter

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    def __str__(self) -> str:
        text = f'{self.name}: {describe(self.hint)}'
        return text if self.required else f'{text} = {self.default!r}'


def _hints(func: Any) -> dict[str, Any]:
    """The evaluated hints of ``func``; a hint that cannot be evaluated counts as Any."""
    try:
        return typing.get_type_hints(func, include_extras=True)
    except Exception:   # one bad forward reference: evaluate the others one by one
        module = sys.modules.get(getattr(func, '__module__', ''), None)
        scope = dict(vars(module)) if module else {}
        hints = {}
        for name, raw in getattr(func, '__annotations__', {}).items():
            try:
                hints[name] = eval(raw, scope) if isinstance(raw, str) else raw
            except Exception:
                hints[name] = Any
        return hints


def _own(init: Any) -> tuple[dict[str, Param], bool]:
    """The named parameters of one constructor, and whether it also takes ``**kwargs``."""
    init = inspect.unwrap(init)
    hints = _hints(init)
    params, more = {}, False
    for p in list(inspect.signature(init).parameters.values())[1:]:
        more = more or p.kind is p.VAR_KEYWORD
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            params[p.name] = Param(p.name, hints.get(p.name, Any), p.default)
    return params, more


def declared_params(cls: type) -> dict[str, Param]:
    """The parameters of ``cls``'s constructor and, where it forwards ``**kwargs`` to its base,
    the base's, and so on up the MRO (the nearer class's declaration wins)."""
    params: dict[str, Param] = {}
    for klass in cls.__mro__:
        init = vars(klass).get('__init__')
        if init is None:
            continue
        if klass is object:
            break
        own, more = _own(init)
        for name, param in own.items():
            params.setdefault(name, param)
        if not more:
            break
    return params


def node_params(cls: type) -> dict[str, Param] | None:
    """The declared parameters of a node type: its constructor's, with those of the bases it
    forwards ``**kwargs`` to; None if the class declares ``takes_any_key = True`` (then any key
    goes, and the declared ones are still checked)."""
    return None if getattr(cls, 'takes_any_key', False) else declared_params(cls)


def convert_params(declared: dict[str, Param], params: dict[str, Any]
                   ) -> list[tuple[str, ParamError]]:
    """Check each value of ``params`` against its declared type and convert it in place; the
    values that do not fit are returned, with why. A value equal to a None default passes."""
    errors = []
    for key, value in params.items():
        param = declared.get(key)
        if param is None or (value is None and param.default is None):
            continue
        try:
            params[key] = check_value(param.hint, value)
        except ParamError as exc:
            errors.append((key, exc))
    return errors


def check_params(cls: type, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` checked against ``cls``'s declared types and converted, as the graph builder
    does; raises ValueError naming the first parameter that does not fit."""
    out = dict(params)
    for key, exc in convert_params(declared_params(cls), out)[:1]:
        raise ValueError(f'{key} {exc}')
    return out
