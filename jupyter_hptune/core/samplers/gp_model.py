"""The Gaussian-process model of the bayes search, on scikit-optimize and scikit-learn.

The one module that reaches into those libraries' private state (scikit-optimize's Optimizer._tell and _ask, its
_next_x and _n_initial_points, its _gaussian_acquisition; scikit-learn's GaussianProcessRegressor._y_train_mean,
_y_train_std and alpha_): pyproject.toml bounds their versions to those this was tested with. The rest of the
package sees a fitted model through FittedModel.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg
import scipy.optimize
from scipy.special import erfcx, log_ndtr
from sklearn.base import clone
from sklearn.gaussian_process import GaussianProcessRegressor as SkLearnGP
from sklearn.utils import check_random_state
from skopt import Optimizer
from skopt.acquisition import _gaussian_acquisition
from skopt.learning.gaussian_process.kernels import WhiteKernel
from skopt.space import Categorical as SkCategorical
from skopt.space import Integer as SkInteger
from skopt.space import Real as SkReal
from threadpoolctl import ThreadpoolController

from ..space import Choice, Int, to_python

__all__ = ["THREADS", "Engine", "FittedModel", "GPSettings", "Warp", "decode", "dimension", "encode"]

# The model's matrices are tiny (one row per trial): BLAS threads only contend, ten times slower on a busy machine.
THREADS = ThreadpoolController()


@dataclass(frozen=True)
class GPSettings:
    """The bayes search's model settings (benchmarks/README.md says what each was measured to do)."""

    initial_points: int = 5  # points before the first model (at most a quarter of the trials)
    initial_design: str = "sobol"  # how they are spread: a Sobol sequence shifted by the seed (or "random", "lhs")
    noise_cap: float = 0.05  # the learned noise is at most this share of the scores' variance
    fit_restarts: int = 0  # random starts of the model's fit, besides the previous fit's hyperparameters
    fit_limit: int = 100  # trials the hyperparameters are fitted on, at most: the best half and a random rest
    refit_share: float = 0.04  # hyperparameters refitted once this share of the trials is new (each trial up to 25)
    model_limit: int = 500  # trials the model is conditioned on, at most (the same way): its time stops growing
    candidates: int = 500  # random points the acquisition function is evaluated at
    local: int = 250  # points near the best trials, in the same first round, and in each later round
    rounds: int = 3  # rounds of points near the best candidates so far, each half as far
    top: int = 5  # the best trials, and in later rounds the best candidates, searched around
    starts: int = 10  # gradient searches: from the best candidate and from others drawn by acquisition value
    polish: int = 20  # gradient steps of each (on the real-valued params; the others stay as drawn)
    xi: float = 0.0  # EI's and PI's margin over the best score (scikit-optimize's 0.01 depends on the scores' scale)
    warp: bool = True  # scores power-transformed (Yeo-Johnson) to look normal before the model sees them
    prior_quantile: float = 1.0  # far from any trial the model expects this quantile of the scores (1: the worst)


@dataclass(frozen=True)
class FittedModel:
    """A fitted Gaussian process of the score: its predictions, acquisition and next point, in its own units.

    Its input is a row per point (transform() makes them from params' values, a choice as its option's index); a
    model of a search that maximises predicts the negated score, and one with a warp predicts warped scores.
    """

    gp: Any = field(repr=False)  # the regressor (scikit-optimize's GaussianProcessRegressor)
    space: Any = field(repr=False)  # scikit-optimize's Space of the model's input
    warp: Warp | None = None  # the map from scores to the model's units, when it was fitted on warped scores
    acq_name: str | None = None  # the acquisition function that chose the next point (None: the model has none)
    acq_kwargs: Mapping[str, Any] = field(default_factory=dict)
    y_opt: float | None = None  # the best score told, in the model's units
    next_x: tuple | None = None  # the point the model proposes next, in params' values (a choice as its index)
    n_fitted: int | None = None  # the trials told to the model, when it has a search's

    def transform(self, rows: Sequence[Sequence[Any]]) -> np.ndarray:
        """Points (one row of params' values each) as the model's input."""
        return np.asarray(self.space.transform(rows), dtype=float)

    def mean(self, X: np.ndarray) -> np.ndarray:
        """The posterior mean at each row of X (cheaper than with the std)."""
        return np.asarray(self.gp.predict(X), dtype=float)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The posterior mean and standard deviation at each row of X."""
        mean, std = self.gp.predict(X, return_std=True)
        return np.asarray(mean, dtype=float), np.asarray(std, dtype=float)

    def acquisition(self, X: np.ndarray) -> np.ndarray:
        """The acquisition function at each row of X (higher = more promising)."""
        if self.acq_name is None:
            raise ValueError("this model has no acquisition function")
        values = _gaussian_acquisition(
            X, self.gp, y_opt=self.y_opt, acq_func=self.acq_name, acq_func_kwargs=dict(self.acq_kwargs)
        )
        return -np.asarray(values, dtype=float)

    @property
    def points(self) -> np.ndarray:
        """The points the model is conditioned on, as rows of its input."""
        return np.asarray(self.gp.X_train_, dtype=float)

    @property
    def targets(self) -> np.ndarray:
        """Their scores, in the model's units."""
        return np.asarray(self.gp.y_train_ * self.gp._y_train_std + self.gp._y_train_mean, dtype=float)


class Engine(Optimizer):
    """scikit-optimize's Optimizer with our fit of its Gaussian process and our search of the acquisition function.

    scikit-optimize keeps the trials, spreads the initial points and provides the model and the acquisition
    functions; this class changes how the model is fitted (scores warped to look normal, weak priors, warm-started
    from the previous fit, capped noise, a prior mean at the worst score, hyperparameters on at most `fit_limit`
    trials and refitted once `refit_share` of the trials is new, the model on at most `model_limit`) and where the
    acquisition function is evaluated (random points, rounds of points near the best trials and candidates, all in
    vectorised batches, then gradient searches from several of the best).
    """

    def __init__(self, dimensions: list[Any], settings: GPSettings, **options: Any) -> None:
        options.setdefault("acq_func_kwargs", {"xi": float(settings.xi)})
        options.setdefault("initial_point_generator", settings.initial_design)
        with warnings.catch_warnings():
            # a Sobol sequence is best balanced at a power of 2 points; its first few are still better spread
            # than random ones (benchmarks/README.md)
            warnings.filterwarnings("ignore", message="The balance properties of Sobol")
            super().__init__(dimensions, base_estimator="GP", model_queue_size=1, **options)
        self.settings = settings
        gp = self.base_estimator_
        cap = float(self.settings.noise_cap)
        gp.set_params(
            kernel=gp.kernel + WhiteKernel(noise_level=min(1e-3, cap), noise_level_bounds=(1e-8, cap)),
            n_restarts_optimizer=int(self.settings.fit_restarts),
            optimizer=_fit_with_prior,
        )
        self._theta: np.ndarray | None = None  # the latest fit's hyperparameters, where the next fit starts
        self._fitted_at = 0  # the number of trials the hyperparameters were last fitted at
        self.warp_: Warp | None = None  # the latest fit's map from scores to the model's units
        # the model's input columns that are real-valued params, which gradient steps move
        self._continuous = np.concatenate(
            [np.full(d.transformed_size, isinstance(d, SkReal)) for d in self.space.dimensions]
        )
        self._only_reals = bool(self._continuous.all())
        # makes candidate points valid configurations (in place, a row of the model's values each, a choice as its
        # index): a conditional hyperparameter a configuration would not use set where trials that did not use it
        # stand; None: every point is valid
        self.valid: Callable[[np.ndarray], np.ndarray] | None = None

    def copy(self, random_state: Any = None, xs: Sequence[Any] = (), ys: Sequence[float] = ()) -> Engine:
        """A copy that has been told the same trials, and the points `xs` scored `ys` besides (one fit of its own).

        It shares what never changes after construction (the space, the unfitted model, the initial design):
        building them again costs about 30 ms, mostly scikit-optimize's setting up of the space.
        """
        twin = copy.copy(self)
        twin.rng = check_random_state(random_state)
        twin.Xi, twin.yi, twin.models, twin.cache_ = [], [], [], {}
        twin._n_initial_points = self.n_initial_points_
        twin._theta = None if self._theta is None else self._theta.copy()
        if hasattr(self, "gains_"):  # gp_hedge's tally of its acquisition functions
            twin.gains_ = np.copy(self.gains_)
        twin.warp_ = None
        for fitted in ("next_xs_", "_next_x"):
            twin.__dict__.pop(fitted, None)
        if self.Xi or xs:
            twin._tell([*self.Xi, *xs], [*self.yi, *ys])
        return twin

    def decode(self, Z: np.ndarray) -> np.ndarray:
        """Rows of the model's input as rows of the model's values (a choice as its index): as the space's
        inverse_transform, without its per-value Python and scikit-learn's label checks."""
        values = np.empty((len(Z), self.space.n_dims))
        start = 0
        for j, dim in enumerate(self.space.dimensions):
            size = dim.transformed_size
            if isinstance(dim, SkCategorical):  # one-hot, or one 0/1 column for two options
                values[:, j] = Z[:, start] > 0.5 if size == 1 else np.argmax(Z[:, start : start + size], axis=1)
            else:
                values[:, j] = dim.inverse_transform(Z[:, start])
            start += size
        return values

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Rows of the model's values as rows of its input: as the space's transform, a column at a time."""
        columns = []
        for j, dim in enumerate(self.space.dimensions):
            if isinstance(dim, SkCategorical):
                index = values[:, j].astype(int)
                count = len(dim.categories)
                columns.append(index[:, None].astype(float) if count == 2 else np.eye(count)[index])
            else:
                columns.append(np.asarray(dim.transform(values[:, j]), dtype=float).reshape(len(values), -1))
        return np.hstack(columns)

    def fitted_model(self, dimensions: Sequence[Any]) -> FittedModel | None:
        """The latest fitted model, or None before the first or when the engine models other dimensions than these."""
        if not self.models:
            return None
        if [_shape(d) for d in self.space.dimensions] != [_shape(d) for d in dimensions]:
            return None  # a model of another space (e.g. before a search narrowed it)
        warp = self.warp_  # the scores' warp of the fit that made this model
        assert warp is not None
        next_x = getattr(self, "_next_x", None)
        return FittedModel(
            gp=self.models[-1],
            space=self.space,
            warp=warp,
            acq_name=self._acquisition_used(),
            acq_kwargs=dict(self.acq_func_kwargs),
            y_opt=float(warp(np.nanmin(self.yi))),  # failed trials are told as NaN
            next_x=None if next_x is None else tuple(next_x),
            n_fitted=len(self.yi),
        )

    def _acquisition_used(self) -> str:
        """The acquisition function that chose the next point (for gp_hedge: the one it drew, else EI)."""
        if self.acq_func != "gp_hedge":
            return str(self.acq_func)
        candidates = getattr(self, "next_xs_", None)
        next_x = getattr(self, "_next_x", None)
        if candidates and next_x is not None:
            chosen = np.asarray(self.space.transform([next_x])[0], dtype=float)
            for name, candidate in zip(self.cand_acq_funcs_, candidates):
                if np.allclose(np.asarray(candidate, dtype=float), chosen):
                    return str(name)
        return "EI"

    def _tell(self, x: Any, y: Any, fit: bool = True) -> Any:
        result = super()._tell(x, y, fit=False)  # scikit-optimize's bookkeeping only
        if fit and self._n_initial_points <= 0:
            self._propose()
        return result

    def _ask(self) -> Any:
        if self._n_initial_points <= 0 and not self.models and getattr(self, "_next_x", None) is not None:
            return self._next_x  # every trial failed: no model yet, the point farthest from them
        return super()._ask()

    def _propose(self) -> None:
        """Fit the model to every trial told and choose the next point."""
        X = self.encode(np.asarray(self.Xi, dtype=float))
        scores = np.asarray(self.yi, dtype=float)
        failed = np.isnan(scores)
        if failed.all():
            self._next_x = self._spread(X)
            return
        if failed.any():  # worse than the worst score, by the scores' spread (or their scale, for one score)
            worst, spread = float(scores[~failed].max()), float(np.ptp(scores[~failed]))
            scores = np.where(failed, worst + (spread or max(abs(worst), 1.0)), scores)
        self.warp_ = Warp(scores, enabled=bool(self.settings.warp))
        y = self.warp_(scores)
        model = self._fit(X, y)
        if self.acq_func == "gp_hedge" and getattr(self, "next_xs_", None):
            self.gains_ -= model.predict(np.vstack(self.next_xs_))
        self.models = [model]
        self.next_xs_: list[Any] = [self._maximise(model, acq, X, y) for acq in self.cand_acq_funcs_]
        if self.acq_func == "gp_hedge":
            logits = np.array(self.gains_) - np.max(self.gains_)
            probs = np.exp(self.eta * logits)
            next_x = self.next_xs_[int(np.argmax(self.rng.multinomial(1, probs / probs.sum())))]
        else:
            next_x = self.next_xs_[0]
        self._next_x = self.space.inverse_transform(next_x.reshape((1, -1)))[0]

    def _spread(self, X: np.ndarray) -> list[Any]:
        """Of random candidates drawn with the seed, the one farthest from every trial (all of which failed)."""
        count = int(self.settings.candidates)
        candidates = np.asarray(self.space.transform(self.space.rvs(count, random_state=self.rng)), dtype=float)
        width = np.asarray(self.space.transformed_bounds, dtype=float) @ np.array([-1.0, 1.0])
        scaled = (candidates[:, None, :] - X[None, :, :]) / np.where(width > 0, width, 1.0)
        best = candidates[int(np.argmax((scaled**2).sum(axis=-1).min(axis=1)))]
        return self.space.inverse_transform(best.reshape((1, -1)))[0]

    def _fit(self, X: np.ndarray, y: np.ndarray) -> Any:
        """The Gaussian process on at most `model_limit` trials, its hyperparameters fitted on `fit_limit` of them."""
        base = self.base_estimator_
        kernel = base.kernel if self._theta is None else base.kernel.clone_with_theta(self._theta)
        fitted, shown = (
            self._subset(y, int(self.settings.fit_limit)),
            self._subset(y, int(self.settings.model_limit)),
        )
        if self._theta is not None and len(y) - self._fitted_at < float(self.settings.refit_share) * len(y):
            fitted = np.empty(0, dtype=int)  # the last fit's hyperparameters, conditioned on every trial below
        else:
            model = clone(base).set_params(kernel=kernel, random_state=self.rng.randint(2**31 - 1))
            model.fit(X[fitted], y[fitted])
            # the fitted hyperparameters, the noise level restored (the model zeroes it for its predictions)
            self._theta = np.append(model.kernel_.k1.theta, np.log(model.noise_))
            self._fitted_at = len(y)
        if len(fitted) < len(shown):
            model = clone(base).set_params(kernel=base.kernel.clone_with_theta(self._theta), optimizer=None)
            model.fit(X[shown], y[shown])
        # far from every trial the model reverts to its prior mean: the worst score, not the average, so that
        # unexplored corners draw trials by their uncertainty alone
        prior_mean = float(np.quantile(y[shown], float(self.settings.prior_quantile)))
        model._y_train_mean = model.y_train_mean_ = prior_mean
        model.y_train_ = (y[shown] - prior_mean) / model._y_train_std
        model.alpha_ = scipy.linalg.cho_solve((model.L_, True), model.y_train_)
        return model

    def _subset(self, y: np.ndarray, limit: int) -> np.ndarray:
        """Every trial's index, or past `limit` trials the best half of the limit and a random rest."""
        if len(y) <= limit:
            return np.arange(len(y))
        order = np.argsort(y, kind="stable")
        rest = self.rng.choice(order[limit // 2 :], limit - limit // 2, replace=False)
        return np.sort(np.concatenate([order[: limit // 2], rest]))

    def _draw(self, values: np.ndarray, best: int, count: int, acq: str) -> np.ndarray:
        """Up to `count` candidates other than the best, drawn with the seed, each as likely as its acquisition value."""
        # LCB is a bound in score units, scaled by its spread; EI and PI (negated) count by their own value
        gain = -values / max(float(np.std(values)), 1e-12) if acq == "LCB" else np.log(np.maximum(-values, 1e-300))
        weights = np.exp(gain - gain.max())
        weights[best] = 0.0
        count = min(count, int(np.count_nonzero(weights)))
        if count <= 0:
            return np.empty(0, dtype=int)
        return self.rng.choice(len(values), size=count, replace=False, p=weights / weights.sum())

    def _maximise(self, model: Any, acq: str, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The best point found for one acquisition function, in the model's (transformed) coordinates."""
        s, rng = self.settings, self.rng
        bounds = np.asarray(self.space.transformed_bounds, dtype=float)
        low, high = bounds[:, 0], bounds[:, 1]
        width = high - low
        y_opt = float(np.min(y))

        def snap(Z: np.ndarray) -> np.ndarray:
            Z = np.clip(Z, low, high)
            if self._only_reals:
                return Z
            return self.encode(self.decode(Z))

        def valid(Z: np.ndarray) -> np.ndarray:
            if self.valid is None or not len(Z):
                return Z
            return self.encode(self.valid(self.decode(Z)))

        def near(centres: np.ndarray, count: int, scale: float) -> np.ndarray:
            picks = centres[rng.randint(len(centres), size=count)]
            return valid(snap(picks + rng.normal(size=picks.shape) * scale * width))

        top = int(s.top)
        candidates = np.vstack(
            [
                valid(self.encode(np.asarray(self.space.rvs(int(s.candidates), random_state=rng), dtype=float))),
                near(X[np.argsort(y, kind="stable")[:top]], int(s.local), 0.1),
            ]
        )
        fast = _Predictor(model)

        def score(Z: np.ndarray) -> np.ndarray:
            return _gaussian_acquisition(Z, fast, y_opt, acq_func=acq, acq_func_kwargs=self.acq_func_kwargs)

        values = score(candidates)
        scale = 0.1
        for _ in range(int(s.rounds)):
            scale /= 2
            more = near(candidates[np.argsort(values, kind="stable")[:top]], int(s.local), scale)
            candidates, values = np.vstack([candidates, more]), np.concatenate([values, score(more)])
        order = np.argsort(values, kind="stable")
        best = candidates[order[0]]
        free = self._continuous
        if free.any() and s.polish:
            starts = np.concatenate([order[:1], self._draw(values, order[0], int(s.starts) - 1, acq)])
            fixed = candidates[starts]
            count = len(starts)

            def points(flat: np.ndarray) -> np.ndarray:
                Z = fixed.copy()
                Z[:, free] = flat.reshape(count, -1)
                return Z

            def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
                value, grad = _acquisition_loss(model, points(flat), y_opt, acq, self.acq_func_kwargs)
                return float(value.sum()), grad[:, free].ravel()

            # one L-BFGS-B run over all starts at once: the loss is their sum, so each moves on its own gradient
            flat, _, _ = scipy.optimize.fmin_l_bfgs_b(
                loss, fixed[:, free].ravel(), bounds=np.tile(bounds[free], (count, 1)), maxiter=int(s.polish)
            )
            found = valid(np.clip(points(flat), low, high))
            found_values = score(found)
            if found_values.min() < values[order[0]]:
                best = found[int(np.argmin(found_values))]
        return best


class _Predictor:
    """A fitted model's mean and standard deviation by scikit-learn's triangular solve, for many points at once.

    scikit-optimize's own predict() also offers gradients, at the price of a slower standard deviation
    (an einsum over the inverse covariance matrix, most of the search's time at 200 trials).
    """

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, X: np.ndarray, return_std: bool = False) -> Any:
        """The model's mean (and standard deviation) at each row of X."""
        return SkLearnGP.predict(self.model, X, return_std=return_std)


class Warp:
    """Scores standardised, then power-transformed (Yeo-Johnson) to look most normal, and back.

    A few very bad scores (a loss that explodes, a diverged run) otherwise set the model's whole scale, and the
    differences among good scores look like noise to it.
    """

    POWERS = np.round(np.linspace(-2.0, 2.0, 41), 10)  # the powers tried (1 leaves the scores as they are)

    def __init__(self, y: np.ndarray, enabled: bool = True) -> None:
        self.centre = float(np.mean(y))
        self.scale = float(np.std(y)) or 1.0
        self.power = 1.0
        if enabled and len(y) >= 3 and np.ptp(y) > 0:
            z = self._standard(y)
            warped = _yeo_johnson(z, self.POWERS[:, None])
            jacobian = np.sum(np.sign(z) * np.log1p(np.abs(z)))  # of the transform, per unit of (power - 1)
            likelihood = -0.5 * len(z) * np.log(np.maximum(warped.var(axis=1), 1e-300)) + (self.POWERS - 1) * jacobian
            self.power = float(self.POWERS[int(np.argmax(likelihood))])
        seen = self(y)
        span = float(np.ptp(seen)) or 1.0
        self._bounds = (float(seen.min()) - span, float(seen.max()) + span)  # where inverse() is asked for scores

    def _standard(self, y: np.ndarray) -> np.ndarray:
        return (np.asarray(y, dtype=float) - self.centre) / self.scale

    def __call__(self, y: np.ndarray) -> np.ndarray:
        """Scores in the model's units."""
        return _yeo_johnson(self._standard(y), self.power)

    def inverse(self, t: np.ndarray) -> np.ndarray:
        """The model's units as scores (within a range of the scores seen, beyond which the power may diverge)."""
        t, power = np.clip(np.asarray(t, dtype=float), *self._bounds), self.power
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            up = np.expm1(t) if power == 0 else np.expm1(np.log1p(np.maximum(power * t, -1 + 1e-12)) / power)
            down = -np.expm1(-t) if power == 2 else -np.expm1(np.log1p(-(2 - power) * t) / (2 - power))
        return np.where(t >= 0, up, down) * self.scale + self.centre

    def band(self, mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A prediction in the model's units as scores: the mean, and the two ends of the ±2σ band, mapped back."""
        return self.inverse(mean), self.inverse(mean - 2 * std), self.inverse(mean + 2 * std)


def _yeo_johnson(z: np.ndarray, power: Any) -> np.ndarray:
    """The Yeo-Johnson transform of z by a power (an array of powers broadcasts against z)."""
    up, down = np.log1p(np.maximum(z, 0)), np.log1p(-np.minimum(z, 0))
    power = np.asarray(power, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        positive = np.where(power == 0, up, np.expm1(power * up) / np.where(power == 0, 1, power))
        negative = np.where(power == 2, -down, -np.expm1((2 - power) * down) / np.where(power == 2, 1, 2 - power))
    return np.where(z >= 0, positive, negative)


def _acquisition_loss(
    model: Any, Z: np.ndarray, y_opt: float, acq: str, kwargs: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """-log EI, -log PI or LCB at each row of Z, with its gradient, for our Matern 5/2 model (vectorised)."""
    amplitude = model.kernel_.k1.k1.constant_value
    scales = np.asarray(model.kernel_.k1.k2.length_scale, dtype=float)
    diff = (Z[:, None, :] - model.X_train_[None, :, :]) / scales  # points x trials x dimensions
    r = np.sqrt(np.maximum((diff**2).sum(axis=-1), 1e-300))
    decay = np.exp(-np.sqrt(5) * r)
    k = amplitude * (1 + np.sqrt(5) * r + 5 / 3 * r**2) * decay
    dk = (-amplitude * 5 / 3 * (1 + np.sqrt(5) * r) * decay)[:, :, None] * diff / scales
    unit = model._y_train_std
    mean = k @ model.alpha_ * unit + model._y_train_mean
    dmean = np.einsum("bnd,n->bd", dk, model.alpha_) * unit
    v = scipy.linalg.solve_triangular(model.L_, k.T, lower=True)
    var = np.maximum(amplitude - (v**2).sum(axis=0), 1e-18)
    weights = scipy.linalg.solve_triangular(model.L_.T, v, lower=False)
    std = np.sqrt(var) * unit
    dstd = -np.einsum("bnd,nb->bd", dk, weights) / np.sqrt(var)[:, None] * unit
    if acq == "LCB":
        kappa = kwargs.get("kappa", 1.96)
        return mean - kappa * std, dmean - kappa * dstd
    z = (y_opt - kwargs.get("xi", 0.01) - mean) / std
    dz = (-dmean - z[:, None] * dstd) / std[:, None]
    ratio = np.sqrt(np.pi / 2) * erfcx(-z / np.sqrt(2))  # Phi(z) / phi(z), without underflow far below the best
    if acq == "PI":
        return -log_ndtr(z), -dz / ratio[:, None]
    # EI = std * phi(z) * (1 + z * ratio)
    tail = np.maximum(1 + z * ratio, 1e-300)
    log_ei = np.log(std) - 0.5 * z**2 - 0.5 * np.log(2 * np.pi) + np.log(tail)
    # d log EI = d std / std + Phi(z) / (phi(z) * tail) * dz
    return -log_ei, -(dstd / std[:, None] + (ratio / tail)[:, None] * dz)


def _log_prior(theta: np.ndarray) -> tuple[float, np.ndarray]:
    """A weak prior on [log amplitude, log length scales..., log noise], and its gradient.

    Length scales (in a range scaled to [0, 1]) are drawn towards 1, the amplitude (of scores scaled to unit
    variance) towards 1, and the noise towards 0: few trials then give a smooth model, many can overrule it.
    """
    amplitude, scales, noise = np.exp(theta[0]), np.exp(theta[1:-1]), np.exp(theta[-1])
    value = np.log(amplitude) - amplitude - np.sum(0.1 * scales**2 + 0.1 / scales**2) + 0.1 * np.log(noise) - 30 * noise
    grad = np.concatenate([[1 - amplitude], -0.2 * scales**2 + 0.2 / scales**2, [0.1 - 30 * noise]])
    return float(value), grad


def _fit_with_prior(objective: Any, theta: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, float]:
    """The hyperparameters that maximise the model's likelihood times the prior (scikit-learn's optimizer hook)."""

    def loss(t: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = objective(t, eval_gradient=True)
        prior, prior_grad = _log_prior(t)
        return value - prior, grad - prior_grad

    result = scipy.optimize.minimize(loss, theta, method="L-BFGS-B", jac=True, bounds=bounds, options={"gtol": 1e-2})
    return result.x, float(result.fun)


def _shape(dim: Any) -> tuple:
    """What identifies a scikit-optimize dimension, whatever its transform."""
    return type(dim).__name__, tuple(dim.bounds), getattr(dim, "prior", None)


def dimension(dim: Any) -> Any:
    """A parameter's dimension as scikit-optimize's (a choice as the indexes of its options)."""
    if isinstance(dim, Choice):
        return SkCategorical(list(range(len(dim.options))))
    prior = "log-uniform" if dim.log else "uniform"
    kind = SkInteger if isinstance(dim, Int) else SkReal
    return kind(dim.low, dim.high, prior=prior)


def decode(dim: Any, value: Any) -> Any:
    """A model's value as the parameter's: an option for a choice, an int for an integer, inside the range."""
    value = to_python(value)
    if isinstance(dim, Choice):
        return dim.options[int(value)]
    if isinstance(dim, Int):
        return dim.validate(int(round(value)))
    return min(dim.high, max(dim.low, float(value)))


def encode(dim: Any, value: Any) -> Any:
    """A parameter's value as the model's: a choice as its option's index."""
    if isinstance(dim, Choice):
        return dim.index(value)
    return value
