"""What a user sees of pruning: the learning-curves plot, the panel's progress, table and pruning controls."""

from __future__ import annotations

import math
import re

import pytest
from matplotlib.colors import to_rgba

from jupyter_hptune import Real, Space, Study, TrialState, tune
from jupyter_hptune.core.events import TrialReported
from jupyter_hptune.core.samplers import make_sampler
from jupyter_hptune.core.settings import SearchSettings
from jupyter_hptune.plots import BEST, PRUNED, figure_png, plot_curves, plot_summary
from jupyter_hptune.widgets import CURVES_TAB, RedrawPace, TunePanel, progress_text, trials_table_html

SPACE = {"quality": Real(0.0, 1.0)}


def objective(params, trial):
    for step in range(1, 28):
        trial.report(step, params["quality"] * (1 - math.exp(-0.25 * step)))
        if trial.should_stop():
            break
    return params["quality"] * (1 - math.exp(-0.25 * 27))


@pytest.fixture(scope="module")
def pruned_study():
    return tune(
        objective, SPACE, method="random", n_trials=24, seed=0, direction="maximize", prune="hyperband", max_steps=27
    )


def curve_lines(ax):
    """{trial number: line} of the curves drawn (markers and the best step's star aside)."""
    return {int(ln.get_gid().split()[1]): ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("trial ")}


def test_one_line_per_trial_pruned_ones_faded_and_ending_where_stopped(pruned_study):
    fig = plot_curves(pruned_study.snapshot())
    [ax] = fig.axes
    lines = curve_lines(ax)
    assert sorted(lines) == [t.number for t in pruned_study.trials]
    for trial in pruned_study.trials:
        line = lines[trial.number]
        assert list(line.get_xdata()) == list(trial.intermediate)
        assert list(line.get_ydata()) == list(trial.intermediate.values())
        if trial.state is TrialState.PRUNED:
            assert line.get_alpha() < 0.5 and to_rgba(line.get_color())[:3] == to_rgba(PRUNED)[:3]
            assert max(line.get_xdata()) == trial.last_step < 27, "a pruned curve ends where it was stopped"
    best = lines[pruned_study.best_trial.number]
    assert to_rgba(best.get_color()) == to_rgba(BEST) and best.get_linewidth() > 2
    assert all(line.get_linewidth() < 2 for n, line in lines.items() if n != pruned_study.best_trial.number)
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    pruned = sum(t.state is TrialState.PRUNED for t in pruned_study.trials)
    assert f"best: trial {pruned_study.best_trial.number}" in labels and f"pruned ({pruned})" in labels
    saved = 24 * 27 - sum(t.last_step for t in pruned_study.trials)
    assert ax.get_title().startswith(f"Learning curves: {saved} of {24 * 27} steps saved")
    assert figure_png(fig).startswith(b"\x89PNG")


def test_curves_of_a_study_that_reported_nothing_say_how_to_report():
    study = tune(lambda p: p["quality"], SPACE, method="random", n_trials=3, seed=0)
    [ax] = plot_curves(study.snapshot()).axes
    assert not curve_lines(ax)
    assert "hp.report(step, value)" in ax.texts[0].get_text()


def test_the_running_trial_is_drawn_dashed_as_it_reports():
    shown = []

    def draw(event):
        if isinstance(event, TrialReported) and event.trial.number == 1 and event.step == 4:
            [ax] = plot_curves(event.study).axes
            shown.append(curve_lines(ax)[1])

    tune(objective, SPACE, method="random", n_trials=2, seed=0, direction="maximize", observers=[draw])
    [running] = shown
    assert running.get_linestyle() == "--" and list(running.get_xdata()) == [1, 2, 3, 4]


def test_the_summary_image_gains_the_curves_when_trials_reported(pruned_study):
    plain = tune(lambda p: p["quality"], SPACE, method="random", n_trials=3, seed=0)
    assert len(plot_summary(plain.snapshot(), plain.space).axes) == 2
    with_curves = plot_summary(pruned_study.snapshot(), pruned_study.space)
    assert any(ax.get_title().startswith("Learning curves") for ax in with_curves.axes)


def test_progress_and_table_show_pruned_trials_steps_reached_and_best_steps(pruned_study):
    snapshot = pruned_study.snapshot()
    pruned = sum(t.state is TrialState.PRUNED for t in pruned_study.trials)
    saved = 24 * 27 - sum(t.last_step for t in pruned_study.trials)
    text = progress_text(snapshot)
    assert f"{pruned} pruned" in text and f"{saved} of 648 steps saved" in text
    table = trials_table_html(snapshot)
    assert "<th>step</th><th>best step</th>" in table
    for trial in pruned_study.trials:
        row = rf"<tr[^>]*><td>{trial.number}</td>.*?{trial.state.value}.*?<td>{trial.last_step}</td><td>{trial.best_step}</td>"
        assert re.search(row, table), f"trial {trial.number}"
    plain = tune(lambda p: p["quality"], SPACE, method="random", n_trials=2, seed=0).snapshot()
    assert "best step" not in trials_table_html(plain) and "pruned" not in progress_text(plain)


def panel(**stopping) -> TunePanel:
    settings = SearchSettings(method="random", n_trials=10, direction="maximize", seed=0, **stopping)
    return TunePanel(Space(SPACE), name="study", settings=settings)


def stopping_control(panel: TunePanel, name: str):
    return panel.controls.stopping_controls[name].widget


def test_the_panel_starts_from_the_cells_pruning_and_opens_on_the_curves():
    chosen = panel(prune="hyperband", patience=4, max_steps=30)
    shown = [stopping_control(chosen, name).value for name in ("prune", "patience", "max_steps")]
    assert shown == ["hyperband", "4", "30"]
    assert chosen.tabs.selected_index == CURVES_TAB and chosen.tabs.get_title(CURVES_TAB) == "Curves"
    settings = chosen.controls.settings()
    assert (settings.prune, settings.patience, settings.max_steps) == ("hyperband", 4, 30)
    stopping_control(chosen, "prune").value, stopping_control(chosen, "patience").value = "median", ""
    assert chosen.controls.stopping() == {"prune": "median", "patience": None, "max_steps": 30}
    plain = panel()
    stopping = plain.controls.stopping()
    assert plain.tabs.selected_index == 2 and stopping == {"prune": "none", "patience": None, "max_steps": None}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"patience": "0"}, "patience must be a positive integer, got 0"),
        ({"max_steps": "ten"}, "max steps must be a whole number, got 'ten'"),
        ({"prune": "hyperband", "max_steps": ""}, "prune hyperband needs max steps"),
    ],
)
def test_bad_pruning_settings_are_named_in_the_panel_and_start_nothing(change, message):
    chosen = panel(prune="median", patience=3, max_steps=20)
    for name, value in change.items():
        stopping_control(chosen, name).value = value
    requests = []
    chosen.on_run = requests.append
    chosen.run.click()
    assert message in chosen.message.value and requests == []


def test_the_curves_tab_follows_the_reports_of_a_running_trial(monkeypatch):
    monkeypatch.setattr(
        RedrawPace, "curves_due", lambda self: True
    )  # as a search slow enough to redraw at every report
    chosen = panel(prune="median")
    drawn = []
    monkeypatch.setattr(chosen.plots, "draw_curves", lambda snapshot: drawn.append(snapshot.trials[-1].last_step))
    study = Study(SPACE, direction="maximize")
    study.subscribe(chosen)
    study.optimize(objective, 1, sampler=make_sampler("random", seed=0), prune="median")
    assert drawn[:27] == list(range(1, 28)), "drawn at each report of the running trial"
    chosen.tabs.selected_index = 2
    drawn.clear()
    study.optimize(objective, 1, sampler=make_sampler("random", seed=1))
    assert drawn == [], "a hidden tab is not drawn"
    monkeypatch.undo()
    chosen.tabs.selected_index = CURVES_TAB
    chosen.redraw(final=True)
    curves = chosen.plots.curves
    assert bytes(curves.value).startswith(b"\x89PNG") and curves.layout.display is None
