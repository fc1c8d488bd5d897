"""Drilling into one trial from the panel's Trials tab: choosing it, its detail, and Use in manual."""

from __future__ import annotations

import html
import re

import pytest

from jupyter_hptune import Choice, Int, Real, Space, Study, hp, make_sampler, tune
from jupyter_hptune.core.events import SearchFinished
from jupyter_hptune.core.settings import SearchSettings
from jupyter_hptune.report import format_value
from jupyter_hptune.widgets import TRIALS_TAB, TunePanel, trial_label

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
