"""Pruning end to end in a real kernel: a cell that reports each epoch, its panel, and a Run with other settings."""

from __future__ import annotations

import pytest
from kernels import Kernel, Widgets, click, evaluate, execute, pump, set_state

pytestmark = pytest.mark.slow

CELL = """\
%%tune --method random --trials 12 --seed 0 --maximize --prune hyperband --max-steps 9 --patience 3
quality = hp.real(0.0, 1.0)
for epoch in range(1, 10):
    time.sleep(0.005)
    score = quality * (1 - 0.7 ** epoch)
    hp.report(epoch, score)
    if hp.should_stop():
        break
score
"""


def test_a_cell_that_reports_each_epoch_is_pruned_and_shown_in_the_panel(kernel: Kernel) -> None:
    kc, widgets = kernel.kc, Widgets()
    output = execute(kc, CELL, widgets=widgets)
    state = evaluate(
        kc,
        "dict(states=[t.state.value for t in study.trials], steps=[t.last_step for t in study.trials], "
        "quality=[t.params['quality'] for t in study.trials], best=study.best_trial.number, bound=quality)",
        widgets,
    )
    pruned = [n for n, s in enumerate(state["states"]) if s == "pruned"]
    assert pruned and set(state["states"]) == {"complete", "pruned"}, state
    assert [n for n, value in output.trial_lines if value == "pruned:"] == pruned, output.describe()
    assert state["best"] == max(range(12), key=lambda n: state["quality"][n]), "the best trial was not pruned"
    assert state["bound"] == state["quality"][state["best"]]
    run = sum(state["steps"])
    assert f"Steps run: {run} instead of 108 with every trial run to the end ({108 - run} saved" in output.stdout
    assert f"{len(pruned)} pruned (hyperband)" in output.stdout
    final = widgets.displayed[-1]
    assert "Steps run" in final["text/plain"] and final["image/png"], "the saved display carries the summary"

    # The panel: opened on the learning curves, pruned trials counted, the cell's pruning settings in its controls.
    tabs = next(s for s in widgets.models.values() if s.get("_model_name") == "TabModel")
    assert tabs["titles"][tabs["selected_index"]] == "Curves"
    status = widgets.state(widgets.find("HTMLModel", _dom_classes=["hptune-status"]))["value"]
    assert f"{len(pruned)} pruned" in status and f"{108 - run} of 108 steps saved" in status
    prune = widgets.find("DropdownModel", _options_labels=["none", "median", "halving", "hyperband"])
    patience = widgets.find("TextModel", description="patience")
    assert widgets.state(prune)["index"] == 3 and widgets.state(patience)["value"] == "3"

    # Run again from the panel with the median rule and no patience: the new search takes them.
    set_state(kc, prune, index=1)
    set_state(kc, patience, value="")
    click(kc, widgets.button("Run"))
    stop = widgets.button("Stop")
    pump(kc, widgets, lambda: widgets.state(stop)["disabled"] is False, what="the panel's search started")
    pump(kc, widgets, lambda: widgets.state(stop)["disabled"] is True, what="the panel's search ended")
    again = evaluate(kc, "(study.snapshot().prune, study.snapshot().patience, len(study.trials))", widgets)
    assert again == ("median", None, 12)
