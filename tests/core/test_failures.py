"""Searches whose objective fails on a large part of the space still find the valid part."""

import pytest

from jupyter_hptune.core import Real, TrialState, tune

SPACE = {"x": Real(0.0, 1.0), "y": Real(0.0, 1.0)}


def partly_valid(params):
    """Fails for x > 0.4 (60% of the space); its minimum, 0 at (0.2, 0.5), is in the valid part."""
    if params["x"] > 0.4:
        raise ValueError("no score here")
    return (params["x"] - 0.2) ** 2 + (params["y"] - 0.5) ** 2


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(("method", "good"), [("grid", 0.1), ("random", 0.1), ("bayes", 0.01)])
def test_a_search_finds_the_valid_part_of_a_mostly_failing_space(method, good, seed):
    study = tune(partly_valid, SPACE, method=method, n_trials=20, seed=seed, name=f"{method}-{seed}")
    assert study.snapshot().seed == seed
    valid = [t for t in study.trials if t.state is TrialState.COMPLETE]
    assert len(study.trials) == 20 and valid, "the search stopped before finding the valid part"
    best = study.best_trial
    assert best.state is TrialState.COMPLETE and best.params["x"] <= 0.4
    assert all(type(v) is float for v in best.params.values())
    assert best.value < good


@pytest.mark.parametrize("seed", range(5))
def test_bayes_moves_past_failed_points_and_never_repeats_one(seed):
    def valid_half(params):  # fails for x > 0.5: the first point of the initial design may be there
        if params["x"] > 0.5:
            raise ValueError("no score here")
        return (params["x"] - 0.3) ** 2

    study = tune(valid_half, {"x": Real(0.0, 1.0)}, n_trials=10, seed=seed, name=f"half-{seed}")
    assert study.snapshot().seed == seed and len(study.trials) == 10
    failed = [t.params["x"] for t in study.trials if t.state is TrialState.FAILED]
    points = [t.params["x"] for t in study.trials]
    assert len(set(points)) == len(points), "a point was proposed twice"
    assert len(failed) < 5 and study.best_trial.value < 1e-3


def test_bayes_spreads_its_points_while_every_trial_fails():
    def always_fails(params):
        raise ValueError("no score anywhere")

    with pytest.warns(RuntimeWarning, match="every trial of study 'fails' failed"):
        study = tune(always_fails, SPACE, n_trials=20, initial_points=2, seed=0, name="fails")
    points = [(t.params["x"], t.params["y"]) for t in study.trials]
    assert len(points) == 5, "the search stops once its first trials all failed"
    assert len(set(points)) == 5, "past the initial points, new points away from the failed ones"
    assert all(type(v) is float for point in points for v in point)
