"""hp.report, hp.should_stop, --prune, --patience and --max-steps through a real IPython shell."""

from __future__ import annotations

import re
import sqlite3

import pytest
from test_magic import run, tune, usage_error

from jupyter_hptune import TrialState
from jupyter_hptune.core.storage import SQLiteStorage

CURVES = """
import math
def validation(quality, epoch):
    '''A learning curve that rises towards `quality` and, past epoch 12, slowly falls (overfitting).'''
    return quality * (1 - math.exp(-0.3 * epoch)) - 0.002 * max(0, epoch - 12) ** 2
"""

POLLING_CELL = """
quality = hp.real(0.0, 1.0)
for epoch in range(1, 21):
    score = validation(quality, epoch)
    hp.report(epoch, score)
    if hp.should_stop():
        break
score
"""

# No should_stop(): a pruned trial ends in the exception hp.report raises, which the cell does not catch.
UNAWARE_CELL = """
quality = hp.real(0.0, 1.0)
for epoch in range(1, 21):
    hp.report(epoch, validation(quality, epoch))
validation(quality, 20)
"""


@pytest.mark.parametrize("body", [POLLING_CELL, UNAWARE_CELL], ids=["polling", "exception"])
def test_median_pruning_in_a_cell_marks_pruned_trials_and_counts_the_steps_saved(shell, capsys, body):
    run(shell, CURVES, capsys)
    result, out, err = tune(shell, "--method random --trials 20 --seed 0 --maximize --prune median", body, capsys)
    assert result.success, result.error_in_exec
    assert "Traceback" not in out + err
    study = shell.user_ns["study"]
    pruned = [t for t in study.trials if t.state is TrialState.PRUNED]
    complete = [t for t in study.trials if t.state is TrialState.COMPLETE]
    assert len(pruned) >= 5 and len(pruned) + len(complete) == 20
    for trial in pruned:
        line = f"trial {trial.number:>3}  pruned: at step {trial.last_step}, {trial.value:.4g} is worse than the median"
        assert line in out, out
    best = max(study.trials, key=lambda t: t.params["quality"])
    assert best.state is TrialState.COMPLETE and study.best_trial.number == best.number
    assert shell.user_ns["quality"] == best.params["quality"]
    run_steps = sum(t.last_step for t in study.trials)
    saved = 20 * 20 - run_steps
    assert f"{len(complete)} complete, {len(pruned)} pruned" in out
    assert f"Steps run: {run_steps} instead of 400 with every trial run to the end ({saved} saved" in out
    assert f": {len(pruned)} pruned (median)" in out
    for trial in complete:
        assert f"best at step {trial.best_step} of 20]" in out, "a complete trial's line says where its best step was"
    with sqlite3.connect(".hptune/study.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM steps").fetchone()[0] == run_steps
    assert SQLiteStorage(".hptune/study.sqlite").load("study").trials == study.trials


@pytest.mark.parametrize("max_steps", [None, 20])
def test_patience_stops_each_trial_after_its_best_epoch_and_scores_that_epoch(shell, capsys, max_steps):
    run(shell, CURVES, capsys)
    line = "--method random --trials 4 --seed 1 --maximize --patience 3"
    result, out, _ = tune(shell, line + (f" --max-steps {max_steps}" if max_steps else ""), POLLING_CELL, capsys)
    assert result.success, result.error_in_exec
    study = shell.user_ns["study"]
    for trial in study.trials:
        values = dict(trial.intermediate)
        best_step = max(values, key=values.get)
        assert trial.best_step == best_step and trial.last_step == best_step + 3 < 20
        assert trial.value == values[best_step]
        assert f"best at step {best_step} of {best_step + 3}]" in out
    best = study.best_trial
    assert f"Best score {best.value:.4g} at trial {best.number}, step {best.best_step}:" in out
    run_steps = sum(t.last_step for t in study.trials)
    if max_steps is None:
        assert f"Steps run: {run_steps} (give max steps to count the steps saved): 4 stopped early (patience 3)" in out
    else:
        saved = 80 - run_steps
        assert f"Steps run: {run_steps} instead of 80 with every trial run to the end ({saved} saved, " in out
        assert "): 4 stopped early (patience 3)" in out


def test_hyperband_with_max_steps_in_a_cell(shell, capsys):
    run(shell, CURVES, capsys)
    result, out, _ = tune(
        shell, "--method bayes --trials 12 --seed 0 --maximize --prune hyperband --max-steps 9", POLLING_CELL, capsys
    )
    assert result.success, result.error_in_exec
    study = shell.user_ns["study"]
    assert all(t.last_step <= 9 for t in study.trials), "hp.should_stop() ends every trial at --max-steps"
    assert any(t.state is TrialState.PRUNED for t in study.trials)
    assert "pruned (hyperband)" in out
    snapshot = study.snapshot()
    assert (snapshot.prune, snapshot.max_steps, snapshot.patience) == ("hyperband", 9, None)


def test_outside_a_search_report_does_nothing_and_should_stop_is_false(shell, capsys):
    run(shell, CURVES, capsys)
    result, _, _ = run(shell, POLLING_CELL + "\n(epoch, hp.should_stop())", capsys)
    assert result.success and result.result == (20, False)


def test_options_without_reports_say_they_had_nothing_to_act_on(shell, capsys):
    result, out, _ = tune(shell, "--method random --trials 3 --seed 0 --patience 2", "x = hp.real(0, 1)\nx", capsys)
    assert result.success
    assert (
        "No trial reported a value with hp.report(step, value), so pruning and patience had nothing to act on." in out
    )
    assert "Steps run" not in out


def test_a_bad_report_fails_its_trial_with_the_reason(shell, capsys):
    result, out, _ = tune(
        shell,
        "--method random --trials 3 --seed 0",
        "x = hp.real(0, 1)\nhp.report(1, x)\nhp.report(1, x)\nx",
        capsys,
    )
    assert "failed: ValueError: report(step, value): step 1 comes after step 1" in out
    assert "all 3 trials failed" in usage_error(result)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--prune annealing", r"argument --prune: invalid choice: 'annealing'"),
        ("--prune hyperband", r"--prune hyperband needs --max-steps: the steps"),
        ("--patience 0", r"--patience must be a positive integer, got 0"),
        ("--patience two", r"argument --patience: invalid int value: 'two'"),
        ("--max-steps -1", r"--max-steps must be a positive integer, got -1"),
    ],
)
def test_bad_pruning_options_are_refused_before_any_trial(shell, capsys, line, message):
    run(shell, "calls = []", capsys)
    result, _, _ = tune(shell, line, "calls.append(1)\nx = hp.real(0, 1)\nx", capsys)
    assert re.search(message, usage_error(result)), usage_error(result)
    assert shell.user_ns["calls"] == [], "a trial ran"


def test_help_shows_the_pruning_options_and_an_example(shell):
    doc = shell.find_cell_magic("tune").__doc__
    for option in ("--prune", "--patience", "--max-steps", "hp.report(epoch, score)", "hp.should_stop()"):
        assert option in doc
