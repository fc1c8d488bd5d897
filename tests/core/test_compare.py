"""compare(): studies side by side, each one's best score so far by trials run and by time, its best trial and cost."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jupyter_hptune import Comparison, Real, compare, tune
from jupyter_hptune.core.compare import CompareError
from jupyter_hptune.core.events import StudySnapshot
from jupyter_hptune.core.trial import Trial, TrialState

C, F, P = TrialState.COMPLETE, TrialState.FAILED, TrialState.PRUNED


def study_of(rows, direction="minimize", name="study"):
    """A snapshot of a study holding the given trials: (state, value, started, finished, x) each."""
    trials = tuple(
        Trial(number=i, params={"x": x}, state=state, value=value, started=started, finished=finished)
        for i, (state, value, started, finished, x) in enumerate(rows)
    )
    return StudySnapshot(
        name=name,
        direction=direction,
        method="random",
        seed=0,
        n_planned=len(trials),
        first_number=0,
        trials=trials,
        best_trial=None,
        started=0.0,
        elapsed=1.0,
    )


# Trials in the order they started; #1 failed, #4 pruned (its value is only the last one it reported).
ROWS = [
    (C, 5.0, 100.0, 101.0, 1.0),
    (F, None, 101.0, 102.0, 2.0),
    (C, 7.0, 102.0, 104.0, 3.0),
    (C, 3.0, 104.0, 105.0, 4.0),
    (P, 1.0, 105.0, 106.0, 5.0),
    (C, 4.0, 106.0, 107.0, 6.0),
]


def test_best_so_far_by_trials_and_by_time_of_a_minimize_study():
    [run] = compare([study_of(ROWS)]).runs
    # Completed trials only: #0, #2, #3, #5; the x counts the trials run, the failed and pruned ones included.
    assert run.trials == (1, 3, 4, 6)
    assert run.best_by_trial == (5.0, 5.0, 3.0, 3.0)
    assert run.times == (1.0, 4.0, 5.0, 7.0)  # seconds since the first trial started, when each one ended
    assert run.best_by_time == (5.0, 5.0, 3.0, 3.0)
    assert (run.best_value, run.best_params) == (3.0, {"x": 4.0})
    assert (run.n_trials, run.n_complete, run.total_time) == (6, 4, 7.0)


def test_best_so_far_of_a_maximize_study_is_the_running_max():
    [run] = compare([study_of(ROWS, direction="maximize")]).runs
    assert run.best_by_trial == (5.0, 7.0, 7.0, 7.0)
    assert (run.best_value, run.best_params) == (7.0, {"x": 3.0})


def test_by_time_follows_the_order_in_which_trials_ended():
    # Two trials at once: #1 ends first with a worse score, #0 later with a better one.
    rows = [(C, 1.0, 0.0, 10.0, 1.0), (C, 5.0, 0.0, 3.0, 2.0), (C, 2.0, 3.0, 4.0, 3.0)]
    [run] = compare([study_of(rows)]).runs
    assert run.best_by_trial == (1.0, 1.0, 1.0)
    assert run.times == (3.0, 4.0, 10.0)
    assert run.best_by_time == (5.0, 2.0, 1.0)


def test_best_after_and_best_at_read_the_step_functions():
    [run] = compare([study_of(ROWS)]).runs
    after = run.best_after([0, 1, 2, 3, 4, 6, 9])
    assert np.isnan(after[0]), "no completed trial before the first"
    assert list(after[1:]) == [5.0, 5.0, 5.0, 3.0, 3.0, 3.0]
    at = run.best_at([0.5, 1.0, 4.5, 100.0])
    assert np.isnan(at[0]) and list(at[1:]) == [5.0, 5.0, 3.0]


def test_a_study_without_a_completed_trial_has_empty_curves():
    [run] = compare([study_of([(F, None, 0.0, 1.0, 1.0)])]).runs
    assert run.trials == () and run.best_value is None and run.best_params is None
    assert math.isnan(run.best_after([5])[0])


def test_studies_of_different_directions_are_refused_naming_them():
    low = study_of(ROWS, name="loss")
    high = study_of(ROWS, direction="maximize", name="accuracy")
    with pytest.raises(CompareError, match=r"'loss' \(minimize\), 'accuracy' \(maximize\)"):
        compare([low, high])


def test_names_one_per_study_and_default_names_numbered_when_they_repeat():
    a, b, c = study_of(ROWS), study_of(ROWS), study_of(ROWS, name="mine")
    assert compare([a, b, c]).names == ["study 1", "study 2", "mine"]
    with pytest.raises(CompareError, match="2 names for 3 studies"):
        compare([a, b, c], names=["x", "y"])
    with pytest.raises(CompareError, match="at least one study"):
        compare([])
    with pytest.raises(CompareError, match="got dict"):
        compare([{"x": 1}])


def test_studies_given_the_same_name_are_runs_of_one_method():
    studies = [study_of(ROWS), study_of(ROWS), study_of(ROWS)]
    comparison = compare(studies, names=["random", "random", "bayes"])
    assert comparison.names == ["random", "bayes"]
    assert [len(runs) for runs in comparison.groups.values()] == [2, 1]
    html = comparison._repr_html_()
    assert "<th>runs</th>" in html and "median 3" in html


def test_a_real_search_and_its_snapshot_compare_alike():
    study = tune(lambda p: (p["x"] - 2) ** 2, {"x": Real(0, 5)}, method="random", n_trials=8, seed=0)
    comparison = compare([study, study.snapshot()], names=["live", "snapshot"])
    assert isinstance(comparison, Comparison)
    live, snap = comparison.runs
    assert live.best_by_trial == snap.best_by_trial and live.times == snap.times
    assert live.best_value == study.best_value and live.best_params == study.best_params
    assert live.n_trials == 8 and live.best_by_trial[-1] == study.best_value
    assert list(live.best_by_trial) == list(np.minimum.accumulate([t.value for t in study.trials]))
    frame = comparison.to_dataframe()
    assert list(frame["name"]) == ["live", "snapshot"] and list(frame["trials"]) == [8, 8]
    html = comparison._repr_html_()
    assert "<td>live</td>" in html and f"{study.best_value:.4g}" in html
    assert "runs" not in html, "one run per name: no runs column"
