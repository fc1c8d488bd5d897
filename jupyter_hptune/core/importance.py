"""Which hyperparameters mattered: each one's share of the score's variance (functional ANOVA on a random forest).

The method is Hutter, Hoos and Leyton-Brown's fANOVA ("An efficient approach for assessing hyperparameter
importance", ICML 2014): a random forest is fitted to the completed trials' scores, and the variance of each tree's
function over the space is decomposed exactly, since a tree is a sum of boxes. The share of a hyperparameter is the
variance of its marginal (the tree's mean over every other input, as a function of this one) over the tree's total
variance, averaged over the trees.

The forest is scikit-learn's RandomForestRegressor as in the paper: bootstrap samples, every input considered at each
split, trees grown to single-trial leaves. On functions whose shares are known (tests/core/test_importance.py) it was
as accurate as extra trees and more accurate than trees that consider a random subset of inputs at each split. Its
bias: a forest splits a weak input late, in small regions, so part of that input's effect reads as interaction and a
small share comes out low (a share of 0.07 reads about 0.04 with 400 random trials).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .space import Choice, Dimension, Int, Space
from .trial import Trial, TrialState

if TYPE_CHECKING:
    from .study import Direction

__all__ = ["MIN_TRIALS", "N_TREES", "Importance", "ImportanceError", "importance"]

MIN_TRIALS = 8  # fewer completed trials than this give a forest of a few leaves: shares that mean nothing
N_TREES = 64


class ImportanceError(ValueError):
    """Too few completed trials to tell which hyperparameters mattered."""


@dataclass(frozen=True)
class Importance:
    """Each hyperparameter's share of the score's variance, largest first, and what it was computed on."""

    shares: dict[str, float]  # in [0, 1]; a conditional one's share is among the trials that used it
    method: str  # a short human name of the method, e.g. "fANOVA, random forest of 64 trees"
    n_trials: int  # the completed trials used
    used: dict[str, int]  # how many of those trials used each hyperparameter of the space
    skipped: tuple[str, ...] = field(default=())  # used by some trials, but fewer than MIN_TRIALS: no share


def importance(trials: Sequence[Trial], space: Space, direction: Direction, *, seed: int = 0) -> Importance:
    """Each hyperparameter's share of the variance of the completed trials' scores (fANOVA on a random forest).

    Only completed trials count: failed, pruned (stopped before the end, so their score is not comparable) and
    running ones are left out, as is a trial whose params do not fit the space. A share is the fraction of the
    variance of the forest's prediction, under a uniform distribution over the space (log ranges uniform in log
    space, each integer and each option of a choice an equal width), explained by that hyperparameter alone; what the
    shares leave of 1 is explained by interactions. A conditional hyperparameter (one some trials did not use) gets
    its share among the trials that used it, with as inputs the hyperparameters every one of those trials used: the
    share of the variance among those trials, not among all of them. A hyperparameter used by fewer than MIN_TRIALS
    completed trials gets no share and is listed in `skipped`. The direction does not change the shares (a variance
    does not depend on the score's sign). The same trials and seed give the same shares; with few trials they are
    noisy (another seed may order close ones differently).
    """
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    done = [t for t in trials if _usable(t, space)]
    if len(done) < MIN_TRIALS:
        completed = sum(t.state is TrialState.COMPLETE for t in trials)
        raise ImportanceError(
            f"importance needs at least {MIN_TRIALS} completed trials, there {_are(completed)}"
            + ("" if completed == len(done) else f" ({completed - len(done)} with params outside the space)")
            + f": run {MIN_TRIALS - len(done)} more"
        )
    names = list(space)
    used = {name: sum(name in t.params for t in done) for name in names}
    method = f"fANOVA, random forest of {N_TREES} trees"
    skipped = tuple(name for name in names if 0 < used[name] < MIN_TRIALS)
    scores = np.array([t.value for t in done], dtype=float)
    shares: dict[str, float] = {}
    # Names used by the same trials share one forest, fitted on those trials with the names all of them used.
    groups: dict[tuple[int, ...], list[str]] = {}
    for name in names:
        if used[name] >= MIN_TRIALS:
            rows = tuple(i for i, t in enumerate(done) if name in t.params)
            groups.setdefault(rows, []).append(name)
    for rows, targets in groups.items():
        inputs = [name for name in names if all(name in done[i].params for i in rows)]
        X = np.array([[_encode(space[name], done[i].params[name]) for name in inputs] for i in rows])
        columns = [inputs.index(name) for name in targets]
        for name, share in zip(targets, _forest_shares(X, scores[list(rows)], columns, seed)):
            shares[name] = share
    ordered = sorted(shares, key=lambda name: (-shares[name], names.index(name)))  # equal shares: the space's order
    return Importance(
        shares={name: shares[name] for name in ordered},
        method=method,
        n_trials=len(done),
        used=used,
        skipped=skipped,
    )


def _are(n: int) -> str:
    return f"is {n}" if n == 1 else f"are {n}"


def _usable(trial: Trial, space: Space) -> bool:
    """A completed trial with a finite score whose params are hyperparameters of the space, each inside its range."""
    if trial.state is not TrialState.COMPLETE or trial.value is None or not math.isfinite(trial.value):
        return False
    return space.includes(trial.params, partial=True)


def _encode(dim: Dimension, value: Any) -> float:
    """A value in [0, 1]: a range linearly (log ranges in log space), integers and options each an equal width.

    An integer's width is the values that round to it, as random search draws them: [low - 0.5, high + 0.5].
    """
    if isinstance(dim, Choice):
        return (dim.index(value) + 0.5) / len(dim.options)
    low, high, x = float(dim.low), float(dim.high), float(value)
    if isinstance(dim, Int):
        low, high = low - 0.5, high + 0.5
    if dim.log:
        low, high, x = math.log(low), math.log(high), math.log(x)
    return min(1.0, max(0.0, (x - low) / (high - low)))


def _forest_shares(X: np.ndarray, y: np.ndarray, columns: Sequence[int], seed: int) -> list[float]:
    """The mean over the trees of a forest fitted to (X, y) of each column's main-effect variance over the total."""
    if np.ptp(y) == 0:  # every score the same: nothing to explain
        return [0.0] * len(columns)
    from sklearn.ensemble import RandomForestRegressor

    y = (y - y.mean()) / y.std()  # the same trees and ratios, and a tree's variance on a known scale (see below)
    forest = RandomForestRegressor(
        n_estimators=N_TREES, min_samples_leaf=1, max_features=1.0, bootstrap=True, random_state=seed, n_jobs=1
    ).fit(X, y)
    leaves = _leaves([estimator.tree_ for estimator in forest.estimators_], X.shape[1])
    return [float(share) for share in _main_effects(leaves, columns)]


@dataclass(frozen=True)
class _Leaves:
    """The leaves of a forest's trees as boxes of the unit cube: their tree, bounds and values."""

    tree: np.ndarray  # (n,) the tree of each leaf
    low: np.ndarray  # (n, d)
    high: np.ndarray  # (n, d)
    value: np.ndarray  # (n,)
    n_trees: int


def _leaves(trees: Sequence[Any], d: int) -> _Leaves:
    """Every leaf of the trees (scikit-learn's Tree objects) with its box, found level by level for all trees at once."""
    sizes = [tree.node_count for tree in trees]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    left = np.concatenate([np.where(t.children_left >= 0, t.children_left + o, -1) for t, o in zip(trees, offsets)])
    right = np.concatenate([np.where(t.children_right >= 0, t.children_right + o, -1) for t, o in zip(trees, offsets)])
    feature = np.concatenate([t.feature for t in trees])
    threshold = np.concatenate([t.threshold for t in trees])
    value = np.concatenate([t.value[:, 0, 0] for t in trees])
    owner = np.repeat(np.arange(len(trees)), sizes)
    low, high = np.zeros((len(left), d)), np.ones((len(left), d))
    level = offsets  # the roots
    while len(level):
        parents = level[left[level] >= 0]
        if not len(parents):
            break
        f = feature[parents]
        cut = np.clip(threshold[parents], low[parents, f], high[parents, f])
        for children, bound in ((left[parents], high), (right[parents], low)):
            low[children], high[children] = low[parents], high[parents]
            bound[children, f] = cut  # x <= threshold goes left: the left child ends at the cut, the right starts
        level = np.concatenate([left[parents], right[parents]])
    leaf = left < 0
    return _Leaves(owner[leaf], low[leaf], high[leaf], value[leaf], len(trees))


def _main_effects(leaves: _Leaves, columns: Sequence[int]) -> np.ndarray:
    """For each column, the mean over the trees (those whose function varies) of V_i / V.

    Under the uniform distribution over the unit cube a tree's function takes each leaf's value on a volume equal to
    its box's; its marginal along i is, on each stretch of x_i between the tree's cuts on i, the sum over the leaves
    covering that stretch of value x (volume / width along i).
    """
    width = leaves.high - leaves.low
    volume = np.prod(width, axis=1)
    n = leaves.n_trees
    mean = np.bincount(leaves.tree, volume * leaves.value, minlength=n)
    total = np.bincount(leaves.tree, volume * (leaves.value - mean[leaves.tree]) ** 2, minlength=n)
    varies = total > 1e-12  # the scores are standardised: a tree of one leaf (or of equal leaves) has V = 0
    out = np.zeros(len(columns))
    if not varies.any():
        return out
    for k, i in enumerate(columns):
        with np.errstate(divide="ignore", invalid="ignore"):
            height = np.where(width[:, i] > 0, leaves.value * volume / width[:, i], 0.0)
        # Each leaf adds its height from its low end to its high end along i: events sorted by tree, then position.
        tree = np.concatenate([leaves.tree, leaves.tree])
        at = np.concatenate([leaves.low[:, i], leaves.high[:, i]])
        step = np.concatenate([height, -height])
        order = np.lexsort((at, tree))
        tree, at, marginal = tree[order], at[order], np.cumsum(step[order])
        same = tree[:-1] == tree[1:]  # a stretch lies between two events of the same tree
        stretch = np.where(same, at[1:] - at[:-1], 0.0)
        spread = stretch * (marginal[:-1] - mean[tree[:-1]]) ** 2
        main = np.bincount(tree[:-1], spread, minlength=n)
        out[k] = np.mean(np.clip(main[varies] / total[varies], 0.0, 1.0))
    return out
