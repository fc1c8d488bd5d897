"""The Gaussian-process posterior of the score over the space, sliced along one or two hyperparameters for plots."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from skopt.utils import cook_estimator, normalize_dimensions

from .samplers.bayes import BayesSampler
from .samplers.gp_model import THREADS, FittedModel, decode, dimension, encode
from .space import Choice, Int, Real, Space, to_python
from .study import Direction, is_direction
from .trial import Trial, TrialState, best_trial

__all__ = ["BAYES_SOURCE", "DISPLAY_SOURCE", "Posterior", "Slice", "Surface", "posterior", "sliceable"]

BAYES_SOURCE = "model of the Bayesian search"
DISPLAY_SOURCE = "GP fitted to the trials (for display)"


@dataclass(frozen=True)
class Slice:
    """The posterior along one hyperparameter, the others held fixed."""

    name: str
    kind: str
    log: bool
    x: list
    mean: np.ndarray
    std: np.ndarray  # a quarter of the band's width (the model's σ itself unless it models warped scores)
    low: np.ndarray  # the ±2σ band in score units: asymmetric about the mean when the model warps the scores
    high: np.ndarray
    acquisition: np.ndarray | None
    acq_name: str | None
    next_x: Any | None
    observed_x: list
    observed_y: list[float]
    fixed: dict[str, Any]
    source: str
    direction: Direction
    next_trial: int | None = None  # the trial that already ran next_x: the model has not been told its score yet
    clipped: float = 0.0  # the share of points whose mean the model put outside the scores' range (drawn at its edge)


@dataclass(frozen=True)
class Surface:
    """The posterior mean over two hyperparameters, the others held fixed."""

    x_name: str
    y_name: str
    x_kind: str
    y_kind: str
    x_log: bool
    y_log: bool
    x: list
    y: list
    mean: np.ndarray
    observed_x: list
    observed_y: list
    observed_score: list[float]
    fixed: dict[str, Any]
    source: str
    direction: Direction
    clipped: float = 0.0  # the share of points whose mean the model put outside the scores' range (drawn at its edge)


class Posterior:
    """A fitted Gaussian process of the score: predictions, slices and surfaces in the user's units.

    A view shows only the trials that used its hyperparameters, and holds each other hyperparameter at its value
    in the best of those trials that used it; one that none of them used is left out (it does not apply there).
    """

    def __init__(
        self,
        space: Space,
        trials: Sequence[Trial],
        direction: Direction,
        model: FittedModel,
        names: Sequence[str],
        source: str,
    ) -> None:
        self.space = space
        self.direction = direction
        self.source = source
        self.names = list(names)  # the params the model sees, in its column order
        self.acq_name = model.acq_name
        self.next_params: dict[str, Any] | None = None
        if model.next_x is not None:
            self.next_params = {name: decode(space[name], value) for name, value in zip(names, model.next_x)}
            self.next_params.update({name: space[name].default_value for name in space if name not in self.next_params})
        self.next_trial = None if self.next_params is None else _ran(self.next_params, names, trials)
        self.trials = _observations(space, trials)
        self.n_fitted = len(self.trials) if model.n_fitted is None else model.n_fitted  # the points it was fitted on
        self._model = model
        self._sign = -1.0 if direction == "maximize" else 1.0
        self._warp = model.warp  # the map from scores to the model's units, when the model was fitted on warped scores
        self.best: Trial | None = best_trial(self.trials, direction)
        self.fixed = _held(space, self.trials, direction)  # where the model is held along each hyperparameter
        self.limits = _limits([float(t.value) for t in self.trials])  # type: ignore[arg-type]

    def slice(self, name: str, points: int = 100) -> Slice:
        """The posterior along one hyperparameter, the others held at the best trial's values (those that apply)."""
        dim = self._dim(name)
        xs = _grid(dim, _check_points(points))
        fixed = self._others([name])
        mean, low, high, acq = self._predict(self._grid_rows([(name, xs)], fixed), acquisition=True)
        clipped, (mean, low, high) = self._clip(mean, low, high)
        observed = [t for t in self.trials if name in t.params]
        next_x = None if self.next_params is None else self.next_params.get(name)
        return Slice(
            name=name,
            kind=dim.kind,
            log=bool(getattr(dim, "log", False)),
            x=xs,
            mean=mean,
            std=(high - low) / 4,
            low=low,
            high=high,
            acquisition=acq,
            acq_name=self.acq_name if acq is not None else None,
            next_x=next_x,
            observed_x=[to_python(t.params[name]) for t in observed],
            observed_y=[float(t.value) for t in observed],  # type: ignore[arg-type]
            fixed=fixed,
            source=self.source,
            direction=self.direction,
            next_trial=self.next_trial if next_x is not None else None,
            clipped=clipped,
        )

    def surface(self, x_name: str, y_name: str, points: int = 40) -> Surface:
        """The posterior mean over two hyperparameters, the others held at the best trial's values (those that apply)."""
        x_dim, y_dim = self._dim(x_name), self._dim(y_name)
        if x_name == y_name:
            raise ValueError(f"a surface needs two different hyperparameters, got {x_name!r} twice")
        points = _check_points(points)
        xs, ys = _grid(x_dim, points), _grid(y_dim, points)
        fixed = self._others([x_name, y_name])
        clipped, (mean,) = self._clip(self._mean(self._grid_rows([(y_name, ys), (x_name, xs)], fixed)))
        observed = [t for t in self.trials if x_name in t.params and y_name in t.params]
        return Surface(
            x_name=x_name,
            y_name=y_name,
            x_kind=x_dim.kind,
            y_kind=y_dim.kind,
            x_log=bool(getattr(x_dim, "log", False)),
            y_log=bool(getattr(y_dim, "log", False)),
            x=xs,
            y=ys,
            mean=mean.reshape(len(ys), len(xs)),
            observed_x=[to_python(t.params[x_name]) for t in observed],
            observed_y=[to_python(t.params[y_name]) for t in observed],
            observed_score=[float(t.value) for t in observed],  # type: ignore[arg-type]
            fixed=fixed,
            source=self.source,
            direction=self.direction,
            clipped=clipped,
        )

    def __repr__(self) -> str:
        return f"<Posterior {self.direction} over {', '.join(self.space)}: {self.source}, {len(self.trials)} trials>"

    def _clip(self, mean: np.ndarray, *bands: np.ndarray) -> tuple[float, tuple[np.ndarray, ...]]:
        """The share of means outside the scores' range, and the mean and bands clipped to it."""
        low, high = self.limits
        outside = float(np.mean((mean < low) | (mean > high))) if len(mean) else 0.0
        return outside, tuple(np.clip(a, low, high) for a in (mean, *bands))

    def _dim(self, name: str) -> Real | Int | Choice:
        if name not in self.space:
            raise ValueError(f"unknown hyperparameter {name!r}: the space declares {', '.join(self.space)}")
        return self.space[name]

    def _others(self, names: Sequence[str]) -> dict[str, Any]:
        """The values the other hyperparameters are held at in a view along names (those that apply only)."""
        used = [t for t in self.trials if all(name in t.params for name in names)] or self.trials
        return {k: v for k, v in _held(self.space, used, self.direction, defaults=False).items() if k not in names}

    def _grid_rows(self, axes: Sequence[tuple[str, list]], fixed: Mapping[str, Any]) -> np.ndarray:
        """The model's input over the product of the grids (the last one varying fastest), the others at fixed.

        One that fixed leaves out (no trial of the view used it) is held where the model is held along it.
        """
        held = [encode(self.space[name], fixed.get(name, self.fixed[name])) for name in self.names]
        columns = [
            (self.names.index(name) if name in self.names else None, _encode_grid(self.space[name], values))
            for name, values in axes
        ]
        encoded = []
        for combo in itertools.product(*(values for _, values in columns)):
            row = list(held)
            for (column, _), value in zip(columns, combo):
                if column is not None:
                    row[column] = value
            encoded.append(row)
        return self._model.transform(encoded)

    def _mean(self, rows: np.ndarray) -> np.ndarray:
        """The posterior mean in score units (cheaper than with the std)."""
        with warnings.catch_warnings(), THREADS.limit(limits=1):
            warnings.simplefilter("ignore")
            mean = self._model.mean(rows)
        if self._warp is not None:
            mean = self._warp.inverse(mean)
        return self._sign * mean

    def _predict(
        self, rows: np.ndarray, *, acquisition: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Mean and ±2σ band in score units, and the acquisition (higher = more promising) when the model has one."""
        with warnings.catch_warnings(), THREADS.limit(limits=1):
            warnings.simplefilter("ignore")
            mean, std = self._model.predict(rows)
            acq = self._model.acquisition(rows) if acquisition and self.acq_name is not None else None
        if self._warp is None:
            mean, low, high = mean, mean - 2 * std, mean + 2 * std
        else:
            mean, low, high = self._warp.band(mean, std)
        if self._sign < 0:  # the model minimises the negated score: its band's low end is the score's high end
            low, high = high, low
        return self._sign * mean, self._sign * low, self._sign * high, acq


def posterior(
    space: Space, trials: Sequence[Trial], direction: Direction, sampler: object | None = None, seed: int = 0
) -> Posterior | None:
    """The posterior for plots: the bayes sampler's own fitted model when there is one, else a GP fitted to the trials; None with fewer than 2 completed trials."""
    # Observations are the completed trials inside the space: failed, interrupted and running ones have no score,
    # and those of an earlier search over a wider space can lie outside the model's ranges.
    if not is_direction(direction):  # a caller without type checking may pass any string
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    space = Space(space)
    done = _observations(space, trials)
    names = [name for name, dim in space.items() if not (isinstance(dim, Choice) and len(dim.options) == 1)]
    if len(done) < 2 or not names:
        return None
    found = _bayes_posterior(space, trials, direction, sampler, names)
    if found is not None:
        return found
    model_space = normalize_dimensions([dimension(space[name]) for name in names])
    held = _held(space, done, direction)  # a trial that did not use a hyperparameter is seen where views hold it
    done = _fit_subset(done, direction, seed)
    xs = [[encode(space[name], t.params.get(name, held[name])) for name in names] for t in done]
    sign = -1.0 if direction == "maximize" else 1.0
    ys = [sign * float(t.value) for t in done]  # type: ignore[arg-type]
    with warnings.catch_warnings(), THREADS.limit(limits=1):
        warnings.simplefilter("ignore")
        model = cook_estimator("GP", space=model_space, random_state=seed, noise="gaussian")
        if "kernel__k2__length_scale_bounds" in model.get_params():
            # With few trials the fit may pick length scales so short that the mean is flat with a dip at each
            # trial; a display should show the trend, so a length scale is at least a tenth of a range.
            model.set_params(kernel__k2__length_scale_bounds=(DISPLAY_MIN_LENGTH_SCALE, 100.0))
        model.fit(model_space.transform(xs), ys)
    return Posterior(space, trials, direction, FittedModel(gp=model, space=model_space), names, DISPLAY_SOURCE)


DISPLAY_MIN_LENGTH_SCALE = 0.1  # of the display GP, in units of each range scaled to [0, 1]
DISPLAY_FIT_LIMIT = 100  # trials the display GP is fitted on: its fit grows with the cube of the trials


def _fit_subset(done: list[Trial], direction: Direction, seed: int) -> list[Trial]:
    """At most DISPLAY_FIT_LIMIT trials for the display GP: the best one and a seeded random sample of the rest."""
    if len(done) <= DISPLAY_FIT_LIMIT:
        return done
    best = best_trial(done, direction)
    rest = [t for t in done if t is not best]
    chosen = np.random.default_rng(seed).choice(len(rest), DISPLAY_FIT_LIMIT - 1, replace=False)
    return [best, *(rest[i] for i in sorted(chosen))]


def _bayes_posterior(
    space: Space, trials: Sequence[Trial], direction: Direction, sampler: object | None, names: list[str]
) -> Posterior | None:
    """The posterior of the bayes sampler's latest model, or None when it has none for this space and direction."""
    if not isinstance(sampler, BayesSampler):
        return None
    model = sampler.fitted_model(space, direction)
    return None if model is None else Posterior(space, trials, direction, model, names, BAYES_SOURCE)


LIMIT_MARGIN = 0.5  # how far beyond the scores seen a plotted prediction may go, as a share of their range


def _limits(scores: Sequence[float]) -> tuple[float, float]:
    """The range a plotted prediction stays in: the scores seen, widened by LIMIT_MARGIN of their spread.

    A model that warps the scores maps its predictions back through a power that can diverge far from the trials
    (an accuracy of -180000); a display clips there rather than draw what no score can be.
    """
    low, high = min(scores), max(scores)
    margin = LIMIT_MARGIN * (high - low) or 0.1 * abs(high) or 1.0
    return low - margin, high + margin


def _observations(space: Space, trials: Sequence[Trial]) -> list[Trial]:
    """The completed trials whose params lie inside the space (a search may narrow a study's space)."""
    return [t for t in trials if t.state is TrialState.COMPLETE and space.includes(t.params, partial=True)]


def sliceable(space: Space, trials: Sequence[Trial]) -> list[str]:
    """The hyperparameters a posterior view is offered along: those at least 2 completed trials used."""
    done = _observations(Space(space), trials)
    return [name for name in space if sum(name in t.params for t in done) >= 2]


def _held(space: Space, trials: Sequence[Trial], direction: Direction, *, defaults: bool = True) -> dict[str, Any]:
    """Each hyperparameter at its value in the best of the trials that used it; at its default when none did
    (or, with defaults=False, left out)."""
    held: dict[str, Any] = {}
    for name, dim in space.items():
        best = best_trial([t for t in trials if name in t.params], direction)
        if best is not None:
            held[name] = to_python(best.params[name])
        elif defaults:
            held[name] = to_python(dim.default_value)
    return held


def _ran(params: Mapping[str, Any], names: Sequence[str], trials: Sequence[Trial]) -> int | None:
    """The number of the latest trial run at params (compared on the model's params), or None."""
    for trial in reversed(trials):
        if all(name in trial.params and trial.params[name] == params[name] for name in names):
            return trial.number
    return None


def _grid(dim: Real | Int | Choice, points: int) -> list:
    """Values along a dimension: spaced reals, integers (all of them when few), or every option."""
    if isinstance(dim, Choice):
        return list(dim.options)
    if isinstance(dim, Int):
        if dim.high - dim.low + 1 <= points:
            return list(range(dim.low, dim.high + 1))
        spaced = np.geomspace if dim.log else np.linspace
        return sorted({int(round(v)) for v in spaced(dim.low, dim.high, points)})
    return dim.grid(points)


def _check_points(points: int) -> int:
    if isinstance(points, bool) or not isinstance(points, int | np.integer) or points < 2:
        raise ValueError(f"points must be an integer of at least 2, got {points!r}")
    return int(points)


def _encode_grid(dim: Real | Int | Choice, values: list) -> list:
    """A grid of _grid's as the model's values: a choice's options are its indexes."""
    return list(range(len(values))) if isinstance(dim, Choice) else values
