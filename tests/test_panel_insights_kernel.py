"""The panel's Importance and Parallel coordinates tabs and drilling into a trial, in a real kernel: tabs chosen, a
trial chosen and its params used in manual, as a frontend sends them."""

from __future__ import annotations

import re

import pytest
from kernels import Kernel, Widgets, click, evaluate, execute, pump, set_state

pytestmark = pytest.mark.slow

CELL = """\
%%tune --method random --trials 16 --seed 0 --maximize
x = hp.real(-5.0, 5.0)
kind = hp.choice(["a", "b", "c"])
if kind == "c" and x > 0:
    raise ValueError("x > 0 & kind c")
-(x - 1.0) ** 2 - (kind == "b")
"""


class Mirror(Widgets):
    """The widget mirror, with the binary values (an image's PNG) that updates carry as buffers."""

    def feed(self, msg: dict) -> None:
        super().feed(msg)
        content = msg["content"]
        if msg["msg_type"] in ("comm_msg", "comm_open") and content.get("comm_id") in self.models:
            paths = content["data"].get("buffer_paths", [])
            for path, buffer in zip(paths, msg.get("buffers", [])):
                if len(path) == 1:
                    self.models[content["comm_id"]][path[0]] = bytes(buffer)

    def child(self, comm_id: str, index: int) -> str:
        """The comm id of a container's child."""
        return self.state(comm_id)["children"][index].removeprefix("IPY_MODEL_")

    def shown_png(self, comm_id: str) -> bool:
        """Whether an image widget shows a PNG (its layout not hidden)."""
        state = self.state(comm_id)
        layout = self.state(state["layout"].removeprefix("IPY_MODEL_"))
        return bytes(state.get("value", b"")).startswith(b"\x89PNG") and layout.get("display") != "none"


def test_importance_and_parallel_tabs_show_their_plots_when_chosen(kernel: Kernel) -> None:
    kc, widgets = kernel.kc, Mirror()
    execute(kc, CELL, widgets=widgets)
    tabs = next(c for c, s in widgets.models.items() if s.get("_model_name") == "TabModel")
    titles = widgets.state(tabs)["titles"]
    importance_tab, parallel_tab = titles.index("Importance"), titles.index("Parallel coordinates")

    set_state(kc, tabs, selected_index=importance_tab)
    box = widgets.child(tabs, importance_tab)
    note, bars = widgets.child(box, 0), widgets.child(box, 1)
    pump(kc, widgets, lambda: widgets.shown_png(bars), what="the importance bars")
    assert widgets.state(note)["value"] == "", "no note once there are enough trials"

    set_state(kc, tabs, selected_index=parallel_tab)
    parallel = widgets.child(tabs, parallel_tab)
    pump(kc, widgets, lambda: widgets.shown_png(parallel), what="the parallel coordinates")


def test_too_few_trials_for_importance_show_a_note_not_a_traceback(kernel: Kernel) -> None:
    kc, widgets = kernel.kc, Mirror()
    execute(kc, CELL.replace("--trials 16", "--trials 3"), widgets=widgets)
    tabs = next(c for c, s in widgets.models.items() if s.get("_model_name") == "TabModel")
    importance_tab = widgets.state(tabs)["titles"].index("Importance")
    set_state(kc, tabs, selected_index=importance_tab)
    box = widgets.child(tabs, importance_tab)
    note, bars = widgets.child(box, 0), widgets.child(box, 1)
    pump(kc, widgets, lambda: "trials" in widgets.state(note)["value"], what="the note")
    assert "Traceback" not in widgets.state(note)["value"] and not widgets.shown_png(bars)


def test_choosing_a_trial_shows_it_and_use_in_manual_sets_the_controls(kernel: Kernel) -> None:
    kc, widgets = kernel.kc, Mirror()
    execute(kc, CELL, widgets=widgets)
    trials = evaluate(
        kc,
        "[dict(n=t.number, state=t.state.value, x=t.params['x'], kind=t.params['kind'], value=t.value) "
        "for t in study.trials]",
        widgets,
    )
    chooser = widgets.find("DropdownModel", description="Trial")
    detail = widgets.find("HTMLModel", _dom_classes=["hptune-trial-detail"])
    labels = widgets.state(chooser)["_options_labels"]
    best = evaluate(kc, "study.best_trial.number", widgets)
    assert labels[widgets.state(chooser)["index"]].startswith(f"#{best} · "), "the best trial first shown"
    assert f"<b>Trial #{best}</b>" in widgets.state(detail)["value"]

    failed = next(t for t in trials if t["state"] == "failed")
    set_state(kc, chooser, index=labels.index(f"#{failed['n']} · – · failed"))
    pump(kc, widgets, lambda: f"<b>Trial #{failed['n']}</b>" in widgets.state(detail)["value"], what="the failed trial")
    shown = widgets.state(detail)["value"]
    assert "Traceback (most recent call last)" in shown and "ValueError: x &gt; 0 &amp; kind c" in shown
    assert re.search(r"<th[^>]*>kind</th><td[^>]*>'c'</td>", shown), "its params"

    chosen = next(t for t in trials if t["state"] == "complete" and t["n"] != best)
    label = next(label for label in labels if label.startswith(f"#{chosen['n']} · "))
    assert label == f"#{chosen['n']} · {chosen['value']:.4g} · complete"
    set_state(kc, chooser, index=labels.index(label))
    pump(kc, widgets, lambda: f"<b>Trial #{chosen['n']}</b>" in widgets.state(detail)["value"], what="the chosen trial")
    assert "state</th><td style='text-align:right;padding:1px 0'>complete" in widgets.state(detail)["value"]

    click(kc, widgets.button("Use in manual"))
    method = widgets.find("ToggleButtonsModel", _options_labels=["manual", "grid", "random", "bayes"])
    pump(kc, widgets, lambda: widgets.state(method)["index"] == 0, what="the manual method")
    x = widgets.find("FloatSliderModel", min=-5.0, max=5.0)
    kind = widgets.find("DropdownModel", _options_labels=["a", "b", "c"])
    expected = (pytest.approx(chosen["x"], abs=1e-4), ["a", "b", "c"].index(chosen["kind"]))
    pump(kc, widgets, lambda: (widgets.state(x)["value"], widgets.state(kind)["index"]) == expected, what="its params")

    # Run trial evaluates those params as a trial of the same study.
    click(kc, widgets.button("Run trial"))
    stop = widgets.button("Stop")
    pump(kc, widgets, lambda: widgets.state(stop)["disabled"] is False, what="the manual trial started")
    pump(kc, widgets, lambda: widgets.state(stop)["disabled"] is True, what="the manual trial ended")
    last = evaluate(
        kc,
        "(len(study.trials), study.trials[-1].params['x'], study.trials[-1].params['kind'], study.trials[-1].source)",
        widgets,
    )
    assert last[0] == 17 and last[1] == pytest.approx(chosen["x"], abs=1e-4) and last[2:] == (chosen["kind"], "manual")
