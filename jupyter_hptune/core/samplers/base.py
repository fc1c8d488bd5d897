"""The Sampler base class every search method derives from, and what the methods share."""

from __future__ import annotations

import abc
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..asking import param_rng
from ..options import SEED, Option
from ..space import Choice, Dimension, Int, Space
from ..trial import Trial

if TYPE_CHECKING:
    from ..study import Direction

__all__ = ["Plan", "Sampler", "ask_batch", "check_seed", "sample_point", "trial_rng"]


@dataclass(frozen=True)
class Plan:
    """How many trials a search will run, and a note for the user about it."""

    n_trials: int
    note: str | None = None


class Sampler(abc.ABC):
    """A search method: plans a run, then proposes one point per trial.

    A method must define plan() and ask(); ask_batch() and learn() have defaults that a method with a model of
    the score (bayes) overrides.
    """

    method: str
    seed: int
    options: ClassVar[
        tuple[Option, ...]
    ] = ()  # the method's own options, as tune(), the magic and the panel offer them

    @abc.abstractmethod
    def plan(
        self, space: Space, trials: Sequence[Trial], n_trials: int | None, queued: int, direction: Direction
    ) -> Plan:
        """Decide how many trials to run (n_trials None: the method's default) and prepare to propose them."""

    @abc.abstractmethod
    def ask(self, space: Space, trials: Sequence[Trial], number: int) -> dict[str, Any]:
        """The params of trial `number`, given every earlier trial."""

    def ask_batch(self, space: Space, trials: Sequence[Trial], numbers: Sequence[int]) -> list[dict[str, Any]]:
        """The params of several trials proposed at once (for free workers), given every earlier trial, running included.

        By default the method is asked trial by trial, each point it proposes counting as a running trial for the
        next (so a grid hands out distinct points).
        """
        seen, points = list(trials), []
        for number in numbers:
            params = self.ask(space, seen, number)
            points.append(params)
            seen.append(Trial(number=number, params=params))
        return points

    def ask_param(
        self, name: str, dim: Dimension, trials: Sequence[Trial], number: int, asked: Mapping[str, Any]
    ) -> Any:
        """A value for a hyperparameter a trial asks for that its proposal does not hold (a name met for the first
        time, or one that only some trials use), given what the trial asked so far: by default drawn at random from
        the seed, the trial number and the name."""
        return draw_param(self.seed, number, name, dim)

    def replan(self, space: Space, trials: Sequence[Trial]) -> Plan | None:
        """The plan again once trials have run, for a method that learns its size as they do (a grid over the
        branches trials open); None: the plan stands."""
        return None

    def learn(self, space: Space, trials: Sequence[Trial]) -> None:  # noqa: B027 (an optional hook: no-op by default)
        """Take in every finished trial before the next ask (a method without a model has nothing to learn)."""


def ask_batch(sampler: Sampler, space: Space, trials: Sequence[Trial], numbers: Sequence[int]) -> list[dict[str, Any]]:
    """The params of several trials proposed at once (for free workers): the sampler's ask_batch()."""
    return sampler.ask_batch(space, trials, numbers)


def check_seed(seed: int | None) -> int:
    """The seed as an int in [0, 2**32), or a fresh one (recorded, so an unseeded search can be repeated)."""
    if seed is None:
        return secrets.randbits(31)
    return int(SEED.check(seed))


def trial_rng(seed: int, number: int) -> np.random.Generator:
    """The random generator of one trial: depends only on the seed and the trial number."""
    return np.random.default_rng([seed, number])


def draw_param(seed: int, number: int, name: str, dim: Dimension) -> Any:
    """A value of one hyperparameter drawn at random from the seed, the trial number and its name."""
    return sample_point(Space({name: dim}), param_rng(seed, number, name))[name]


def sample_point(space: Space, rng: np.random.Generator) -> dict[str, Any]:
    """One point drawn at random: log-aware, integers uniform over their range."""
    params: dict[str, Any] = {}
    for name, dim in space.items():
        if isinstance(dim, Choice):
            params[name] = dim.options[int(rng.integers(len(dim.options)))]
        elif isinstance(dim, Int):
            if dim.log:
                x = math.exp(rng.uniform(math.log(dim.low - 0.5 + 1e-9), math.log(dim.high + 0.5)))
                params[name] = min(dim.high, max(dim.low, round(x)))
            else:
                params[name] = int(rng.integers(dim.low, dim.high + 1))
        elif dim.log:
            params[name] = min(dim.high, max(dim.low, math.exp(rng.uniform(math.log(dim.low), math.log(dim.high)))))
        else:
            params[name] = float(rng.uniform(dim.low, dim.high))
    return params
