"""Which hyperparameters mattered: fANOVA shares checked on functions whose variance decomposition is known.

The shares come from a random forest fitted to the trials, not from the function itself: a forest splits a weak input
late, in small regions, so part of its effect reads as interaction, and small shares come out low (with 200 trials,
errors reach 0.08; with 400, 0.04). The tests use 400 random-search trials; each tolerance holds for seeds 0 to 19 of
its setting (the worst error measured is given beside it), with the seed fixed here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor

from jupyter_hptune import Choice, Importance, ImportanceError, Int, Real, Space, Study, Trial, TrialState, hp, tune
from jupyter_hptune.core.importance import MIN_TRIALS, _leaves, _main_effects, importance

N_TRIALS = 400


def random_study(objective, space: dict | None = None, n_trials: int = N_TRIALS, seed: int = 0) -> Study:
    """A random search of n_trials: the trials a user would have after `tune(..., method="random")`."""
    return tune(objective, space, method="random", n_trials=n_trials, seed=seed)


def check_shares(result: Importance, expected: dict[str, float], tolerance: float) -> None:
    got = {name: result.shares[name] for name in expected}
    assert all(abs(got[name] - share) <= tolerance for name, share in expected.items()), (got, expected)


def test_an_additive_function_gives_each_input_its_share_of_the_variance() -> None:
    # f = 3x + 2y + z on uniform inputs: Var = (9 + 4 + 1) / 12, so the shares are 9/14, 4/14, 1/14; w does nothing.
    space = {name: Real(0.0, 1.0) for name in "xyzw"}
    study = random_study(lambda p: 3 * p["x"] + 2 * p["y"] + p["z"], space)
    result = study.importance()
    check_shares(result, {"x": 9 / 14, "y": 4 / 14, "z": 1 / 14}, tolerance=0.05)  # worst over seeds: 0.04 (y, z)
    assert result.shares["w"] < 0.01, "an input the score does not depend on has no share"
    assert list(result.shares) == ["x", "y", "z", "w"], "largest first"
    assert all(type(share) is float for share in result.shares.values())
    assert result.n_trials == N_TRIALS and result.used == dict.fromkeys("xyzw", N_TRIALS) and result.skipped == ()
    assert result.method == "fANOVA, random forest of 64 trees"
    assert sum(result.shares.values()) <= 1.0


def test_a_log_range_is_uniform_in_log_space_and_an_integer_gives_each_value_equal_weight() -> None:
    # log10(lr) is uniform on [-4, 0] (variance 16/12); n is 1, 2 or 3 with equal weight (variance 2/3); 2x: 4/12.
    space = {"lr": Real(1e-4, 1.0, log=True), "n": Int(1, 3), "x": Real(0.0, 1.0)}
    study = random_study(lambda p: math.log10(p["lr"]) + p["n"] + 2 * p["x"], space)
    total = 16 / 12 + 2 / 3 + 4 / 12
    expected = {"lr": 16 / 12 / total, "n": 2 / 3 / total, "x": 4 / 12 / total}
    check_shares(study.importance(), expected, tolerance=0.05)  # worst over seeds: 0.03


def test_a_choice_shares_the_variance_of_its_options_means() -> None:
    # The options' means 6, 0, 3, 0 (not in order of the options): variance 99/16 with equal weights; 6x: 36/12 = 3.
    # (Options at 0, 1/4, 2/4, 3/4 rather than in the middle of equal widths would give 0.6 instead of 0.67.)
    means = {"a": 6.0, "b": 0.0, "c": 3.0, "d": 0.0}
    space = {"kind": Choice(list(means)), "x": Real(0.0, 1.0)}
    study = random_study(lambda p: means[p["kind"]] + 6 * p["x"], space)
    total = 99 / 16 + 3
    expected = {"kind": 99 / 16 / total, "x": 3 / total}
    check_shares(study.importance(), expected, tolerance=0.05)  # worst over seeds: 0.01


def test_an_interaction_counts_only_in_no_single_share() -> None:
    # f = a + a*b on [-1, 1]^2: the mean over b is a (Var 1/3), the mean over a is 0, Var f = 4/9: shares 3/4 and 0.
    space = {"a": Real(-1.0, 1.0), "b": Real(-1.0, 1.0)}
    study = random_study(lambda p: p["a"] + p["a"] * p["b"], space)
    check_shares(study.importance(), {"a": 0.75, "b": 0.0}, tolerance=0.03)  # worst over seeds: 0.005


def branches(params: dict[str, Any]) -> float:
    """x in both branches; y only in branch 'a'; z only when x is near 1 (a few trials), and without effect."""
    x = hp.real(0.0, 1.0)
    if x > 0.99:
        hp.real(0.0, 1.0, name="z")
    if hp.choice(["a", "b"], name="branch") == "a":
        y = hp.real(0.0, 1.0)
        return x + 2 * y
    return x + 3


def test_a_conditional_hyperparameter_is_counted_over_the_trials_that_used_it() -> None:
    study = random_study(branches)
    result = study.importance()
    in_a = sum(t.params["branch"] == "a" for t in study.trials)
    used_z = sum("z" in t.params for t in study.trials)
    assert 0 < used_z < MIN_TRIALS and 0.4 < in_a / N_TRIALS < 0.6, "the premise: z is rare, y in about half the trials"
    assert result.used == {"x": N_TRIALS, "z": used_z, "branch": N_TRIALS, "y": in_a}
    # Among the trials of branch 'a', f = x + 2y: y has 4/12 of the variance 5/12.
    check_shares(result, {"y": 0.8}, tolerance=0.05)  # worst over seeds: 0.02
    # Among all trials, the branch moves the mean from 1 to 3 (variance 1 of 1/12 + 7/6): y's spread reads as noise.
    check_shares(result, {"branch": 0.8}, tolerance=0.05)  # worst over seeds: 0.02
    assert "z" not in result.shares and result.skipped == ("z",), "too few trials used z for a share"


def trial(number: int, state: TrialState, value: float | None = None, **params: Any) -> Trial:
    return Trial(number=number, params=params, state=state, value=value, started=0.0, finished=1.0)


def test_too_few_completed_trials_is_an_error_that_says_how_many_are_needed() -> None:
    space = Space({"x": Real(0.0, 1.0)})
    trials = [trial(i, TrialState.COMPLETE, float(i), x=i / 10) for i in range(MIN_TRIALS - 3)]
    trials += [trial(10, TrialState.FAILED, x=0.5), trial(11, TrialState.PRUNED, 0.1, x=0.5)]
    trials += [trial(12, TrialState.RUNNING, x=0.5)]
    with pytest.raises(ImportanceError, match=f"at least {MIN_TRIALS} completed trials, there are 5: run 3 more"):
        importance(trials, space, "minimize")
    assert issubclass(ImportanceError, ValueError)
    with pytest.raises(ImportanceError, match="there are 0"):
        Study(space).importance()
    # With enough completed trials, the failed, pruned and running ones are still left out.
    trials += [trial(20 + i, TrialState.COMPLETE, float(i), x=0.3 + i / 10) for i in range(3)]
    assert importance(trials, space, "minimize").n_trials == MIN_TRIALS


def test_the_seed_repeats_the_shares_and_the_direction_does_not_change_them() -> None:
    study = random_study(lambda p: 3 * p["x"] + 2 * p["y"] + p["z"], {name: Real(0.0, 1.0) for name in "xyz"}, 60)
    first = importance(study.trials, study.space, "minimize", seed=1)
    assert importance(study.trials, study.space, "minimize", seed=1) == first
    assert importance(study.trials, study.space, "maximize", seed=1) == first
    assert importance(study.trials, study.space, "minimize", seed=2).shares != first.shares, "the seed is used"


def test_equal_scores_have_nothing_to_explain() -> None:
    result = random_study(lambda p: 1.0, {"x": Real(0.0, 1.0)}, n_trials=10).importance()
    assert result.shares == {"x": 0.0}


def test_the_shares_are_exact_for_the_forests_trees() -> None:
    # Each tree is constant on the cells of the grid its thresholds make: its variances there are exact.
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(40, 3))
    y = X[:, 0] + X[:, 0] * X[:, 1] + np.sin(5 * X[:, 2])
    forest = RandomForestRegressor(n_estimators=4, random_state=0).fit(X, y)
    ratios = []
    for estimator in forest.estimators_:
        tree = estimator.tree_
        edges = [np.unique([0.0, 1.0, *tree.threshold[tree.feature == i]]) for i in range(3)]
        middles = np.meshgrid(*[(e[1:] + e[:-1]) / 2 for e in edges], indexing="ij")
        weights = np.einsum("i,j,k->ijk", *[np.diff(e) for e in edges])
        f = estimator.predict(np.stack([m.ravel() for m in middles], axis=1)).reshape(weights.shape)
        mean = (weights * f).sum()
        total = (weights * (f - mean) ** 2).sum()
        main = []
        for i in range(3):
            others = tuple(j for j in range(3) if j != i)
            marginal = (weights * f).sum(axis=others) / weights.sum(axis=others)
            main.append((weights.sum(axis=others) * (marginal - mean) ** 2).sum() / total)
        ratios.append(main)
    leaves = _leaves([estimator.tree_ for estimator in forest.estimators_], 3)
    np.testing.assert_allclose(_main_effects(leaves, [0, 1, 2]), np.mean(ratios, axis=0), rtol=1e-9)


def test_study_importance_on_a_real_objective_uses_the_studys_seed() -> None:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import cross_val_score
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_digits(return_X_y=True)

    def objective(params: dict[str, Any]) -> float:
        model = DecisionTreeClassifier(
            max_depth=params["max_depth"], criterion=params["criterion"], random_state=params["seed"]
        )
        return cross_val_score(model, X[:600], y[:600], cv=3).mean()

    space = {"max_depth": Int(1, 12), "criterion": Choice(["gini", "entropy"]), "seed": Int(0, 100)}
    study = tune(objective, space, method="random", n_trials=30, seed=7, direction="maximize")
    result = study.importance()
    assert result == importance(study.trials, study.space, "maximize", seed=7)
    assert list(result.shares)[0] == "max_depth" and result.shares["max_depth"] > 0.5, result.shares
    assert result.n_trials == 30
