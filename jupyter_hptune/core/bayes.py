"""Bayesian optimisation: the one adapter between our space and trials and scikit-optimize's ask/tell Optimizer."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from skopt import Optimizer
from skopt.space import Categorical as SkCategorical
from skopt.space import Integer as SkInteger
from skopt.space import Real as SkReal
from threadpoolctl import ThreadpoolController

from .samplers import Plan, check_seed
from .space import Choice, Int, Space, SpaceError, to_python
from .trial import Trial, TrialState

__all__ = ["ACQUISITION_FUNCTIONS", "BayesSampler"]

ACQUISITION_FUNCTIONS = ("EI", "PI", "LCB", "gp_hedge")

# The model's matrices are tiny (one row per trial): BLAS threads only contend, ten times slower on a busy machine.
_THREADS = ThreadpoolController()


class BayesSampler:
    """A Gaussian-process model of the score that proposes the point with the best acquisition value.

    Failed trials are shown to the model as the worst score seen so far, steering it away from them; pruned
    trials as their last reported value, so the model learns where pruning found the search unpromising.
    """

    method = "bayes"
    # The model's settings, in one place. Only the latest model is used (and plotted): keeping every earlier one,
    # as scikit-optimize does by default, held 9.6 MB after 120 trials of a 6-D problem (growing as trials³).
    optimizer_options: ClassVar[dict[str, Any]] = {"base_estimator": "GP", "model_queue_size": 1}

    def __init__(self, acq: str = "EI", initial_points: int | None = None, seed: int | None = None) -> None:
        if acq not in ACQUISITION_FUNCTIONS:
            raise SpaceError(
                f"acquisition function {acq!r} is unknown: choose one of {', '.join(ACQUISITION_FUNCTIONS)}"
            )
        if initial_points is not None and (
            isinstance(initial_points, bool) or not isinstance(initial_points, int) or initial_points < 1
        ):
            raise SpaceError(f"initial_points must be a positive integer, got {initial_points!r}")
        self.acq = acq
        self.initial_points = initial_points
        self.seed = check_seed(seed)
        self.optimizer: Optimizer | None = None
        self._sign = 1.0
        self._told: set[int] = set()
        self._unfitted: tuple[list[list[Any]], list[float]] = ([], [])  # learned by ask_batch, not yet fitted
        self._free: list[str] = []

    def plan(self, space: Space, trials: Sequence[Trial], n_trials: int | None, queued: int, direction: str) -> Plan:
        """Build the model and teach it every earlier trial, so a resumed search keeps what it learned."""
        n = 20 if n_trials is None else n_trials
        initial = self.initial_points or min(5, max(1, n // 4))
        self._sign = -1.0 if direction == "maximize" else 1.0
        self._free = [name for name, dim in space.items() if not (isinstance(dim, Choice) and len(dim.options) == 1)]
        self._told = set()
        self._unfitted = ([], [])
        self.optimizer = None
        if self._free:
            self.optimizer = Optimizer(
                [_dimension(space[name]) for name in self._free],
                acq_func=self.acq,
                n_initial_points=initial,
                random_state=self.seed,
                **self.optimizer_options,
            )
        self._sync(space, trials)
        learned, random = len(self._told), max(0, initial - len(self._told))
        note = f"Bayesian optimisation ({self.acq}"
        if random:
            note += f", {random} initial random point{'s' if random > 1 else ''}"
        if learned:
            note += f", model fitted on {learned} earlier trial{'s' if learned > 1 else ''}"
        return Plan(n, note + ")")

    def ask(self, space: Space, trials: Sequence[Trial], number: int) -> dict[str, Any]:
        """The point the model proposes next."""
        if self.optimizer is None:
            return space.defaults()
        self._sync(space, trials)
        with warnings.catch_warnings(), _THREADS.limit(limits=1):
            warnings.simplefilter("ignore")
            x = self.optimizer.ask()
        return self._params(space, x)

    def ask_batch(self, space: Space, trials: Sequence[Trial], numbers: Sequence[int]) -> list[dict[str, Any]]:
        """Points for several trials at once, the running ones counted as well as the finished (constant liar).

        The model learns every finished trial; a copy of it is then told the best score so far at each running
        trial's point and at each point it proposes, so the points of a batch spread out instead of piling up.
        The copy's random state depends on the seed and the first trial's number only.
        """
        if self.optimizer is None:
            return [space.defaults() for _ in numbers]
        self._sync(space, trials, fit=False)  # the copy below fits on them: the model itself waits for ask()
        running = [
            [_encode(space[name], trial.params[name]) for name in self._free]
            for trial in trials
            if trial.state is TrialState.RUNNING and trial.number not in self._told and space.includes(trial.params)
        ]
        if not running and len(numbers) == 1:
            return [self.ask(space, trials, numbers[0])]
        points = []
        with warnings.catch_warnings(), _THREADS.limit(limits=1):
            warnings.simplefilter("ignore")
            liar, lie = self._liar(running, int(np.random.default_rng([self.seed, numbers[0]]).integers(2**31)))
            for i in range(len(numbers)):
                x = liar.ask()
                points.append(x)
                if i < len(numbers) - 1:
                    liar.tell(x, lie)
        return [self._params(space, x) for x in points]

    def _liar(self, running: list[list[Any]], random_state: int) -> tuple[Optimizer, float]:
        """A copy of the model that believes each running point scored the best score so far (one GP fit), and that lie."""
        model = self.optimizer
        assert model is not None
        told_x, told_y = model.Xi, model.yi
        learned_x, learned_y = told_x + self._unfitted[0], told_y + self._unfitted[1]
        lie = min(learned_y) if learned_y else 0.0
        model.Xi, model.yi = learned_x + running, learned_y + [lie] * len(running)  # copy() fits on them at once
        try:
            return model.copy(random_state=random_state), lie
        finally:
            model.Xi, model.yi = told_x, told_y

    def _params(self, space: Space, x: Sequence[Any]) -> dict[str, Any]:
        params = space.defaults()
        params.update({name: _decode(space[name], value) for name, value in zip(self._free, x)})
        return params

    def learn(self, space: Space, trials: Sequence[Trial]) -> None:
        """Tell the model every finished trial it has not seen yet (ask() does this itself)."""
        self._sync(space, trials)

    def _sync(self, space: Space, trials: Sequence[Trial], fit: bool = True) -> None:
        if self.optimizer is None:
            return
        learned = (TrialState.COMPLETE, TrialState.PRUNED)
        values = [t.value for t in trials if t.state in learned and t.value is not None]
        worst = max((self._sign * v for v in values), default=None)
        xs, ys = [], []
        for trial in trials:
            if trial.number in self._told:
                continue
            self._told.add(trial.number)
            if not space.includes(trial.params):  # a search narrowed the space: the model learns from what is inside
                continue
            if trial.state in learned and trial.value is not None:  # a pruned trial at its last reported value
                y = self._sign * trial.value
            elif trial.state in (TrialState.FAILED, TrialState.PRUNED) and worst is not None:
                y = worst
            else:
                self._told.discard(trial.number)  # a running trial is told once it has finished
                continue
            xs.append([_encode(space[name], trial.params[name]) for name in self._free])
            ys.append(float(y))
        self._unfitted[0].extend(xs)
        self._unfitted[1].extend(ys)
        if fit and self._unfitted[0]:
            xs, ys = self._unfitted
            self._unfitted = ([], [])
            with warnings.catch_warnings(), _THREADS.limit(limits=1):
                warnings.simplefilter("ignore")
                self.optimizer.tell(xs, ys)


def _dimension(dim: Any) -> Any:
    if isinstance(dim, Choice):
        return SkCategorical(list(range(len(dim.options))))
    prior = "log-uniform" if dim.log else "uniform"
    kind = SkInteger if isinstance(dim, Int) else SkReal
    return kind(dim.low, dim.high, prior=prior)


def _decode(dim: Any, value: Any) -> Any:
    """A model's value as the parameter's: an option for a choice, an int for an integer, inside the range."""
    value = to_python(value)
    if isinstance(dim, Choice):
        return dim.options[int(value)]
    if isinstance(dim, Int):
        return dim.validate(int(round(value)))
    return min(dim.high, max(dim.low, float(value)))


def _encode(dim: Any, value: Any) -> Any:
    if isinstance(dim, Choice):
        return dim.index(value)
    return value
