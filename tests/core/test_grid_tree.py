"""The grid over hyperparameters declared as trials run: the combinations that can occur, each once."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

from jupyter_hptune import Choice, Int, Real, hp, tune
from jupyter_hptune.core.asking import Asking, Declaration
from jupyter_hptune.core.pruners import RunningTrial
from jupyter_hptune.core.samplers import GridSampler
from jupyter_hptune.core.space import Dimension, Space
from jupyter_hptune.core.trial import Trial, TrialState


def layers(params: dict[str, Any]) -> float:
    """One to three layers, a width of 8 or 64 for each."""
    n_layers = hp.int(1, 3)
    widths = [hp.choice([8, 64], name=f"units_{i}") for i in range(n_layers)]
    return sum(widths) / 64


LAYERS = {
    (("n_layers", n), *((f"units_{i}", w) for i, w in enumerate(widths)))
    for n in (1, 2, 3)
    for widths in itertools.product([8, 64], repeat=n)
}


def optimiser(params: dict[str, Any]) -> float:
    """Momentum for SGD, beta1 for Adam."""
    n_layers = hp.int(1, 2)
    if hp.choice(["sgd", "adam"], name="optimiser") == "sgd":
        return n_layers - hp.real(0.0, 0.99, name="momentum")
    return n_layers + hp.real(0.5, 0.999, name="beta1")


OPTIMISER = {
    (("n_layers", n), ("optimiser", name), (setting, value))
    for n in (1, 2)
    for name, setting, values in (("sgd", "momentum", (0.0, 0.99)), ("adam", "beta1", (0.5, 0.999)))
    for value in values
}


def combinations(trials: list[Trial]) -> list[tuple[tuple[str, Any], ...]]:
    return [tuple(t.params.items()) for t in trials]


def drive(
    sampler: GridSampler,
    objective: Callable[[dict[str, Any]], float],
    n_trials: int | None = None,
    space: Mapping[str, Dimension] | None = None,
    reads_space: bool = False,
) -> tuple[list[Trial], list[int]]:
    """The trials of a grid search run one at a time as in the kernel, and the planned count before each trial
    (counted again after each). A trial's params are what it asked for, and all of `space` if the objective reads
    it from its dict (as a function does; a cell asks for each)."""
    dims: dict[str, Dimension] = dict(space or {})
    planned = [sampler.plan(Space(dims), [], n_trials, 0, "minimize").n_trials]
    trials: list[Trial] = []

    def declare(name: str, declaration: Declaration) -> None:
        dims.setdefault(name, declaration.dim)

    while len(trials) < planned[-1]:
        number = len(trials)
        proposal = sampler.ask(Space(dims), trials, number)

        def draw(name: str, dim: Dimension, asked: Mapping[str, Any], number: int = number) -> Any:
            return sampler.ask_param(name, dim, trials, number, asked)

        asking = Asking(proposal, draw, declare=declare)
        with RunningTrial(Trial(number=number, params=proposal), asking=asking).current():
            value = objective(dict(proposal))
        read = {name: proposal[name] for name in space or {} if reads_space and name in proposal}
        done = Trial(number=number, params={**read, **asking.asked}).finish(
            TrialState.COMPLETE, finished=0.0, value=value
        )
        trials.append(done)
        replanned = sampler.replan(Space(dims), trials)
        planned.append(planned[-1] if replanned is None else replanned.n_trials)
    return trials, planned


def test_the_grid_runs_each_combination_that_can_occur_once() -> None:
    trials, planned = drive(GridSampler(grid_points=2, seed=0), layers)
    assert len(trials) == 2 + 4 + 8, "not 3 × 2 × 2 × 2"
    assert set(combinations(trials)) == LAYERS and len(set(combinations(trials))) == len(trials)
    assert planned[0] == 1 and planned[-1] == 14, "the plan grows as trials open branches"
    assert all(type(v) is int for t in trials for v in t.params.values())
    assert combinations(trials)[:3] == [
        (("n_layers", 1), ("units_0", 8)),
        (("n_layers", 1), ("units_0", 64)),
        (("n_layers", 2), ("units_0", 8), ("units_1", 8)),
    ], "the whole grid runs branch by branch, in the grid's order"


def test_each_branch_is_enumerated_with_its_own_hyperparameters() -> None:
    trials, _ = drive(GridSampler(grid_points=2, seed=0), optimiser)
    assert sorted(combinations(trials)) == sorted(OPTIMISER)
    assert all(type(t.params["optimiser"]) is str for t in trials)
    assert all(type(t.params.get("momentum", t.params.get("beta1"))) is float for t in trials)


def test_a_subset_of_the_tree_is_a_seeded_choice() -> None:
    note = GridSampler(grid_points=2, seed=1).plan(Space({}), [], 5, 0, "minimize").note
    assert note == (
        "Grid of the hyperparameters trials declare, growing as they do; "
        "up to 5 trials as they open branches, a seeded choice (seed 1)"
    )
    first, planned = drive(GridSampler(grid_points=2, seed=1), layers, n_trials=5)
    again, _ = drive(GridSampler(grid_points=2, seed=1), layers, n_trials=5)
    other, _ = drive(GridSampler(grid_points=2, seed=2), layers, n_trials=5)
    assert len(first) == 5 and planned[-1] == 5
    assert combinations(first) == combinations(again), "the same seed gives the same trials"
    assert combinations(other) != combinations(first)
    assert len(set(combinations(first))) == 5 and set(combinations(first)) <= LAYERS


def test_more_trials_than_the_tree_holds_run_the_tree_once() -> None:
    trials, planned = drive(GridSampler(grid_points=2, seed=3), layers, n_trials=50)
    assert set(combinations(trials)) == LAYERS and len(trials) == 14 and planned[-1] == 14


def test_a_planned_hyperparameter_a_trial_does_not_use_is_not_varied_for_it() -> None:
    space = {
        "n_layers": Int(1, 2),
        "optimiser": Choice(["sgd", "adam"]),
        "momentum": Real(0.0, 0.99),
        "beta1": Real(0.5, 0.999),
    }
    trials, planned = drive(GridSampler(grid_points=2, seed=0), optimiser, space=space)
    assert planned[0] == 16 and planned[-1] == 8
    assert sorted(combinations(trials)) == sorted(OPTIMISER)


def test_a_subset_of_a_product_with_unused_hyperparameters_runs_as_many_combinations() -> None:
    space = {
        "n_layers": Int(1, 2),
        "optimiser": Choice(["sgd", "adam"]),
        "momentum": Real(0.0, 0.99),
        "beta1": Real(0.5, 0.999),
    }
    for seed in range(4):
        trials, planned = drive(GridSampler(grid_points=2, seed=seed), optimiser, n_trials=6, space=space)
        assert len(trials) == 6 and set(planned) == {6}
        assert len(set(combinations(trials))) == 6 and set(combinations(trials)) <= OPTIMISER


def test_a_space_given_up_front_branches_where_a_trial_asks_for_more() -> None:
    def objective(params: dict[str, Any]) -> float:
        return params["x"] + (hp.int(1, 3, name="depth") if params["kind"] == "b" else 0)

    space = {"x": Real(0.0, 1.0), "kind": Choice(["a", "b"])}
    sampler = GridSampler(grid_points=2, seed=0)
    plan = sampler.plan(Space(space), [], None, 0, "minimize")
    assert plan.n_trials == 4 and plan.note == "Grid of 4 points (2 x × 2 kind)"
    trials, planned = drive(GridSampler(grid_points=2, seed=0), objective, space=space, reads_space=True)
    points = [(t.params["x"], t.params["kind"], t.params.get("depth")) for t in trials]
    assert points == [
        (0.0, "a", None),
        (0.0, "b", 1),
        (0.0, "b", 2),
        (0.0, "b", 3),
        (1.0, "a", None),
        (1.0, "b", 1),
        (1.0, "b", 2),
        (1.0, "b", 3),
    ]
    assert planned[-1] == 8


def test_a_study_whose_trials_declared_branches_plans_the_names_every_trial_used() -> None:
    trials, _ = drive(GridSampler(grid_points=2, seed=0), layers)
    space = Space({"n_layers": Int(1, 3), **{f"units_{i}": Choice([8, 64]) for i in range(3)}})
    plan = GridSampler(grid_points=2, seed=0).plan(space, trials, None, 0, "minimize")
    assert plan.note == (
        "Grid of 6 points (3 n_layers × 2 units_0), and where trials use them units_1, units_2, 6 already tried"
    )
    assert plan.n_trials == 0


# Through tune(): the search re-plans after each trial (Search.finish asks the sampler), so a grid grows.


def test_tune_runs_the_layers_and_their_widths_once_each() -> None:
    study = tune(layers, method="grid", grid_points=2)
    assert len(study.trials) == 14 and set(combinations(study.trials)) == LAYERS
    assert study.snapshot().n_planned == 14


def test_tune_enumerates_each_optimisers_settings() -> None:
    study = tune(optimiser, method="grid", grid_points=2, seed=0)
    assert sorted(combinations(study.trials)) == sorted(OPTIMISER)
    again = tune(optimiser, method="grid", grid_points=2, seed=0)
    assert combinations(again.trials) == combinations(study.trials), "the same seed gives the same order"


def test_a_queued_point_runs_first_and_the_tree_still_runs_whole() -> None:
    study = tune(layers, {"n_layers": Int(1, 3)}, method="grid", grid_points=2, points=[{"n_layers": 2}])
    queued, *search_trials = study.trials
    assert queued.source == "manual" and queued.params["n_layers"] == 2
    assert len(search_trials) == 14 and set(combinations(search_trials)) == LAYERS
