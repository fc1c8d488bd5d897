"""Hyperparameters declared as a trial runs (define-by-run): in loops, branches and functions, a trial's params
being exactly what it asked for."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from jupyter_hptune import Choice, Int, Real, Space, Study, TrialState, hp, make_sampler, tune
from jupyter_hptune.core.asking import DeclarationError


def network(params: dict[str, Any]) -> float:
    """One width per layer, and the optimiser with its own settings: momentum for SGD, beta1 for Adam."""
    n_layers = hp.int(1, 3)
    widths = [hp.int(8, 64, log=True, name=f"units_{i}") for i in range(n_layers)]
    optimiser = hp.choice(["sgd", "adam"])
    if optimiser == "sgd":
        momentum = hp.real(0.0, 0.99)
        setting = 1.0 - momentum
    else:
        beta1 = hp.real(0.5, 0.999)
        setting = beta1
    return sum(widths) / 64 + setting


def expected_names(params: dict[str, Any]) -> list[str]:
    widths = [f"units_{i}" for i in range(params["n_layers"])]
    return ["n_layers", *widths, "optimiser", "momentum" if params["optimiser"] == "sgd" else "beta1"]


@pytest.mark.parametrize("method", ["random", "bayes"])
def test_a_trials_params_are_the_hyperparameters_it_asked_for(method: str) -> None:
    study = tune(network, method=method, n_trials=12, seed=3)
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    for trial in study.trials:
        assert list(trial.params) == expected_names(trial.params), trial.params
        assert all(type(v) in (int, float, str) for v in trial.params.values()), "plain Python values"
    assert {t.params["optimiser"] for t in study.trials} == {"sgd", "adam"}
    assert len({t.params["n_layers"] for t in study.trials}) >= 2
    assert set(study.space) == {"n_layers", "units_0", "units_1", "units_2", "optimiser", "momentum", "beta1"}
    assert study.space["units_2"] == Int(8, 64, log=True) and study.space["beta1"] == Real(0.5, 0.999)
    again = tune(network, method=method, n_trials=12, seed=3)
    assert [t.params for t in again.trials] == [t.params for t in study.trials], "the seed gives the same trials"


def test_the_bayesian_search_models_the_hyperparameters_trials_declare() -> None:
    seeds = range(4)
    bayes = [tune(network, method="bayes", n_trials=25, seed=s).best_value for s in seeds]
    random = [tune(network, method="random", n_trials=25, seed=s).best_value for s in seeds]
    # The best: one layer of 8 units with SGD and momentum near 0.99 (0.135); random search rarely gets close.
    assert sorted(bayes)[len(bayes) // 2] < sorted(random)[len(random) // 2], (bayes, random)


def test_an_objective_with_a_space_reads_its_point_and_may_ask_for_more() -> None:
    def objective(params: dict[str, Any]) -> float:
        extra = hp.real(0.0, 1.0, name="extra") if params["kind"] == "b" else 0.0
        return params["x"] + extra

    study = tune(objective, {"x": Real(0.0, 1.0), "kind": Choice(["a", "b"])}, method="random", n_trials=10, seed=0)
    for trial in study.trials:
        names = ["x", "kind", "extra"] if trial.params["kind"] == "b" else ["x", "kind"]
        assert list(trial.params) == names
    assert list(study.space) == ["x", "kind", "extra"]


def test_the_same_name_declared_with_two_ranges_is_an_error_naming_both_places() -> None:
    def objective(params: dict[str, Any]) -> float:
        rate = hp.real(0.0, 1.0, name="rate")
        return rate + helper()

    def helper() -> float:
        return hp.real(0.0, 2.0, name="rate")

    with pytest.warns(RuntimeWarning, match="every trial"):
        study = tune(objective, method="random", n_trials=2, seed=0)
    error = study.trials[0].error
    assert error.startswith("DeclarationError: hyperparameter 'rate' is declared as real [0, 2] at helper() in ")
    assert re.search(r"and as real \[0, 1\] at objective\(\) in test_asking.py, line \d+: give the two", error)


def test_a_declaration_takes_its_name_from_the_variable_it_is_assigned_to() -> None:
    def make_model() -> float:  # as training code defined elsewhere is written: no name= anywhere
        learning_rate = hp.real(1e-4, 1e-1, log=True)
        return learning_rate

    study = tune(lambda params: make_model(), method="random", n_trials=3, seed=0)
    assert [list(t.params) for t in study.trials] == [["learning_rate"]] * 3
    assert make_model() == pytest.approx(10**-2.5), "outside a search a declaration is its default"


def test_a_declaration_without_a_name_says_how_to_give_one() -> None:
    def objective(params: dict[str, Any]) -> float:
        return sum(hp.int(1, 4) for _ in range(2))

    with pytest.warns(RuntimeWarning):
        study = tune(objective, method="random", n_trials=1, seed=0)
    assert "hp.int(...) needs a name here" in study.trials[0].error
    assert 'name=f"units_{i}"' in study.trials[0].error


def test_manual_and_grid_with_declarations_met_in_a_trial() -> None:
    manual = Study({"x": Real(0.0, 1.0, default=0.25)})
    manual.optimize(lambda p: p["x"] + hp.int(1, 9, default=4, name="depth"), sampler=make_sampler("manual"))
    assert manual.trials[0].params == {"x": 0.25, "depth": 4}, "a value the point leaves out is its default"
    grid = Study({"x": Real(0.0, 1.0)})
    grid.optimize(lambda p: p["x"] + hp.int(1, 9, name="depth"), 2, sampler=make_sampler("grid", grid_points=2))
    assert all(t.state is TrialState.COMPLETE for t in grid.trials)
    assert all(t.params["x"] in (0.0, 1.0) and t.params["depth"] in range(1, 10) for t in grid.trials)
    assert len({tuple(t.params.values()) for t in grid.trials}) == 2, "a grid value for a name met in a trial"


def test_a_study_file_keeps_the_hyperparameters_trials_declared(tmp_path: Path) -> None:
    path = tmp_path / "net.sqlite"
    study = Study({}, name="net", storage=path)
    study.optimize(network, 6, sampler=make_sampler("random", seed=1))
    loaded = Study.load(path, "net")
    assert [t.params for t in loaded.trials] == [t.params for t in study.trials]
    assert set(loaded.space) == set(study.space)
    resumed = Study({}, name="net", storage=path, resume=True)
    resumed.optimize(network, 4, sampler=make_sampler("bayes", seed=2))
    assert len(resumed.trials) == 10
    assert all(list(t.params) == expected_names(t.params) for t in resumed.trials)


def test_code_runs_outside_a_search_with_the_values_given() -> None:
    study = tune(network, method="random", n_trials=6, seed=5)
    best = study.best_params
    with hp.fixed(best):
        assert network({}) == study.best_value, "the best trial's score again, from its params alone"
    with hp.fixed({"n_layers": 1}):  # a name not given gets its default
        assert hp.int(1, 3, name="n_layers") == 1 and hp.int(8, 64, log=True, name="units_0") == 23
    with (
        hp.fixed({"n_layers": 7}),
        pytest.raises(DeclarationError, match=r"hyperparameter 'n_layers': value 7 is outside the range \[1, 3\]"),
    ):
        hp.int(1, 3, name="n_layers")
    assert hp.int(1, 3, name="n_layers") == 2, "after the block: defaults again"


def test_the_model_learns_which_hyperparameter_decides_whether_another_is_used() -> None:
    from jupyter_hptune.core.samplers.bayes import activity_rules
    from jupyter_hptune.core.trial import Trial

    study = tune(network, method="random", n_trials=30, seed=0)
    names = [n for n in study.space if n != "optimiser"] + ["optimiser"]
    rules = activity_rules(study.space, names, study.trials)
    assert set(rules) == {"units_1", "units_2", "momentum", "beta1"}, "units_0 and the rest are always used"
    assert rules["momentum"][0] == rules["beta1"][0] == "optimiser"
    sgd, adam = study.space["optimiser"].index("sgd"), study.space["optimiser"].index("adam")
    assert rules["momentum"][1](sgd) and not rules["momentum"][1](adam) and rules["beta1"][1](adam)
    assert rules["units_2"][0] == "n_layers" and [rules["units_2"][1](n) for n in (1, 2, 3)] == [False, False, True]
    assert [rules["units_1"][1](n) for n in (1, 2, 3)] == [False, True, True]
    unrelated = [Trial(number=0, params={"a": 1, "b": 0.5}), Trial(number=1, params={"a": 1})]
    assert activity_rules(Space({"a": Int(1, 3), "b": Real(0, 1)}), ["a", "b"], unrelated) == {}, "no rule seen"


def tree(params: dict[str, Any]) -> float:
    """Jenatton et al.'s tree: x4 is used when x2 is 0, and x2 itself only when x1 is 0."""
    if hp.choice([0, 1], name="x1") == 0:
        if hp.choice([0, 1], name="x2") == 0:
            return hp.real(-1.0, 1.0, name="x4") ** 2 + 0.1
        return hp.real(-1.0, 1.0, name="x5") ** 2 + 0.2
    if hp.choice([0, 1], name="x3") == 0:
        return hp.real(-1.0, 1.0, name="x6") ** 2 + 0.3
    return hp.real(-1.0, 1.0, name="x7") ** 2 + 0.4


def test_the_model_learns_a_rule_under_a_hyperparameter_that_is_itself_conditional() -> None:
    from jupyter_hptune.core.samplers.bayes import activity_rules

    study = tune(tree, method="random", n_trials=30, seed=0)
    rules = activity_rules(study.space, list(study.space), study.trials)
    assert {name: parent for name, (parent, _) in rules.items()} == {
        "x2": "x1",
        "x3": "x1",
        "x4": "x2",
        "x5": "x2",
        "x6": "x3",
        "x7": "x3",
    }
    assert list(rules).index("x2") < list(rules).index("x4"), "a parent's rule before its children's"
    assert rules["x4"][1](0) and not rules["x4"][1](1) and rules["x5"][1](1)


def test_bayes_finds_the_best_leaf_of_a_tree() -> None:
    study = tune(tree, method="bayes", n_trials=20, seed=0)
    assert study.best_params["x1"] == 0 and study.best_params["x2"] == 0, "the leaf of the optimum, 0.1"
    assert study.best_value < 0.101
