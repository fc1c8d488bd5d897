"""A %%tune cell that declares hyperparameters in loops, branches and functions defined in other cells."""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

MODEL = """
def make_optimiser():
    # As training code defined elsewhere is written: the names come from the variables.
    optimiser = hp.choice(["sgd", "adam"])
    if optimiser == "sgd":
        momentum = hp.real(0.0, 0.99)
        return optimiser, 1.0 - momentum
    beta1 = hp.real(0.5, 0.999)
    return optimiser, beta1
"""

CELL = """
%%tune --method {method} --trials 8 --seed 2 --no-panel --name net
n_layers = hp.int(1, 3)
widths = [hp.int(8, 64, log=True, name=f"units_{{i}}") for i in range(n_layers)]
optimiser, setting = make_optimiser()
sum(widths) / 64 + setting
"""


def run(shell: Any, source: str) -> Any:
    return shell.run_cell(textwrap.dedent(source).strip("\n"))


def names(params: dict[str, Any]) -> list[str]:
    widths = [f"units_{i}" for i in range(params["n_layers"])]
    return ["n_layers", *widths, "optimiser", "momentum" if params["optimiser"] == "sgd" else "beta1"]


def test_a_cell_declares_one_width_per_layer_and_each_optimisers_settings(shell: Any, tmp_path: Path) -> None:
    assert run(shell, MODEL).success
    for method in ("random", "bayes"):
        result = run(shell, CELL.format(method=method))
        assert result.success, result.error_in_exec
        study = shell.user_ns["net"]
        assert len(study.trials) == 8
        for trial in study.trials:
            assert list(trial.params) == names(trial.params), trial.params
        best = study.best_params
        assert list(best) == names(best)
        for name in best:
            assert shell.user_ns[name] == best[name], "each hyperparameter the best trial used is bound"
    assert shell.user_ns["make_optimiser"]() == ("sgd", 1.0 - 0.495), "outside %%tune: the defaults"


def test_continue_after_trials_declared_more_keeps_the_study(shell: Any) -> None:
    assert run(shell, MODEL).success
    assert run(shell, CELL.format(method="random")).success
    result = run(shell, CELL.format(method="bayes").replace("--name net", "--name net --resume"))
    assert result.success, result.error_in_exec
    study = shell.user_ns["net"]
    assert len(study.trials) == 16 and all(list(t.params) == names(t.params) for t in study.trials)


def test_a_declaration_in_a_loop_without_a_name_is_refused_before_any_trial(shell: Any) -> None:
    result = run(shell, "%%tune --trials 2 --no-panel\nwidths = [hp.int(8, 64) for _ in range(2)]\nsum(widths)")
    assert isinstance(result.error_in_exec, UsageError)
    assert (
        'needs a name: assign it to a variable, e.g. `x = hp.int(...)`, or pass one, e.g. hp.int(..., name=f"units_{i}")'
        in str(result.error_in_exec)
    )


def test_the_panel_adds_a_row_for_each_declaration_a_trial_meets() -> None:
    from jupyter_hptune import Int, Study, make_sampler
    from jupyter_hptune.core.settings import SearchSettings
    from jupyter_hptune.core.space import Space
    from jupyter_hptune.params import hp
    from jupyter_hptune.widgets import TunePanel

    def network(params: dict[str, Any]) -> float:
        n_layers = hp.int(1, 3)
        widths = [hp.int(8, 64, log=True, name=f"units_{i}") for i in range(n_layers)]
        if hp.choice(["sgd", "adam"], name="optimiser") == "sgd":
            return sum(widths) / 64 + hp.real(0.0, 0.99, name="momentum")
        return sum(widths) / 64

    declared = Space({"n_layers": Int(1, 3)})
    panel = TunePanel(declared, name="net", settings=SearchSettings(method="random", n_trials=10, seed=1))
    study = Study(declared)
    study.subscribe(panel)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a panel that fails on an event warns: here it ends the test
        study.optimize(network, 10, sampler=make_sampler("random", seed=1))
        panel.redraw(final=True)
    rows = panel.controls.rows
    assert set(rows) == set(study.space) == {"n_layers", "units_0", "units_1", "units_2", "optimiser", "momentum"}
    assert rows["units_0"] is rows["units_1"] is rows["units_2"], "one declaration, one row for all its names"
    assert "units_{i}" in rows["units_0"].label.value
    assert len(panel.controls.rows_box.children) == 4
    widths = rows["units_1"]
    widths.slider.index = (widths.slider.index[0] + 8, widths.slider.index[1])  # narrow every width's low end
    space = panel.controls.settings().space
    assert space["units_0"] == space["units_2"] and space["units_0"].low > 8
    assert "units_{i} " in panel.controls.summary_html()
    assert set(panel.plots.posterior_param.options) == set(study.space)
    study.optimize(network, 6, sampler=make_sampler("random", seed=3), space=space)  # Continue: every layer's width
    later = study.trials[10:]
    assert all(t.params[f"units_{i}"] >= space["units_0"].low for t in later for i in range(t.params["n_layers"]))


@pytest.mark.slow
def test_in_a_kernel_the_panel_grows_a_row_per_declaration_and_continue_keeps_them(kernel: Any) -> None:
    from kernels import Widgets, click, execute, pump, set_state

    kc, widgets = kernel.kc, Widgets()
    execute(kc, MODEL, widgets=widgets)
    output = execute(kc, CELL.format(method="bayes").replace(" --no-panel", ""), widgets=widgets)
    assert "failed on" not in output.stderr, output.describe()  # an observer that failed warns so
    labels = [s["value"] for s in widgets.models.values() if s.get("_model_name") == "HTMLModel"]
    assert any("<b>units_{i}</b>" in label for label in labels), "one row for the widths of every layer"
    assert any("<b>optimiser</b>" in label for label in labels)
    trials = widgets.find("TextModel", description="trials")
    set_state(kc, trials, value="4")
    click(kc, widgets.button("Continue"))
    stop = widgets.button("Stop")
    pump(kc, widgets, lambda: widgets.state(stop)["disabled"] is False, what="Continue started")
    pump(kc, widgets, lambda: widgets.state(stop)["disabled"] is True, what="Continue ended")
    expected = (
        "['n_layers', *[f'units_{i}' for i in range(t.params['n_layers'])], 'optimiser', "
        "'momentum' if t.params['optimiser'] == 'sgd' else 'beta1']"
    )
    done = execute(kc, f"print(len(net.trials), all(list(t.params) == {expected} for t in net.trials))")
    assert done.stdout.split() == ["12", "True"], done.describe()


def test_save_to_cell_writes_a_loops_range_at_its_line_once_for_every_layer(shell: Any) -> None:
    from jupyter_hptune.core.settings import SearchSettings
    from jupyter_hptune.core.space import Int, Space
    from jupyter_hptune.protocol import write_cell

    cell = (
        "%%tune --method random --trials 6 --seed 1 --no-panel --storage none --name net\n"
        "n_layers = hp.int(1, 3)\n"
        'widths = [hp.int(8, 64, name=f"units_{i}") for i in range(n_layers)]\n'
        "sum(widths) + make_optimiser()[1]"
    )
    assert run(shell, MODEL).success and run(shell, cell).success
    study = shell.user_ns["net"]
    snapshot = study.snapshot()
    assert snapshot.declared_at["units_0"] == snapshot.declared_at["units_1"] == "line 3 of the cell"
    assert snapshot.declared_at["momentum"].startswith("make_optimiser(), line ")
    narrowed = {name: Int(16, 64) if name.startswith("units_") else dim for name, dim in study.space.items()}
    declared = Space({"n_layers": study.space["n_layers"]})  # what the cell assigns to names
    message = write_cell(
        "net",
        None,
        declared,
        SearchSettings(space=Space(narrowed)),
        study_space=study.space,
        declared_at=snapshot.declared_at,
    )
    assert message["params"] == {
        "line 3": {"kind": "int", "low": "16", "high": "64", "log": False, "drop_default": False, "line": 3}
    }, "one edit for the loop's declaration; make_optimiser's are in another cell"
