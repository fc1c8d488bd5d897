"""Benchmark problems as objectives over a jupyter_hptune space: test functions with known minima, and two
small, deterministic, mixed-type machine-learning problems (minimum unknown) on scikit-learn's bundled data.

The conditional problems are trees: a hyperparameter is asked for only on the branch that uses it. Each is written
once, as a function of an asker with hp's calls (`real`, `int`, `choice`, each with a name): `hp` itself for our
define-by-run search, `Suggest` for Optuna's define-by-run trials, and `Given` for the methods that need a fixed
space, which get the flattened space (every hyperparameter always present, the inactive ones ignored).
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from jupyter_hptune import Choice, Int, Real
from jupyter_hptune.core.space import Dimension


@dataclass(frozen=True)
class Problem:
    """An objective to minimise, its space and its known minimum (None when unknown, as for the ML problems)."""

    name: str
    space: dict[str, Dimension]
    objective: Callable[[dict[str, Any]], float]
    minimum: float | None
    tree: Callable[[Asker], float] | None = None
    """For a conditional problem, the objective as a tree of asks; space and objective are then its flattening."""


class Asker(Protocol):
    """What a conditional problem asks its hyperparameters of: `hp`, `Suggest` or `Given`."""

    def real(self, low: float, high: float, log: bool = False, *, name: str) -> Any:
        """A real number in [low, high]."""

    def int(self, low: int, high: int, log: bool = False, *, name: str) -> Any:
        """An integer in [low, high]."""

    def choice(self, options: list[Any], *, name: str) -> Any:
        """One of the options."""


class Suggest:
    """An Optuna trial as an asker: each ask is a trial.suggest_* call."""

    def __init__(self, trial: Any) -> None:
        self.trial = trial

    def real(self, low: float, high: float, log: bool = False, *, name: str) -> float:
        """trial.suggest_float."""
        return self.trial.suggest_float(name, low, high, log=log)

    def int(self, low: int, high: int, log: bool = False, *, name: str) -> int:
        """trial.suggest_int."""
        return self.trial.suggest_int(name, low, high, log=log)

    def choice(self, options: list[Any], *, name: str) -> Any:
        """trial.suggest_categorical."""
        return self.trial.suggest_categorical(name, options)

    def point(self, space: dict[str, Dimension]) -> dict[str, Any]:
        """A value for each hyperparameter of a fixed space, asked by its kind."""
        params: dict[str, Any] = {}
        for name, dim in space.items():
            if isinstance(dim, Choice):
                params[name] = self.choice(list(dim.options), name=name)
            elif isinstance(dim, Int):
                params[name] = self.int(dim.low, dim.high, dim.log, name=name)
            else:
                params[name] = self.real(dim.low, dim.high, dim.log, name=name)
        return params


class Given:
    """A point of the flattened space as an asker: each ask reads its value from the point."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def real(self, low: float, high: float, log: bool = False, *, name: str) -> Any:
        """params[name]."""
        return self.params[name]

    def int(self, low: int, high: int, log: bool = False, *, name: str) -> Any:
        """params[name]."""
        return self.params[name]

    def choice(self, options: list[Any], *, name: str) -> Any:
        """params[name]."""
        return self.params[name]


def conditional(
    name: str, tree: Callable[[Asker], float], flat: dict[str, Dimension], minimum: float | None
) -> Problem:
    """A problem from its tree and its flattened space."""
    return Problem(name, flat, lambda params: tree(Given(params)), minimum, tree)


def branin(params: dict[str, Any]) -> float:
    """The Branin-Hoo function on x1 in [-5, 10], x2 in [0, 15]; minimum 0.397887 at three points."""
    x1, x2 = params["x1"], params["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def hartmann6(params: dict[str, Any]) -> float:
    """The 6-D Hartmann function on [0, 1]^6; minimum -3.32237."""
    x = np.array([params[f"x{i}"] for i in range(1, 7)])
    return float(-np.sum(_H6_ALPHA * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


BRANIN = Problem("Branin", {"x1": Real(-5, 10), "x2": Real(0, 15)}, branin, 0.397887)
HARTMANN6 = Problem("Hartmann6", {f"x{i}": Real(0, 1) for i in range(1, 7)}, hartmann6, -3.32237)


def rosenbrock(params: dict[str, Any]) -> float:
    """The Rosenbrock function; minimum 0 at (1, ..., 1)."""
    x = np.array([params[f"x{i}"] for i in range(1, len(params) + 1)], dtype=float)
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


def ackley(params: dict[str, Any]) -> float:
    """The Ackley function (a = 20, b = 0.2, c = 2 pi); minimum 0 at the origin."""
    x = np.array([params[f"x{i}"] for i in range(1, len(params) + 1)], dtype=float)
    return float(
        -20.0 * np.exp(-0.2 * np.sqrt(np.mean(x**2))) - np.exp(np.mean(np.cos(2 * math.pi * x))) + 20.0 + math.e
    )


ROSENBROCK4 = Problem("Rosenbrock4", {f"x{i}": Real(-2, 2) for i in range(1, 5)}, rosenbrock, 0.0)
ACKLEY5 = Problem("Ackley5", {f"x{i}": Real(-32.768, 32.768) for i in range(1, 6)}, ackley, 0.0)


# -- machine-learning problems -----------------------------------------------------------------------------------
# The data are loaded once per process (they are inputs, not results); every objective call fits its models
# afresh, so nothing is cached across trials or methods. Fixed random_state and unshuffled folds make each
# objective a deterministic function of its params.

DIGITS_ROWS = 600
MLP_MAX_ITER = 30


@functools.cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return x[:DIGITS_ROWS] / 16.0, y[:DIGITS_ROWS]


@functools.cache
def _breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(return_X_y=True)


def mlp_digits(params: dict[str, Any]) -> float:
    """1 - 3-fold CV accuracy of a one-hidden-layer MLPClassifier on 600 rows of load_digits (scaled to [0, 1])."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import cross_val_score
    from sklearn.neural_network import MLPClassifier

    x, y = _digits()
    model = MLPClassifier(
        hidden_layer_sizes=(int(params["units"]),),
        activation=str(params["activation"]),
        learning_rate_init=float(params["lr"]),
        alpha=float(params["alpha"]),
        max_iter=MLP_MAX_ITER,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is small on purpose: a fast objective
        accuracy = cross_val_score(model, x, y, cv=3).mean()
    return float(1.0 - accuracy)


def svc_cancer(params: dict[str, Any]) -> float:
    """1 - 3-fold CV accuracy of a standardised SVC on load_breast_cancer (the scaler is fitted inside each fold)."""
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    x, y = _breast_cancer()
    model = make_pipeline(
        StandardScaler(),
        SVC(C=float(params["C"]), gamma=float(params["gamma"]), kernel=str(params["kernel"]), random_state=0),
    )
    return float(1.0 - cross_val_score(model, x, y, cv=3).mean())


MLP_DIGITS = Problem(
    "MLP-digits",
    {
        "lr": Real(1e-4, 1e-1, log=True),
        "units": Int(8, 128, log=True),
        "alpha": Real(1e-6, 1e-1, log=True),
        "activation": Choice(["relu", "tanh", "logistic"]),
    },
    mlp_digits,
    None,
)
SVC_CANCER = Problem(
    "SVC-cancer",
    {"C": Real(1e-3, 1e3, log=True), "gamma": Real(1e-5, 1e1, log=True), "kernel": Choice(["rbf", "sigmoid"])},
    svc_cancer,
    None,
)


# -- conditional problems ------------------------------------------------------------------------------------------
def jenatton(ask: Asker) -> float:
    """The tree-structured function of Jenatton et al. (ICML 2017); minimum 0.1 at x1 = x2 = 0, x4 = 0, r8 = 0."""
    if ask.choice([0, 1], name="x1") == 0:
        r8 = ask.real(0.0, 1.0, name="r8")
        if ask.choice([0, 1], name="x2") == 0:
            return ask.real(-1.0, 1.0, name="x4") ** 2 + 0.1 + r8
        return ask.real(-1.0, 1.0, name="x5") ** 2 + 0.2 + r8
    r9 = ask.real(0.0, 1.0, name="r9")
    if ask.choice([0, 1], name="x3") == 0:
        return ask.real(-1.0, 1.0, name="x6") ** 2 + 0.3 + r9
    return ask.real(-1.0, 1.0, name="x7") ** 2 + 0.4 + r9


def _mlp_layers(ask: Asker) -> tuple[tuple[int, ...], dict[str, Any], float, float]:
    """The conditional MLP's hyperparameters, asked in order: widths, solver and its setting, lr, alpha."""
    n_layers = ask.int(1, 3, name="n_layers")
    widths = tuple(int(ask.int(8, 128, log=True, name=f"units_{i}")) for i in range(n_layers))
    if ask.choice(["sgd", "adam"], name="solver") == "sgd":
        solver = {"solver": "sgd", "momentum": float(ask.real(0.0, 0.99, name="momentum"))}
    else:
        solver = {"solver": "adam", "beta_1": float(ask.real(0.5, 0.999, name="beta_1"))}
    lr = float(ask.real(1e-4, 1e-1, log=True, name="lr"))
    return widths, solver, lr, float(ask.real(1e-6, 1e-1, log=True, name="alpha"))


def mlp_digits_layers(ask: Asker) -> float:
    """1 - 3-fold CV accuracy of an MLPClassifier of 1-3 layers with SGD (momentum) or Adam (beta_1), as MLP-digits."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import cross_val_score
    from sklearn.neural_network import MLPClassifier

    widths, solver, lr, alpha = _mlp_layers(ask)
    x, y = _digits()
    model = MLPClassifier(
        hidden_layer_sizes=widths,
        learning_rate_init=lr,
        alpha=alpha,
        max_iter=MLP_MAX_ITER,
        random_state=0,
        **solver,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        accuracy = cross_val_score(model, x, y, cv=3).mean()
    return float(1.0 - accuracy)


def mlp_layers_standin(ask: Asker) -> float:
    """The conditional MLP's space with a cheap smooth score instead of training, for timing a search's overhead."""
    widths, solver, lr, alpha = _mlp_layers(ask)
    setting = 1 - solver["momentum"] if "momentum" in solver else abs(solver["beta_1"] - 0.9)
    size = sum((math.log2(w) - 6) ** 2 for w in widths) / len(widths)
    return size / 10 + setting + (math.log10(lr) + 2.5) ** 2 / 4 + (math.log10(alpha) + 4) ** 2 / 25


_BINARY = Choice([0, 1])
JENATTON = conditional(
    "Jenatton",
    jenatton,
    {
        "x1": _BINARY,
        "x2": _BINARY,
        "x3": _BINARY,
        **{f"x{i}": Real(-1.0, 1.0) for i in range(4, 8)},
        "r8": Real(0.0, 1.0),
        "r9": Real(0.0, 1.0),
    },
    0.1,
)
_MLP_LAYERS_SPACE: dict[str, Dimension] = {
    "n_layers": Int(1, 3),
    **{f"units_{i}": Int(8, 128, log=True) for i in range(3)},
    "solver": Choice(["sgd", "adam"]),
    "momentum": Real(0.0, 0.99),
    "beta_1": Real(0.5, 0.999),
    "lr": Real(1e-4, 1e-1, log=True),
    "alpha": Real(1e-6, 1e-1, log=True),
}
MLP_DIGITS_LAYERS = conditional("MLP-digits-layers", mlp_digits_layers, _MLP_LAYERS_SPACE, None)
# for timing runs only (compare.py --timing-problem), not among the problems benchmarked by default
STANDINS = {p.name: p for p in (conditional("MLP-layers-standin", mlp_layers_standin, _MLP_LAYERS_SPACE, None),)}

PROBLEMS = {
    p.name: p for p in (BRANIN, HARTMANN6, ROSENBROCK4, ACKLEY5, MLP_DIGITS, SVC_CANCER, JENATTON, MLP_DIGITS_LAYERS)
}
