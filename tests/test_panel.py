"""The control panel built from declarations, and its settings turning into the next search's space and method."""

from __future__ import annotations

import re
import time

import ipywidgets as w
import pytest

from jupyter_hptune import Choice, Int, Real, Space, Study, make_sampler
from jupyter_hptune.core.events import SearchFinished, SearchStarted, WorkerState, WorkersUpdated
from jupyter_hptune.core.settings import SearchSettings
from jupyter_hptune.widgets import (
    LATENCY,
    SHARE,
    ChoiceRow,
    RangeRow,
    RedrawPace,
    TunePanel,
    make_row,
    progress_text,
    trials_table_html,
)

SPACE = Space(
    {
        "lr": Real(1e-4, 1e-1, log=True),
        "dropout": Real(0.2, 0.5, default=0.3),
        "units": Int(16, 256, log=True),
        "layers": Int(1, 4),
        "activation": Choice(["relu", "tanh", "sigmoid"], default="tanh"),
    }
)


def panel(**overrides) -> TunePanel:
    settings = dict(method="bayes", n_trials=12, direction="maximize", seed=7, options={})
    settings.update(overrides)
    return TunePanel(SPACE, name="study", settings=SearchSettings(**settings))


def test_each_declaration_gets_the_control_of_its_kind():
    rows = {name: make_row(name, dim) for name, dim in SPACE.items()}
    assert isinstance(rows["lr"].slider, w.SelectionRangeSlider)
    assert isinstance(rows["dropout"].slider, w.FloatRangeSlider)
    assert (rows["dropout"].slider.min, rows["dropout"].slider.max) == (0.2, 0.5)
    assert rows["dropout"].slider.value == (0.2, 0.5)
    assert isinstance(rows["layers"].slider, w.IntRangeSlider)
    assert rows["layers"].slider.value == (1, 4)
    assert isinstance(rows["units"].slider, w.SelectionRangeSlider)
    units = [value for _, value in rows["units"].slider.options]
    assert units[0] == 16 and units[-1] == 256 and all(type(v) is int for v in units)
    assert isinstance(rows["activation"], ChoiceRow)
    assert rows["activation"].select.value == (0, 1, 2)  # every option included
    assert [label for label, _ in rows["activation"].select.options] == ["relu", "tanh", "sigmoid"]
    mixed = ChoiceRow("n", Choice(["1", 1, None]))
    assert [label for label, _ in mixed.select.options] == ["'1'", "1", "None"], "labels never read the same"


def test_a_log_slider_labels_real_values_not_exponents():
    row = RangeRow("lr", Real(1e-4, 1e-1, log=True))
    labels = [label for label, _ in row.slider.options]
    assert labels[0] == "1e-4" and labels[-1] == "0.1"
    assert row.slot.children[1].value == "1e-4 – 0.1"  # the range as the user reads it
    row.slider.index = (16, 32)
    assert row.slot.children[1].value == "0.001 – 0.01"
    values = [value for _, value in row.slider.options]
    assert values[0] == 1e-4 and values[-1] == 1e-1
    ratios = [b / a for a, b in zip(values, values[1:])]
    assert all(abs(r / 10 ** (1 / 16) - 1) < 0.08 for r in ratios), "log stops are about evenly spaced in ratio"
    assert all(float(label) == value for label, value in row.slider.options), "a stop is the value its label shows"
    assert row.log.value is True


def test_the_declaration_is_the_default_of_the_next_search():
    settings = panel().controls.settings()
    assert settings.space == SPACE
    assert settings.method == "bayes" and settings.n_trials == 12
    assert settings.direction == "maximize" and settings.seed == 7


def test_changing_rows_changes_the_space_of_the_next_search():
    p = panel()
    p.controls.rows["dropout"].slider.value = (0.25, 0.4)
    p.controls.rows["layers"].slider.value = (2, 3)
    lr = p.controls.rows["lr"]
    lr.slider.index = (lr.slider.index[0] + 16, lr.slider.index[1])  # narrow the low end by one decade
    p.controls.rows["activation"].select.value = (0, 2)
    p.controls.rows["dropout"].log.value = True
    space = p.controls.settings().space
    assert space["dropout"] == Real(0.25, 0.4, log=True, default=0.3)  # the declared default still fits
    assert space["layers"] == Int(2, 3)
    assert space["lr"].low == pytest.approx(1e-3) and space["lr"].high == 1e-1 and space["lr"].log
    assert space["activation"].options == ("relu", "sigmoid")
    assert space["activation"].default is None  # 'tanh' is no longer an option
    assert SPACE["dropout"] == Real(0.2, 0.5, default=0.3), "the declaration itself is unchanged"


def test_the_log_toggle_keeps_the_selected_range():
    row = RangeRow("dropout", Real(0.2, 0.5))
    row.slider.value = (0.25, 0.4)
    row.log.value = True
    assert isinstance(row.slider, w.SelectionRangeSlider)
    low, high = row.bounds()
    assert low == pytest.approx(0.25, rel=0.05) and high == pytest.approx(0.4, rel=0.05)
    row.log.value = False
    assert isinstance(row.slider, w.FloatRangeSlider)
    assert row.dimension().log is False


def test_log_is_not_offered_for_a_range_through_zero():
    assert RangeRow("x", Real(-1.0, 1.0)).log.disabled
    assert not RangeRow("x", Real(0.5, 1.0)).log.disabled


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda p: setattr(p.controls.rows["dropout"].slider, "value", (0.3, 0.3)),
            "hyperparameter 'dropout': low (0.3)",
        ),
        (lambda p: setattr(p.controls.rows["layers"].slider, "value", (2, 2)), "hyperparameter 'layers': low (2)"),
        (
            lambda p: setattr(p.controls.rows["activation"].select, "value", ()),
            "'activation': include at least one option",
        ),
        (lambda p: setattr(p.controls.trials.widget, "value", "0"), "trials must be a positive integer, got 0"),
        (lambda p: setattr(p.controls.trials.widget, "value", "ten"), "trials must be a whole number, got 'ten'"),
        (lambda p: setattr(p.controls.seed.widget, "value", "x1"), "seed must be a whole number"),
        (lambda p: setattr(p.controls.seed.widget, "value", str(2**32)), "seed must be an integer from 0 to 2**32 - 1"),
        (
            lambda p: setattr(p.controls.method_options["bayes"]["initial_points"].widget, "value", "-2"),
            "initial points must be a positive integer, got -2",
        ),
    ],
)
def test_bad_settings_are_named_in_the_panel_and_start_nothing(change, message):
    p = panel()
    requests = []
    p.on_run = requests.append
    p.on_continue = requests.append
    change(p)
    with pytest.raises(ValueError):
        p.controls.settings()
    p.run.click()
    p.more.click()
    assert requests == []
    assert message in p.message.value, "the panel names the option as its control is labelled"
    assert "#c0392b" in p.message.value  # shown as an error


def test_run_and_continue_send_the_panel_settings():
    p = panel()
    requests = []
    p.on_run = lambda s: requests.append(("run", s))
    p.on_continue = lambda s: requests.append(("continue", s))
    p.controls.method.value = "grid"
    p.controls.method_options["grid"]["grid_points"].widget.value = "3"
    p.controls.trials.widget.value = ""
    p.run.click()
    p.controls.method.value = "random"
    p.controls.trials.widget.value = "5"
    p.more.click()
    (kind1, first), (kind2, second) = requests
    assert kind1 == "run" and first.method == "grid" and first.options == {"grid_points": 3}
    assert first.n_trials is None  # the whole grid
    assert kind2 == "continue" and second.method == "random" and second.n_trials == 5
    assert second.options == {}


def test_method_options_appear_beside_their_method():
    p = panel()
    boxes = p.controls.method_boxes
    assert boxes["bayes"].layout.display is None and boxes["grid"].layout.display == "none"
    assert [c.description for c in boxes["bayes"].children] == ["acquisition", "initial points"]
    p.controls.method.value = "grid"
    assert boxes["bayes"].layout.display == "none" and boxes["grid"].layout.display is None
    assert [c.description for c in boxes["grid"].children] == ["points per real range"]
    p.controls.method.value = "random"
    assert boxes["bayes"].layout.display == "none" and boxes["grid"].layout.display == "none"


def test_manual_mode_turns_rows_into_single_values_and_runs_one_point():
    p = panel()
    points = []
    p.on_trial = points.append
    p.controls.method.value = "manual"
    assert p.run_trial.layout.display is None and p.run.layout.display == "none"
    assert p.controls.rows["dropout"].single_slot.layout.display is None
    assert p.controls.rows["dropout"].slot.layout.display == "none"
    assert isinstance(p.controls.rows["lr"].single, w.FloatLogSlider)
    assert p.controls.point() == SPACE.defaults()
    p.controls.rows["dropout"].single.value = 0.45
    p.controls.rows["layers"].single.value = 3
    p.controls.rows["activation"].single.value = 2
    p.run_trial.click()
    (point,) = points
    assert point["dropout"] == pytest.approx(0.45) and point["layers"] == 3 and point["activation"] == "sigmoid"
    assert all(type(point[n]) is t for n, t in [("lr", float), ("units", int), ("layers", int)])
    SPACE.validate(point)


def test_manual_mode_starts_from_the_best_trial_so_far():
    study = Study(SPACE, direction="maximize")
    study.optimize(lambda p: p["dropout"], 6, sampler=make_sampler("random", seed=1))
    p = panel()
    study.subscribe(p)
    study.optimize(lambda p: p["dropout"], 1, sampler=make_sampler("random", seed=2))
    p.controls.method.value = "manual"
    best = study.best_params
    assert p.controls.point()["layers"] == best["layers"] and p.controls.point()["activation"] == best["activation"]
    assert p.controls.point()["dropout"] == pytest.approx(best["dropout"], abs=0.002)


def test_progress_and_table_follow_the_study():
    study = Study(SPACE, direction="maximize")
    p = panel()
    study.subscribe(p)

    def objective(params):
        if params["layers"] == 4:
            raise ValueError("too deep")
        return params["dropout"]

    study.optimize(objective, 10, sampler=make_sampler("random", seed=3))
    snapshot = study.snapshot()
    failed = sum(t.state.value == "failed" for t in study.trials)
    assert failed > 0
    assert p.progress.bar.value == 10 and p.progress.bar.max == 10
    assert "<b>10</b> / 10 trials" in p.progress.status.value and f"{failed} failed" in p.progress.status.value
    assert f"best <b>{study.best_value:.4g}</b>" in p.progress.status.value
    assert p.stop.disabled and not p.run.disabled
    table = trials_table_html(snapshot, "score")
    rows = table.split("<tr")[2:]
    assert f"<td>{study.best_trial.number}</td>" in rows[0] and "background:#fff3b0" in rows[0]
    assert "failed" in rows[-1]
    assert progress_text(snapshot) == p.progress.status.value


def test_the_workers_of_a_parallel_search_show_which_trial_each_runs_and_for_how_long():
    p = panel()
    study = Study(SPACE)
    snapshot = study.snapshot()
    p(SearchStarted(snapshot, None))
    assert p.progress.workers_row.layout.display == "none", "a search in the kernel shows no workers"
    now = time.time()
    workers = (WorkerState("0", 12, now - 75), WorkerState("1", 13, now - 4), WorkerState("2"))
    p(WorkersUpdated(snapshot, workers))
    assert p.progress.workers_row.layout.display is None
    text = re.sub("<[^>]+>", "", p.progress.workers.value).replace("&nbsp;", " ")
    assert re.sub(" +", " ", text) == "workers 0: trial 12 · 1:15 | 1: trial 13 · 0:04 | 2: idle"
    assert p.cancel_running.value is False, "Stop lets the running trials finish unless asked"
    p(SearchFinished(snapshot))
    assert p.progress.workers_row.layout.display == "none"


def test_switching_to_grid_runs_the_whole_grid_and_back_restores_the_trials():
    p = panel()
    assert p.controls.trials.widget.value == "12"
    p.controls.method.value = "grid"
    assert p.controls.trials.widget.value == "" and p.controls.trials.widget.placeholder == "whole grid"
    assert p.controls.settings().n_trials is None
    p.controls.method.value = "random"
    assert p.controls.trials.widget.value == "12" and p.controls.settings().n_trials == 12
    p.controls.method.value = "grid"
    p.controls.trials.widget.value = "5"  # a subset the user asks for is kept
    p.controls.method.value = "bayes"
    assert p.controls.trials.widget.value == "5"


def test_the_log_tab_says_what_will_appear_in_it_before_anything_does():
    p = panel()
    log_tab = p.tabs.children[p.tabs.titles.index("Log")]
    note = log_tab.children[0]
    assert isinstance(note, w.HTML) and "a line per finished trial with its score" in note.value
    assert p.log in log_tab.children


def test_slider_labels_read_whole_numbers_in_full():
    from jupyter_hptune.widgets import value_label

    assert value_label(1000) == "1000" and value_label(1024) == "1024" and value_label(12345) == "12345"
    assert value_label(1234.5) == "1230" and value_label(999.6) == "1000"
    assert value_label(0.001) == "0.001" and value_label(1e-4) == "1e-4" and value_label(2.5e-6) == "2.5e-6"
    row = RangeRow("units", Int(16, 1000, log=True))
    labels = [label for label, _ in row.slider.options]
    assert labels[-1] == "1000" and not [label for label in labels if "+" in label]
    assert row.slot.children[1].value == "16 – 1000"


def test_settings_fold_into_a_summary_and_unfold_on_request():
    p = panel()
    assert p.controls.widget.layout.display == "none", "a search runs at once: its settings start folded"
    summary = p.settings_summary.value
    for part in (
        "bayes",
        "12 trials",
        "maximize",
        "seed 7",
        "lr 1e-4–0.1 log",
        "units 16–256 log",
        "activation 3 of 3",
    ):
        assert part in summary, (part, summary)
    p.show_settings.value = True
    assert p.controls.widget.layout.display is None and p.settings_summary.value == ""
    p.controls.rows["layers"].slider.value = (2, 3)
    p.show_settings.value = False
    assert "layers 2–3" in p.settings_summary.value, "the summary says what the next run does"
    assert panel(method="manual").controls.widget.layout.display is None, "manual: the rows are the point to run"


def test_buttons_fit_their_labels_and_plots_fit_their_width():
    from jupyter_hptune.plots import CSS_DPI, DPI, figure_png, plot_history

    p = panel()
    for button in (p.run, p.more, p.stop, p.save, p.use_best):
        assert button.layout.width == "auto", f"{button.description} is cut to a fixed width"
    for image in (p.plots.history, p.plots.posterior):
        assert image.layout.width == "100%" and image.layout.max_width.startswith("min(100%")
    study = Study(SPACE)
    study.optimize(lambda params: params["dropout"], 2, sampler=make_sampler("random", seed=0))
    png = figure_png(plot_history(study.snapshot()))
    from jupyter_hptune.widgets import show_png

    show_png(p.plots.params_plot, png)
    natural = int.from_bytes(png[16:20], "big")
    assert int(p.plots.params_plot.width) == round(natural * CSS_DPI / DPI), "shown at the size it was drawn for"
    assert p.plots.params_plot.layout.max_width == "100%"


# -- how soon the panel shows a finished trial ---------------------------------------------------------------------------
def shown_trials(p: TunePanel, image: w.Image) -> list[tuple[float, int]]:
    """(time, finished trials of the snapshot drawn) at each new image, recorded as the panel sets it."""
    seen: list[tuple[float, int]] = []
    image.observe(
        lambda _: seen.append((time.time(), sum(t.state.value != "running" for t in p._snapshot.trials))),
        names="value",
    )
    return seen


def test_the_score_plot_shows_trial_1_before_trial_2_finishes_and_each_trial_soon():
    p = panel(method="random")
    history = shown_trials(p, p.plots.history)
    study = Study(SPACE, direction="maximize")
    study.subscribe(p)
    study.optimize(lambda params: time.sleep(0.3) or params["dropout"], 8, sampler=make_sampler("random", seed=0))
    finished = [t.finished for t in study.trials]
    assert history, "the score plot was drawn during the search"
    first = min(t for t, n in history if n >= 1)
    assert first < finished[1], "trial 1 is on the score plot before trial 2 finished"
    for i in range(1, 4):  # within about a second: 3 trials of 0.3 s, and one more for a busy machine
        assert min(t for t, n in history if n >= i + 1) < finished[i + 4], f"trial {i + 1} on the score plot"


def test_the_model_views_follow_the_trials_within_a_trial_or_two():
    """One more trial as the rule; the test allows two more, and another for a busy machine."""
    p = panel(method="random")
    p.tabs.selected_index = 0  # Surface
    posterior, surface = shown_trials(p, p.plots.posterior), shown_trials(p, p.plots.surface)
    study = Study(SPACE, direction="maximize")
    study.subscribe(p)
    study.optimize(lambda params: time.sleep(0.5) or params["dropout"], 8, sampler=make_sampler("random", seed=0))
    finished = [t.finished for t in study.trials]
    for seen in (posterior, surface):
        for i in range(1, 4):  # a model needs 2 trials: from trial 2 on
            assert min(t for t, n in seen if n >= i + 1) < finished[i + 4], f"trial {i + 1} in the model views"


def test_very_short_trials_redraw_a_bounded_number_of_times_but_soon():
    p = panel(method="random")
    p.tabs.selected_index = 0
    history, posterior = shown_trials(p, p.plots.history), shown_trials(p, p.plots.posterior)
    study = Study(SPACE, direction="maximize")
    study.subscribe(p)
    began = time.perf_counter()
    study.optimize(lambda params: time.sleep(0.002) or params["dropout"], 1500, sampler=make_sampler("random", seed=0))
    elapsed = time.perf_counter() - began
    assert history, "the score plot was drawn during the search"
    assert history[0][0] - study.trials[0].finished < 3.0, "within a few seconds of the first trial, not 3.75"
    assert len(history) <= 3 + 3 * elapsed, (len(history), elapsed)
    assert len(posterior) <= 3 + 2 * elapsed, (len(posterior), elapsed)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("trial", "history_cost", "views_cost"),
    [(0.5, 0.05, 0.25), (0.5, 0.05, 0.45), (2.0, 0.1, 0.6), (0.002, 0.05, 0.3), (0.0, 0.05, 0.6)],
)
def test_the_redraw_pace_keeps_trials_fresh_and_the_panel_cheap(trial, history_cost, views_cost):
    """A simulated search: the score plot within LATENCY, the model a trial late at most, zero-cost ones cheap."""
    clock = FakeClock()
    pace = RedrawPace(clock=clock)
    panel_time = 0.0
    finished, history_shows, views_shows = [], [], []
    history_n = views_n = 0

    def draw(part, cost: float) -> None:
        nonlocal panel_time
        clock.now += cost
        panel_time += cost
        pace.drew(part, cost)

    for n in range(1, 2001 if trial < 0.1 else 31):
        began = clock.now  # the trial starts: the model views may redraw (the model knows trials 1..n-1)
        if pace.views_due():
            draw(pace.views, views_cost)
            views_n = n - 1
            views_shows.append((clock.now, views_n))
        pace.charge(clock.now - began)
        clock.now += trial + 0.001  # the trial runs, the sampler asks
        finished.append(clock.now)
        pace.finished()
        began = clock.now
        if pace.history_due():
            draw(pace.history, history_cost)
            history_n = n
            history_shows.append((clock.now, history_n))
        pace.charge(clock.now - began)
    search_time = clock.now - 100.0 - panel_time

    def delays(shows):
        return [min(t for t, m in shows if m >= i + 1) - finished[i] for i in range(len(finished)) if shows[-1][1] > i]

    if trial >= 0.1:
        assert history_shows[0] == (finished[0] + history_cost, 1), "the first trial is drawn at once"
        assert max(delays(history_shows)) <= LATENCY + history_cost
        late = trial + 0.001 + 2 * history_cost + views_cost + 1e-9  # drawn at the start after the next trial
        assert max(delays(views_shows)) <= late, "the model views a trial late at most"
        assert panel_time <= 0.55 * search_time + views_cost, "the model views take half the time at most"
    else:
        assert panel_time <= 0.12 * (search_time + panel_time), "a zero-cost search spends little on plots"
        first_estimate = 0.1  # of a score plot's cost, before one is drawn
        assert max(delays(history_shows)) <= max(first_estimate, history_cost) / SHARE + 0.1, "as SHARE allows"


def test_the_panel_runs_keep_the_cells_workers_and_sync():
    from jupyter_hptune.controller import PanelController

    class Tuner:
        running = False
        begun: list = []

        def begin(self, settings, *, new_study=False):
            self.begun.append((settings, new_study))
            raise ValueError("stop here: no search runs in this test")

    cell = SearchSettings(method="bayes", n_trials=12, direction="maximize", seed=7, jobs=4, sync=True)
    p = TunePanel(SPACE, name="study", settings=cell)
    tuner = Tuner()
    PanelController("study", p, tuner, cell, kernel=None)
    p.controls.trials.widget.value = "6"
    p.run.click()
    p.more.click()
    assert [(s.jobs, s.sync, s.n_trials, new) for s, new in tuner.begun] == [(4, True, 6, True), (4, True, 6, False)]
