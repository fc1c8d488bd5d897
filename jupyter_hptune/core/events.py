"""The events a study sends to its observers: immutable snapshots of where the search stands."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .trial import Trial, TrialState

if TYPE_CHECKING:
    from .search import StopReason
    from .space import Space
    from .study import Direction

__all__ = [
    "Event",
    "SearchFinished",
    "SearchStarted",
    "StudySnapshot",
    "TrialFinished",
    "TrialReported",
    "TrialStarted",
    "WorkerState",
    "WorkersUpdated",
]


@dataclass(frozen=True)
class StudySnapshot:
    """The state of a study at one moment."""

    name: str
    direction: Direction
    method: str
    seed: int
    n_planned: int
    first_number: int
    trials: tuple[Trial, ...]
    best_trial: Trial | None
    started: float
    elapsed: float
    stop_reason: StopReason | None = None  # None while a search runs, or before any
    storage: str | None = None
    prune: str = "none"  # the latest search's pruner, patience and max_steps
    patience: int | None = None
    max_steps: int | None = None
    space: Space | None = None  # the study's hyperparameters now: trials may have declared more as they ran
    declared_at: Mapping[str, str] = dataclasses.field(default_factory=dict)  # where the code declares each one

    @property
    def search_trials(self) -> tuple[Trial, ...]:
        """The trials of the latest search (a resumed study also holds earlier ones)."""
        return self.trials[self.first_number :]

    @property
    def all_failed(self) -> bool:
        """Whether the latest search ran trials and every one of them failed."""
        search = self.search_trials
        return bool(search) and all(t.state is TrialState.FAILED for t in search)


@dataclass(frozen=True)
class SearchStarted:
    """A search began; `note` says what it will do (e.g. the grid's size)."""

    study: StudySnapshot
    note: str | None


@dataclass(frozen=True)
class TrialStarted:
    """A trial began."""

    study: StudySnapshot
    trial: Trial


@dataclass(frozen=True)
class TrialReported:
    """A running trial reported a value at a step (its record already holds it)."""

    study: StudySnapshot
    trial: Trial
    step: int
    value: float


@dataclass(frozen=True)
class TrialFinished:
    """A trial ended (complete, pruned, failed or interrupted) and is already saved."""

    study: StudySnapshot
    trial: Trial
    is_best: bool


@dataclass(frozen=True)
class SearchFinished:
    """A search ended; `study.stop_reason` says why."""

    study: StudySnapshot


@dataclass(frozen=True)
class WorkerState:
    """One worker of a parallel search: its name, and the trial it runs since when (None for both when idle)."""

    name: str
    trial: int | None = None
    since: float | None = None


@dataclass(frozen=True)
class WorkersUpdated:
    """What each worker of a parallel search runs: sent when that changes, and every second while trials run."""

    study: StudySnapshot
    workers: tuple[WorkerState, ...]


Event = SearchStarted | TrialStarted | TrialReported | TrialFinished | SearchFinished | WorkersUpdated
