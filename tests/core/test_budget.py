"""The bayes search of a pruned search: a model of the score over the params and the step it was measured at."""

from __future__ import annotations

import math

import pytest
from clusters import on_simulated_workers

from jupyter_hptune import Choice, Int, Real, Space, Study, TrialState
from jupyter_hptune.core.pruners import HyperbandPruner
from jupyter_hptune.core.samplers.bayes import BayesSampler
from jupyter_hptune.core.samplers.budget import measurements
from jupyter_hptune.core.trial import Trial

STEPS = 27
SPACE = {"x": Real(0.0, 1.0), "y": Real(0.0, 1.0)}


def final(params):
    """The loss a trial reaches at the end of its training: best at x=0.8, y=0.3."""
    return (params["x"] - 0.8) ** 2 + (params["y"] - 0.3) ** 2


def slow_learner(params, trial):
    """A loss curve falling to final(params); the larger x, the slower it falls, so that early steps mislead."""
    value = None
    for step in range(1, STEPS + 1):
        value = final(params) + params["x"] * math.exp(-step / 6)
        trial.report(step, value)
        if trial.should_stop():
            break
    return value


def best_final(budget_aware: bool, seed: int, prune: str = "hyperband") -> float:
    sampler = BayesSampler(seed=seed)
    sampler.budget_aware = budget_aware
    study = Study(SPACE)
    study.optimize(slow_learner, 30, sampler=sampler, prune=prune, max_steps=STEPS)
    return min(final(t.params) for t in study.trials)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_pruned_bayes_search_finds_what_is_best_at_the_full_budget_when_early_steps_mislead(seed):
    aware, last_value = best_final(True, seed), best_final(False, seed)
    assert aware < 0.002, f"the budget-aware search got no closer than {aware:.4f} to the best final loss"
    assert aware < last_value, "a stopped trial told at its last value leads the search further away"


def trial(number, state, value, steps):
    return Trial(number, {"x": 0.5}, value=value, state=state, intermediate=steps)


def test_each_stopped_trial_is_learned_at_the_rungs_it_reached_and_its_last_step():
    curve = {step: 1.0 / step for step in range(1, 10)}
    assert measurements(trial(0, TrialState.PRUNED, curve[9], curve), 27) == [(1, 1.0), (3, 1 / 3), (9, 1 / 9)]
    up_to_5 = {step: curve[step] for step in range(1, 6)}
    assert measurements(trial(1, TrialState.PRUNED, 0.2, up_to_5), 27) == [(1, 1.0), (3, 1 / 3), (5, 0.2)]
    # a completed trial: its score (not its last report) at its last step; without reports, at the full budget
    assert measurements(trial(2, TrialState.COMPLETE, 0.05, curve), 27)[-1] == (9, 0.05)
    assert measurements(trial(3, TrialState.COMPLETE, 0.05, {}), 27) == [(27, 0.05)]
    failed = measurements(trial(4, TrialState.FAILED, None, {}), 27)
    assert [step for step, _ in failed] == [27] and math.isnan(failed[0][1])
    assert measurements(trial(5, TrialState.RUNNING, None, {1: 1.0}), 27) is None


@pytest.mark.parametrize("stopping", [{}, {"patience": 3}, {"max_steps": 10}])
def test_a_search_that_prunes_nothing_proposes_the_same_trials_as_before(stopping):
    studies = []
    for budget_aware in (True, False):
        sampler = BayesSampler(seed=3)
        sampler.budget_aware = budget_aware
        study = Study(SPACE)
        study.optimize(slow_learner, 12, sampler=sampler, **stopping)
        studies.append([(t.params, t.value, t.last_step) for t in study.trials])
    assert studies[0] == studies[1]


def test_a_pruned_search_gives_plain_python_params_inside_the_space():
    space = {"lr": Real(1e-4, 1.0, log=True), "units": Int(8, 256, log=True), "act": Choice(["relu", "tanh"])}

    def objective(params, trial):
        score = None
        for step in range(1, STEPS + 1):
            score = math.log10(params["lr"]) ** 2 + 1 / params["units"] + (params["act"] == "tanh") + 1 / step
            trial.report(step, score)
            if trial.should_stop():
                break
        return score

    study = Study(space)
    study.optimize(objective, 20, sampler=BayesSampler(seed=0), prune="hyperband", max_steps=STEPS)
    assert any(t.state is TrialState.PRUNED for t in study.trials)
    for t in study.trials[5:]:
        assert type(t.params["lr"]) is float and 1e-4 <= t.params["lr"] <= 1.0
        assert type(t.params["units"]) is int and 8 <= t.params["units"] <= 256
        assert t.params["act"] in ("relu", "tanh")


def best_final_on_workers(budget_aware: bool, seed: int, workers: int = 2, n_trials: int = 30) -> float:
    """A pruned search on simulated workers: batches from ask_batch, the oldest running trial finishing first, each
    judged at every step by Hyperband with the finished trials in view."""
    sampler = BayesSampler(seed=seed)
    sampler.budget_aware = budget_aware
    space = Space(SPACE)
    sampler.plan(space, [], n_trials, 0, "minimize")
    pruner = HyperbandPruner(STEPS)
    pruner.plan("minimize", seed)

    def judged_at_every_step(trial: Trial, finished: list[Trial]) -> Trial:
        values: dict[int, float] = {}
        state = TrialState.COMPLETE
        for step in range(1, STEPS + 1):
            values[step] = final(trial.params) + trial.params["x"] * math.exp(-step / 6)
            if pruner.prune(trial.number, values, finished):
                state = TrialState.PRUNED
                break
        return trial.finish(state, finished=0.0, value=values[step], intermediate=values)

    trials = on_simulated_workers(sampler, space, workers, n_trials, judged_at_every_step)
    assert any(t.state is TrialState.PRUNED for t in trials)
    return min(final(t.params) for t in trials)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_pruned_bayes_search_on_workers_uses_the_budget_model_too(seed):
    aware, last_value = best_final_on_workers(True, seed), best_final_on_workers(False, seed)
    assert aware < last_value, f"on workers {aware:.4f} against {last_value:.4f} with stopped trials at last values"
    assert aware < 0.005, f"the budget-aware batches got no closer than {aware:.4f} to the best final loss"
