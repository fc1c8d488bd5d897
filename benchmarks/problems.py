"""Benchmark problems as objectives over a jupyter_hptune space: test functions with known minima, and two
small, deterministic, mixed-type machine-learning problems (minimum unknown) on scikit-learn's bundled data.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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

PROBLEMS = {p.name: p for p in (BRANIN, HARTMANN6, ROSENBROCK4, ACKLEY5, MLP_DIGITS, SVC_CANCER)}
