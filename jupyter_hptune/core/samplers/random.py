"""Random search: independent draws, reproducible per seed and trial number."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..space import Space
from ..trial import Trial
from .base import Plan, Sampler, check_seed, sample_point, trial_rng

if TYPE_CHECKING:
    from ..study import Direction

__all__ = ["RandomSampler"]


class RandomSampler(Sampler):
    """Independent uniform draws (log-uniform for log ranges), reproducible per seed and trial number."""

    method = "random"

    def __init__(self, seed: int | None = None) -> None:
        self.seed = check_seed(seed)

    def plan(
        self, space: Space, trials: Sequence[Trial], n_trials: int | None, queued: int, direction: Direction
    ) -> Plan:
        """Run n_trials (20 by default)."""
        n = 20 if n_trials is None else n_trials
        return Plan(n, f"Random search: {n} trials (seed {self.seed})")

    def ask(self, space: Space, trials: Sequence[Trial], number: int) -> dict[str, Any]:
        """A random point."""
        return sample_point(space, trial_rng(self.seed, number))
