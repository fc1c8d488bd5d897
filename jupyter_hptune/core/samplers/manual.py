"""Manual search: only the points the user queued."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..space import Dimension, Space
from ..trial import Trial
from .base import Plan, Sampler, check_seed

if TYPE_CHECKING:
    from ..study import Direction

__all__ = ["ManualSampler"]


class ManualSampler(Sampler):
    """Only the points the user queued; with none, one trial at the declared defaults."""

    method = "manual"

    def __init__(self, seed: int | None = None) -> None:
        self.seed = check_seed(seed)

    def plan(
        self, space: Space, trials: Sequence[Trial], n_trials: int | None, queued: int, direction: Direction
    ) -> Plan:
        """One trial per queued point, or one at the defaults."""
        n = max(queued, 1) if n_trials is None else n_trials
        return Plan(n, f"Manual: {n} point{'s' if n > 1 else ''}" + ("" if queued else " at the declared defaults"))

    def ask(self, space: Space, trials: Sequence[Trial], number: int) -> dict[str, Any]:
        """The declared defaults."""
        return space.defaults()

    def ask_param(
        self, name: str, dim: Dimension, trials: Sequence[Trial], number: int, asked: Mapping[str, Any]
    ) -> Any:
        """A hyperparameter the point leaves out: its declared default."""
        return dim.default_value
