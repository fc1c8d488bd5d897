"""The posterior for plots: the bayes search's own model, or a GP fitted to the trials, sliced for display."""

from __future__ import annotations

import numpy as np
import pytest
from skopt.acquisition import gaussian_ei, gaussian_lcb

from jupyter_hptune import Choice, Int, Real, Space, Study
from jupyter_hptune.core.posterior import Posterior, posterior
from jupyter_hptune.core.samplers import RandomSampler
from jupyter_hptune.core.samplers.bayes import BayesSampler
from jupyter_hptune.core.trial import Trial, TrialState

PLAIN = (bool, int, float, str, type(None), tuple)


def bowl(params):
    return (params["x"] - 0.3) ** 2


def bayes_study(objective=bowl, space=None, direction="minimize", n_trials=8, **options):
    study = Study(space or {"x": Real(0, 1)}, direction=direction)
    sampler = BayesSampler(seed=0, **options)
    study.optimize(objective, n_trials, sampler=sampler)
    return study, sampler


def trials_at(xs, scores, name="x"):
    """Completed trials at the given values with the given scores."""
    return [
        Trial(number=i, params={name: x}, state=TrialState.COMPLETE, value=y, started=0.0, finished=1.0)
        for i, (x, y) in enumerate(zip(xs, scores))
    ]


def skopt_prediction(sampler, rows, limits=(-np.inf, np.inf)):
    """The search's model at rows: the model, its input, and its mean and std mapped back to scores (within limits)."""
    optimizer = sampler.optimizer
    model, warp = optimizer.models[-1], optimizer.warp_
    X = optimizer.space.transform(rows)
    mean, low, high = np.clip(warp.band(*model.predict(X, return_std=True)), *limits)
    return model, X, (mean, (high - low) / 4)


def test_a_bayes_slice_is_the_search_models_own_prediction_and_acquisition():
    study, sampler = bayes_study()
    post = posterior(study.space, study.trials, "minimize", sampler)
    assert isinstance(post, Posterior)
    cut = post.slice("x")
    model, X, (mu, sd) = skopt_prediction(sampler, [[x] for x in cut.x], post.limits)
    np.testing.assert_allclose(cut.mean, mu)
    np.testing.assert_allclose(cut.std, sd)
    y_opt = sampler.optimizer.warp_(min(sampler.optimizer.yi))  # the search's best, in its model's units
    np.testing.assert_allclose(
        cut.acquisition, gaussian_ei(X, model, y_opt=y_opt, xi=sampler.optimizer.acq_func_kwargs["xi"])
    )
    assert cut.acq_name == "EI"
    assert cut.source == "model of the Bayesian search"
    assert cut.direction == "minimize"
    assert len(cut.x) == 100 and cut.x[0] == 0.0 and cut.x[-1] == 1.0
    assert abs(cut.x[int(np.argmin(cut.mean))] - 0.3) < 0.05, "the model has found the bowl's bottom"


def test_a_bayes_slice_passes_through_the_scores_of_a_long_tailed_objective():
    # Scores from 0 to about 1e4: the search models them power-transformed, and the plot shows them back as scores.
    study, sampler = bayes_study(lambda p: 10 ** (4 * abs(p["x"] - 0.3)) - 1, n_trials=12)
    assert sampler.optimizer.warp_.power < 1, "a long tail of bad scores is compressed"
    post = posterior(study.space, study.trials, "minimize", sampler)
    done = post.trials
    mean = post._mean(post._model.transform([[t.params["x"]] for t in done]))
    scores = np.array([t.value for t in done])
    np.testing.assert_allclose(mean, scores, atol=0.05 * np.ptp(scores))
    cut = post.slice("x")
    assert np.all(np.isfinite(cut.low)) and np.all(np.isfinite(cut.high))
    assert np.all(cut.low <= cut.mean) and np.all(cut.mean <= cut.high)
    np.testing.assert_allclose(cut.std, (cut.high - cut.low) / 4)
    # the compressed tail of bad scores stretches the band upwards: more room above the mean than below it
    assert np.max(cut.high - cut.mean) > 2 * np.max(cut.mean - cut.low)
    assert abs(cut.x[int(np.argmin(cut.mean))] - 0.3) < 0.1


def test_the_next_point_is_the_models_proposal_and_names_the_trial_that_ran_it():
    study, sampler = bayes_study()
    cut = posterior(study.space, study.trials, "minimize", sampler).slice("x")
    assert cut.next_x == sampler.fitted_model(study.space, "minimize").next_x[0]
    assert type(cut.next_x) is float
    # The model proposed the last trial and has not been told its score yet.
    assert cut.next_trial == study.trials[-1].number
    assert cut.next_x == study.trials[-1].params["x"]


def test_the_acquisition_follows_the_searchs_acquisition_function():
    study, sampler = bayes_study(acq="LCB")
    cut = posterior(study.space, study.trials, "minimize", sampler).slice("x", points=30)
    model, X, _ = skopt_prediction(sampler, [[x] for x in cut.x])
    assert cut.acq_name == "LCB"
    np.testing.assert_allclose(cut.acquisition, -gaussian_lcb(X, model, kappa=1.96))  # in the model's units


def test_gp_hedge_shows_the_acquisition_function_it_drew():
    study, sampler = bayes_study(acq="gp_hedge")
    cut = posterior(study.space, study.trials, "minimize", sampler).slice("x", points=30)
    optimizer, proposed = sampler.optimizer, sampler.fitted_model(study.space, "minimize").next_x
    drawn = optimizer.next_xs_[optimizer.cand_acq_funcs_.index(cut.acq_name)]
    np.testing.assert_allclose(drawn, optimizer.space.transform([proposed])[0])
    assert cut.acquisition is not None


def test_a_model_of_another_space_is_not_used():
    study, sampler = bayes_study()
    narrowed = {"x": Real(0, 0.5)}
    cut = posterior(narrowed, study.trials, "minimize", sampler).slice("x")
    assert cut.source == "GP fitted to the trials (for display)"
    assert cut.observed_x == [t.params["x"] for t in study.trials if t.params["x"] <= 0.5]


def test_a_maximize_study_gets_means_in_the_users_direction():
    study, sampler = bayes_study(lambda p: 5 - (p["x"] - 0.3) ** 2, direction="maximize")
    post = posterior(study.space, study.trials, "maximize", sampler)
    cut = post.slice("x")
    _, _, (mu, sd) = skopt_prediction(sampler, [[x] for x in cut.x], (-post.limits[1], -post.limits[0]))
    np.testing.assert_allclose(cut.mean, -mu)
    np.testing.assert_allclose(cut.std, sd)
    assert abs(cut.x[int(np.argmax(cut.mean))] - 0.3) < 0.05
    assert 4.5 < cut.mean.max() < 5.5, "means are scores, not the model's sign-flipped ones"
    assert cut.direction == "maximize"


def test_a_random_search_gets_a_display_gp_without_acquisition():
    study = Study({"x": Real(0, 1)})
    sampler = RandomSampler(seed=0)
    study.optimize(bowl, 10, sampler=sampler)
    cut = posterior(study.space, study.trials, "minimize", sampler).slice("x")
    assert cut.source == "GP fitted to the trials (for display)"
    assert cut.acquisition is None and cut.acq_name is None and cut.next_x is None
    assert abs(cut.x[int(np.argmin(cut.mean))] - 0.3) < 0.1


def test_a_bayes_search_still_in_its_random_phase_gets_the_display_gp():
    study, sampler = bayes_study(n_trials=3, initial_points=5)
    assert not sampler.optimizer.models
    cut = posterior(study.space, study.trials, "minimize", sampler).slice("x")
    assert cut.source == "GP fitted to the trials (for display)"
    assert cut.acquisition is None


def test_the_same_seed_gives_the_same_display_posterior():
    trials = trials_at([0.1, 0.4, 0.5, 0.9], [3.0, 1.0, 1.5, 4.0])
    space = {"x": Real(0, 1)}
    first = posterior(space, trials, "minimize", seed=3).slice("x")
    again = posterior(space, trials, "minimize", seed=3).slice("x")
    np.testing.assert_array_equal(first.mean, again.mean)
    np.testing.assert_array_equal(first.std, again.std)


def test_the_posterior_is_tighter_near_the_trials():
    xs = [0.0, 0.1, 0.2, 0.3, 0.4]
    trials = trials_at(xs, [bowl({"x": x}) for x in xs])
    cut = posterior({"x": Real(0, 1)}, trials, "minimize").slice("x", points=101)
    near, far = cut.std[cut.x.index(0.2)], cut.std[-1]
    assert near < far / 10


def test_log_ranges_give_log_spaced_grids():
    study, sampler = bayes_study(lambda p: np.log10(p["lr"]) ** 2, space={"lr": Real(1e-4, 1e-1, log=True)})
    cut = posterior(study.space, study.trials, "minimize", sampler).slice("lr", points=31)
    assert cut.log and cut.kind == "real"
    assert cut.x[0] == 1e-4 and cut.x[-1] == 1e-1
    np.testing.assert_allclose(np.diff(np.log10(cut.x)), 0.1)


def test_int_grids_are_ints():
    space = {"units": Int(1, 1000, log=True), "layers": Int(1, 4)}
    study = Study(space)
    study.optimize(lambda p: np.log(p["units"]) + p["layers"], 6, sampler=RandomSampler(seed=0))
    post = posterior(study.space, study.trials, "minimize")
    layers = post.slice("layers", points=20)
    assert layers.x == [1, 2, 3, 4] and layers.kind == "int"
    units = post.slice("units", points=20)
    assert all(type(v) is int for v in units.x)
    assert units.x == sorted(set(units.x)) and units.x[0] == 1 and units.x[-1] == 1000
    assert 10 <= len(units.x) <= 20
    assert sum(v < 32 for v in units.x) > sum(v > 32 for v in units.x) / 2, "log-spaced, not linear"


def test_choice_slices_give_the_options_as_python_values():
    space = {"act": Choice(["relu", "tanh", "logistic"]), "x": Real(0, 1), "width": Choice([1, 2.5, None])}

    def objective(p):
        return {"relu": 0.0, "tanh": 0.5, "logistic": 1.0}[p["act"]] + (p["x"] - 0.3) ** 2

    study, sampler = bayes_study(objective, space=space, n_trials=8, initial_points=4)
    post = posterior(study.space, study.trials, "minimize", sampler)
    cut = post.slice("act")
    assert cut.x == ["relu", "tanh", "logistic"] and cut.kind == "choice"
    assert cut.mean.shape == cut.std.shape == cut.acquisition.shape == (3,)
    assert type(cut.next_x) is str
    assert set(cut.fixed) == {"x", "width"}
    values = [*cut.x, *cut.observed_x, *cut.fixed.values(), *post.slice("width").x, cut.next_x]
    assert all(type(v) in PLAIN for v in values), [type(v) for v in values]
    assert all(type(v) is float for v in cut.observed_y)
    _, _, (mu, _) = skopt_prediction(
        sampler, [[i, cut.fixed["x"], space["width"].index(cut.fixed["width"])] for i in range(3)]
    )
    np.testing.assert_allclose(cut.mean, mu)


def test_the_others_are_held_at_the_best_trial():
    space = {"x": Real(0, 1), "y": Real(0, 1)}
    trials = [
        Trial(number=0, params={"x": 0.1, "y": 0.9}, state=TrialState.COMPLETE, value=2.0),
        Trial(number=1, params={"x": 0.5, "y": 0.2}, state=TrialState.COMPLETE, value=1.0),
        Trial(number=2, params={"x": 0.7, "y": 0.6}, state=TrialState.COMPLETE, value=3.0),
    ]
    assert posterior(space, trials, "minimize").slice("x").fixed == {"y": 0.2}
    assert posterior(space, trials, "maximize").slice("x").fixed == {"y": 0.6}


def test_a_single_option_choice_is_held_and_left_out_of_the_model():
    space = {"x": Real(0, 1), "kind": Choice(["only"])}
    study, sampler = bayes_study(space=space)
    post = posterior(study.space, study.trials, "minimize", sampler)
    cut = post.slice("x", points=20)
    assert cut.source == "model of the Bayesian search"
    assert cut.fixed == {"kind": "only"}
    _, _, (mu, _) = skopt_prediction(sampler, [[x] for x in cut.x])
    np.testing.assert_allclose(cut.mean, mu)
    assert post.slice("kind").x == ["only"]


def test_fewer_than_two_completed_trials_give_none():
    space = {"x": Real(0, 1)}
    failed = Trial(number=1, params={"x": 0.5}, state=TrialState.FAILED, error="boom")
    running = Trial(number=2, params={"x": 0.6})
    assert posterior(space, [], "minimize") is None
    assert posterior(space, [*trials_at([0.2], [1.0]), failed, running], "minimize") is None


def test_failed_trials_are_not_observations():
    def fails_above(p):
        if p["x"] > 0.6:
            raise ValueError("diverged")
        return bowl(p)

    study, sampler = bayes_study(fails_above, n_trials=10, initial_points=4)
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    assert len(done) < len(study.trials), "the search ran failing trials"
    for cut in (
        posterior(study.space, study.trials, "minimize", sampler).slice("x"),
        posterior(study.space, study.trials, "minimize").slice("x"),
    ):
        assert cut.observed_x == [t.params["x"] for t in done]
        assert cut.observed_y == [t.value for t in done]


def test_trials_outside_a_narrowed_space_are_not_observations():
    trials = trials_at([0.1, 0.3, 0.8, 0.45], [1.0, 0.5, 0.2, 0.7])
    cut = posterior({"x": Real(0, 0.5)}, trials, "minimize").slice("x")
    assert cut.observed_x == [0.1, 0.3, 0.45]
    assert cut.x[-1] == 0.5
    assert posterior({"x": Real(0.5, 1)}, trials, "minimize") is None


def test_a_surface_is_the_mean_over_two_params_rows_along_y():
    space = {"x": Real(0, 1), "lr": Real(1e-3, 1, log=True), "act": Choice(["a", "b"])}

    def objective(p):
        return (p["x"] - 0.3) ** 2 + np.log10(p["lr"]) ** 2 / 9 + (p["act"] == "b")

    study, sampler = bayes_study(objective, space=space, n_trials=8, initial_points=4)
    surface = posterior(study.space, study.trials, "minimize", sampler).surface("x", "lr", points=7)
    assert surface.mean.shape == (7, 7) and len(surface.x) == len(surface.y) == 7
    assert surface.y_log and not surface.x_log
    act = space["act"].index(surface.fixed["act"])
    rows = [[x, y, act] for y in surface.y for x in surface.x]
    _, _, (mu, _) = skopt_prediction(sampler, rows)
    np.testing.assert_allclose(surface.mean, mu.reshape(7, 7))
    assert surface.fixed == {"act": surface.fixed["act"]}
    assert surface.observed_x == [t.params["x"] for t in study.trials]
    assert surface.observed_score == [t.value for t in study.trials]


def test_unknown_names_and_a_surface_over_one_name_are_refused():
    post = posterior({"x": Real(0, 1)}, trials_at([0.1, 0.5, 0.9], [1.0, 2.0, 0.5]), "minimize")
    with pytest.raises(ValueError, match="unknown hyperparameter 'lr'"):
        post.slice("lr")
    with pytest.raises(ValueError, match="unknown hyperparameter 'lr'"):
        post.surface("x", "lr")
    with pytest.raises(ValueError, match="'x' twice"):
        post.surface("x", "x")
    with pytest.raises(ValueError, match="points"):
        post.slice("x", points=1)


def test_a_display_gp_over_many_trials_fits_a_sample_but_shows_every_trial():
    space = {"x": Real(0.0, 1.0), "y": Real(0.0, 1.0)}
    study = Study(space, direction="maximize")
    study.optimize(lambda p: -((p["x"] - 0.3) ** 2) - p["y"], 150, sampler=RandomSampler(seed=0))
    a = posterior(study.space, study.trials, "maximize", seed=4)
    b = posterior(study.space, study.trials, "maximize", seed=4)
    slice_a, slice_b = a.slice("x"), b.slice("x")
    assert len(slice_a.observed_x) == 150, "every trial is drawn"
    np.testing.assert_array_equal(slice_a.mean, slice_b.mean)  # the sample honours the seed
    best = study.best_trial.params["x"]
    i = int(np.argmin([abs(v - best) for v in slice_a.x]))
    assert slice_a.mean[i] == pytest.approx(study.best_value, abs=0.05), "the best trial is always in the fit"


def test_the_display_model_shows_a_trend_not_a_dip_at_each_trial():
    # Six grid-like trials: a maximum-likelihood fit alone picks a length scale along lr so short that the mean is
    # flat between the trials with a dip at each one.
    space = Space({"lr": Real(1e-4, 0.1, log=True), "depth": Int(1, 8), "kind": Choice(["a", "b", "c"])})
    rows = [
        (0.003162, 5, "c", 1.1548),
        (0.1, 1, "a", 0.5914),
        (0.1, 8, "a", 1.3173),
        (0.000562, 7, "b", 3.0665),
        (0.000562, 7, "a", 3.0952),
        (0.003162, 6, "b", 1.216),
    ]
    trials = [
        Trial(i, {"lr": lr, "depth": d, "kind": k}, TrialState.COMPLETE, value=v, started=0.0, finished=1.0)
        for i, (lr, d, k, v) in enumerate(rows)
    ]
    mean = np.round(np.asarray(posterior(space, trials, "minimize", None, seed=0).slice("lr").mean), 2)
    _, counts = np.unique(mean, return_counts=True)
    assert counts.max() < len(mean) / 4, f"the mean along lr is flat between the trials: {mean[::10]}"


def outlier_trials(seed):
    """Trials of a smooth score near 0.9 and one diverged trial at 0.19 (a warp of the scores bends hard there)."""
    rng = np.random.default_rng(seed)
    points = [(0.02, 0.05), *rng.uniform(size=(14, 2))]
    scores = [0.19, *(0.9 - 0.05 * ((a - 0.7) ** 2 + (b - 0.6) ** 2) for a, b in points[1:])]
    return [
        Trial(
            number=i, params={"x": float(a), "y": float(b)}, state=TrialState.COMPLETE, value=s, started=0, finished=1
        )
        for i, ((a, b), s) in enumerate(zip(points, scores))
    ]


@pytest.mark.parametrize("seed", range(1, 6))
def test_predictions_stay_in_the_range_of_the_scores_and_say_where_they_were_clipped(seed):
    space = Space({"x": Real(0, 1), "y": Real(0, 1)})
    trials = outlier_trials(seed)
    sampler = BayesSampler(seed=0)
    sampler.plan(space, [], 20, 0, "maximize")
    sampler.ask(space, trials, len(trials))
    model = posterior(space, trials, "maximize", sampler)
    assert model.source == "model of the Bayesian search"
    surface, slice_ = model.surface("x", "y"), model.slice("x")
    spread = 0.9 - 0.19
    for values in (surface.mean, slice_.mean, slice_.low, slice_.high):
        assert 0.19 - spread / 2 < values.min() and values.max() < 0.9 + spread / 2
    assert 0 < surface.clipped < 0.2  # the corner of the diverged trial
    assert model.surface("x", "y").clipped == surface.clipped
