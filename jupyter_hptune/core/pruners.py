"""Pruning and early stopping: from the values a trial reports step by step, decide whether it goes on.

Every decision is a function of the reported values only (the trial's own and those of the other trials), so a
decision can be taken wherever a trial runs.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import statistics
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real as _RealNumber
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

from .space import to_python
from .trial import Trial, TrialState

if TYPE_CHECKING:
    from .asking import Asking
    from .space import Dimension
    from .study import Direction

__all__ = [
    "PRUNERS",
    "HyperbandPruner",
    "MedianPruner",
    "NoPruner",
    "Pruner",
    "Rungs",
    "RunningTrial",
    "StepCount",
    "StopTrial",
    "SuccessiveHalvingPruner",
    "TrialPruned",
    "current_trial",
    "make_pruner",
    "step_count",
]

PRUNERS = ("none", "median", "halving", "hyperband")
"""The pruners by name, as --prune and tune(prune=...) take them."""


class StopTrial(Exception):  # noqa: N818 (a signal, not an error)
    """Raised by report() when the trial should stop: no improvement for `patience` steps or `max_steps` reached."""


class TrialPruned(StopTrial):
    """Raised by report() when the search prunes the trial; the trial is recorded as pruned with its last value."""


class Pruner(Protocol):
    """Decides, from the values reported so far, whether a trial stops before its end."""

    name: str

    def plan(self, direction: Direction, seed: int) -> None:
        """Prepare for a search in this direction with this seed."""
        ...

    def prune(self, number: int, values: Mapping[int, float], others: Sequence[Trial]) -> str | None:
        """Why trial `number` should stop now, given its values by step (the latest last) and the other trials; None to go on."""
        ...


def _better(direction: Direction) -> Callable[[float, float], bool]:
    return (lambda a, b: a < b) if direction == "minimize" else (lambda a, b: a > b)


def _compared(others: Sequence[Trial], number: int) -> list[Trial]:
    """The other trials whose reported values count: not failed or interrupted (their values may be broken)."""
    return [
        t
        for t in others
        if t.number != number and t.intermediate and t.state not in (TrialState.FAILED, TrialState.INTERRUPTED)
    ]


def _positive(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


class NoPruner:
    """Never prunes."""

    name = "none"

    def plan(self, direction: Direction, seed: int) -> None:
        """Nothing to prepare."""

    def prune(self, number: int, values: Mapping[int, float], others: Sequence[Trial]) -> str | None:
        """Never."""
        return None


class MedianPruner:
    """Prunes a trial whose value at a step is worse than the median of the earlier trials' values at that step.

    Not before `min_trials` other trials reported values, nor at the first `warmup_steps` steps.
    """

    name = "median"

    def __init__(self, warmup_steps: int = 2, min_trials: int = 5) -> None:
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int | np.integer) or warmup_steps < 0:
            raise ValueError(f"warmup_steps must be a whole number of steps, got {warmup_steps!r}")
        self.warmup_steps = int(warmup_steps)
        self.min_trials = _positive(min_trials, "min_trials")
        self._better = _better("minimize")

    def plan(self, direction: Direction, seed: int) -> None:
        """Compare in this direction."""
        self._better = _better(direction)

    def prune(self, number: int, values: Mapping[int, float], others: Sequence[Trial]) -> str | None:
        """Prune below the median at this step, after the warm-up."""
        step, value = list(values.items())[-1]
        if step <= self.warmup_steps:
            return None
        compared = _compared(others, number)
        if len(compared) < self.min_trials:
            return None
        at_step = [t.intermediate[step] for t in compared if step in t.intermediate]
        if not at_step:
            return None
        median = statistics.median(at_step)
        if not self._better(median, value):
            return None
        trials = "trial" if len(at_step) == 1 else f"{len(at_step)} trials"
        return f"at step {step}, {value:.4g} is worse than the median {median:.4g} of {trials} at that step"


class SuccessiveHalvingPruner:
    """Asynchronous successive halving: at steps min_steps·eta^k (the rungs), keep a trial only if its value is among
    the best 1/eta of the values the trials reached at that rung (the best one while fewer than eta trials got there).
    """

    name = "halving"

    def __init__(self, min_steps: int = 1, eta: int = 3, max_steps: int | None = None) -> None:
        self.min_steps = _positive(min_steps, "min_steps")
        self.eta = _positive(eta, "eta")
        if self.eta < 2:
            raise ValueError(f"eta must be at least 2, got {eta!r}")
        self.max_steps = None if max_steps is None else _positive(max_steps, "max_steps")
        self._better = _better("minimize")

    def plan(self, direction: Direction, seed: int) -> None:
        """Compare in this direction."""
        self._better = _better(direction)

    def prune(self, number: int, values: Mapping[int, float], others: Sequence[Trial]) -> str | None:
        """Prune a trial that falls out of the best 1/eta at a rung."""
        return self._halve(values, _compared(others, number), self.rungs(number), "")

    def rungs(self, number: int) -> Rungs:
        """Where trial `number` is judged: from min_steps, every eta times further, short of max_steps."""
        return Rungs(self.min_steps, self.eta, self.max_steps)

    def _halve(self, values: Mapping[int, float], compared: Sequence[Trial], rungs: Rungs, where: str) -> str | None:
        rung = rungs.judged(values)
        if rung is None:
            return None
        step = list(values)[-1]
        value = values[step]
        competing = [v for v in (_value_at(t.intermediate, rung) for t in compared) if v is not None]
        keep = max(1, (len(competing) + 1) // self.eta)
        ahead = sum(self._better(v, value) for v in competing)
        if ahead < keep:
            return None
        return (
            f"at step {step}, {value:.4g} is not among the best {keep} of the {len(competing) + 1} "
            f"trials{where} at step {rung}"
        )


class HyperbandPruner:
    """Hyperband: brackets of successive halving, from the most aggressive (first rung at min_steps) to the most
    patient (first rung near max_steps); each trial is drawn into a bracket, seeded, with Hyperband's weights.
    """

    name = "hyperband"

    def __init__(self, max_steps: int, min_steps: int = 1, eta: int = 3, brackets: int | None = None) -> None:
        self.max_steps = _positive(max_steps, "max_steps")
        self.min_steps = _positive(min_steps, "min_steps")
        self.eta = _positive(eta, "eta")
        if self.eta < 2:
            raise ValueError(f"eta must be at least 2, got {eta!r}")
        if self.min_steps > self.max_steps:
            raise ValueError(f"min_steps ({self.min_steps}) must not exceed max_steps ({self.max_steps})")
        most = 1
        while self.min_steps * self.eta**most <= self.max_steps:
            most += 1
        if brackets is not None:
            brackets = _positive(brackets, "brackets")
            if brackets > most:
                raise ValueError(
                    f"brackets must be at most {most} for max_steps {self.max_steps}, min_steps {self.min_steps} "
                    f"and eta {self.eta}, got {brackets}"
                )
        self.brackets = most if brackets is None else brackets
        n = self.brackets
        weights = np.array([n / (n - b) * self.eta ** (n - 1 - b) for b in range(n)])
        self.weights = weights / weights.sum()
        self.seed = 0
        self._halving = SuccessiveHalvingPruner(self.min_steps, self.eta, self.max_steps)
        self._drawn: dict[int, int] = {}  # each trial's bracket, drawn once: every report compares with all trials

    def plan(self, direction: Direction, seed: int) -> None:
        """Compare in this direction; draw brackets with this seed."""
        self._halving.plan(direction, seed)
        self.seed = int(seed)
        self._drawn = {}

    def bracket(self, number: int) -> int:
        """The bracket of trial `number` (0: the most aggressive), a function of the seed and the number only."""
        if number not in self._drawn:
            rng = np.random.default_rng([self.seed, number, 0x68627264])
            self._drawn[number] = int(rng.choice(self.brackets, p=self.weights))
        return self._drawn[number]

    def first_rung(self, bracket: int) -> int:
        """The first step at which trials of that bracket are compared."""
        return self.min_steps * self.eta**bracket

    def rungs(self, number: int) -> Rungs:
        """Where trial `number` is judged: the rungs of its bracket."""
        return Rungs(self.first_rung(self.bracket(number)), self.eta, self.max_steps)

    def prune(self, number: int, values: Mapping[int, float], others: Sequence[Trial]) -> str | None:
        """Successive halving among the trials of the same bracket."""
        bracket = self.bracket(number)
        compared = [t for t in _compared(others, number) if self.bracket(t.number) == bracket]
        return self._halving._halve(values, compared, self.rungs(number), f" of bracket {bracket}")


class Rungs(NamedTuple):
    """The steps at which successive halving judges a trial: first, first·eta, first·eta², ... short of max_steps."""

    first: int
    eta: int
    max_steps: int | None

    def judged(self, values: Mapping[int, float]) -> int | None:
        """The rung a trial's latest report crossed (judged there), or None."""
        if not values:
            return None
        steps = list(values)
        rung = _rung_crossed(steps[-2] if len(steps) > 1 else 0, steps[-1], self.first, self.eta)
        return None if rung is None or (self.max_steps is not None and rung >= self.max_steps) else rung


def _rung_crossed(previous: int, step: int, first: int, eta: int) -> int | None:
    """The highest rung (first·eta^k) in (previous, step], or None."""
    crossed, rung = None, first
    while rung <= step:
        if rung > previous:
            crossed = rung
        rung *= eta
    return crossed


def _value_at(values: Mapping[int, float], rung: int) -> float | None:
    """A trial's value when it reached a rung: at its first reported step at or past it."""
    for step, value in values.items():
        if step >= rung:
            return value
    return None


def make_pruner(prune: str | Pruner | None, max_steps: int | None = None) -> Pruner:
    """The pruner a name stands for ("none", "median", "halving", "hyperband"), or the Pruner given."""
    if prune is None or prune == "none":
        return NoPruner()
    if not isinstance(prune, str):
        if not callable(getattr(prune, "prune", None)) or not callable(getattr(prune, "plan", None)):
            raise ValueError(f"prune must be one of {', '.join(PRUNERS)} or a Pruner, got {prune!r}")
        return prune
    if prune == "median":
        return MedianPruner()
    if prune == "halving":
        return SuccessiveHalvingPruner(max_steps=max_steps)
    if prune == "hyperband":
        if max_steps is None:
            raise ValueError("prune='hyperband' needs max_steps: the steps (e.g. epochs) of a trial run to its end")
        return HyperbandPruner(max_steps)
    raise ValueError(f"prune must be one of {', '.join(PRUNERS)}, got {prune!r}")


# -- the running trial ------------------------------------------------------------------------------------------------
_current: contextvars.ContextVar[RunningTrial | None] = contextvars.ContextVar("jupyter_hptune_running", default=None)


def current_trial() -> RunningTrial | None:
    """The trial running now (inside a search's objective), or None."""
    return _current.get()


class RunningTrial:
    """The trial an objective is running: it reports its progress and asks whether to stop.

    report(step, value) records a value (typically the validation score after each epoch); it raises TrialPruned when
    the search prunes the trial. should_stop() is True once the trial should end: pruned, no improvement for
    `patience` steps, or `max_steps` reached. A report after that raises StopTrial (TrialPruned for a pruned trial).
    """

    def __init__(
        self,
        trial: Trial,
        *,
        direction: Direction = "minimize",
        pruner: Pruner | None = None,
        patience: int | None = None,
        max_steps: int | None = None,
        others: Sequence[Trial] = (),
        on_report: Callable[[RunningTrial, int, float], None] | None = None,
        asking: Asking | None = None,
    ) -> None:
        self.number = trial.number
        self.params = trial.params
        self.asking = asking  # the hyperparameters its code asks for (hp.real, ...): None answers from params
        self.direction = direction
        self.patience = patience
        self.max_steps = max_steps
        self.values: dict[int, float] = {}
        self.best_step: int | None = None
        self.stopped: StopTrial | None = None  # why the trial should stop, once it should
        self._pruner = pruner or NoPruner()
        self._others = others  # read at each report: a live view (trials on workers) shows those finished since
        self._on_report = on_report
        self._better = _better(direction)

    @property
    def pruned(self) -> bool:
        """Whether the search pruned this trial."""
        return isinstance(self.stopped, TrialPruned)

    @property
    def best_value(self) -> float | None:
        """The best value reported so far."""
        return None if self.best_step is None else self.values[self.best_step]

    @property
    def last_value(self) -> float | None:
        """The latest value reported."""
        return next(reversed(self.values.values()), None)

    def should_stop(self) -> bool:
        """Whether the trial should end now: pruned, no improvement for `patience` steps, or `max_steps` reached."""
        return self.stopped is not None

    def ask(self, name: str, dim: Dimension, where: str) -> Any:
        """The value of a hyperparameter the trial's code declares (hp.real, hp.int, hp.choice)."""
        if self.asking is None:
            from .asking import Asking, DeclarationError

            def refuse(name: str, dim: Dimension, asked: Mapping[str, Any]) -> Any:
                raise DeclarationError(f"{where}: hyperparameter {name!r} is not one of this trial's params")

            self.asking = Asking(self.params, refuse)
        return self.asking.ask(name, dim, where)

    @contextlib.contextmanager
    def current(self) -> Iterator[None]:
        """Make this the trial current_trial() returns while the block runs (the objective's call)."""
        token = _current.set(self)
        try:
            yield
        finally:
            _current.reset(token)

    def report(self, step: int, value: float) -> None:
        """Record the value at this step (e.g. the validation score after epoch `step`); raises TrialPruned if pruned."""
        if self.stopped is not None:
            raise type(self.stopped)(f"trial {self.number} already stopped: {self.stopped}")
        step = _check_step(step, next(reversed(self.values), None))
        value = _check_value(value, step)
        self.values[step] = value
        if self.best_step is None or self._better(value, self.values[self.best_step]):
            self.best_step = step
        if self._on_report is not None:
            self._on_report(self, step, value)
        reason = self._pruner.prune(self.number, self.values, self._others)
        if reason is not None:
            self.stopped = TrialPruned(reason)
            raise TrialPruned(reason)
        assert self.best_step is not None
        if self.patience is not None and step - self.best_step >= self.patience:
            self.stopped = StopTrial(
                f"no improvement for {step - self.best_step} steps after step {self.best_step} (patience {self.patience})"
            )
        elif self.max_steps is not None and step >= self.max_steps:
            self.stopped = StopTrial(f"step {step} reached max_steps {self.max_steps}")

    def __repr__(self) -> str:
        return f"<RunningTrial {self.number}: {len(self.values)} values reported, params {dict(self.params)}>"


def _check_step(step: Any, previous: int | None) -> int:
    step = to_python(step)
    if isinstance(step, bool) or not isinstance(step, int):
        raise TypeError(f"report(step, value): step must be a whole number (e.g. the epoch), got {step!r}")
    if step < 0:
        raise ValueError(f"report(step, value): step must not be negative, got {step}")
    if previous is not None and step <= previous:
        raise ValueError(
            f"report(step, value): step {step} comes after step {previous}: report steps in increasing order"
        )
    return step


def _check_value(value: Any, step: int) -> float:
    value = to_python(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        value = value.item()
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, _RealNumber):
        try:  # a one-element tensor of a deep-learning library
            value = value.item()
        except (TypeError, ValueError, RuntimeError):
            pass
    if isinstance(value, bool) or not isinstance(value, _RealNumber):
        raise TypeError(f"report(step, value): value must be a number, got {type(value).__name__} {value!r:.60}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"report({step}, value): the value is {value}")
    return value


# -- what pruning saved -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepCount:
    """The steps (e.g. epochs) the trials ran, against running every one of them to the end (None: end unknown)."""

    run: int
    full: int | None
    pruned: int
    stopped_early: int

    @property
    def saved(self) -> int | None:
        """The steps not run, or None when the end of a trial is unknown."""
        return None if self.full is None else self.full - self.run

    @property
    def saved_share(self) -> float | None:
        """The share of the steps not run, or None when the end of a trial is unknown."""
        if self.full is None:
            return None
        return (self.full - self.run) / self.full if self.full else 0.0


def step_count(trials: Sequence[Trial], max_steps: int | None = None, patience: int | None = None) -> StepCount | None:
    """Steps run by the finished trials that reported, against running each to the end; None if none reported.

    The end is max_steps; without it, the longest trial's last step, unless patience may have cut every trial short.
    """
    finished = [t for t in trials if t.intermediate and t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    if not finished:
        return None
    reached = [t.last_step or 0 for t in finished]
    end = max_steps if max_steps is not None else max(reached) if patience is None else None
    complete = [t for t in finished if t.state is TrialState.COMPLETE]
    if end is not None:
        early = sum((t.last_step or 0) < end for t in complete)
    else:  # what patience stopped: no improvement for `patience` steps at the last one
        early = sum((t.last_step or 0) - (t.best_step or 0) >= (patience or 0) for t in complete)
    return StepCount(
        run=sum(r if end is None else min(r, end) for r in reached),
        full=None if end is None else end * len(finished),
        pruned=len(finished) - len(complete),
        stopped_early=early,
    )
