"""The bookkeeping of a study's searches, ask/tell style, driven alike by the loop in the kernel and on workers.

A search begins (its plan and SearchStarted), hands out the next points (queued ones first, then the sampler's),
starts trials (TrialStarted) and finishes them (TrialFinished), decides when to stop (stop(), the timeout, the
planned count, repeated failures at the start, a score that is not a number) and ends (its stop reason, its record
in the study file, SearchFinished). Running the objective is the loop's own business.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import ScoreError
from .events import Event, SearchFinished, SearchStarted, StudySnapshot, TrialFinished, TrialStarted
from .pruners import Pruner, RunningTrial
from .samplers import Sampler, ask_batch
from .space import Dimension, Space
from .storage import StoredSearch
from .trial import Trial, TrialState

if TYPE_CHECKING:
    from .asking import Asking
    from .study import Study

__all__ = ["MAX_INITIAL_FAILURES", "Search", "SearchPlan", "StopReason", "Stopping", "ended_trial"]

MAX_INITIAL_FAILURES = 5

Point = tuple[dict[str, Any], str]  # a trial's params and where they come from ("manual", "search")


class StopReason(enum.StrEnum):
    """Why a search ended; each equals the string the study file and the snapshots have always held."""

    COMPLETED = "completed"  # it ran the trials it planned
    TIMEOUT = "timeout"  # its time limit was reached
    STOPPED = "stopped"  # stop() asked it to
    INTERRUPTED = "interrupted"  # the user interrupted the kernel, or the process ended during it
    FAILURES = "failures"  # its first trials all failed
    ERROR = "error"  # a score was not a number, or the loop raised


@dataclasses.dataclass(frozen=True)
class Stopping:
    """How one search stops trials early: its pruner, patience and max_steps, and whether the objective takes the trial."""

    pruner: Pruner
    patience: int | None
    max_steps: int | None
    takes_trial: bool


@dataclasses.dataclass(frozen=True)
class SearchPlan:
    """What one search runs: its sampler and space, its trials, time limit and failure limit, and early stopping."""

    sampler: Sampler
    space: Space
    n_trials: int | None
    timeout: float | None = None
    max_initial_failures: int = MAX_INITIAL_FAILURES
    stopping: Stopping | None = None  # None: no early stopping


def ended_trial(
    trial: Trial,
    finished: float,
    *,
    pruned: str | None,
    stopped: str | None,
    patience: bool,
    score: float | ScoreError | None,
) -> tuple[Trial, ScoreError | None]:
    """The record of a trial whose objective returned or stopped early (and the ScoreError that ends the search).

    `trial` holds the values it reported; `pruned` is why it was pruned ("" when the objective gave no reason),
    `stopped` why it stopped early otherwise, `patience` whether early stopping scores it at its best step, and
    `score` what its objective returned (or why that is no score; None when it stopped early).
    """
    last = trial.intermediate[trial.last_step] if trial.last_step is not None else None
    if pruned is not None:
        return trial.finish(
            TrialState.PRUNED, finished=finished, value=last, error=pruned or "pruned by the objective"
        ), None
    if patience and trial.best_step is not None:
        value = trial.intermediate[trial.best_step]  # early stopping: the score of the best step
    elif stopped is not None:
        if last is None:
            return trial.finish(TrialState.FAILED, finished=finished, error=stopped), None
        value = last
    elif isinstance(score, ScoreError):
        return trial.finish(TrialState.FAILED, finished=finished, error=str(score)), score
    else:
        assert score is not None, "a trial that did not stop early has a score"
        value = score
    if not math.isfinite(value):
        return trial.finish(TrialState.FAILED, finished=finished, error=f"the score is {value}"), None
    return trial.finish(TrialState.COMPLETE, finished=finished, value=value), None


class Search:
    """A study's searches: the latest one's plan, trials, stop reason and record, and the points queued for the next."""

    def __init__(
        self,
        study: Study,
        *,
        started: float,
        record: Callable[[Trial], None],
        emit: Callable[[Event], None],
        save: Callable[[StoredSearch], None],
        asking: Callable[[Mapping[str, Any], int], Asking],
        used: Callable[[Mapping[str, Any], Asking, bool], dict[str, Any]],
    ) -> None:
        self._study = study
        self.asking = asking  # what trial `number` asks for, from a proposal (the study checks and keeps the names)
        self._used = used  # a trial's params from its proposal and what it asked (whether it asks for all of them)
        self._record = record  # keeps a trial in the study (in memory and in its file)
        self._emit = emit  # sends an event to the study's observers
        self._save = save  # records a search that ended beside its trials
        self._queue: list[Point] = []
        self._stop = threading.Event()
        self._cancel = False  # whether stop() also cancels the trials running on workers
        # what the study's snapshots say about the latest search
        self.method = "none"
        self.seed = 0
        self.n_planned = 0
        self.first_number = 0
        self.started = started  # before any search: when the study was created
        self.ended: float | None = None  # None while the search runs (or before any)
        self.stop_reason: StopReason | None = None
        self.prune: str = "none"
        self.patience: int | None = None
        self.max_steps: int | None = None
        # the running search
        self._sampler: Sampler | None = None
        self._space: Space | None = None
        self._grows = False  # whether the running search's space is the study's own, which trials may grow
        self.timeout: float | None = None
        self.max_initial_failures = MAX_INITIAL_FAILURES
        self.launched = self.completes = self.failures = 0
        self.ending: StopReason | None = None  # why the search ends, once decided (trials on workers may still run)
        self.score_error: ScoreError | None = None  # the first score that was not a number, which ends the search

    def __getstate__(self) -> dict[str, Any]:
        """What a pickle or copy keeps: the latest search's description, not the queue or a running search's state."""
        state = self.__dict__.copy()
        state.update(_stop=None, _queue=[], _sampler=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _stop=threading.Event())

    # -- before a search -----------------------------------------------------------------------------------------
    def enqueue(self, params: dict[str, Any], source: str = "manual") -> None:
        """Queue a point (already validated) to evaluate before the sampler's own."""
        self._queue.append((params, source))

    def request_stop(self, cancel: bool = False) -> None:
        """Ask the running search to start no more trials; cancel=True also ends those running on workers."""
        self._cancel = cancel
        self._stop.set()

    @property
    def cancel_requested(self) -> bool:
        """Whether stop() asked to cancel the trials running on workers too."""
        return self._cancel

    def restore(self, stored: StoredSearch, ended: float) -> None:
        """Describe a search read from the study file as the latest one (one that left no stop reason was interrupted)."""
        self.method, self.seed, self.n_planned = stored.method, stored.seed, stored.planned
        self.first_number, self.started = stored.first_trial, stored.started
        self.stop_reason = StopReason(stored.stop_reason or StopReason.INTERRUPTED)
        self.ended = ended

    # -- a search ------------------------------------------------------------------------------------------------
    def begin(self, search: SearchPlan, setup: Callable[[], str] | None = None) -> None:
        """Open a search: plan it, run setup (which says where its trials run, for the note), emit SearchStarted."""
        sampler, space, stopping = search.sampler, search.space, search.stopping
        study = self._study
        self._stop.clear()
        self._cancel = False
        self.stop_reason = None
        self.method = sampler.method
        self.seed = sampler.seed
        if stopping is None:
            self.prune, self.patience, self.max_steps = "none", None, None
        else:
            self.prune, self.patience, self.max_steps = stopping.pruner.name, stopping.patience, stopping.max_steps
            stopping.pruner.plan(study.direction, sampler.seed)
        self.started, self.ended = time.time(), None
        self.n_planned = 0
        self.first_number = len(study.trials)
        self._sampler, self._space = sampler, space
        self._grows = space is study.space  # the study's own space: it grows as trials declare hyperparameters
        self.timeout, self.max_initial_failures = search.timeout, search.max_initial_failures
        self.launched = self.completes = self.failures = 0
        self.ending, self.score_error = None, None
        try:
            plan = sampler.plan(space, study.trials, search.n_trials, len(self._queue), study.direction)
            where = setup() if setup is not None else None
        except BaseException:
            self._queue.clear()
            raise
        self.n_planned = plan.n_trials
        note = plan.note if where is None else (f"{plan.note}; {where}" if plan.note else where)
        self._emit(SearchStarted(study.snapshot(), note))

    @property
    def left(self) -> int:
        """How many of the planned trials are still to start."""
        return self.n_planned - self.launched

    def should_stop(self) -> bool:
        """Whether to start no more trials: all planned started, or the search ends (stop(), the timeout, failures)."""
        if self.ending is None and self._stop.is_set() and (self.left or self._cancel):
            self.ending = StopReason.STOPPED
        elif self._timed_out():
            self.ending = StopReason.TIMEOUT
        return self.ending is not None or not self.left

    def _timed_out(self) -> bool:
        """Whether trials are still to start when the search's time is up."""
        if self.ending is not None or not self.left or self.timeout is None:
            return False
        return time.time() - self.started >= self.timeout

    def next_point(self) -> Point:
        """The params of the next trial and their source: the first queued point, else the sampler's."""
        if self._queue:
            return self._queue.pop(0)
        assert self._sampler is not None and self._space is not None
        study = self._study
        trials = study.trials
        # a point may leave out what trials declared after the sampler planned: the trial's code asks for those
        return self._space.validate(self._sampler.ask(self._space, trials, len(trials)), partial=True), "search"

    def next_points(self, count: int) -> list[Point]:
        """The params of the next `count` trials, started at once: queued points first, then the sampler's batch."""
        study = self._study
        points: list[Point] = []
        while self._queue and len(points) < count:
            points.append(self._queue.pop(0))
        trials = study.trials
        first = len(trials)
        numbers = list(range(first + len(points), first + count))
        if numbers:
            assert self._sampler is not None and self._space is not None
            seen = trials + [Trial(number=first + i, params=p) for i, (p, _) in enumerate(points)]
            asked = ask_batch(self._sampler, self._space, seen, numbers)
            points += [(self._space.validate(params, partial=True), "search") for params in asked]
        return points

    def grow(self, space: Space) -> None:
        """The study's space gained a hyperparameter a trial declared: a search over the study's space now has it."""
        if self._grows:
            self._space = space

    def ask_param(self, name: str, dim: Dimension, number: int, asked: Mapping[str, Any]) -> Any:
        """A value for a hyperparameter trial `number` asks for beyond its proposed point (the sampler's choice)."""
        assert self._sampler is not None, "a trial asks while its search runs"
        return self._sampler.ask_param(name, dim, self._study.trials, number, asked)

    def replay(
        self, trial: Trial, asked: Iterable[tuple[str, Any, Dimension, str]], asks_its_params: bool
    ) -> dict[str, Any]:
        """A trial's params from what its code asked for elsewhere (on a worker): each name checked against the
        study's declarations, a new one added to its space; DeclarationError for a name declared differently."""
        replay = self.asking(trial.params, trial.number)
        for name, value, dim, where in asked:
            replay.proposal[name] = value
            replay.ask(name, dim, where)
        return self._used(trial.params, replay, asks_its_params)

    def start(self, params: Mapping[str, Any], source: str) -> Trial:
        """Record a new running trial with these params, numbered after the study's last, and emit TrialStarted."""
        study = self._study
        trial = Trial(number=len(study.trials), params=params, started=time.time(), source=source)
        self._record(trial)
        self._emit(TrialStarted(study.snapshot(), trial))
        self.launched += 1
        return trial

    def finish(self, trial: Trial, score_error: ScoreError | None = None) -> None:
        """Record a trial that ended and emit TrialFinished; count it, and keep the first score that was no number."""
        self._record(trial)
        if self._sampler is not None and self._space is not None:
            replanned = self._sampler.replan(self._space, self._study.trials)
            if replanned is not None:  # a grid over branches learns its size as trials run
                self.n_planned = replanned.n_trials
        snapshot = self._study.snapshot()
        # the same rule as best_trial: on a tie with workers, a later-finishing earlier trial takes the lead
        best = snapshot.best_trial
        self._emit(TrialFinished(snapshot, trial, best is not None and best.number == trial.number))
        self.completes += trial.state in (TrialState.COMPLETE, TrialState.PRUNED)
        self.failures += trial.state is TrialState.FAILED
        if score_error is not None and self.score_error is None:
            self.score_error = ScoreError(f"trial {trial.number}: {score_error}")

    def judge_failures(self) -> StopReason | None:
        """End the search on a score that was no number ('error') or all-failed first trials; the ending decided now."""
        if self.score_error is not None and self.ending is not StopReason.ERROR:
            self.ending = StopReason.ERROR
            return self.ending
        if self.ending is None and self.completes == 0 and self.failures >= self.max_initial_failures:
            self.ending = StopReason.FAILURES
            return self.ending
        return None

    def abandon(self, reason: str) -> None:
        """Finish every trial of this search still running as interrupted, with the reason."""
        for trial in self._study.trials[self.first_number :]:
            if trial.state is TrialState.RUNNING:
                self.finish(trial.finish(TrialState.INTERRUPTED, finished=time.time(), error=reason))

    def complete(self) -> None:
        """The loop ran to its end: the search stops for the reason decided, else because it completed."""
        self.stop_reason = self.ending or StopReason.COMPLETED

    def interrupt(self) -> None:
        """The user interrupted the search."""
        self.stop_reason = StopReason.INTERRUPTED

    def end(self) -> None:
        """Close the search: its stop reason ('error' if none), no queued point left, its record, SearchFinished."""
        if self.stop_reason is None:
            self.stop_reason = StopReason.ERROR
        self._queue.clear()
        self._sampler = None
        self.ended = time.time()  # the time a search took stays what its summary said
        self._save(
            StoredSearch(self.method, self.seed, self.n_planned, self.first_number, self.started, self.stop_reason)
        )
        self._emit(SearchFinished(self._study.snapshot()))

    @property
    def space(self) -> Space | None:
        """The space of the latest search (grown as its trials declared more), None before any."""
        return self._space

    # -- for the loops -------------------------------------------------------------------------------------------
    def snapshot(self) -> StudySnapshot:
        """The study's snapshot now."""
        return self._study.snapshot()

    def emit(self, event: Event) -> None:
        """Send an event to the study's observers."""
        self._emit(event)

    @property
    def trials(self) -> list[Trial]:
        """The study's trials now, running ones with the values they reported so far."""
        return self._study.trials

    def reported(self, running: RunningTrial, step: int, value: float) -> None:
        """Record a value a trial running elsewhere reported, as the study records one of its own (TrialReported)."""
        self._study._reported(running, step, value)
