"""Bayesian optimisation: a search method that asks a Gaussian-process model of the score for each next point."""

from __future__ import annotations

import functools
import operator
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..options import Option
from ..space import Choice, Int, Real, Space, SpaceError
from ..trial import Trial, TrialState
from .base import Plan, Sampler, check_seed, sample_point, trial_rng
from .budget import BudgetModel, prunes
from .gp_model import THREADS, Engine, FittedModel, GPSettings, decode, dimension, encode

if TYPE_CHECKING:
    from ..study import Direction

__all__ = ["ACQUISITION_FUNCTIONS", "BayesSampler", "GPSettings"]

ACQUISITION_FUNCTIONS = ("EI", "PI", "LCB", "gp_hedge")

ACQ = Option("acq", "acquisition function", str, choices=ACQUISITION_FUNCTIONS, default="EI", label="acquisition")
INITIAL_POINTS = Option(
    "initial_points",
    "trials spread by a Sobol sequence before the model takes over (default: trials/4, at most 5)",
    unset="auto",
)

EXPLORE_EVERY = 3  # in a conditional space, every 3rd trial after the initial design is drawn at random
FAILED = float("nan")  # the score the model is told for a failed trial (or a pruned one without a value)

_DESIGNS = {"sobol": "Sobol", "lhs": "Latin hypercube", "halton": "Halton", "hammersly": "Hammersley"}  # for the log


class BayesSampler(Sampler):
    """A Gaussian-process model of the score that proposes the point with the best acquisition value.

    Failed trials are shown to the model as worse than the worst score, steering it away from them (before any
    trial succeeds, the next points are spread away from the failed ones); pruned trials as their last reported
    value, so the model learns where pruning found the search unpromising. A failed trial still counts as one of
    the initial points, so the initial design moves on past it. Once a search prunes, the points after the initial
    design come from a model that also knows the step each score was measured at (budget.py), and is asked where
    the score at the full budget is expected to be best.
    """

    method = "bayes"
    options = (ACQ, INITIAL_POINTS)
    budget_aware = True  # False: a pruned search's model takes each stopped trial's last value as its final score

    def __init__(
        self,
        acq: str = "EI",
        initial_points: int | None = None,
        seed: int | None = None,
        settings: GPSettings | None = None,
    ) -> None:
        self.acq: str = ACQ.check(acq)
        self.initial_points: int | None = INITIAL_POINTS.check(initial_points)
        self.seed = check_seed(seed)
        self.settings = GPSettings() if settings is None else settings
        self.optimizer: Engine | None = None
        self._sign = 1.0
        self._told: set[int] = set()
        self._unfitted: tuple[list[list[Any]], list[float]] = ([], [])  # learned by ask_batch, not yet fitted
        self._free: list[str] = []
        self._names: list[str] = []  # the hyperparameters of the space the model was built for
        self._initial = 1
        self._budget: BudgetModel | None = None

    def plan(
        self, space: Space, trials: Sequence[Trial], n_trials: int | None, queued: int, direction: Direction
    ) -> Plan:
        """Build the model and teach it every earlier trial, so a resumed search keeps what it learned."""
        n = 20 if n_trials is None else n_trials
        self._initial = initial = self.initial_points or min(self.settings.initial_points, max(1, n // 4))
        self._sign = -1.0 if direction == "maximize" else 1.0
        self._build(space, trials)
        learned, first = len(self._told), max(0, initial - len(self._told))
        note = f"Bayesian optimisation ({self.acq}"
        if first:
            design = _DESIGNS.get(self.settings.initial_design, self.settings.initial_design)
            note += f", {first} initial {design} point{'s' if first > 1 else ''}"
        if learned:
            note += f", model fitted on {learned} earlier trial{'s' if learned > 1 else ''}"
        return Plan(n, note + ")")

    def _build(self, space: Space, trials: Sequence[Trial]) -> None:
        """A model of the score over the space's hyperparameters, taught every trial so far."""
        self._names = list(space)
        self._free = [name for name, dim in space.items() if not (isinstance(dim, Choice) and len(dim.options) == 1)]
        self._told = set()
        self._unfitted = ([], [])
        self.optimizer = None
        self._budget = None
        if self._free:
            self.optimizer = Engine(
                [dimension(space[name]) for name in self._free],
                self.settings,
                acq_func=self.acq,
                n_initial_points=self._initial,
                random_state=self.seed,
            )
        self._sync(space, trials)

    def ask(self, space: Space, trials: Sequence[Trial], number: int) -> dict[str, Any]:
        """The point the model proposes next."""
        if list(space) != self._names:  # the trials declared new hyperparameters: model them too from now on
            self._build(space, trials)
        if self.optimizer is None:
            return space.defaults()
        budget = self._uses_budget(trials)
        self._sync(space, trials, fit=not budget)  # a pruned search's points come from the budget model
        self.optimizer.valid = self._validity(space, trials)
        if self._explores(len(trials), number):
            return sample_point(space, trial_rng(self.seed, number))
        if budget:
            return self._params(space, self._budget_model(space, trials).ask())
        with warnings.catch_warnings(), THREADS.limit(limits=1):
            warnings.simplefilter("ignore")
            x = self.optimizer.ask()
        return self._params(space, x)

    def _budget_model(self, space: Space, trials: Sequence[Trial]) -> BudgetModel:
        """The budget-aware model, taught the trials, its inputs as the plain model's."""
        if self._budget is None:
            self._budget = BudgetModel(self.settings, self.acq, self.seed)
        self._budget.learn(
            [dimension(space[name]) for name in self._free],
            trials,
            lambda trial: self._inputs(space, trial.params),
            self._sign,
            self.optimizer.valid if self.optimizer is not None else None,
        )
        return self._budget

    def ask_batch(self, space: Space, trials: Sequence[Trial], numbers: Sequence[int]) -> list[dict[str, Any]]:
        """Points for several trials at once, the running ones counted as well as the finished (constant liar).

        The model learns every finished trial; a copy of it is then told the best score so far at each running
        trial's point and at each point it proposes, so the points of a batch spread out instead of piling up.
        The copy's random state depends on the seed and the first trial's number only.
        """
        if list(space) != self._names:  # as in ask(): names the trials declared are modelled from now on
            self._build(space, trials)
        if self.optimizer is None:
            return [space.defaults() for _ in numbers]
        self._sync(space, trials, fit=False)  # the copy below fits on them: the model itself waits for ask()
        running = [
            row
            for trial in trials
            if trial.state is TrialState.RUNNING and trial.number not in self._told
            for row in [self._inputs(space, trial.params)]
            if row is not None
        ]
        if not running and len(numbers) == 1:
            return [self.ask(space, trials, numbers[0])]
        self.optimizer.valid = valid = self._validity(space, trials)
        random_state = int(np.random.default_rng([self.seed, numbers[0]]).integers(2**31))
        if self._uses_budget(trials):  # as ask(): the budget model
            modelled = [n for i, n in enumerate(numbers) if not self._explores(len(trials) + i, n)]
            rows = iter(self._budget_model(space, trials).ask_batch(running, len(modelled), random_state))
            return [
                self._params(space, next(rows)) if n in modelled else sample_point(space, trial_rng(self.seed, n))
                for n in numbers
            ]
        points = []
        with warnings.catch_warnings(), THREADS.limit(limits=1):
            warnings.simplefilter("ignore")
            liar, lie = self._liar(running, random_state)
            for i, number in enumerate(numbers):
                if self._explores(len(trials) + i, number):  # as ask() would: the liar still hears of it
                    params = sample_point(space, trial_rng(self.seed, number))
                    row = self._inputs(space, params)
                    assert row is not None and valid is not None  # a random point lies in the space
                    rested = valid(np.asarray([row], dtype=float))[0]  # its unused names where trials have them
                    x = [v if isinstance(space[name], Real) else int(v) for name, v in zip(self._free, rested)]
                else:
                    x = liar.ask()
                    params = self._params(space, x)
                points.append(params)
                if i < len(numbers) - 1:
                    liar.tell(x, lie)
        return points

    def _uses_budget(self, trials: Sequence[Trial]) -> bool:
        """Whether the points come from the budget-aware model: once a trial was pruned, after the initial design."""
        return self.budget_aware and len(trials) >= self._initial and prunes(trials)

    def _explores(self, before: int, number: int) -> bool:
        """Whether trial `number`, asked with `before` trials ahead of it, is drawn at random rather than by the model.

        In a conditional space a model that believes in one branch may never try another: after the initial design,
        every few trials is a configuration drawn at random (with the seed), as SMAC interleaves random ones.
        """
        assert self.optimizer is not None
        return (
            self.optimizer.valid is not None and before >= self._initial and number % EXPLORE_EVERY == EXPLORE_EVERY - 1
        )

    def _liar(self, running: list[list[Any]], random_state: int) -> tuple[Engine, float]:
        """A copy of the model that believes each running point scored the best score so far (one GP fit), and that lie."""
        model = self.optimizer
        assert model is not None
        learned_y = model.yi + self._unfitted[1]
        scores = [y for y in learned_y if not np.isnan(y)]
        lie = min(scores) if scores else (FAILED if learned_y else 0.0)  # none succeeded: avoid them like failures
        xs, ys = self._unfitted[0] + running, self._unfitted[1] + [lie] * len(running)
        return model.copy(random_state=random_state, xs=xs, ys=ys), lie

    def _params(self, space: Space, x: Sequence[Any]) -> dict[str, Any]:
        params = space.defaults()
        params.update({name: decode(space[name], value) for name, value in zip(self._free, x)})
        return params

    def _inputs(self, space: Space, params: Mapping[str, Any]) -> list[Any] | None:
        """A trial's point as the model's inputs, or None when a value lies outside this search's space.

        A hyperparameter the trial did not use (a conditional one) stands at its range's low end (a choice: its
        first option), so that trials which used the same ones are alike along it.
        """
        row = []
        for name in self._free:
            dim = space[name]
            if name not in params:
                row.append(encode(dim, _resting(dim)))
                continue
            try:
                row.append(encode(dim, dim.validate(params[name])))
            except SpaceError:
                return None
        return row

    def _validity(self, space: Space, trials: Sequence[Trial]) -> Callable[[np.ndarray], np.ndarray] | None:
        """How to make a candidate a configuration the code can produce, from what the trials show, or None when
        every trial used every hyperparameter.

        A hyperparameter only some trials used is tied to one that every trial used (a choice or an integer): the
        values under which trials used it (momentum: optimiser "sgd") or, for an integer, the values from which on
        (units_1: n_layers from 2). A candidate outside them does not use it: it stands where such trials do, at its
        range's low end, so the acquisition compares configurations as the trials ran them.
        """
        rules = activity_rules(space, self._free, trials)
        if not rules:
            return None
        column = {name: i for i, name in enumerate(self._free)}
        resting = {name: encode(space[name], _resting(space[name])) for name in rules}

        def valid(rows: np.ndarray) -> np.ndarray:
            idle: dict[str, np.ndarray] = {}
            for name, (parent, uses) in rules.items():  # a parent's rule comes before its children's
                off = ~uses(rows[:, column[parent]])
                if parent in idle:
                    off |= idle[parent]
                idle[name] = off
                rows[off, column[name]] = resting[name]
            return rows

        return valid

    def learn(self, space: Space, trials: Sequence[Trial]) -> None:
        """Tell the model every finished trial it has not seen yet (ask() does this itself)."""
        self._sync(space, trials)

    def fitted_model(self, space: Space, direction: Direction) -> FittedModel | None:
        """The model's latest fit, or None when it has none of the score over this space in this direction."""
        if self.optimizer is None:
            return None
        names = [name for name, dim in space.items() if not (isinstance(dim, Choice) and len(dim.options) == 1)]
        if names != self._free or self._sign != (-1.0 if direction == "maximize" else 1.0):
            return None
        return self.optimizer.fitted_model([dimension(space[name]) for name in names])

    def _sync(self, space: Space, trials: Sequence[Trial], fit: bool = True) -> None:
        if self.optimizer is None:
            return
        learned = (TrialState.COMPLETE, TrialState.PRUNED)
        xs, ys = [], []
        for trial in trials:
            if trial.number in self._told:
                continue
            self._told.add(trial.number)
            row = self._inputs(space, trial.params)
            if row is None:  # a search narrowed the space: the model learns from what is inside
                continue
            if trial.state in learned and trial.value is not None:  # a pruned trial at its last reported value
                y = self._sign * trial.value
            elif trial.state in (TrialState.FAILED, TrialState.PRUNED):
                y = FAILED  # the model scores it once it is fitted, worse than the worst score then
            else:
                self._told.discard(trial.number)  # a running trial is told once it has finished
                continue
            xs.append(row)
            ys.append(float(y))
        self._unfitted[0].extend(xs)
        self._unfitted[1].extend(ys)
        if fit and self._unfitted[0]:
            xs, ys = self._unfitted
            self._unfitted = ([], [])
            with warnings.catch_warnings(), THREADS.limit(limits=1):
                warnings.simplefilter("ignore")
                self.optimizer.tell(xs, ys)


def _resting(dim: Any) -> Any:
    """Where a hyperparameter a configuration does not use stands in the model: its range's low end, a first option."""
    return dim.options[0] if isinstance(dim, Choice) else dim.low


def activity_rules(
    space: Space, names: Sequence[str], trials: Sequence[Trial]
) -> dict[str, tuple[str, Callable[[Any], Any]]]:
    """For each of `names` that only some trials used: the hyperparameter deciding it and a test of that one's
    model value (a choice's index, an integer) saying whether a configuration uses it. Names with no such rule in
    the trials are left out (treated as always used).

    A deciding hyperparameter may itself be conditional (x4 used when x2 is 0, x2 when x1 is 0): a configuration
    then uses the name only when it uses the parent too. Parents come before their children in the result.
    """
    seen = [t.params for t in trials if t.params]
    rules: dict[str, tuple[str, Callable[[Any], Any]]] = {}
    pending = [name for name in names if any(name in p for p in seen) and not all(name in p for p in seen)]
    while pending:
        found = False
        for name in list(pending):
            rule = _rule(space, names, seen, name, rules)
            if rule is not None:
                rules[name] = rule
                pending.remove(name)
                found = True
        if not found:
            break
    return rules


def _rule(
    space: Space,
    names: Sequence[str],
    seen: list[Mapping[str, Any]],
    name: str,
    rules: Mapping[str, tuple[str, Callable[[Any], Any]]],
) -> tuple[str, Callable[[Any], Any]] | None:
    """The hyperparameter deciding whether `name` is used and the test of its value, or None when the trials show
    none: first among those every trial used, then among those with a rule of their own that every trial using
    `name` used."""
    using = [p for p in seen if name in p]
    idle = [p for p in seen if name not in p]
    for nested in (False, True):
        for parent in names:
            dim = space[parent]
            if parent == name or isinstance(dim, Real):
                continue
            if nested:
                if parent not in rules or not all(parent in p for p in using):
                    continue
            elif not all(parent in p for p in seen):
                continue
            on = {encode(dim, p[parent]) for p in using}
            off = {encode(dim, p[parent]) for p in idle if parent in p}
            if on & off or not off:
                continue
            if isinstance(dim, Int) and min(on) > max(off):
                return parent, functools.partial(operator.le, min(on))  # min(on) <= value(s)
            return parent, functools.partial(np.isin, test_elements=sorted(on))
    return None
