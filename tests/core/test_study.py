"""A study's loop: failures, interrupts, timeouts, events, directions and the records a user reads."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import subprocess
import sys
import time

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import cross_val_score
from sklearn.svm import SVC

from jupyter_hptune import Choice, Int, Real, Study, TrialState, tune
from jupyter_hptune.core.errors import ScoreError, StudyError
from jupyter_hptune.core.events import SearchFinished, SearchStarted, TrialFinished, TrialStarted
from jupyter_hptune.core.samplers import make_sampler

SPACE = {"x": Real(-2, 2), "k": Int(1, 4), "c": Choice(["a", "b"])}


def quadratic(params):
    return (params["x"] - 0.5) ** 2 + params["k"]


def test_tune_finds_good_svc_params_on_breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)

    def accuracy(params):
        clf = SVC(C=params["C"], gamma=params["gamma"], kernel=params["kernel"])
        return cross_val_score(clf, X, y, cv=3).mean()

    space = {"C": Real(1e-3, 1e3, log=True), "gamma": Real(1e-5, 1, log=True), "kernel": Choice(["rbf", "sigmoid"])}
    study = tune(accuracy, space, method="bayes", n_trials=15, seed=0, direction="maximize")
    assert study.best_value > 0.96
    assert study.best_value == max(t.value for t in study.trials)
    assert type(study.best_params["C"]) is float and type(study.best_params["kernel"]) is str
    assert SVC(**study.best_params).fit(X, y).score(X, y) > 0.96


def test_direction_is_respected_everywhere():
    low = tune(quadratic, SPACE, method="random", n_trials=10, seed=0, direction="minimize")
    high = tune(quadratic, SPACE, method="random", n_trials=10, seed=0, direction="maximize")
    values = [t.value for t in low.trials]
    assert low.best_value == min(values) and high.best_value == max(values)
    assert high.best_trial.number == int(np.argmax(values))


def test_a_failing_trial_is_recorded_and_the_search_goes_on():
    def sometimes(params):
        if params["k"] == 2:
            raise RuntimeError("k=2 diverged")
        return quadratic(params)

    study = tune(sometimes, SPACE, method="grid", grid_points=2, seed=0)
    failed = [t for t in study.trials if t.state is TrialState.FAILED]
    assert len(study.trials) == 2 * 4 * 2 and len(failed) == 4
    assert failed[0].error == "RuntimeError: k=2 diverged"
    assert 'raise RuntimeError("k=2 diverged")' in failed[0].traceback
    assert "jupyter_hptune" not in failed[0].traceback, "the traceback shows the user's code only"
    assert study.best_params["k"] == 1


def test_the_search_stops_when_the_first_trials_all_fail():
    calls = []

    def broken(params):
        calls.append(params)
        raise KeyError("X_train")

    with pytest.warns(RuntimeWarning, match="every trial of study 'study' failed; the first with KeyError: 'X_train'"):
        study = tune(broken, SPACE, method="random", n_trials=50, seed=0)
    assert len(calls) == 5 and len(study.trials) == 5
    assert study.snapshot().stop_reason == "failures"
    with pytest.raises(ValueError, match="no completed trial"):
        _ = study.best_params


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.float64("-inf")])
def test_a_nan_or_infinite_score_fails_the_trial_with_a_reason(bad):
    study = tune(lambda p: bad if p["k"] == 1 else 1.0, SPACE, method="grid", grid_points=1, seed=0)
    failed = [t for t in study.trials if t.state is TrialState.FAILED]
    assert len(failed) == 2 and failed[0].error in ("the score is nan", "the score is inf", "the score is -inf")
    assert failed[0].value is None


@pytest.mark.parametrize(
    ("score", "message"),
    [("0.9", "got str '0.9'"), (None, "got NoneType None"), ([0.1, 0.2], r"got list \[0.1, 0.2\]"), (True, "got bool")],
)
def test_a_score_that_is_not_a_number_is_a_clear_error(score, message):
    study = Study(SPACE)
    with pytest.raises(ScoreError, match=f"trial 0: the score must be a number, {message}"):
        study.optimize(lambda p: score, 10, sampler=make_sampler("random", seed=0))
    assert len(study.trials) == 1 and study.trials[0].state is TrialState.FAILED


def test_numpy_scores_are_plain_floats():
    study = tune(lambda p: np.float32(p["x"]) + np.array(1.0), SPACE, method="random", n_trials=3, seed=0)
    assert all(type(t.value) is float for t in study.trials)


def test_an_interrupt_keeps_finished_trials_and_marks_the_running_one():
    def slow(params):
        if len(seen) == 3:
            raise KeyboardInterrupt
        seen.append(params)
        return quadratic(params)

    seen: list = []
    study = tune(slow, SPACE, method="random", n_trials=10, seed=0)
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE] * 3 + [TrialState.INTERRUPTED]
    assert study.snapshot().stop_reason == "interrupted"
    assert study.best_value == min(quadratic(p) for p in seen)


def test_timeout_starts_no_new_trial_after_the_limit():
    start = time.time()
    study = tune(lambda p: time.sleep(0.1) or 1.0, SPACE, method="random", n_trials=100, timeout=0.35, seed=0)
    assert 3 <= len(study.trials) <= 5
    assert time.time() - start < 1.0
    assert study.snapshot().stop_reason == "timeout"


def test_stop_ends_the_search_after_the_running_trial():
    study = Study(SPACE)

    def objective(params):
        if len(study.trials) == 4:
            study.stop()
        return 1.0

    study.optimize(objective, 20, sampler=make_sampler("random", seed=0))
    assert len(study.trials) == 4 and all(t.state is TrialState.COMPLETE for t in study.trials)
    assert study.snapshot().stop_reason == "stopped"


def test_observers_receive_immutable_snapshots_in_order():
    events = []
    study = tune(quadratic, SPACE, method="random", n_trials=3, seed=0, observers=[events.append])
    kinds = [type(e) for e in events]
    assert kinds == [SearchStarted] + [TrialStarted, TrialFinished] * 3 + [SearchFinished]
    finished = [e for e in events if isinstance(e, TrialFinished)]
    assert [len(e.study.trials) for e in finished] == [1, 2, 3]
    assert [e.trial.number for e in finished] == [0, 1, 2]
    assert events[-1].study.best_trial == study.best_trial
    assert events[-1].study.stop_reason == "completed"
    with pytest.raises(dataclasses.FrozenInstanceError):
        finished[0].trial.value = 0.0
    with pytest.raises(TypeError):
        finished[0].trial.params["x"] = 0.0
    started = [e for e in events if isinstance(e, TrialStarted)]
    assert started[0].trial.state is TrialState.RUNNING and started[0].study.trials[-1].state is TrialState.RUNNING
    is_best = [e.is_best for e in finished]
    values = [e.trial.value for e in finished]
    assert is_best == [v == min(values[: i + 1]) for i, v in enumerate(values)]


def test_trials_and_studies_pickle_copy_and_serialise(tmp_path):
    study = tune(quadratic, SPACE, method="random", n_trials=3, seed=0, storage=tmp_path / "s.sqlite")
    study.subscribe(lambda event: None)
    again = pickle.loads(pickle.dumps(study))
    assert again.trials == study.trials and again.best_params == study.best_params
    assert again.storage.path == study.storage.path
    again.optimize(quadratic, 2, sampler=make_sampler("random", seed=1))
    assert len(again.trials) == 5
    assert copy.deepcopy(study.best_trial) == study.best_trial
    assert json.loads(json.dumps(study.best_trial.params)) == study.best_params
    assert type(study.best_params) is dict


def test_a_broken_observer_does_not_break_the_search():
    def broken(event):
        raise RuntimeError("plot failed")

    with pytest.warns(UserWarning, match="plot failed"):
        study = tune(quadratic, SPACE, method="random", n_trials=3, seed=0, observers=[broken])
    assert len(study.trials) == 3


def test_unsubscribe():
    study = Study(SPACE)
    events = []
    unsubscribe = study.subscribe(events.append)
    unsubscribe()
    study.optimize(quadratic, 2, sampler=make_sampler("random", seed=0))
    assert events == []


def test_records_and_dataframe():
    study = tune(quadratic, SPACE, method="random", n_trials=4, seed=0)
    records = study.to_records()
    assert list(records[0]) == [
        "number",
        *("x", "k", "c"),
        *("value", "state", "duration", "started", "finished", "error", "last_step", "best_step"),
    ]
    assert records[2]["state"] == "complete" and records[2]["value"] == study.trials[2].value
    frame = study.to_dataframe()
    assert list(frame["number"]) == [0, 1, 2, 3]
    assert str(frame["started"].dtype) == "datetime64[ns, UTC]" and frame["duration"].dt.total_seconds().min() >= 0
    assert frame.loc[frame["value"].idxmin(), "number"] == study.best_trial.number


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_trials": -3}, "n_trials must be a positive integer, got -3"),
        ({"n_trials": 2.5}, "n_trials must be a positive integer, got 2.5"),
        ({"timeout": 0}, "timeout must be a positive number of seconds"),
        ({"direction": "up"}, "direction must be 'minimize' or 'maximize', got 'up'"),
    ],
)
def test_bad_arguments_are_refused_before_any_trial(kwargs, message):
    calls = []
    with pytest.raises(StudyError, match=message):
        tune(lambda p: calls.append(p) or 0.0, SPACE, method="random", **kwargs)
    assert calls == []


def test_the_core_imports_no_ipython_widgets_or_matplotlib():
    code = (
        "import sys\n"
        "import jupyter_hptune, jupyter_hptune.core\n"
        "from jupyter_hptune import tune, Real, Int, Choice, hp\n"
        "tune(lambda p: p['x'], {'x': Real(0, 1)}, method='bayes', n_trials=3, seed=0)\n"
        "print(sorted(m for m in ('IPython', 'ipywidgets', 'matplotlib', 'ipykernel') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_an_interrupt_between_trials_keeps_the_trial_that_just_finished():
    def interrupt_after_third(event):
        if isinstance(event, TrialFinished) and event.trial.number == 2:
            raise KeyboardInterrupt

    study = tune(quadratic, SPACE, method="random", n_trials=10, seed=0, observers=[interrupt_after_third])
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    assert study.snapshot().stop_reason == "interrupted"


def test_search_runs_one_trial_per_step_and_can_pause_between_them():
    study = Study({"x": Real(0.0, 1.0)})
    steps = study.search(lambda p: p["x"], 4, sampler=make_sampler("random", seed=0))
    assert study.trials == [], "nothing runs before the first step"
    first = next(steps)
    assert [t.number for t in study.trials] == [0] and first is study.trials[0]
    study.stop()  # e.g. a Stop button clicked while the caller waited between trials
    assert list(steps) == []
    assert len(study.trials) == 1 and study.snapshot().stop_reason == "stopped"


def test_a_search_may_narrow_the_space_and_keeps_the_whole_history():
    space = {"x": Real(0.0, 10.0), "n": Int(1, 64, log=True), "kind": Choice(["a", "b", "c"])}
    study = Study(space)
    study.optimize(lambda p: p["x"], 6, sampler=make_sampler("random", seed=0))
    narrow = {"x": Real(2.0, 3.0, log=True), "n": Int(4, 8), "kind": Choice(["c"])}
    for method in ("random", "bayes", "grid"):
        study.optimize(lambda p: p["x"], 4, sampler=make_sampler(method, seed=1), space=narrow)
    later = study.trials[6:]
    assert len(later) == 12 and all(t.state is TrialState.COMPLETE for t in later)
    assert all(2.0 <= t.params["x"] <= 3.0 and 4 <= t.params["n"] <= 8 and t.params["kind"] == "c" for t in later)
    assert study.space["x"] == Real(0.0, 10.0), "the study's own space is unchanged"


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"x": Real(-1.0, 3.0), "kind": Choice(["a"])}, r"'x': \[-1, 3\] goes outside the study's range \[0, 10\]"),
        ({"x": Real(1.0, 3.0), "kind": Choice(["a", "z"])}, "'kind': option 'z' is not one of the options"),
        ({"x": Int(1, 3), "kind": Choice(["a"])}, "'x' is real"),
        ({"x": Real(1.0, 3.0)}, "must have the study's hyperparameters"),
    ],
)
def test_a_narrowed_space_must_lie_inside_the_study(space, message):
    study = Study({"x": Real(0.0, 10.0), "kind": Choice(["a", "b"])})
    with pytest.raises(StudyError, match=message):
        study.search(lambda p: p["x"], 2, space=space)
    assert study.trials == []


def test_the_time_a_search_took_stays_what_its_summary_said(tmp_path):
    study = Study({"x": Real(0.0, 1.0)}, storage=tmp_path / "s.sqlite")
    seen: list[float] = []
    study.subscribe(lambda event: seen.append(event.study.elapsed) if isinstance(event, SearchFinished) else None)
    study.optimize(lambda p: time.sleep(0.05) or p["x"], 3, sampler=make_sampler("random", seed=0))
    time.sleep(0.3)  # e.g. the panel drawing its final plots before the final display's summary
    assert study.snapshot().elapsed == seen[0]
    assert 0.15 <= seen[0] < 0.3
    assert Study.load(tmp_path / "s.sqlite").snapshot().elapsed == pytest.approx(seen[0], abs=0.05)
