"""Grid search: every combination of the parameters' grid values that can occur, in a seeded order."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..asking import param_rng
from ..options import Option
from ..space import Dimension, Space, SpaceError, fits
from ..trial import Trial, TrialState
from .base import Plan, Sampler, check_seed

if TYPE_CHECKING:
    from ..study import Direction

__all__ = ["GRID_LIMIT", "GridSampler"]

GRID_LIMIT = 2**20

GRID_POINTS = Option("grid_points", "points per real range", default=5, label="points per real range")


class GridSampler(Sampler):
    """Every combination of options, integers and `points_per_range` values per real range, in a seeded order.

    When trials declare hyperparameters as they run, the grid is a tree: a trial's asks are its path, and for each
    name its point leaves out it takes one grid value while every other value becomes a point of its own (the
    path so far, then that value) for a later trial. The trials so cover the combinations that can occur, each
    once: n_layers in 1..3 with one width of two per layer is 2 + 4 + 8 trials, not 3 × 2 × 2 × 2.
    The plan is what is known before the search: the product of the hyperparameters every earlier trial used (all
    of the space's in a new study), in order, or a seeded shuffled subset when n_trials is smaller; a space whose
    trials ask for everything never branches and runs just that. A branch a trial opens runs next (depth first),
    or, when n_trials was given, goes to a seeded place among the points left, so that a subset stays a seeded
    choice. A point of the product that agrees with all a trial of this search used is skipped: a hyperparameter
    that trial did not use has nothing to vary. So the number of trials is learnt as they run: plan() counts what
    is known, replan() counts again after each trial (a search that does not re-plan runs the count first planned).
    """

    method = "grid"
    options = (GRID_POINTS,)

    def __init__(self, grid_points: int = 5, seed: int | None = None) -> None:
        self.points_per_range = GRID_POINTS.check(grid_points)  # the values a real range contributes to the grid
        self.seed = check_seed(seed)
        self._order: list[dict[str, Any]] = []  # the points of the search, branches included, in the order to run
        self._proposed: dict[int, dict[str, Any]] = {}  # the point each trial of the search was given
        self._first = 0  # the number of the search's first trial
        self._cap: int | None = None  # n_trials, when given
        self._beyond = 0  # the trials planned beyond the grid's points (queued ones)
        self._branched = False  # whether a trial of the search opened a branch
        self._product: tuple[Space, dict[str, list[Any]], Sequence[Any], set[Any]] = (Space({}), {}, range(0), set())
        self._read = 0  # how many of the product's indices, in the plan's order, were read
        self._unread = 0  # the product's points not yet tried that a subset left out

    def axes(self, space: Space) -> dict[str, list[Any]]:
        """The values of each parameter on the grid."""
        return {name: dim.grid(self.points_per_range) for name, dim in space.items()}

    def plan(
        self, space: Space, trials: Sequence[Trial], n_trials: int | None, queued: int, direction: Direction
    ) -> Plan:
        """The grid known so far, or a seeded shuffled subset when n_trials is smaller; points already tried are
        skipped."""
        planned = Space({name: dim for name, dim in space.items() if all(name in t.params for t in trials)})
        branching = [name for name in space if name not in planned]
        axes = self.axes(planned)
        sizes = [len(v) for v in axes.values()]
        total = math.prod(sizes)
        shape = " × ".join(f"{len(v)} {name}" for name, v in axes.items())
        if total > GRID_LIMIT:
            raise SpaceError(
                f"the grid has {total:,} points ({shape}), more than {GRID_LIMIT:,}: "
                "narrow the integer ranges, lower the points per real range, or use random or bayes"
            )
        done = {_key(planned, t.params) for t in trials if all(n in t.params and t.params[n] in axes[n] for n in axes)}
        left = total - len(done)
        wanted = left if n_trials is None else n_trials
        if axes:
            note = f"Grid of {total:,} points ({shape})"
        else:
            note = "Grid of the hyperparameters trials declare, growing as they do"
        if branching:
            note += f", and where trials use them {', '.join(branching)}"
        if done:
            note += f", {total - left:,} already tried"
        if wanted < left:
            note += f"; running a shuffled subset of {wanted:,} (seed {self.seed})"
            indices: Sequence[int] = np.random.default_rng(self.seed).permutation(total).tolist()
        else:
            if wanted > left and (branching or not axes):
                note += f"; up to {wanted:,} trials as they open branches, a seeded choice (seed {self.seed})"
            elif wanted > left:
                note += (
                    f"; running the {left:,} left, not {wanted:,}" if done else f"; running all of it, not {wanted:,}"
                )
            wanted, indices = left, range(total)
        self._product = (planned, axes, indices, done)
        self._read = 0
        self._order = []
        while len(self._order) < wanted and (point := self._next_of_product()) is not None:
            self._order.append(point)  # decode only as many points as will run
        self._unread = left - len(self._order)  # the product's points left out of a subset, not yet tried
        self._proposed, self._first, self._cap, self._branched = {}, len(trials), n_trials, False
        self._beyond = queued if n_trials is None else 0
        return Plan(wanted + self._beyond, note)

    def replan(self, space: Space, trials: Sequence[Trial]) -> Plan | None:
        """The number of trials once some have run: the branches they opened added, the points they cover taken off
        (None while no trial opened a branch or left out a hyperparameter of its point)."""
        mine = [t for t in trials if t.number >= self._first]
        if not self._branched and all(self._proposed.get(t.number, {}).keys() <= t.params.keys() for t in mine):
            return None
        taken = _taken(trials, self._first, self._proposed)
        ran = sum(t.number in self._proposed for t in mine)
        n = self._beyond + ran + sum(not taken(point) for point in self._order) + self._unread
        return Plan(max(len(mine), n if self._cap is None else min(n, self._cap)))  # never fewer than have started

    def ask(self, space: Space, trials: Sequence[Trial], number: int) -> dict[str, Any]:
        """The next point of the grid no trial of the search covers (a subset reads on into the product for one;
        failing that, a point no trial has run as such)."""
        taken = _taken(trials, self._first, self._proposed)
        found = next((point for point in self._order if not taken(point)), None)
        while found is None and self._unread and (point := self._next_of_product()) is not None:
            self._unread -= 1
            self._order.append(point)
            found = None if taken(point) else point
        if found is None:
            found = next((point for point in self._order if not taken(point, exact=True)), None)
        if found is None:
            raise SpaceError("every point of the grid has been tried")
        self._proposed[number] = found
        return {name: value for name, value in found.items() if name in space}

    def ask_param(
        self, name: str, dim: Dimension, trials: Sequence[Trial], number: int, asked: Mapping[str, Any]
    ) -> Any:
        """A grid value for a hyperparameter the trial's point leaves out; its other values become points of their
        own, the trial's path so far followed by each (not for a queued point's trial: its path may be off the
        grid)."""
        point = self._proposed.get(number, {})
        if name in point and fits(dim, point[name]):
            return point[name]
        values = dim.grid(self.points_per_range)
        rng = param_rng(self.seed, number, name)
        shuffled = self._cap is not None
        if shuffled:
            values = [values[int(i)] for i in rng.permutation(len(values))]
        if number not in self._proposed:
            return values[0]
        path = {**point, **asked}
        self._branched = self._branched or len(values) > 1
        for position, value in enumerate(values[1:]):
            at = int(rng.integers(len(self._order) + 1)) if shuffled else position
            self._order.insert(at, {**path, name: value})
        return values[0]

    def _next_of_product(self) -> dict[str, Any] | None:
        """The planned product's next point in the plan's order not tried before the search (None: none left)."""
        planned, axes, indices, done = self._product
        while self._read < len(indices):
            coords = np.unravel_index(int(indices[self._read]), [len(v) for v in axes.values()])
            self._read += 1
            point = {name: axes[name][int(i)] for name, i in zip(axes, coords)}
            if _key(planned, point) not in done:
                return point
        return None


def _taken(trials: Sequence[Trial], first: int, proposed: Mapping[int, Any]) -> Callable[..., bool]:
    """Whether a trial numbered from `first` covers a point: holds all of its names and agrees with it on them, or
    (a trial of a point the grid proposed that ran to its end, unless exact) agrees with it on every name both hold:
    it used none of the rest. A queued point's trial covers only the point of just the names it used."""
    groups: dict[tuple[frozenset[str], str], list[Mapping[str, Any]]] = {}
    for trial in trials:
        if trial.number >= first:
            ended = trial.state in (TrialState.COMPLETE, TrialState.PRUNED)
            how = ("loose" if ended else "exact") if trial.number in proposed else "queued"
            groups.setdefault((frozenset(trial.params), how), []).append(trial.params)
    seen: dict[tuple[frozenset[str], str, tuple[str, ...]], set[tuple[str, ...]]] = {}

    def taken(point: Mapping[str, Any], exact: bool = False) -> bool:
        names = frozenset(point)
        for (held, how), group in groups.items():
            if how == "queued" and names != held or (exact or how == "exact") and not names <= held:
                continue
            common = tuple(sorted(names & held))
            if (held, how, common) not in seen:
                seen[held, how, common] = {_values(params, common) for params in group}
            if _values(point, common) in seen[held, how, common]:
                return True
        return False

    return taken


def _values(params: Mapping[str, Any], names: Sequence[str]) -> tuple[str, ...]:
    return tuple(repr(params[name]) for name in names)


def _key(space: Space, params: Any) -> tuple | None:
    """A hashable key of a point; None for a point outside the space (a search may narrow the study's space)."""
    try:
        return tuple(repr(v) for v in space.encode(params).values())
    except SpaceError:
        return None
