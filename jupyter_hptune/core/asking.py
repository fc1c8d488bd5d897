"""The hyperparameters a running trial asks for, wherever its code declares them (define-by-run).

A trial's code may declare a hyperparameter anywhere it runs: in a loop, a branch, a comprehension, a function
defined elsewhere. Each declaration asks for a value: the one the search proposed for that name when it fits the
declaration, or one the search draws for it then (a name met for the first time, or one the proposal left out).
The trial's params are what it asked for, in the order it asked: a hyperparameter it did not use is absent.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .space import Dimension, SpaceError, fits

__all__ = ["Asking", "Declaration", "DeclarationError", "param_rng"]


class DeclarationError(SpaceError):
    """A hyperparameter declared in a way that cannot be searched."""


@dataclass(frozen=True)
class Declaration:
    """A hyperparameter's range or options, and where the code declares it (for messages)."""

    dim: Dimension
    where: str


def param_rng(seed: int, number: int, name: str) -> np.random.Generator:
    """The random generator of one hyperparameter of one trial: depends only on the seed, the trial number and the name."""
    return np.random.default_rng([seed, number, zlib.crc32(name.encode("utf-8"))])


Draw = Callable[[str, Dimension, Mapping[str, Any]], Any]  # (name, dimension, what the trial asked so far) -> value


class Asking:
    """What one trial asks for: each value from the proposal or drawn, each name checked against its declarations."""

    def __init__(
        self,
        proposal: Mapping[str, Any],
        draw: Draw,
        known: Callable[[str], Declaration | None] = lambda name: None,
        declare: Callable[[str, Declaration], None] = lambda name, declaration: None,
    ) -> None:
        self.proposal = dict(proposal)
        self.asked: dict[str, Any] = {}  # name -> value, in the order the trial asked
        self.declarations: dict[str, Declaration] = {}  # what this trial declared, for names new to the study too
        self._draw = draw
        self._known = known
        self._declare = declare

    def ask(self, name: str, dim: Dimension, where: str) -> Any:
        """The value of hyperparameter `name`, declared as dim at `where`; the same value each time the trial asks."""
        if not isinstance(name, str) or not name.isidentifier():
            raise DeclarationError(f"{where}: a hyperparameter's name must be a valid Python identifier, got {name!r}")
        seen = self.declarations.get(name) or self._known(name)
        if seen is not None and seen.dim != dim:
            raise DeclarationError(
                f"hyperparameter {name!r} is declared as {dim.describe()} at {where}, and as {seen.dim.describe()} "
                f"at {seen.where}: give the two different names (e.g. name=...) or the same range"
            )
        if name in self.asked:
            return self.asked[name]
        declaration = Declaration(dim, where)
        self._declare(name, declaration)  # a new name joins the study; a known one gets its place if it had none
        self.declarations[name] = declaration
        value = self.proposal.get(name, _MISSING)
        if value is _MISSING or not fits(dim, value):
            value = self._draw(name, dim, dict(self.asked))
        self.asked[name] = value
        return value


_MISSING = object()
