"""`hp`: declaring hyperparameters in a notebook cell.

Outside a search each call returns its default, so the cell runs as ordinary code; inside a `%%tune`
search it returns the value the trial is testing. hp.report and hp.should_stop tell the search how a trial
progresses (outside a search they do nothing).
"""

from __future__ import annotations

import builtins
import contextlib
import contextvars
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .core.asking import DeclarationError
from .core.pruners import current_trial
from .core.space import Choice, Dimension, Int, Real, SpaceError
from .declarations import declared_name, place

__all__ = ["DeclarationError", "HyperParameters", "declaring", "hp", "trial_params"]


class _Declaring:
    """The context in which hp calls return their dimension, to build the search space."""


class _Fixed:
    """The context in which hp calls return given values (hp.fixed): a name not given gets its default."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = dict(params)


_DECLARING = _Declaring()
_current: contextvars.ContextVar[Mapping[str, Any] | _Declaring | _Fixed | None] = contextvars.ContextVar(
    "jupyter_hptune_trial", default=None
)


@contextlib.contextmanager
def trial_params(params: Mapping[str, Any]) -> Iterator[None]:
    """Make hp calls return these params for the duration of the block."""
    token = _current.set(params)
    try:
        yield
    finally:
        _current.reset(token)


@contextlib.contextmanager
def declaring() -> Iterator[None]:
    """Make hp calls return their dimension (Real, Int or Choice) for the duration of the block."""
    token = _current.set(_DECLARING)
    try:
        yield
    finally:
        _current.reset(token)


class HyperParameters:
    """The `hp` namespace: hp.real, hp.int and hp.choice; hp.report and hp.should_stop."""

    def real(
        self, low: float, high: float, log: bool = False, default: float | None = None, *, name: str | None = None
    ) -> Any:
        """A real number in [low, high], searched on a log scale when log=True."""
        return self._value(name, "real", lambda: Real(low, high, log=log, default=default))

    def int(
        self, low: int, high: int, log: bool = False, default: int | None = None, *, name: str | None = None
    ) -> Any:
        """An integer in [low, high], both included, searched on a log scale when log=True."""
        return self._value(name, "int", lambda: Int(low, high, log=log, default=default))

    def choice(self, options: Sequence[Any], default: Any = None, *, name: str | None = None) -> Any:
        """One of the options (str, int, float, bool, None, or tuples of them)."""
        return self._value(name, "choice", lambda: Choice(options, default=default))

    @contextlib.contextmanager
    def fixed(self, params: Mapping[str, Any]) -> Iterator[None]:
        """Run code outside a search with these values: each hp call in the block returns params[name], or its
        default for a name params lack (e.g. `with hp.fixed(study.best_params): model = build()`)."""
        token = _current.set(_Fixed(params))
        try:
            yield
        finally:
            _current.reset(token)

    def report(self, step: builtins.int, value: float) -> None:
        """Record the trial's score at a step (e.g. the validation score after each epoch); raises if it is pruned.

        The exception ends the trial, which is recorded as pruned with this value: the cell need not catch it.
        Outside a search, nothing happens.
        """
        running = current_trial()
        if running is not None:
            running.report(step, value)

    def should_stop(self) -> bool:
        """Whether the trial should end now (no improvement for --patience steps, or --max-steps reached); False outside a search."""
        running = current_trial()
        return running is not None and running.should_stop()

    @staticmethod
    def _value(name: str | None, kind: str, build: Any) -> Any:
        try:
            dim: Dimension = build()
        except SpaceError as error:
            label = f"hyperparameter {name!r}" if name else f"hp.{kind}"
            raise DeclarationError(f"{label}: {error}") from None
        current = _current.get()
        if isinstance(current, _Declaring):
            return dim
        running = current_trial()
        if running is None and current is None:
            return dim.default_value  # outside a search the code runs as it is written
        frame = sys._getframe(2)  # the code that called hp.real / hp.int / hp.choice
        where = place(frame)
        if name is None:
            name = declared_name(frame, kind)
        if isinstance(current, _Fixed):
            if name is None or name not in current.params:
                return dim.default_value
            try:
                return dim.validate(current.params[name])
            except SpaceError as error:
                raise DeclarationError(f"{where}: hyperparameter {name!r}: {error}") from None
        if name is None:
            raise DeclarationError(
                f"{where}: hp.{kind}(...) needs a name here: assign it to a variable (`x = hp.{kind}(...)`) or "
                f'pass one, e.g. hp.{kind}(..., name=f"units_{{i}}") in a loop'
            )
        if running is not None:
            return running.ask(name, dim, where)
        assert current is not None
        if name not in current:
            raise DeclarationError(f"{where}: hyperparameter {name!r} is not one of this trial's params")
        return current[name]

    def __repr__(self) -> str:
        return (
            "<jupyter_hptune.hp: hp.real(low, high, log=False), hp.int(low, high, log=False), hp.choice(options), "
            "hp.report(step, value), hp.should_stop()>"
        )


hp = HyperParameters()
