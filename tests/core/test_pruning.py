"""Pruning and early stopping on synthetic learning curves whose final values are known."""

from __future__ import annotations

import math
import re
import sqlite3

import pytest

from jupyter_hptune import (
    HyperbandPruner,
    MedianPruner,
    Real,
    StopTrial,
    Study,
    SuccessiveHalvingPruner,
    TrialPruned,
    TrialState,
    hp,
    tune,
)
from jupyter_hptune.core.errors import StudyError
from jupyter_hptune.core.events import TrialFinished, TrialReported
from jupyter_hptune.core.pruners import RunningTrial, step_count
from jupyter_hptune.core.samplers import make_sampler
from jupyter_hptune.core.samplers.bayes import BayesSampler
from jupyter_hptune.core.trial import Trial

RATE = 0.25
SPACE = {"quality": Real(0.0, 1.0)}


def curve(final: float, step: int) -> float:
    """A learning curve rising towards `final`: at every step the curves keep the order of their final values."""
    return final * (1 - math.exp(-RATE * step))


def learner(steps: int, final=lambda params: params["quality"]):
    """An objective that trains for `steps` epochs, reporting each one, and ends with its final validation score."""
    calls = []

    def objective(params, trial):
        calls.append(params)
        score = None
        for step in range(1, steps + 1):
            score = curve(final(params), step)
            trial.report(step, score)
            if trial.should_stop():
                break
        return score

    objective.calls = calls
    return objective


def by_state(study, state):
    return {t.number: t.last_step for t in study.trials if t.state is state}


def test_the_median_rule_prunes_below_the_median_of_earlier_trials_at_the_same_step():
    finals = [0.5, 0.9, 0.7, 0.3, 0.8, 0.6, 0.95, 0.2]
    study = tune(
        learner(10),
        SPACE,
        method="manual",
        points=[{"quality": f} for f in finals],
        direction="maximize",
        prune=MedianPruner(warmup_steps=1, min_trials=3),
    )
    # Trials 0-2 have too few earlier trials; at step 2 (after the warm-up) the medians are 0.7, 0.6, 0.7 and 0.7.
    assert by_state(study, TrialState.PRUNED) == {3: 2, 5: 2, 7: 2}
    assert by_state(study, TrialState.COMPLETE) == {0: 10, 1: 10, 2: 10, 4: 10, 6: 10}
    pruned = study.trials[3]
    assert pruned.value == curve(0.3, 2) and list(pruned.intermediate) == [1, 2]
    assert (
        pruned.error
        == f"at step 2, {curve(0.3, 2):.4g} is worse than the median {curve(0.7, 2):.4g} of 3 trials at that step"
    )
    assert study.best_trial.number == 6 and study.best_value == curve(0.95, 10)


def test_successive_halving_keeps_the_best_third_at_each_rung():
    finals = [0.5, 0.4, 0.9, 0.6, 0.3, 0.7]
    study = tune(
        learner(27),
        SPACE,
        method="manual",
        points=[{"quality": f} for f in finals],
        direction="maximize",
        prune=SuccessiveHalvingPruner(min_steps=1, eta=3, max_steps=27),
    )
    # Rungs at steps 1, 3 and 9. At step 1 trial 5 (0.7) is second of six, inside the best 2; at step 3 only
    # trials 0 and 2 got there before it, and the best 1 of 3 is trial 2.
    assert by_state(study, TrialState.PRUNED) == {1: 1, 3: 1, 4: 1, 5: 3}
    assert by_state(study, TrialState.COMPLETE) == {0: 27, 2: 27}
    assert "not among the best 1 of the 3 trials at step 3" in study.trials[5].error


def random_curves(seed, prune, n_trials=40, steps=27, **options):
    objective = learner(steps)
    study = tune(
        objective, SPACE, method="random", n_trials=n_trials, seed=seed, direction="maximize", prune=prune, **options
    )
    return study, objective


@pytest.mark.parametrize("prune", ["median", "halving", "hyperband"])
def test_pruning_never_stops_the_best_trial_and_saves_steps(prune):
    study, objective = random_curves(0, prune, max_steps=27)
    finals = {t.number: t.params["quality"] for t in study.trials}
    best = max(finals, key=finals.get)
    assert study.trials[best].state is TrialState.COMPLETE
    assert study.best_trial.number == best
    pruned = [t for t in study.trials if t.state is TrialState.PRUNED]
    assert len(pruned) >= 10, f"{prune} pruned only {len(pruned)} of 40 trials"
    assert all(finals[t.number] < finals[best] for t in pruned)
    assert all(t.value == t.intermediate[t.last_step] for t in pruned), "a pruned trial keeps its last value"
    count = step_count(study.trials, 27)
    assert count.run == sum(t.last_step for t in study.trials) and count.full == 40 * 27
    assert count.pruned == len(pruned) and count.saved_share > 0.3


def test_hyperband_halves_within_each_bracket_at_its_rungs():
    study, _ = random_curves(3, "hyperband", n_trials=60, max_steps=27)
    pruner = HyperbandPruner(max_steps=27)
    pruner.plan("maximize", 3)
    brackets = {t.number: pruner.bracket(t.number) for t in study.trials}
    assert pruner.brackets == 4 and set(brackets.values()) == {0, 1, 2, 3}
    counts = [list(brackets.values()).count(b) for b in range(4)]
    assert counts[0] == max(counts), f"the most aggressive bracket should hold the most trials: {counts}"
    for trial in study.trials:
        bracket = brackets[trial.number]
        rungs = [pruner.first_rung(bracket) * 3**k for k in range(4) if pruner.first_rung(bracket) * 3**k < 27]
        for rung in [r for r in rungs if r <= trial.last_step]:
            rivals = [
                t.intermediate[rung]
                for t in study.trials[: trial.number]
                if brackets[t.number] == bracket and rung in t.intermediate
            ]
            ahead = sum(v > trial.intermediate[rung] for v in rivals)
            kept = ahead < max(1, (len(rivals) + 1) // 3)
            stopped_here = trial.state is TrialState.PRUNED and trial.last_step == rung
            assert kept != stopped_here, f"trial {trial.number} of bracket {bracket} at step {rung}"
        if trial.state is TrialState.PRUNED:
            assert trial.last_step in rungs and f"of bracket {bracket} at step {trial.last_step}" in trial.error
    assert all(t.last_step == 27 for t in study.trials if brackets[t.number] == 3 and t.state is TrialState.COMPLETE)


@pytest.mark.parametrize("prune", ["median", "hyperband"])
def test_pruning_honours_the_seed(prune):
    first, _ = random_curves(5, prune, max_steps=27)
    again, _ = random_curves(5, prune, max_steps=27)
    other, _ = random_curves(6, prune, max_steps=27)
    assert [(t.params, t.state, t.intermediate) for t in first.trials] == [
        (t.params, t.state, t.intermediate) for t in again.trials
    ]
    assert by_state(first, TrialState.PRUNED) == by_state(again, TrialState.PRUNED)
    assert by_state(first, TrialState.PRUNED) != by_state(other, TrialState.PRUNED)


def test_hyperband_brackets_depend_on_the_seed_and_trial_number_only():
    a, b, c = HyperbandPruner(max_steps=81), HyperbandPruner(max_steps=81), HyperbandPruner(max_steps=81)
    a.plan("minimize", 1)
    b.plan("maximize", 1)
    c.plan("minimize", 2)
    assert [a.bracket(n) for n in range(50)] == [b.bracket(n) for n in range(50)]
    assert [a.bracket(n) for n in range(50)] != [c.bracket(n) for n in range(50)]
    assert HyperbandPruner(max_steps=81, brackets=2).brackets == 2 and a.brackets == 5


def overfitting(peak: int):
    """A validation curve that rises until `peak` and then falls, as when a network starts to overfit."""
    return lambda params, step: params["quality"] - 0.01 * (step - peak) ** 2


@pytest.mark.parametrize("polls", [True, False])
def test_patience_stops_after_no_improvement_and_keeps_the_best_step(polls):
    value_at = overfitting(peak=6)
    ran = []

    def objective(params, trial):
        for step in range(1, 31):
            ran.append(step)
            trial.report(step, value_at(params, step))
            if polls and trial.should_stop():
                break
        return value_at(params, 30)

    study = tune(objective, SPACE, method="random", n_trials=2, seed=0, direction="maximize", patience=3)
    for trial in study.trials:
        assert trial.state is TrialState.COMPLETE
        assert trial.best_step == 6 and trial.last_step == 9
        assert trial.value == value_at(trial.params, 6), "the score is the best step's value"
    # A loop that does not ask should_stop() is stopped by its next report, which is not recorded.
    assert ran == (list(range(1, 10)) if polls else list(range(1, 11))) * 2
    count = step_count(study.trials, 30)
    assert (count.run, count.full, count.stopped_early, count.pruned) == (18, 60, 2, 0)


def test_max_steps_ends_a_trial_and_patience_counts_steps_not_reports():
    def objective(params, trial):
        step = 0
        while not trial.should_stop():
            step += 5  # reported every 5 epochs
            trial.report(step, min(step, 20) * params["quality"])
        return -1.0

    study = tune(objective, SPACE, method="random", n_trials=1, seed=0, direction="maximize", max_steps=50)
    assert study.trials[0].last_step == 50 and study.trials[0].value == -1.0
    study = tune(objective, SPACE, method="random", n_trials=1, seed=0, direction="maximize", patience=10)
    assert (study.trials[0].best_step, study.trials[0].last_step) == (20, 30)


def test_the_bayesian_model_learns_from_pruned_trials():
    sampler = BayesSampler(seed=0, initial_points=4)
    study = Study(SPACE, direction="maximize")
    study.optimize(learner(27), 16, sampler=sampler, prune="hyperband", max_steps=27)
    pruned = [t for t in study.trials if t.state is TrialState.PRUNED]
    assert pruned, "the search pruned nothing"
    sampler.learn(study.space, study.trials)
    told = dict(zip((x[0] for x in sampler.optimizer.Xi), sampler.optimizer.yi))
    assert len(sampler.optimizer.yi) == len(study.trials), "every finished trial is told to the model"
    for trial in pruned:
        assert told[trial.params["quality"]] == -trial.value, "a pruned trial is told at its last value"


def test_hp_report_works_in_a_plain_objective_and_does_nothing_outside_a_search():
    assert hp.report(1, 0.5) is None and hp.should_stop() is False

    def objective(params):
        for step in range(1, 28):
            hp.report(step, curve(params["quality"], step))
        return curve(params["quality"], 27)

    study = tune(objective, SPACE, method="random", n_trials=20, seed=0, direction="maximize", prune="halving")
    assert by_state(study, TrialState.PRUNED), "hp.report did not reach the search"
    assert all(list(t.intermediate) == list(range(1, t.last_step + 1)) for t in study.trials)


def test_an_objective_of_one_argument_or_with_a_default_second_gets_no_trial():
    seen = []

    def objective(params, scale=2.0):
        seen.append(scale)
        return params["quality"] * scale

    tune(objective, SPACE, method="random", n_trials=2, seed=0)
    assert seen == [2.0, 2.0]


def test_an_objective_may_raise_trial_pruned_itself():
    def objective(params, trial):
        trial.report(1, params["quality"])
        if params["quality"] < 0.5:
            raise TrialPruned("too weak")
        return params["quality"]

    study = tune(objective, SPACE, method="random", n_trials=8, seed=1, direction="maximize")
    pruned = [t for t in study.trials if t.state is TrialState.PRUNED]
    assert pruned and all(t.error == "too weak" and t.value == t.params["quality"] < 0.5 for t in pruned)


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ("trial.report('one', 0.5)", "step must be a whole number"),
        ("trial.report(-1, 0.5)", "step must not be negative"),
        ("trial.report(3, 0.5); trial.report(2, 0.6)", "step 2 comes after step 3"),
        ("trial.report(1, float('nan'))", r"report\(1, value\): the value is nan"),
        ("trial.report(1, 'high')", "value must be a number, got str 'high'"),
    ],
)
def test_a_bad_report_fails_the_trial_with_a_clear_error(report, message):
    def objective(params, trial):
        exec(report)
        return 1.0

    with pytest.warns(RuntimeWarning, match="every trial of study 'study' failed"):
        study = tune(objective, SPACE, method="random", n_trials=1, seed=0, prune="median")
    assert study.trials[0].state is TrialState.FAILED
    assert re.search(message, study.trials[0].error), study.trials[0].error


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prune": "annealing"}, "prune must be one of none, median, halving, hyperband, got 'annealing'"),
        ({"prune": "hyperband"}, "prune='hyperband' needs max_steps"),
        ({"patience": 0}, "patience must be a positive integer, got 0"),
        ({"max_steps": -3}, "max_steps must be a positive integer, got -3"),
        ({"prune": object()}, "prune must be one of none, median, halving, hyperband or a Pruner"),
    ],
)
def test_bad_pruning_options_are_refused_before_any_trial(kwargs, message):
    calls = []
    with pytest.raises(StudyError, match=message):
        tune(lambda p: calls.append(p) or 0.0, SPACE, method="random", **kwargs)
    assert calls == []


def test_events_carry_each_report_while_the_trial_runs():
    events = []
    tune(learner(5), SPACE, method="random", n_trials=2, seed=0, direction="maximize", observers=[events.append])
    reported = [e for e in events if isinstance(e, TrialReported)]
    assert [(e.trial.number, e.step) for e in reported] == [(n, s) for n in range(2) for s in range(1, 6)]
    assert all(e.trial.state is TrialState.RUNNING and e.trial.last_step == e.step for e in reported)
    assert list(reported[2].study.trials[0].intermediate) == [1, 2, 3], "the snapshot holds the running trial's values"
    finished = [e for e in events if isinstance(e, TrialFinished)]
    assert finished[0].trial.best_step == 5


def test_pruned_trials_and_their_values_survive_the_study_file(tmp_path):
    path = tmp_path / "s.sqlite"
    study, _ = random_curves(0, "median", n_trials=12, steps=8, storage=path)
    loaded = Study.load(path, "study")
    assert loaded.trials == study.trials
    assert [t.intermediate for t in loaded.trials] == [t.intermediate for t in study.trials]
    assert {t.state for t in loaded.trials} == {TrialState.COMPLETE, TrialState.PRUNED}
    assert all(type(step) is int for t in loaded.trials for step in t.intermediate)
    # Resumed, the pruner compares new trials with the saved ones' values.
    loaded.optimize(learner(8), 4, sampler=make_sampler("random", seed=1), prune="median")
    assert any(t.state is TrialState.PRUNED for t in loaded.trials[12:])
    assert len(Study.load(path, "study").trials) == 16


def test_a_trial_cut_off_by_a_dead_process_keeps_the_values_it_reported(tmp_path):
    path = tmp_path / "s.sqlite"
    study = Study(SPACE, storage=path, direction="maximize")

    def dies(params, trial):
        for step in range(1, 4):
            trial.report(step, [0.2, 0.5, 0.4][step - 1])
        raise KeyboardInterrupt  # the values reported so far are on disk already

    study.optimize(dies, 1, sampler=make_sampler("random", seed=0))
    with sqlite3.connect(path) as conn:  # as a killed kernel leaves it: the trial still running
        conn.execute("UPDATE trials SET state = 'running', best_step = NULL")
    trial = Study.load(path, "study").trials[0]
    assert trial.state is TrialState.INTERRUPTED
    assert dict(trial.intermediate) == {1: 0.2, 2: 0.5, 3: 0.4} and trial.best_step == 2


def test_an_interrupted_trial_keeps_its_reported_values():
    def objective(params, trial):
        trial.report(1, 0.1)
        trial.report(2, 0.3)
        raise KeyboardInterrupt

    study = tune(objective, SPACE, method="random", n_trials=3, seed=0)
    trial = study.trials[0]
    assert trial.state is TrialState.INTERRUPTED and dict(trial.intermediate) == {1: 0.1, 2: 0.3}


def test_stop_trial_from_a_trial_that_never_reported_fails_it():
    def objective(params, trial):
        raise StopTrial("nothing to stop")

    with pytest.warns(RuntimeWarning, match="every trial of study 'study' failed"):
        study = tune(objective, SPACE, method="random", n_trials=1, seed=0)
    assert study.trials[0].state is TrialState.FAILED and "StopTrial: nothing to stop" in study.trials[0].error


def test_a_running_trial_is_judged_against_the_trials_that_finished_since_its_first_report():
    """On workers the others finish while a trial runs: its pruner must see them at its later reports."""
    others: list[Trial] = []  # the kernel's live view of the other trials
    median = MedianPruner(warmup_steps=0, min_trials=1)
    median.plan("maximize", 0)
    running = RunningTrial(Trial(number=5, params={"x": 0.5}), direction="maximize", pruner=median, others=others)
    running.report(1, 0.5)  # no other trial yet: nothing to compare with
    others.append(
        Trial(number=4, params={"x": 0.9}, state=TrialState.COMPLETE, value=0.9, intermediate={1: 0.8, 2: 0.9})
    )
    with pytest.raises(TrialPruned):
        running.report(2, 0.5)  # below the median of the trial that finished meanwhile
