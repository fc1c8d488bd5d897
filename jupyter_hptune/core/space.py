"""The search space: Real, Int and Choice dimensions and the Space that names them."""

from __future__ import annotations

import ast
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral
from numbers import Real as _RealNumber
from typing import Any

import numpy as np

__all__ = ["Choice", "Dimension", "Int", "Real", "Space", "SpaceError", "fits", "to_python"]


class SpaceError(ValueError):
    """A dimension, a space or a point that does not fit it."""


def to_python(value: Any) -> Any:
    """Return a numpy scalar as the matching Python scalar; other values unchanged."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return tuple(to_python(v) for v in value)
    return value


def _number(value: Any, what: str) -> float:
    value = to_python(value)
    if isinstance(value, bool) or not isinstance(value, _RealNumber):
        raise SpaceError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise SpaceError(f"{what} must be finite, got {value!r}")
    return value


def _integer(value: Any, what: str) -> int:
    value = to_python(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise SpaceError(f"{what} must be an integer, got {type(value).__name__} {value!r}")
    return int(value)


class _Range:
    """What Real and Int share: bounds checked and coerced once, a log flag, an optional default."""

    low: Any
    high: Any
    log: bool
    default: Any

    @staticmethod
    def _coerce(value: Any, what: str) -> Any:
        raise NotImplementedError

    def __post_init__(self) -> None:
        low, high = self._coerce(self.low, "low"), self._coerce(self.high, "high")
        if not low < high:
            raise SpaceError(f"low ({low!r}) must be less than high ({high!r})")
        if self.log and low <= 0:
            raise SpaceError(f"a log range needs low > 0, got low={low!r}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "log", bool(self.log))
        if self.default is not None:
            object.__setattr__(self, "default", self.validate(self.default, "default"))

    def validate(self, value: Any, what: str = "value") -> Any:
        """Return value coerced to the range's type and inside the range, or raise SpaceError."""
        value = self._coerce(value, what)
        if not self.low <= value <= self.high:
            raise SpaceError(f"{what} {value!r} is outside the range [{self.low!r}, {self.high!r}]")
        return value


@dataclass(frozen=True)
class Real(_Range):
    """A real-valued hyperparameter in [low, high], sampled on a log scale when log=True."""

    low: float
    high: float
    log: bool = False
    default: float | None = None

    kind = "real"
    _coerce = staticmethod(_number)

    @property
    def default_value(self) -> float:
        """The given default, or the middle of the range (geometric middle for a log range)."""
        if self.default is not None:
            return self.default
        if self.log:
            return math.sqrt(self.low * self.high)
        return (self.low + self.high) / 2

    def grid(self, points: int) -> list[float]:
        """Evenly spaced values across the range (log-spaced for a log range)."""
        if points == 1:
            return [self.default_value]
        spaced = np.geomspace if self.log else np.linspace
        values = [float(v) for v in spaced(self.low, self.high, points)]
        values[0], values[-1] = self.low, self.high
        return values

    def describe(self) -> str:
        """A short text such as 'real [0.0001, 0.1] log'."""
        return f"real [{self.low:g}, {self.high:g}]" + (" log" if self.log else "")


@dataclass(frozen=True)
class Int(_Range):
    """An integer hyperparameter in [low, high] (both included), log-scaled when log=True."""

    low: int
    high: int
    log: bool = False
    default: int | None = None

    kind = "int"
    _coerce = staticmethod(_integer)

    @property
    def default_value(self) -> int:
        """The given default, or the middle of the range (geometric middle for a log range)."""
        if self.default is not None:
            return self.default
        if self.log:
            return min(self.high, max(self.low, round(math.sqrt(self.low * self.high))))
        return (self.low + self.high) // 2

    def grid(self, points: int) -> list[int]:
        """Every integer in the range."""
        return list(range(self.low, self.high + 1))

    def describe(self) -> str:
        """A short text such as 'int [16, 256] log'."""
        return f"int [{self.low}, {self.high}]" + (" log" if self.log else "")


@dataclass(frozen=True)
class Choice:
    """A categorical hyperparameter: one of a list of options (str, int, float, bool, None, or tuples of them)."""

    options: Sequence[Any]
    default: Any = None

    kind = "choice"

    def __post_init__(self) -> None:
        if isinstance(self.options, str | bytes) or not isinstance(self.options, Sequence):
            raise SpaceError(f"options must be a list, got {type(self.options).__name__} {self.options!r}")
        options = tuple(to_python(o) for o in self.options)
        if not options:
            raise SpaceError("options must not be empty")
        for option in options:
            if not _is_literal(option):
                raise SpaceError(
                    f"option {option!r} can't be stored: use str, int, float, bool, None or tuples of them "
                    "(for classes or functions, choose among their names)"
                )
        for i, option in enumerate(options):
            if any(_same(option, other) for other in options[:i]):
                raise SpaceError(f"option {option!r} is listed twice")
        object.__setattr__(self, "options", options)
        if self.default is not None:
            object.__setattr__(self, "default", self.validate(self.default, "default"))

    @property
    def default_value(self) -> Any:
        """The given default, or the first option."""
        return self.options[0] if self.default is None else self.default

    def index(self, value: Any) -> int:
        """The position of value among the options, or raise SpaceError."""
        value = to_python(value)
        for i, option in enumerate(self.options):
            if _same(option, value):
                return i
        raise SpaceError(f"{value!r} is not one of the options {list(self.options)!r}")

    def validate(self, value: Any, what: str = "value") -> Any:
        """Return the option equal to value, or raise SpaceError."""
        try:
            return self.options[self.index(value)]
        except SpaceError:
            raise SpaceError(f"{what} {to_python(value)!r} is not one of the options {list(self.options)!r}") from None

    def grid(self, points: int) -> list[Any]:
        """Every option."""
        return list(self.options)

    def describe(self) -> str:
        """A short text such as "choice ['relu', 'tanh']"."""
        return f"choice {list(self.options)!r}"

    def __repr__(self) -> str:
        default = "" if self.default is None else f", default={self.default!r}"
        return f"Choice({list(self.options)!r}{default})"


Dimension = Real | Int | Choice


def fits(dim: Dimension, value: Any) -> bool:
    """Whether a value is one the dimension takes (inside its range, one of its options)."""
    try:
        dim.validate(value)
    except SpaceError:
        return False
    return True


def _is_literal(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(_is_literal(v) for v in value)
    if value is None or isinstance(value, bool | int | str):
        return True
    return isinstance(value, float) and math.isfinite(value)


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same type, so that 1, 1.0 and True are different options."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


class Space(Mapping[str, Dimension]):
    """An ordered mapping of parameter names to dimensions."""

    def __init__(self, dimensions: Mapping[str, Dimension]) -> None:
        if isinstance(dimensions, Space):
            dimensions = dict(dimensions.items())
        if not isinstance(dimensions, Mapping):
            raise SpaceError(f"a space is a dict of name -> Real/Int/Choice, got {type(dimensions).__name__}")
        for name, dim in dimensions.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise SpaceError(f"hyperparameter name {name!r} must be a Python identifier")
            if not isinstance(dim, Real | Int | Choice):
                raise SpaceError(
                    f"hyperparameter {name!r}: expected Real, Int or Choice, got {type(dim).__name__} {dim!r}"
                )
        self._dims: dict[str, Dimension] = dict(dimensions)

    def __getitem__(self, name: str) -> Dimension:
        return self._dims[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dims)

    def __len__(self) -> int:
        return len(self._dims)

    def __repr__(self) -> str:
        return f"Space({self._dims!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.differences(other) == []

    __hash__ = None  # type: ignore[assignment]

    def defaults(self) -> dict[str, Any]:
        """Each parameter at its default value."""
        return {name: dim.default_value for name, dim in self._dims.items()}

    def validate(
        self, params: Mapping[str, Any], *, fill_defaults: bool = False, partial: bool = False
    ) -> dict[str, Any]:
        """Return params checked against the space, as Python values, in the space's order.

        A parameter params leave out is an error, unless fill_defaults (it gets its default) or partial (it stays out).
        """
        unknown = [name for name in params if name not in self._dims]
        if unknown:
            raise SpaceError(f"unknown hyperparameter {unknown[0]!r}: the space declares {', '.join(self._dims)}")
        checked: dict[str, Any] = {}
        for name, dim in self._dims.items():
            if name in params:
                try:
                    checked[name] = dim.validate(params[name])
                except SpaceError as error:
                    raise SpaceError(f"hyperparameter {name!r}: {error}") from None
            elif fill_defaults:
                checked[name] = dim.default_value
            elif not partial:
                raise SpaceError(f"hyperparameter {name!r} has no value")
        return checked

    def includes(self, params: Mapping[str, Any], *, partial: bool = False) -> bool:
        """Whether params are a point of this space (a trial of a wider, earlier search may not be).

        With partial=True, params may leave out hyperparameters (those a trial did not use).
        """
        if partial:
            return all(name in self._dims and fits(self._dims[name], value) for name, value in params.items())
        try:
            self.validate(params)
        except SpaceError:
            return False
        return True

    def differences(self, other: Space) -> list[str]:
        """What changed from other to self, one sentence per parameter; defaults are not compared."""
        changes = []
        for name, dim in other.items():
            if name not in self._dims:
                changes.append(f"{name!r} was removed (it was {dim.describe()})")
            elif _shape(self._dims[name]) != _shape(dim):
                changes.append(f"{name!r} changed from {dim.describe()} to {self._dims[name].describe()}")
        changes += [f"{name!r} was added ({dim.describe()})" for name, dim in self._dims.items() if name not in other]
        return changes

    def to_json(self) -> list[dict[str, Any]]:
        """A JSON-ready description; choice options are stored as Python literals."""
        out = []
        for name, dim in self._dims.items():
            entry: dict[str, Any] = {"name": name, "kind": dim.kind}
            if isinstance(dim, Choice):
                entry["options"] = [repr(o) for o in dim.options]
                entry["default"] = None if dim.default is None else repr(dim.default)
            else:
                entry.update(low=dim.low, high=dim.high, log=dim.log, default=dim.default)
            out.append(entry)
        return out

    @classmethod
    def from_json(cls, data: list[dict[str, Any]]) -> Space:
        """Rebuild a space from to_json's output without evaluating any code."""
        dims: dict[str, Dimension] = {}
        for entry in data:
            if entry["kind"] == "choice":
                options = [ast.literal_eval(o) for o in entry["options"]]
                default = None if entry["default"] is None else ast.literal_eval(entry["default"])
                dims[entry["name"]] = Choice(options, default=default)
            else:
                kind = Real if entry["kind"] == "real" else Int
                dims[entry["name"]] = kind(entry["low"], entry["high"], log=entry["log"], default=entry["default"])
        return cls(dims)

    def encode(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Params as JSON-ready values: numbers as they are, choices as option indices."""
        return {
            name: dim.index(params[name]) if isinstance(dim, Choice) else params[name]
            for name, dim in self._dims.items()
            if name in params
        }

    def decode(self, encoded: Mapping[str, Any]) -> dict[str, Any]:
        """The inverse of encode."""
        return {
            name: dim.options[encoded[name]] if isinstance(dim, Choice) else dim.validate(encoded[name])
            for name, dim in self._dims.items()
            if name in encoded
        }


def _shape(dim: Dimension) -> tuple:
    if isinstance(dim, Choice):
        return ("choice", tuple(repr(o) for o in dim.options))
    return (dim.kind, dim.low, dim.high, dim.log)
