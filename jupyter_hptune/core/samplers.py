"""Search methods: each proposes the next point from the space and the trials so far."""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .space import Choice, Int, Space, SpaceError
from .trial import Trial

__all__ = [
    "METHODS",
    "METHOD_OPTIONS",
    "GridSampler",
    "ManualSampler",
    "Plan",
    "RandomSampler",
    "Sampler",
    "ask_batch",
    "make_sampler",
]

GRID_LIMIT = 2**20


@dataclass(frozen=True)
class Plan:
    """How many trials a search will run, and a note for the user about it."""

    n_trials: int
    note: str | None = None


class Sampler(Protocol):
    """A search method: plans a run, then proposes one point per trial."""

    method: str
    seed: int

    def plan(self, space: Space, trials: Sequence[Trial], n_trials: int | None, queued: int, direction: str) -> Plan:
        """Decide how many trials to run (n_trials None: the method's default) and prepare to propose them."""
        ...

    def ask(self, space: Space, trials: Sequence[Trial], number: int) -> dict[str, Any]:
        """The params of trial `number`, given every earlier trial."""
        ...

    # A sampler may also define ask_batch(space, trials, numbers) -> list of params: see ask_batch() below.


def ask_batch(sampler: Sampler, space: Space, trials: Sequence[Trial], numbers: Sequence[int]) -> list[dict[str, Any]]:
    """The params of several trials proposed at once (for free workers), given every earlier trial, running included.

    A sampler with its own ask_batch (bayes) is asked once; any other is asked trial by trial, each point it
    proposes counting as a running trial for the next (so a grid hands out distinct points).
    """
    own = getattr(sampler, "ask_batch", None)
    if own is not None:
        return own(space, trials, numbers)
    seen, points = list(trials), []
    for number in numbers:
        params = sampler.ask(space, seen, number)
        points.append(params)
        seen.append(Trial(number=number, params=params))
    return points


def check_seed(seed: int | None) -> int:
    """The seed as an int in [0, 2**32), or a fresh one (recorded, so an unseeded search can be repeated)."""
    if seed is None:
        return secrets.randbits(31)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**32:
        raise SpaceError(f"seed must be an integer from 0 to 2**32 - 1, got {seed!r}")
    return int(seed)


def trial_rng(seed: int, number: int) -> np.random.Generator:
    """The random generator of one trial: depends only on the seed and the trial number."""
    return np.random.default_rng([seed, number])


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


def _default_trials(n_trials: int | None) -> int:
    return 20 if n_trials is None else n_trials


class RandomSampler:
    """Independent uniform draws (log-uniform for log ranges), reproducible per seed and trial number."""

    method = "random"

    def __init__(self, seed: int | None = None) -> None:
        self.seed = check_seed(seed)

    def plan(self, space: Space, trials: Sequence[Trial], n_trials: int | None, queued: int, direction: str) -> Plan:
        """Run n_trials (20 by default)."""
        n = _default_trials(n_trials)
        return Plan(n, f"Random search: {n} trials (seed {self.seed})")

    def ask(self, space: Space, trials: Sequence[Trial], number: int) -> dict[str, Any]:
        """A random point."""
        return sample_point(space, trial_rng(self.seed, number))


class ManualSampler:
    """Only the points the user queued; with none, one trial at the declared defaults."""

    method = "manual"

    def __init__(self, seed: int | None = None) -> None:
        self.seed = check_seed(seed)

    def plan(self, space: Space, trials: Sequence[Trial], n_trials: int | None, queued: int, direction: str) -> Plan:
        """One trial per queued point, or one at the defaults."""
        n = max(queued, 1) if n_trials is None else n_trials
        return Plan(n, f"Manual: {n} point{'s' if n > 1 else ''}" + ("" if queued else " at the declared defaults"))

    def ask(self, space: Space, trials: Sequence[Trial], number: int) -> dict[str, Any]:
        """The declared defaults."""
        return space.defaults()


class GridSampler:
    """Every combination of options, integers and `points` values per real range, in a seeded order."""

    method = "grid"

    def __init__(self, grid_points: int = 5, seed: int | None = None) -> None:
        if isinstance(grid_points, bool) or not isinstance(grid_points, int) or grid_points < 1:
            raise SpaceError(f"grid_points (points per real range) must be a positive integer, got {grid_points!r}")
        self.points = grid_points
        self.seed = check_seed(seed)
        self._order: list[dict[str, Any]] = []

    def axes(self, space: Space) -> dict[str, list[Any]]:
        """The values of each parameter on the grid."""
        return {name: dim.grid(self.points) for name, dim in space.items()}

    def plan(self, space: Space, trials: Sequence[Trial], n_trials: int | None, queued: int, direction: str) -> Plan:
        """The whole grid, or a seeded shuffled subset when n_trials is smaller; points already tried are skipped."""
        axes = self.axes(space)
        sizes = [len(v) for v in axes.values()]
        total = math.prod(sizes)
        shape = " × ".join(f"{len(v)} {name}" for name, v in axes.items())
        if total > GRID_LIMIT:
            raise SpaceError(
                f"the grid has {total:,} points ({shape}), more than {GRID_LIMIT:,}: "
                "narrow the integer ranges, lower the points per real range, or use random or bayes"
            )
        done = {_key(space, t.params) for t in trials if all(t.params[n] in axes[n] for n in axes)}
        left = total - len(done)
        wanted = left if n_trials is None else n_trials
        note = f"Grid of {total:,} points ({shape})"
        if done:
            note += f", {total - left:,} already tried"
        if wanted < left:
            note += f"; running a shuffled subset of {wanted:,} (seed {self.seed})"
            indices: Sequence[int] = np.random.default_rng(self.seed).permutation(total)
        else:
            if wanted > left:
                note += (
                    f"; running the {left:,} left, not {wanted:,}" if done else f"; running all of it, not {wanted:,}"
                )
            wanted, indices = left, range(total)
        self._order = []
        for index in indices:  # decode only as many points as will run
            if len(self._order) == wanted:
                break
            coords = np.unravel_index(int(index), sizes)
            point = {name: axes[name][int(i)] for name, i in zip(axes, coords)}
            if _key(space, point) not in done:
                self._order.append(point)
        return Plan(wanted + queued if n_trials is None else wanted, note)

    def ask(self, space: Space, trials: Sequence[Trial], number: int) -> dict[str, Any]:
        """The next grid point not yet tried."""
        done = {_key(space, t.params) for t in trials}
        for point in self._order:
            if _key(space, point) not in done:
                return dict(point)
        raise SpaceError("every point of the grid has been tried")


def _key(space: Space, params: Any) -> tuple | None:
    """A hashable key of a point; None for a point outside the space (a search may narrow the study's space)."""
    try:
        return tuple(repr(v) for v in space.encode(params).values())
    except SpaceError:
        return None


def _bayes(**options: Any) -> Sampler:
    from .bayes import BayesSampler

    return BayesSampler(**options)


METHODS = {
    "manual": ManualSampler,
    "grid": GridSampler,
    "random": RandomSampler,
    "bayes": _bayes,
}

METHOD_OPTIONS = {"manual": (), "grid": ("grid_points",), "random": (), "bayes": ("acq", "initial_points")}


def make_sampler(method: str, seed: int | None = None, **options: Any) -> Sampler:
    """The sampler for a method name, with that method's options (None values mean the method's default)."""
    if method not in METHODS:
        raise SpaceError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")
    options = {k: v for k, v in options.items() if v is not None}
    unknown = sorted(set(options) - set(METHOD_OPTIONS[method]))
    if unknown:
        allowed = ", ".join(METHOD_OPTIONS[method]) or "none"
        raise SpaceError(f"option {unknown[0]!r} does not apply to method {method!r} (its options: {allowed})")
    return METHODS[method](seed=seed, **options)
