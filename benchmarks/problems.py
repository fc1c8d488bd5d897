"""Standard test functions with known minima, as objectives over a jupyter_hptune space."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from jupyter_hptune import Real


@dataclass(frozen=True)
class Problem:
    """An objective, its space and its known minimum."""

    name: str
    space: dict[str, Real]
    objective: Callable[[dict[str, Any]], float]
    minimum: float


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
