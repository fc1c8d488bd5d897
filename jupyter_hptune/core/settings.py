"""What one search runs: its method and the method's options, trials, direction, seed, early stopping, workers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .options import SEARCH_OPTIONS, STOPPING, Option, OptionError, option_named
from .samplers import METHOD, Sampler, check_method_options, make_sampler
from .space import Space
from .study import DIRECTIONS, Direction

__all__ = ["DIRECTION", "SearchSettings"]

DIRECTION = Option("direction", "lower or higher scores are better", str, choices=DIRECTIONS, default="minimize")


@dataclass(frozen=True)
class SearchSettings:
    """The settings of one search, checked when made: OptionError names the option that is wrong and why."""

    method: str = "bayes"
    n_trials: int | None = None
    direction: Direction = "minimize"
    seed: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)  # the method's own options (None: its default)
    space: Space | None = None  # None: the space the cell declares
    timeout: float | None = None
    prune: str = "none"  # pruning and early stopping of the trials, from what they report
    patience: int | None = None
    max_steps: int | None = None
    jobs: int | None = None  # trials at once on Dask workers (None: one at a time, in the kernel)
    cluster: Any = None  # a distributed.Client or a scheduler address to run the trials on
    sync: bool = False  # on workers: propose the trials in fixed batches, so that a seed repeats the search

    def __post_init__(self) -> None:
        METHOD.check(self.method)
        DIRECTION.check(self.direction)
        for option in SEARCH_OPTIONS:
            object.__setattr__(self, option.name, option.check(getattr(self, option.name)))
        if self.prune is None:
            object.__setattr__(self, "prune", "none")
        if self.sync is None:
            object.__setattr__(self, "sync", False)
        options = check_method_options(self.method, self.options)
        object.__setattr__(self, "options", MappingProxyType(options))
        if self.prune == "hyperband" and self.max_steps is None:
            raise OptionError(
                "{prune} hyperband needs {max_steps}: the steps (e.g. epochs) a trial runs to its end",
                prune=option_named("prune"),
                max_steps=option_named("max_steps"),
            )

    @property
    def stopping(self) -> dict[str, Any]:
        """How the search stops trials early: prune, patience and max_steps."""
        return {name: getattr(self, name) for name in STOPPING}

    @property
    def on_workers(self) -> bool:
        """Whether the trials run on Dask workers."""
        return self.jobs is not None or self.cluster is not None

    def sampler(self) -> Sampler:
        """The sampler these settings describe."""
        return make_sampler(self.method, seed=self.seed, **self.options)

    def search_arguments(self) -> dict[str, Any]:
        """The keyword arguments of Study.search that run this search (a new sampler each time)."""
        return {
            "n_trials": self.n_trials,
            "timeout": self.timeout,
            "sampler": self.sampler(),
            "space": self.space,
            **self.stopping,
            "n_jobs": self.jobs,
            "client": self.cluster,
            "sync": self.sync,
        }

    def line_values(self) -> dict[str, Any]:
        """Every option of the search by name, for the %%tune line: the search's options, then the method's."""
        values = {option.name: getattr(self, option.name) for option in SEARCH_OPTIONS}
        return {"method": self.method, **values, **self.options}
