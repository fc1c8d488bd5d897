"""Grid search: every combination of the parameters' grid values, in a seeded order."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..options import Option
from ..space import Dimension, Space, SpaceError
from ..trial import Trial
from .base import Plan, Sampler, check_seed

if TYPE_CHECKING:
    from ..study import Direction

__all__ = ["GRID_LIMIT", "GridSampler"]

GRID_LIMIT = 2**20

GRID_POINTS = Option("grid_points", "points per real range", default=5, label="points per real range")


class GridSampler(Sampler):
    """Every combination of options, integers and `points_per_range` values per real range, in a seeded order."""

    method = "grid"
    options = (GRID_POINTS,)

    def __init__(self, grid_points: int = 5, seed: int | None = None) -> None:
        self.points_per_range = GRID_POINTS.check(grid_points)  # the values a real range contributes to the grid
        self.seed = check_seed(seed)
        self._order: list[dict[str, Any]] = []

    def axes(self, space: Space) -> dict[str, list[Any]]:
        """The values of each parameter on the grid."""
        return {name: dim.grid(self.points_per_range) for name, dim in space.items()}

    def plan(
        self, space: Space, trials: Sequence[Trial], n_trials: int | None, queued: int, direction: Direction
    ) -> Plan:
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
            indices: Iterable[Any] = np.random.default_rng(self.seed).permutation(total)
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

    def ask_param(
        self, name: str, dim: Dimension, trials: Sequence[Trial], number: int, asked: Mapping[str, Any]
    ) -> Any:
        """A grid searches the hyperparameters the cell declares before its first trial, not one met in a trial."""
        raise SpaceError(
            f"the grid method searches the hyperparameters known before the search starts; {name!r} was first "
            "declared during a trial (in a loop, a branch or a function): use random or bayes, or declare it "
            "at the top of the cell"
        )


def _key(space: Space, params: Any) -> tuple | None:
    """A hashable key of a point; None for a point outside the space (a search may narrow the study's space)."""
    try:
        return tuple(repr(v) for v in space.encode(params).values())
    except SpaceError:
        return None
