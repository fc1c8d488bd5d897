"""Trials that used only some of the study's hyperparameters: what they did not use is absent, never filled in."""

from __future__ import annotations

import math
import re

import pytest
from test_plots import snapshot_of

from jupyter_hptune import Choice, Real, Space, Study
from jupyter_hptune.core.events import TrialFinished
from jupyter_hptune.core.posterior import posterior, sliceable
from jupyter_hptune.core.storage import SQLiteStorage
from jupyter_hptune.core.trial import Trial, TrialState
from jupyter_hptune.plots import figure_png, plot_params, plot_summary
from jupyter_hptune.report import ConsoleReporter, format_summary
from jupyter_hptune.widgets import trials_table_html
from jupyter_hptune.widgets.plots_view import PlotsView

SPACE = Space(
    {
        "opt": Choice(["sgd", "adam"]),
        "momentum": Real(0.0, 0.99),  # used by sgd only
        "beta1": Real(0.5, 0.99),  # used by adam only
        "lr": Real(1e-4, 1e-1, log=True),
        "warmup": Real(0.0, 1.0),  # used by one trial only
    }
)

# number: (params, score); minimized: the best trial is 4 (adam), the best sgd trial is 2
POINTS = [
    ({"opt": "sgd", "momentum": 0.9, "lr": 1e-2}, 0.50),
    ({"opt": "adam", "beta1": 0.8, "lr": 1e-3}, 0.40),
    ({"opt": "sgd", "momentum": 0.5, "lr": 3e-2}, 0.30),
    ({"opt": "sgd", "momentum": 0.1, "lr": 1e-1}, 0.60),
    ({"opt": "adam", "beta1": 0.9, "lr": 3e-4, "warmup": 0.2}, 0.20),
    ({"opt": "adam", "beta1": 0.7, "lr": 1e-4}, 0.45),
]


def make_trials(points=POINTS):
    return [
        Trial(number=i, params=params, state=TrialState.COMPLETE, value=value, started=float(i), finished=i + 0.5)
        for i, (params, value) in enumerate(points)
    ]


def saved_study(path, trials=None, space=SPACE):
    storage = SQLiteStorage(path)
    storage.create("study", "minimize", space, 0.0)
    for trial in trials if trials is not None else make_trials():
        storage.save_trial("study", space, trial)
    storage.close()
    return Study.load(path)


# -- study file ----------------------------------------------------------------------------------------------------
def test_trials_keep_only_the_params_they_used_through_the_study_file(tmp_path):
    study = saved_study(tmp_path / "s.sqlite")
    assert [dict(t.params) for t in study.trials] == [params for params, _ in POINTS]
    assert study.best_params == {"opt": "adam", "beta1": 0.9, "lr": 3e-4, "warmup": 0.2}


def test_a_trial_with_a_hyperparameter_the_space_lacks_is_refused_until_the_grown_space_is_recorded(tmp_path):
    path = tmp_path / "s.sqlite"
    narrow = Space({name: dim for name, dim in SPACE.items() if name != "warmup"})
    saved_study(path, make_trials(POINTS[:4]), space=narrow)
    storage = SQLiteStorage(path)
    late = make_trials()[4]
    with pytest.raises(ValueError, match="'warmup'"):
        storage.save_trial("study", narrow, late)  # encoded in the old space it would lose warmup
    storage.update_space("study", SPACE)
    storage.save_trial("study", SPACE, late)
    storage.close()
    study = Study.load(path)
    assert list(study.space) == list(SPACE)
    assert dict(study.trials[4].params) == POINTS[4][0]
    assert "warmup" not in study.trials[0].params


def test_a_study_file_with_every_param_in_every_trial_still_opens_unchanged(tmp_path):
    path = tmp_path / "s.sqlite"
    full = Study(SPACE, storage=path)
    full.optimize(lambda p: p["lr"] + p["momentum"], 3)
    study = Study.load(path)
    assert study.trials == full.trials
    assert all(list(t.params) == list(SPACE) for t in study.trials)


# -- records and DataFrame -----------------------------------------------------------------------------------------
def test_records_have_a_column_per_hyperparameter_in_the_spaces_order_none_where_unused(tmp_path):
    records = saved_study(tmp_path / "s.sqlite").to_records()
    assert [list(r)[1:6] for r in records] == [list(SPACE)] * len(POINTS)
    assert records[0]["beta1"] is None and records[0]["momentum"] == 0.9
    assert records[1]["momentum"] is None and records[1]["beta1"] == 0.8
    assert [r["warmup"] for r in records] == [None, None, None, None, 0.2, None]


def test_the_dataframe_is_blank_where_a_trial_did_not_use_a_hyperparameter(tmp_path):
    pytest.importorskip("pandas")
    frame = saved_study(tmp_path / "s.sqlite").to_dataframe()
    assert list(frame.columns[:7]) == ["number", *SPACE, "value"]
    assert math.isnan(frame.loc[0, "beta1"]) and frame.loc[0, "momentum"] == 0.9
    assert math.isnan(frame.loc[1, "momentum"])
    assert frame["warmup"].isna().tolist() == [True, True, True, True, False, True]


# -- trials table and report ---------------------------------------------------------------------------------------
def table_rows(text):
    head = re.findall(r"<th>(.*?)</th>", text)
    rows = [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", text)[1:]]
    return head, [dict(zip(head, row)) for row in rows]


def test_the_trials_table_has_a_column_per_hyperparameter_used_blank_where_a_trial_did_not_use_it():
    trials = make_trials()
    head, rows = table_rows(trials_table_html(snapshot_of(trials), order=list(SPACE)))
    assert head[:6] == ["#", *SPACE]
    by_number = {int(row["#"]): row for row in rows}
    assert by_number[0]["momentum"] == "0.9" and by_number[0]["beta1"] == ""
    assert by_number[1]["momentum"] == "" and by_number[1]["beta1"] == "0.8"
    assert [by_number[i]["warmup"] for i in range(6)] == ["", "", "", "", "0.2", ""]


def test_without_an_order_the_table_has_the_columns_as_trials_first_used_them():
    head, _ = table_rows(trials_table_html(snapshot_of(make_trials())))
    assert head[:6] == ["#", "opt", "momentum", "lr", "beta1", "warmup"]


def test_trial_lines_and_the_summary_show_only_what_the_trial_used():
    trials = make_trials()
    line = ConsoleReporter.trial_line(TrialFinished(snapshot_of(trials), trials[0], is_best=False))
    assert "momentum=0.9" in line and "beta1" not in line
    summary = format_summary(snapshot_of(trials))
    assert "Best score 0.2 at trial 4: opt='adam', beta1=0.9, lr=0.0003, warmup=0.2" in summary


# -- plots ---------------------------------------------------------------------------------------------------------
def points_per_axes(fig):
    """For each hyperparameter's axes (by its x label): the trials' points."""
    found = {}
    for ax in fig.axes:
        dots = [line for line in ax.lines if line.get_marker() == "o"]
        found[ax.get_xlabel()] = sum(len(line.get_xdata()) for line in dots)
    return found


def test_plot_params_shows_a_trial_only_on_the_axes_of_the_hyperparameters_it_used():
    fig = plot_params(snapshot_of(make_trials()), SPACE)
    assert points_per_axes(fig) == {"opt": 6, "momentum": 3, "beta1": 3, "lr": 6, "warmup": 1}
    stars = {ax.get_xlabel() for ax in fig.axes if any(line.get_marker() == "*" for line in ax.lines)}
    assert stars == {"opt", "beta1", "lr", "warmup"}  # the best trial (adam) used no momentum
    figure_png(fig)


def test_a_hyperparameter_no_scored_trial_used_gets_an_empty_axes_that_says_so():
    trials = make_trials([(params, value) for params, value in POINTS if "warmup" not in params])
    fig = plot_params(snapshot_of(trials), SPACE)
    warmup = next(ax for ax in fig.axes if ax.get_xlabel() == "warmup")
    assert points_per_axes(fig)["warmup"] == 0
    assert any("no scored trial used it" in text.get_text() for text in warmup.texts)
    assert warmup.get_xlim() == (0.0, 1.0)


def test_the_summary_figure_draws_trials_with_absent_params():
    trials = make_trials()
    found = posterior(SPACE, trials, "minimize")
    assert found is not None
    figure_png(plot_summary(snapshot_of(trials), SPACE, found.slice("momentum")))


# -- posterior views -----------------------------------------------------------------------------------------------
def test_the_views_are_offered_along_hyperparameters_that_at_least_two_completed_trials_used():
    trials = make_trials()
    assert sliceable(SPACE, trials) == ["opt", "momentum", "beta1", "lr"]
    failed = Trial(number=6, params={"opt": "sgd", "warmup": 0.5}, state=TrialState.FAILED, error="boom")
    assert "warmup" not in sliceable(SPACE, [*trials, failed])


def test_a_slice_shows_only_the_trials_that_used_its_hyperparameter_and_holds_what_applies_to_them():
    found = posterior(SPACE, make_trials(), "minimize")
    assert found is not None and len(found.trials) == 6
    momentum = found.slice("momentum")
    assert sorted(momentum.observed_x) == [0.1, 0.5, 0.9]
    assert sorted(momentum.observed_y) == [0.3, 0.5, 0.6]
    assert momentum.fixed == {"opt": "sgd", "lr": 3e-2}  # the best sgd trial's; sgd uses no beta1 nor warmup
    beta1 = found.slice("beta1")
    assert sorted(beta1.observed_x) == [0.7, 0.8, 0.9]
    assert beta1.fixed == {"opt": "adam", "lr": 3e-4, "warmup": 0.2}
    lr = found.slice("lr")
    assert len(lr.observed_x) == 6
    # each other hyperparameter at the best value among the trials that used it
    assert lr.fixed == {"opt": "adam", "momentum": 0.5, "beta1": 0.9, "warmup": 0.2}
    assert all(math.isfinite(v) for v in momentum.mean)


def test_a_surface_shows_only_the_trials_that_used_both_its_hyperparameters():
    found = posterior(SPACE, make_trials(), "minimize")
    assert found is not None
    surface = found.surface("momentum", "lr", points=5)
    assert sorted(surface.observed_x) == [0.1, 0.5, 0.9]
    assert surface.fixed == {"opt": "sgd"}


def test_the_panels_slice_dropdown_offers_the_sliceable_hyperparameters():
    view = PlotsView(SPACE)
    assert list(view.posterior_param.options) == list(SPACE)
    view.posterior_param.value = "warmup"
    view.draw_model_views(snapshot_of(make_trials()), tab=None)
    assert list(view.posterior_param.options) == ["opt", "momentum", "beta1", "lr"]
    assert view.posterior_param.value == "opt"
    assert view.posterior.value  # the slice along it is drawn
