"""The side-by-side benchmark's tables, from a small real run of benchmarks/compare.py."""

from __future__ import annotations

import importlib.util
import json
import statistics
from pathlib import Path
from typing import Any

import budget
import compare  # benchmarks/ is on sys.path (conftest.py): a broken benchmark module fails here, not skipped
import liveness
import problems
import pytest


def test_block_table_counts_the_blocks_each_method_leads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "run.json"
    argv = ["--seeds", "4", "--block", "2", "--methods", "hptune-bayes", "hptune-random", "--problems", "Branin"]
    compare.main([*argv, "--trials", "6", "--budgets", "6", "--no-timing", "--jobs", "1", "--json", str(saved)])
    printed = capsys.readouterr().out
    assert "in how many of the 2 blocks of 2 seeds" in printed

    # the counts, worked out again from the saved per-seed results
    runs = json.loads(saved.read_text())["runs"]
    minimum = compare.PROBLEMS["Branin"].minimum
    regret = {(r["method"], r["seed"]): r["best_so_far"][5] - minimum for r in runs}
    wins = {"hptune-bayes": 0, "hptune-random": 0}
    for seeds in ((0, 1), (2, 3)):
        medians = {m: statistics.median(regret[m, s] for s in seeds) for m in wins}
        for m in wins:
            wins[m] += medians[m] <= min(medians.values()) + 1e-9
    row = next(line for line in printed.splitlines() if line.startswith("| Branin @6 |") and " of 2 " in line)
    assert row == f"| Branin @6 | {wins['hptune-bayes']} of 2 | {wins['hptune-random']} of 2 |"

    # a saved run prints the same tables again, and --block 0 leaves this one out
    compare.main(["--from-json", str(saved), "--block", "2"])
    assert row in capsys.readouterr().out
    compare.main(["--from-json", str(saved), "--block", "0"])
    assert "blocks of" not in capsys.readouterr().out


def test_block_must_not_be_negative(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        compare.main(["--block", "-1", "--problems", "--no-timing"])
    assert "--block must be 0 or more, got -1" in capsys.readouterr().err


def test_timing_runs_on_a_chosen_problem_report_the_whole_runs_mean(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--methods", "hptune-bayes", "--problems", "--timing-trials", "6", "--timing-problem"]
    compare.main([*argv, "MLP-layers-standin", "--jobs", "1"])
    printed = capsys.readouterr().out
    assert "one 6-trial run on MLP-layers-standin, seed 0" in printed
    header = next(line for line in printed.splitlines() if line.startswith("| method |"))
    assert "| trials 2-6 | trials 1-6 |" in header, "the last 5 trials and the whole run"
    row = next(line for line in printed.splitlines() if line.startswith("| hptune-bayes |"))
    assert row.count(" ms |") == 3


def test_liveness_delays_are_from_each_finish_to_the_first_image_that_shows_it() -> None:
    log = [
        (10.2, "plot_history", 1),
        (10.9, "plot_posterior", 1),
        (11.6, "plot_history", 3),
        (12.0, "plot_posterior", 3),
    ]
    finished = [10.0, 10.5, 11.0]
    assert liveness.delays(log, finished, {"plot_history"}, 0) == pytest.approx([0.2, 1.1, 0.6])
    assert liveness.delays(log, finished, {"plot_posterior"}, 1) == pytest.approx([1.5, 1.0])
    assert liveness.delays(log, [*finished, 13.0], {"plot_history"}, 3) == [float("inf")], "never shown"
    assert liveness.trials_late(log, finished, {"plot_history"}, 0) == 1, "trial 2 was shown after trial 3 finished"
    assert liveness.trials_late(log, finished, {"plot_posterior"}, 2) == 0


def jenatton_branch(params: dict[str, Any]) -> set[str]:
    """The names of the branch of Jenatton's tree that these params take."""
    if params["x1"] == 0:
        return {"x1", "x2", "r8", "x4" if params["x2"] == 0 else "x5"}
    return {"x1", "x3", "r9", "x6" if params["x3"] == 0 else "x7"}


def test_jenatton_trials_hold_their_branch_or_for_a_fixed_space_method_every_name(tmp_path: Path) -> None:
    saved = tmp_path / "run.json"
    # Optuna is a peer of the benchmarks only (the `bench` extra): its tree is checked where it is installed
    tpe = ["optuna-tpe"] if importlib.util.find_spec("optuna") is not None else []
    methods = ["hptune-bayes", "hptune-random", *tpe, "skopt-gp"]
    argv = ["--seeds", "2", "--methods", *methods, "--problems", "Jenatton", "--trials", "10", "--budgets", "10"]
    compare.main([*argv, "--no-timing", "--jobs", "1", "--json", str(saved)])
    runs = json.loads(saved.read_text())["runs"]
    assert {(r["method"], r["seed"]) for r in runs} == {(m, s) for m in methods for s in (0, 1)}
    jenatton = compare.PROBLEMS["Jenatton"]
    for run in runs:
        assert run["error"] is None and len(run["params"]) == len(run["values"]) == 10
        for params, value in zip(run["params"], run["values"]):
            if run["method"] == "skopt-gp":  # the flattened space: every hyperparameter, whichever branch is taken
                assert set(params) == set(jenatton.space)
                assert value == pytest.approx(jenatton.objective(params))
            else:  # e.g. x4 only when x1 = 0 and x2 = 0
                assert set(params) == jenatton_branch(params), (run["method"], params)
            assert value == pytest.approx(jenatton.tree(problems.Given(params)))
            assert value >= jenatton.minimum
    branches = {tuple(sorted(p)) for r in runs if r["method"] in ("optuna-tpe", "hptune-random") for p in r["params"]}
    assert len(branches) >= 2, "the trials take more than one branch"


def test_the_conditional_mlp_asks_one_width_per_layer_and_the_solvers_own_setting() -> None:
    problem = compare.PROBLEMS["MLP-digits-layers"]
    run = compare.run_one("hptune-random", problem.name, 0, 6)
    assert run["error"] is None
    for params, value in zip(run["params"], run["values"]):
        widths = {f"units_{i}" for i in range(params["n_layers"])}
        setting = "momentum" if params["solver"] == "sgd" else "beta_1"
        assert set(params) == {"n_layers", *widths, "solver", setting, "lr", "alpha"}
        assert 0.0 < value < 1.0
    assert {p["n_layers"] for p in run["params"]} != {1}


def test_budget_searches_run_until_their_trials_trained_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "BUDGETS", (60, 120))
    result = budget.run(("numpy", "random-hb", 0))
    epochs = [spent for spent, _ in result["history"]]
    assert epochs == sorted(epochs) and epochs[-1] >= 120 > epochs[-2]
    assert all(0.0 <= value <= 1.0 for _, value in result["history"])
    assert budget.best_within(result["history"], 60) <= budget.best_within(result["history"], 120)
    spans = [later - earlier for earlier, later in zip([0, *epochs], epochs)]
    assert min(spans) < budget.EPOCHS, "hyperband stopped a trial before its last epoch"


def test_the_notebook_network_learns_the_same_curve_for_the_same_params() -> None:
    pytest.importorskip("torch")
    problem = budget.TorchMLP()
    params = {"lr": 0.1, "lr_decay": 0.9, "momentum": 0.9, "batch_size": 256, "n_layers": 2, "units": 16}
    params |= {"dropout": 0.1, "activation": "tanh"}
    assert set(params) == set(problem.space())
    first, again = list(problem.curve(params)), list(problem.curve(params))
    assert first == again and len(first) == budget.EPOCHS
    assert max(first) > 0.8, "the network learns the digits"
