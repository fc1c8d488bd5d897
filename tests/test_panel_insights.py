"""Which hyperparameters mattered, in the panel: the Importance and Parallel coordinates tabs, and drilling into
one trial from the Trials tab (choosing it, its detail, Use in manual)."""

from __future__ import annotations

import html
import re

import pytest

from jupyter_hptune import Choice, Int, Real, Space, Study, hp, make_sampler, tune
from jupyter_hptune.core.events import SearchFinished
from jupyter_hptune.core.importance import MIN_TRIALS
from jupyter_hptune.core.settings import SearchSettings
from jupyter_hptune.report import format_value
from jupyter_hptune.widgets import (
    CURVES_TAB,
    IMPORTANCE_TAB,
    PARALLEL_TAB,
    TAB_TITLES,
    TRIALS_TAB,
    RedrawPace,
    TunePanel,
    trial_label,
)

SPACE = Space({"x": Real(-5.0, 5.0), "n": Int(1, 9), "kind": Choice(["a", "b", "<c>"])})


def objective(params, trial):
    if params["kind"] == "<c>" and params["n"] > 6:
        raise ValueError("n > 6 & kind <c>")
    for step in range(1, 4):
        trial.report(step, params["x"] * step)
    return -((params["x"] - 1.0) ** 2) - params["n"] / 10


def make_panel(space: Space = SPACE, method: str = "random") -> TunePanel:
    settings = SearchSettings(method=method, n_trials=20, direction="maximize", seed=0, options={})
    return TunePanel(space, name="study", settings=settings)


@pytest.fixture
def searched() -> tuple[Study, TunePanel]:
    study = Study(SPACE, direction="maximize")
    panel = make_panel()
    study.subscribe(panel)
    study.optimize(objective, 20, sampler=make_sampler("random", seed=4))
    return study, panel


def params_shown(detail: str) -> dict[str, str]:
    """The params a trial's detail lists, as shown."""
    table = re.search(r"<table class='hptune-trial-params'.*?</table>", detail, re.S)
    assert table, detail
    rows = re.findall(r"<th[^>]*>([^<]+)</th><td[^>]*>([^<]*)</td>", table.group(0))
    return {html.unescape(k): html.unescape(v) for k, v in rows}


def text(html_: str) -> str:
    return re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", html_)).replace("&lt;", "<").replace("&gt;", ">").strip()


def test_the_chooser_lists_the_trials_in_the_tables_order_and_starts_on_the_best(searched) -> None:
    study, panel = searched
    view = panel.table.trial
    assert panel.tabs.selected_index == TRIALS_TAB
    labels = [label for label, _ in view.chooser.options]
    assert [number for _, number in view.chooser.options] == list(range(19, -1, -1)), "the latest first, as the table"
    best = study.best_trial
    assert view.chooser.value == best.number
    assert f"#{best.number} · {best.value:.4g} · complete" in labels
    assert any(re.fullmatch(r"#\d+ · – · failed", label) for label in labels), labels

    panel.table.sort.value = "score"
    numbers = [number for _, number in view.chooser.options]
    assert numbers[0] == best.number, "by score: the best first, as the table"
    unscored = {t.number for t in study.trials if t.value is None}
    assert unscored and set(numbers[-len(unscored) :]) == unscored, "trials without a score last, as the table"
    assert view.chooser.value == best.number


def test_choosing_a_trial_shows_its_params_score_state_curve_and_traceback(searched) -> None:
    study, panel = searched
    view = panel.table.trial
    complete = next(t for t in study.trials if t.state.value == "complete" and t != study.best_trial)
    view.chooser.value = complete.number
    shown = text(view.detail.value)
    assert f"Trial #{complete.number}" in shown
    assert params_shown(view.detail.value) == {n: format_value(v) for n, v in complete.params.items()}
    assert f"score {complete.value:.4g}" in shown and "state complete" in shown
    assert f"duration {complete.duration:.2f} s" in shown
    assert "traceback" not in view.detail.value.lower()
    assert bytes(view.curve.value).startswith(b"\x89PNG") and view.curve.layout.display is None, "its curve"

    failed = next(t for t in study.trials if t.state.value == "failed")
    view.chooser.value = failed.number
    detail = view.detail.value
    assert "state failed" in text(detail) and "score –" in text(detail)
    pre = re.search(r"<pre class='hptune-trial-traceback'[^>]*>(.*?)</pre>", detail, re.S)
    assert pre, detail
    assert "ValueError: n &gt; 6 &amp; kind &lt;c&gt;" in pre.group(1), "the traceback, escaped"
    assert "Traceback (most recent call last)" in pre.group(1)

    # The choice stays as trials come in; the table redraws with it.
    study.optimize(objective, 2, sampler=make_sampler("random", seed=5))
    assert view.chooser.value == failed.number and len(view.chooser.options) == 22

    # A new study in the same panel (Run): its best trial is shown, not the trial of the old choice's number.
    view.chooser.value = 1
    fresh = Study(SPACE, direction="maximize")
    fresh.subscribe(panel)
    fresh.optimize(objective, 3, sampler=make_sampler("random", seed=6))
    assert fresh.best_trial.number != 1
    assert view.chooser.value == fresh.best_trial.number and len(view.chooser.options) == 3


def test_a_trial_shows_only_the_params_it_used() -> None:
    def network(params):
        n_layers = hp.int(1, 3)
        widths = [hp.int(8, 64, name=f"units_{i}") for i in range(n_layers)]
        if hp.choice(["sgd", "adam"], name="opt") == "sgd":
            return sum(widths) + hp.real(0.0, 0.99, name="momentum")
        return sum(widths) - hp.real(0.5, 0.999, name="beta1")

    study = tune(network, method="random", n_trials=10, seed=1)
    panel = make_panel(Space({}))
    panel(SearchFinished(study.snapshot()))
    view = panel.table.trial
    for trial in study.trials:
        view.chooser.value = trial.number
        assert list(params_shown(view.detail.value)) == list(trial.params), "inactive ones absent"
        assert view.curve.layout.display == "none", "no curve for a trial that reported none"


def test_use_in_manual_puts_the_trials_params_into_the_manual_controls(searched) -> None:
    study, panel = searched
    view = panel.table.trial
    chosen = next(t for t in study.trials if t.state.value == "complete" and t != study.best_trial)
    view.chooser.value = chosen.number
    assert panel.controls.method.value == "random" and not panel.show_settings.value
    points = []
    panel.on_trial = points.append
    view.use.click()
    assert panel.controls.method.value == "manual", "switched to manual"
    assert panel.run_trial.layout.display is None and panel.show_settings.value, "Run trial and the controls in view"
    point = panel.controls.point()
    assert point["x"] == pytest.approx(chosen.params["x"], abs=1e-3)
    assert (point["n"], point["kind"]) == (chosen.params["n"], chosen.params["kind"])
    assert f"Trial #{chosen.number}" in panel.message.value
    panel.run_trial.click()
    assert points and points[0]["kind"] == chosen.params["kind"]


def test_trial_label_names_number_score_and_state(searched) -> None:
    study, _ = searched
    best = study.best_trial
    assert trial_label(best) == f"#{best.number} · {best.value:.4g} · complete"


def png(image) -> bool:
    return bytes(image.value).startswith(b"\x89PNG") and image.layout.display is None


def test_the_new_tabs_come_after_the_others() -> None:
    panel = make_panel()
    titles = [panel.tabs.get_title(i) for i in range(len(panel.tabs.children))]
    assert titles == list(TAB_TITLES)
    assert titles == ["Surface", "Parameters", "Trials", "Log", "Curves", "Importance", "Parallel coordinates"]
    assert (TRIALS_TAB, CURVES_TAB, IMPORTANCE_TAB, PARALLEL_TAB) == (2, 4, 5, 6)


def test_importance_and_parallel_are_drawn_when_their_tab_is_opened(searched, monkeypatch) -> None:
    study, panel = searched
    plots = panel.plots
    assert not png(plots.importance) and not png(plots.parallel), "hidden tabs wait until opened"
    fits = []
    import jupyter_hptune.core.importance as module

    real = module.importance
    monkeypatch.setattr(module, "importance", lambda *a, **k: fits.append(1) or real(*a, **k))
    panel.tabs.selected_index = IMPORTANCE_TAB
    assert png(plots.importance) and plots.importance_note.value == "" and len(fits) == 1
    panel.tabs.selected_index = PARALLEL_TAB
    assert png(plots.parallel)
    panel.tabs.selected_index = IMPORTANCE_TAB
    assert len(fits) == 1, "opened again with no new trial: not refitted"
    study.optimize(objective, 1, sampler=make_sampler("random", seed=9))
    panel.redraw(final=True)
    assert len(fits) == 2, "a new trial: redrawn"


def test_below_its_minimum_importance_shows_a_note_not_a_plot() -> None:
    study = Study(SPACE, direction="maximize")
    panel = make_panel()
    study.subscribe(panel)
    study.optimize(lambda p: p["x"], MIN_TRIALS - 1, sampler=make_sampler("random", seed=0))
    panel.tabs.selected_index = IMPORTANCE_TAB
    note = text(panel.plots.importance_note.value)
    assert str(MIN_TRIALS - 1) in note and str(MIN_TRIALS) in note, note
    assert "Traceback" not in note and not png(panel.plots.importance)
    study.optimize(lambda p: p["x"], 1, sampler=make_sampler("random", seed=1))
    panel.redraw(final=True)
    assert png(panel.plots.importance) and panel.plots.importance_note.value == "", "enough trials: the bars"


@pytest.mark.parametrize("tab", [IMPORTANCE_TAB, PARALLEL_TAB])
def test_an_open_insight_tab_follows_the_trials_as_the_model_views_do(tab, monkeypatch) -> None:
    monkeypatch.setattr(RedrawPace, "views_due", lambda self: True)  # trials slow enough to follow each one
    panel = make_panel()
    panel.tabs.selected_index = tab
    drawn = []
    image = panel.plots.importance if tab == IMPORTANCE_TAB else panel.plots.parallel
    image.observe(lambda change: drawn.append(change["new"]), names="value")
    study = Study(SPACE, direction="maximize")
    study.subscribe(panel)
    study.optimize(lambda p: p["x"] + p["n"], MIN_TRIALS + 4, sampler=make_sampler("random", seed=2))
    assert len(drawn) >= 4, "redrawn as trials finished, during the search"
