"""The bayes search's model of a pruned search: the score over the params and the step it was measured at.

A trial stopped early shows what the score was at its last step, not what it would have been at the end. Once a
search prunes, the model takes log(step) as one more input: each trial contributes its values at the steps 1, 3,
9, 27, ... it reached and its score at its last step (a trial that reported nothing: at the full budget), and the
acquisition function is maximised at the full budget, the largest step any trial reached (as BOHB and Optuna's TPE
with its hyperband pruner use what stopped trials showed).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from skopt.space import Real as SkReal

from ..trial import Trial, TrialState
from .gp_model import THREADS, Engine, GPSettings

__all__ = ["RUNG_FACTOR", "BudgetEngine", "BudgetModel", "measurements", "prunes"]

RUNG_FACTOR = 3  # a trial's values at the steps 1, 3, 9, ... (hyperband's rungs) besides its last step
FAILED = float("nan")


def prunes(trials: Sequence[Trial]) -> bool:
    """Whether a search stops trials early: some trial was pruned after reporting a value."""
    return any(t.state is TrialState.PRUNED and t.intermediate for t in trials)


def full_budget(trials: Sequence[Trial]) -> int:
    """The step a trial run to its end reaches: the largest step any trial reported."""
    return max((t.last_step for t in trials if t.last_step is not None), default=1)


def measurements(trial: Trial, full: int) -> list[tuple[int, float]] | None:
    """A finished trial's (step, score) pairs the model learns, or None for a trial still running.

    Its reported values at the rungs (1, 3, 9, ...) before its last step, then its score at its last step: a
    completed trial's value, a pruned trial's last value. A failed trial (or a pruned one without a value) is one
    failure at the full budget.
    """
    if trial.state not in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED):
        return None
    if trial.state is TrialState.FAILED or trial.value is None:
        return [(full, FAILED)]
    end = trial.last_step if trial.last_step is not None else full
    rungs = [(step, float(value)) for step, value in trial.intermediate.items() if step < end and _is_rung(step)]
    return [*rungs, (end, float(trial.value))]


def _is_rung(step: int) -> bool:
    while step > 1 and step % RUNG_FACTOR == 0:
        step //= RUNG_FACTOR
    return step == 1


class BudgetEngine(Engine):
    """The model with log(step) as its last input, whose acquisition function is searched at the full budget only.

    The best score it improves on is the best the model predicts at the full budget for a point tried so far.
    """

    def __init__(self, dimensions: list[Any], full: int, settings: GPSettings, **options: Any) -> None:
        self.full = math.log(full)
        self._rule: Callable[[np.ndarray], np.ndarray] | None = None
        super().__init__([*dimensions, SkReal(0.0, self.full)], settings, n_initial_points=0, **options)
        self._continuous = self._continuous.copy()
        self._continuous[-1] = False  # gradient steps never move the budget

    @property
    def valid(self) -> Callable[[np.ndarray], np.ndarray]:
        """Makes candidates (rows of the model's values) valid configurations at the full budget, in place."""
        return self._at_full

    @valid.setter
    def valid(self, rule: Callable[[np.ndarray], np.ndarray] | None) -> None:
        self._rule = rule

    def _at_full(self, rows: np.ndarray) -> np.ndarray:
        rows = self._rule(rows) if self._rule is not None else rows
        rows[:, -1] = self.full
        return rows

    def _maximise(self, model: Any, acq: str, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        at_full = X.copy()
        at_full[:, -1] = self.space.dimensions[-1].transform([self.full])[0]
        at_full = np.unique(at_full, axis=0)
        return super()._maximise(model, acq, at_full, np.asarray(model.predict(at_full), dtype=float))


class BudgetModel:
    """The budget-aware model of one search: learns each finished trial's measurements, proposes at the full budget."""

    def __init__(self, settings: GPSettings, acq: str, seed: int) -> None:
        self.settings, self.acq, self.seed = settings, acq, seed
        self.engine: BudgetEngine | None = None
        self._key: tuple[Any, ...] | None = None  # what the engine was built for: its dimensions and full budget
        self._told: set[int] = set()

    def ask(self) -> list[Any]:
        """The next point (the model's inputs without the budget), from what it learned last."""
        assert self.engine is not None, "learn() first"
        with warnings.catch_warnings(), THREADS.limit(limits=1):
            warnings.simplefilter("ignore")
            x = self.engine.ask()
        return list(x[:-1])

    def ask_batch(self, running: Sequence[list[Any]], count: int, random_state: int) -> list[list[Any]]:
        """`count` points at once for trials on workers, from what it learned last: a copy of the model believes
        each running point (the model's inputs) and each point it proposes scored, at the full budget, the best of
        the scores it learned, so the points spread out (constant liar)."""
        engine = self.engine
        assert engine is not None, "learn() first"
        scores = [y for y in engine.yi if not math.isnan(y)]
        lie = min(scores) if scores else 0.0
        points = []
        with warnings.catch_warnings(), THREADS.limit(limits=1):
            warnings.simplefilter("ignore")
            at_full = [[*row, engine.full] for row in running]
            liar = engine.copy(random_state=random_state, xs=at_full, ys=[lie] * len(running))
            for i in range(count):
                x = list(liar.ask())
                points.append(x[:-1])
                if i < count - 1:
                    liar.tell(x, lie)
        return points

    def learn(
        self,
        dimensions: list[Any],
        trials: Sequence[Trial],
        inputs: Callable[[Trial], list[Any] | None],
        sign: float,
        valid: Callable[[np.ndarray], np.ndarray] | None,
    ) -> None:
        """Teach the model every finished trial not taught yet (rebuilt when the space or full budget changed).

        `inputs` gives a trial's point as the model's inputs (None: outside the space); `sign` turns scores into
        the minimised quantity; `valid` is the conditional rule of the point's inputs.
        """
        full = full_budget(trials)
        key = (tuple(repr(d) for d in dimensions), full)
        if key != self._key or self.engine is None:
            self.engine = BudgetEngine(list(dimensions), full, self.settings, acq_func=self.acq, random_state=self.seed)
            self._key, self._told = key, set()
        xs, ys = [], []
        for trial in trials:
            if trial.number in self._told:
                continue
            pairs = measurements(trial, full)
            if pairs is None:
                continue
            self._told.add(trial.number)
            row = inputs(trial)
            if row is None:
                continue
            for step, value in pairs:
                xs.append([*row, math.log(step)])
                ys.append(value if math.isnan(value) else sign * value)
        engine = self.engine
        engine.valid = valid
        if xs:
            with warnings.catch_warnings(), THREADS.limit(limits=1):
                warnings.simplefilter("ignore")
                engine.tell(xs, ys)
