"""One suite run over every search method, then what is particular to each."""

from __future__ import annotations

import math

import numpy as np
import pytest
from clusters import on_simulated_workers

from jupyter_hptune import Choice, Int, Real, Study, tune
from jupyter_hptune.core.options import OptionError
from jupyter_hptune.core.samplers import METHODS, GridSampler, Plan, Sampler, ask_batch, make_sampler
from jupyter_hptune.core.space import Space, SpaceError
from jupyter_hptune.core.trial import Trial, TrialState

SPACE = {
    "lr": Real(1e-4, 1e-1, log=True),
    "dropout": Real(0.0, 0.5),
    "units": Int(16, 256, log=True),
    "layers": Int(1, 3),
    "act": Choice(["relu", "tanh", "logistic"]),
}


def bowl(params):
    """A smooth objective over SPACE with its minimum inside the ranges."""
    act = {"relu": 0.0, "tanh": 0.3, "logistic": 0.6}[params["act"]]
    return (
        (math.log10(params["lr"]) + 2.5) ** 2
        + (params["dropout"] - 0.2) ** 2
        + (math.log2(params["units"]) - 6) ** 2 / 10
        + (params["layers"] - 2) ** 2
        + act
    )


def search(method, seed=0, n_trials=8, **options):
    options.setdefault("grid_points", 2) if method == "grid" else None
    return tune(bowl, SPACE, method=method, n_trials=n_trials, seed=seed, **options)


@pytest.mark.parametrize("method", list(METHODS))
def test_params_are_python_values_inside_the_space(method):
    study = search(method)
    assert study.trials
    for trial in study.trials:
        assert trial.state is TrialState.COMPLETE
        assert type(trial.params["lr"]) is float and 1e-4 <= trial.params["lr"] <= 1e-1
        assert type(trial.params["dropout"]) is float and 0 <= trial.params["dropout"] <= 0.5
        assert type(trial.params["units"]) is int and 16 <= trial.params["units"] <= 256
        assert type(trial.params["layers"]) is int and 1 <= trial.params["layers"] <= 3
        assert type(trial.params["act"]) is str and trial.params["act"] in ("relu", "tanh", "logistic")
        assert type(trial.value) is float
    assert all(type(v) in (int, float, str) for record in study.to_records() for v in record.values() if v is not None)


@pytest.mark.parametrize("method", list(METHODS))
def test_the_same_seed_gives_the_same_trials(method):
    first = [dict(t.params) for t in search(method, seed=3).trials]
    again = [dict(t.params) for t in search(method, seed=3).trials]
    assert first == again


@pytest.mark.parametrize("method", ["random", "bayes", "grid"])
def test_another_seed_gives_other_trials(method):
    assert [dict(t.params) for t in search(method, seed=1).trials] != [
        dict(t.params) for t in search(method, seed=2).trials
    ]


@pytest.mark.parametrize("method", list(METHODS))
def test_queued_points_run_first_and_defaults_fill_the_rest(method):
    study = Study(SPACE)
    study.enqueue({"lr": 0.01, "act": "tanh"})
    study.optimize(
        bowl,
        3 if method != "manual" else None,
        sampler=make_sampler(method, seed=0, **({"grid_points": 2} if method == "grid" else {})),
    )
    first = study.trials[0]
    assert first.params == {"lr": 0.01, "dropout": 0.25, "units": 64, "layers": 2, "act": "tanh"}
    assert first.source == "manual"


@pytest.mark.parametrize("method", ["random", "bayes", "grid"])
def test_a_continued_search_proposes_new_points(method):
    study = Study(SPACE)
    sampler = make_sampler(method, seed=0, **({"grid_points": 2} if method == "grid" else {}))
    study.optimize(bowl, 6, sampler=sampler)
    study.optimize(bowl, 6, sampler=make_sampler(method, seed=0, **({"grid_points": 2} if method == "grid" else {})))
    points = [tuple(t.params.values()) for t in study.trials]
    assert len(study.trials) == 12
    assert len(set(points[6:]) - set(points[:6])) >= 5, "the second run repeats the first"


def test_random_search_is_log_aware():
    study = tune(bowl, SPACE, method="random", n_trials=400, seed=0)
    lrs = [t.params["lr"] for t in study.trials]
    below = sum(lr < 1e-3 for lr in lrs) / len(lrs)
    assert 0.27 < below < 0.40, "a log range over three decades puts a third of draws in the lowest"
    layers = [t.params["layers"] for t in study.trials]
    assert {layers.count(v) for v in (1, 2, 3)} and min(layers.count(v) for v in (1, 2, 3)) > 100


def test_grid_covers_every_combination_once():
    space = {"a": Real(0, 1), "b": Int(1, 3), "c": Choice(["x", "y"])}
    study = tune(lambda p: p["a"], space, method="grid", grid_points=3, seed=0)
    points = {(t.params["a"], t.params["b"], t.params["c"]) for t in study.trials}
    assert len(study.trials) == len(points) == 3 * 3 * 2
    assert {p[0] for p in points} == {0.0, 0.5, 1.0}


def test_grid_subset_is_a_seeded_shuffle_and_says_so():
    space = {"a": Real(0, 1), "b": Int(1, 10)}
    notes = []
    study = tune(
        lambda p: p["a"],
        space,
        method="grid",
        grid_points=5,
        n_trials=7,
        seed=4,
        observers=[lambda e: notes.append(getattr(e, "note", None))],
    )
    assert len(study.trials) == 7
    assert notes[0] == "Grid of 50 points (5 a × 10 b); running a shuffled subset of 7 (seed 4)"
    assert len({tuple(t.params.values()) for t in study.trials}) == 7


def test_grid_that_is_too_large_is_refused_before_any_trial():
    space = {"a": Int(1, 100_000), "b": Int(1, 100_000)}
    with pytest.raises(SpaceError, match=r"the grid has 10,000,000,000 points"):
        tune(lambda p: 0.0, space, method="grid", n_trials=5)


def test_bayes_beats_random_on_branin():
    from problems import BRANIN

    bayes = tune(BRANIN.objective, BRANIN.space, method="bayes", n_trials=25, seed=0).best_value
    random = tune(BRANIN.objective, BRANIN.space, method="random", n_trials=25, seed=0).best_value
    assert bayes < 0.5 < random


def test_bayes_on_hartmann6_improves_on_its_initial_design():
    from problems import HARTMANN6

    study = tune(HARTMANN6.objective, HARTMANN6.space, method="bayes", n_trials=30, seed=0, initial_points=10)
    initial = min(t.value for t in study.trials[:10])
    assert study.best_value < initial - 0.3


def test_bayes_past_its_fit_limit_still_learns_from_every_trial():
    from problems import BRANIN

    from jupyter_hptune.core.samplers.bayes import BayesSampler, GPSettings

    sampler = BayesSampler(seed=0, settings=GPSettings(fit_limit=12))
    study = Study(BRANIN.space)
    study.optimize(BRANIN.objective, 30, sampler=sampler)
    model = sampler.fitted_model(study.space, "minimize")
    assert len(model.points) == 29, "the model is conditioned on every trial told, not only the 12 fitted"
    assert study.best_value < 0.5


def test_bayes_past_its_model_limit_keeps_the_best_trials():
    from problems import BRANIN

    from jupyter_hptune.core.samplers.bayes import BayesSampler, GPSettings

    sampler = BayesSampler(seed=0, settings=GPSettings(fit_limit=10, model_limit=16))
    study = Study(BRANIN.space)
    study.optimize(BRANIN.objective, 30, sampler=sampler)
    model = sampler.fitted_model(study.space, "minimize")
    assert len(model.points) == 16
    best = sorted(t.value for t in study.trials[:29])[:8]
    scores = model.warp.inverse(model.targets)
    assert sorted(scores)[:8] == pytest.approx(best)
    assert study.best_value < 1.0


def test_bayes_tries_each_acquisition_function_on_a_mixed_space():
    for acq in ("EI", "PI", "LCB", "gp_hedge"):
        study = search("bayes", n_trials=16, acq=acq)  # 4 initial points, then 12 from the model
        assert len({tuple(t.params.values()) for t in study.trials}) == 16
        assert study.best_value < min(t.value for t in study.trials[:4])


def test_bayes_steers_away_from_failing_regions():
    def fails_above_half(params):
        if params["x"] > 0.8:
            raise ValueError("diverged")
        return -params["x"]

    study = tune(fails_above_half, {"x": Real(0, 1)}, method="bayes", n_trials=20, seed=0, initial_points=4)
    assert study.best_value < -0.7
    assert len({t.params["x"] for t in study.trials}) == 20, "a failed point is never proposed again"


@pytest.mark.parametrize(
    ("method", "options", "message"),
    [
        ("annealing", {}, "method must be one of manual, grid, random, bayes, got 'annealing'"),
        ("random", {"acq": "EI"}, "acq applies to method bayes, not random"),
        ("grid", {"fast": True}, r"fast is not an option of method grid \(its options: grid_points\)"),
        ("bayes", {"acq": "UCB"}, "acq must be one of EI, PI, LCB, gp_hedge, got 'UCB'"),
        ("bayes", {"initial_points": 0}, "initial_points must be a positive integer, got 0"),
        ("random", {"seed": -1}, r"seed must be an integer from 0 to 2\*\*32 - 1, got -1"),
        ("bayes", {"seed": 2.5}, "seed must be an integer"),
        ("grid", {"grid_points": 0}, "grid_points must be a positive integer, got 0"),
    ],
)
def test_bad_method_options(method, options, message):
    with pytest.raises(OptionError, match=message):
        make_sampler(method, **options)


def test_grid_default_points():
    assert GridSampler().points_per_range == 5


def simulate(method: str, seed: int, workers: int, n_trials: int = 12) -> list[Trial]:
    """The trials of a search on `workers` workers whose trials end in the order they started, driven as the
    parallel search drives a sampler: a batch for the free workers, asked with the running trials in view."""
    space = Space(SPACE)
    sampler = make_sampler(method, seed=seed, **({"grid_points": 2} if method == "grid" else {}))
    sampler.plan(space, [], n_trials, 0, "minimize")
    return on_simulated_workers(
        sampler,
        space,
        workers,
        n_trials,
        lambda trial, finished: trial.finish(TrialState.COMPLETE, finished=0.0, value=bowl(trial.params)),
    )


@pytest.mark.parametrize("method", ["grid", "random", "bayes"])
def test_a_batch_for_several_workers_is_distinct_and_seeded(method):
    first, again = simulate(method, seed=4, workers=3), simulate(method, seed=4, workers=3)
    assert [t.params for t in first] == [t.params for t in again], "the same seed and workers give the same points"
    points = [tuple(t.params.values()) for t in first]
    assert len(set(points)) == len(points), "a batch repeats a point another trial runs"
    space = Space(SPACE)
    for trial in first:
        assert space.includes(trial.params)
        assert all(type(v) in (float, int, str) for v in trial.params.values())


@pytest.mark.parametrize("method", ["grid", "random", "bayes"])
def test_one_worker_proposes_what_a_search_in_the_kernel_does(method):
    serial = search(method, seed=2, n_trials=12)
    assert [t.params for t in simulate(method, seed=2, workers=1)] == [t.params for t in serial.trials]


def test_bayes_batches_spread_around_running_trials():
    space = Space({"x": Real(-5.0, 10.0), "y": Real(0.0, 15.0)})
    sampler = make_sampler("bayes", seed=0, initial_points=4)
    sampler.plan(space, [], 20, 0, "minimize")
    done = [
        Trial(number=i, params=p).finish(TrialState.COMPLETE, finished=0.0, value=(p["x"] - 2) ** 2 + (p["y"] - 3) ** 2)
        for i, p in enumerate(ask_batch(sampler, space, [], [0, 1, 2, 3]))
    ]
    alone = ask_batch(sampler, space, done, [4])[0]
    running = [*done, Trial(number=4, params=alone)]
    batch = ask_batch(sampler, space, running, [5, 6, 7])
    for point in batch:  # the model believes the running point scored the best: it looks elsewhere
        assert math.dist(point.values(), alone.values()) > 0.3, (point, alone)
    assert len({tuple(p.values()) for p in batch}) == 3


BRANCHES = {"opt": Choice(["sgd", "adam"]), "momentum": Real(0.0, 0.99), "beta1": Real(0.5, 0.999), "lr": Real(0, 1)}


def branches(params):
    """What a trial of a conditional objective uses of a point: momentum under SGD, beta1 under Adam."""
    unused = "beta1" if params["opt"] == "sgd" else "momentum"
    return {name: value for name, value in params.items() if name != unused}


def test_a_conditional_search_on_workers_draws_the_same_random_trials_as_in_the_kernel():
    space, n_trials = Space(BRANCHES), 12

    def run(workers):
        sampler = make_sampler("bayes", seed=1)
        sampler.plan(space, [], n_trials, 0, "minimize")
        trials: list[Trial] = []
        while len(trials) < n_trials:
            free = min(workers - sum(t.state is TrialState.RUNNING for t in trials), n_trials - len(trials))
            numbers = list(range(len(trials), len(trials) + free))
            points = ask_batch(sampler, space, trials, numbers)
            trials += [Trial(number=n, params=branches(p)) for n, p in zip(numbers, points)]
            oldest = next(t for t in trials if t.state is TrialState.RUNNING)
            value = (oldest.params["lr"] - 0.3) ** 2 + (oldest.params["opt"] == "sgd")
            trials[oldest.number] = oldest.finish(TrialState.COMPLETE, finished=0.0, value=value)
        return [t.params for t in trials]

    kernel, workers = run(1), run(2)
    explored = [n for n in range(3, n_trials) if n % 3 == 2]  # after the 3 initial points, every 3rd trial
    assert [workers[n] for n in explored] == [kernel[n] for n in explored], "the same seeded random configurations"
    assert len({tuple(p.values()) for p in workers}) == n_trials


def test_bayes_on_workers_models_the_names_trials_declared_as_the_kernel_does():
    """A batch asked after the trials declared a new name proposes it too, as ask() does in the kernel."""
    first, grown = Space({"lr": Real(0.0, 1.0)}), Space({"lr": Real(0.0, 1.0), "wd": Real(0.0, 1.0)})
    sampler = make_sampler("bayes", seed=0, initial_points=3)
    sampler.plan(first, [], 12, 0, "minimize")
    rng = np.random.default_rng(0)
    trials = [
        Trial(number=i, params={"lr": float(lr), "wd": float(wd)}).finish(
            TrialState.COMPLETE, finished=0.0, value=float((lr - 0.3) ** 2 + (wd - 0.6) ** 2)
        )
        for i, (lr, wd) in enumerate(rng.random((6, 2)))
    ]
    batch = ask_batch(sampler, grown, trials, [6, 7])
    assert all(grown.includes(point) for point in batch)
    default = grown.defaults()["wd"]
    assert all(point["wd"] != default for point in batch), f"wd held at its default {default}: not modelled"


class Halves(Sampler):
    """A method of one's own: only plan and ask, the first of 0, 1, 1/2, 1/4, ... not tried yet."""

    method, seed = "halves", 0

    def plan(self, space, trials, n_trials, queued, direction):
        return Plan(n_trials or 4)

    def ask(self, space, trials, number):
        tried = {t.params["x"] for t in trials}
        return {"x": next(x for x in (0.0, *(0.5**k for k in range(60))) if x not in tried)}


def test_a_method_with_only_plan_and_ask_runs_in_a_study_and_on_several_workers():
    study = Study({"x": Real(0, 1)})
    study.optimize(lambda p: p["x"], 3, sampler=Halves())
    assert [t.params["x"] for t in study.trials] == [0.0, 1.0, 0.5]
    sampler, space = Halves(), Space({"x": Real(0, 1)})
    sampler.learn(space, study.trials)  # nothing to learn: asking is unchanged
    batch = ask_batch(sampler, space, study.trials, [3, 4])
    assert [p["x"] for p in batch] == [0.25, 0.125], "each point of a batch counts as running for the next"
    with pytest.raises(TypeError, match="abstract"):
        type("NoAsk", (Sampler,), {"plan": Halves.plan})()


def test_the_engine_reads_and_writes_its_input_as_scikit_optimize_does():
    """Candidates are made valid and snapped in the model's own columns: the values scikit-optimize's space gives."""
    from jupyter_hptune.core.samplers.gp_model import Engine, GPSettings, dimension

    dims = [
        Real(1e-4, 1e-1, log=True),
        Real(-1, 1),
        Int(8, 128, log=True),
        Int(1, 3),
        Choice(["a", "b"]),
        Choice(list("wxyz")),
    ]
    engine = Engine([dimension(d) for d in dims], GPSettings(), n_initial_points=3, random_state=0)
    bounds = np.asarray(engine.space.transformed_bounds, dtype=float)
    Z = np.random.default_rng(0).uniform(bounds[:, 0], bounds[:, 1], size=(200, len(bounds)))
    assert np.array_equal(engine.decode(Z), np.asarray(engine.space.inverse_transform(Z), dtype=float))
    rows = engine.space.rvs(200, random_state=1)
    assert np.array_equal(engine.encode(np.asarray(rows, dtype=float)), engine.space.transform(rows))


def fitted_engine(**settings):
    """The bayes engine after 12 trials in the corner [0, 0.3]² of the unit square, its model fitted."""
    from jupyter_hptune.core.samplers.gp_model import Engine, GPSettings

    engine = Engine([(0.0, 1.0)] * 2, GPSettings(**settings), n_initial_points=3, random_state=0)
    rng = np.random.default_rng(0)
    X = (rng.uniform(size=(12, 2)) * 0.3).tolist()
    engine.tell(X, [float(np.exp(4 * x[0]) + np.sin(9 * x[1])) for x in X])
    return engine


@pytest.mark.parametrize("quantile", [1.0, 0.5])
def test_far_from_every_trial_the_bayes_model_expects_its_prior_quantile_of_the_scores(quantile):
    engine = fitted_engine(prior_quantile=quantile)
    far = engine.warp_.inverse(engine.models[-1].predict(np.array([[1.0, 1.0]])))[0]
    assert far == pytest.approx(np.quantile(engine.yi, quantile), rel=0.02)


def test_the_bayes_acquisition_gradient_is_scikit_optimizes_and_stays_finite_where_ei_underflows():
    from skopt.acquisition import gaussian_acquisition_1D

    from jupyter_hptune.core.samplers.gp_model import _acquisition_loss

    engine = fitted_engine()
    model, y_opt = engine.models[-1], float(engine.warp_(np.min(engine.yi)))
    points = np.random.default_rng(1).uniform(size=(8, 2)) * 0.5
    underflows = 0
    for acq, options in (("EI", {"xi": 0.0}), ("PI", {"xi": 0.01}), ("LCB", {"kappa": 1.96})):
        values, grads = _acquisition_loss(model, points, y_opt, acq, options)
        assert np.all(np.isfinite(values)) and np.all(np.isfinite(grads)), acq
        for point, value, grad in zip(points, values, grads):
            theirs, their_grad = (np.ravel(a) for a in gaussian_acquisition_1D(point, model, y_opt, acq, options))
            if acq != "LCB":  # ours is -log of the (negated) EI or PI scikit-optimize gives
                if theirs[0] == 0:  # scikit-optimize's value underflowed: no gradient left to climb
                    underflows += 1
                    continue
                theirs, their_grad = -np.log(-theirs), their_grad / -theirs
            assert value == pytest.approx(theirs[0], rel=1e-6), acq
            np.testing.assert_allclose(grad, their_grad, rtol=1e-5, atol=1e-8, err_msg=acq)
    assert underflows, "some points lie far enough from the best for EI or PI to underflow"


def test_between_refits_of_its_hyperparameters_the_bayes_model_still_learns_every_trial():
    from jupyter_hptune.core.samplers.gp_model import Engine, GPSettings

    engine = Engine([(0.0, 1.0)] * 2, GPSettings(), n_initial_points=5, random_state=0)
    kept = []  # the trial counts at which the model kept the previous hyperparameters
    for n in range(1, 41):
        x = engine.ask()
        y = float(np.sin(5 * x[0]) + x[1] ** 2)
        before = None if engine._theta is None else engine._theta.copy()
        engine.tell(x, y)
        if n <= 5:
            continue
        model = engine.models[-1]
        assert len(model.X_train_) == n  # every trial, the newest included
        assert engine.warp_.inverse(model.predict(np.array([x])))[0] == pytest.approx(y, abs=0.02 * np.ptp(engine.yi))
        if before is not None and np.array_equal(before, engine._theta):
            kept.append(n)
    # refitted at every trial up to 25, then once 4% of the trials are new (every second trial here)
    assert kept and min(kept) > 25 and 5 <= len(kept) <= 8
