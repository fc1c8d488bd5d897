"""The %%tune magic through a real IPython shell, as a notebook user runs it."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from jupyter_hptune import Study, TrialState
from jupyter_hptune.core.storage import SQLiteStorage

DIGITS = """
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier
from sklearn.model_selection import cross_val_score
import warnings
from sklearn.exceptions import ConvergenceWarning
warnings.filterwarnings("ignore", category=ConvergenceWarning)
X, y = load_digits(return_X_y=True)
X, y = X[:300] / 16, y[:300]
"""

MLP_CELL = """
lr = hp.real(1e-4, 1e-1, log=True)
units = hp.int(16, 256, log=True)
activation = hp.choice(["relu", "tanh", "logistic"])
clf = MLPClassifier(hidden_layer_sizes=(units,), activation=activation,
                    learning_rate_init=lr, max_iter=30, random_state=0)
cross_val_score(clf, X, y, cv=3).mean()
"""


def run(shell, source, capsys):
    """Run a cell; return its result and what it printed on stdout and stderr."""
    result = shell.run_cell(textwrap.dedent(source).strip("\n"))
    out, err = capsys.readouterr()
    return result, out, err


def tune(shell, line, body, capsys):
    return run(shell, f"%%tune {line}\n{textwrap.dedent(body).strip()}", capsys)


def usage_error(result) -> str:
    assert isinstance(result.error_in_exec, UsageError), result.error_in_exec
    return str(result.error_in_exec)


@pytest.mark.parametrize("method", ["bayes", "random", "grid", "manual"])
def test_the_mlp_example_runs_with_every_method(shell, capsys, method):
    run(shell, DIGITS, capsys)
    options = {"bayes": "--trials 5", "random": "--trials 4", "grid": "--trials 4 --grid-points 2", "manual": ""}
    result, out, _ = tune(shell, f"--method {method} --maximize --seed 0 {options[method]}", MLP_CELL, capsys)
    assert result.success, result.error_in_exec
    study = shell.user_ns["study"]
    assert isinstance(study, Study)
    assert len(study.trials) == {"bayes": 5, "random": 4, "grid": 4, "manual": 1}[method]
    assert f"Study 'study': {len(study.trials)} trial" in out and "Best score" in out
    assert shell.user_ns["lr"] == study.best_params["lr"] and type(shell.user_ns["lr"]) is float
    assert type(shell.user_ns["units"]) is int and type(shell.user_ns["activation"]) is str
    assert "clf" not in shell.user_ns, "a trial's variables leak into the notebook"
    assert 0.5 < study.best_value <= 1.0
    assert Path(".hptune/study.sqlite").exists()


def test_without_the_magic_the_cell_runs_with_the_defaults(shell, capsys):
    result, _, _ = run(
        shell,
        """
        lr = hp.real(1e-4, 1e-2, log=True)
        units = hp.int(16, 256, log=True)
        act = hp.choice(["relu", "tanh"])
        drop = hp.real(0, 0.5, default=0.1)
        (lr, units, act, drop)
        """,
        capsys,
    )
    assert result.result == (pytest.approx(1e-3), 64, "relu", 0.1)


def test_hp_is_importable_and_an_alias_works(shell, capsys):
    result, _, _ = tune(
        shell,
        "--method random --trials 3 --seed 0",
        """
        from jupyter_hptune import hp as h
        x = h.real(0, 1)
        x
        """,
        capsys,
    )
    assert result.success, result.error_in_exec
    assert len(shell.user_ns["study"].trials) == 3


def test_a_declaration_function_under_another_name_is_refused_before_any_trial(shell, capsys):
    run(shell, "R = hp.real", capsys)
    result, out, _ = tune(shell, "--method random --trials 3", "y = R(-1, 1)\ny", capsys)
    assert "`R` is hp.real under another name" in usage_error(result) and "trial" not in out
    result, out, _ = tune(shell, "--method random --trials 3", "I = hp.int\nn = I(1, 3)\nn", capsys)
    assert "gives hp.int another name" in usage_error(result) and "trial" not in out
    assert "study" not in shell.user_ns


def test_trials_see_the_notebook_but_do_not_change_it(shell, capsys):
    run(shell, "offset = 10\ncalls = []", capsys)
    result, _, _ = tune(
        shell,
        "--method random --trials 3 --seed 1",
        """
        x = hp.int(1, 5)
        calls.append(x)
        offset = -100
        x + offset
        """,
        capsys,
    )
    assert result.success
    assert shell.user_ns["offset"] == 10
    assert len(shell.user_ns["calls"]) == 3
    assert shell.user_ns["study"].best_value == shell.user_ns["x"] - 100


def test_score_from_a_variable(shell, capsys):
    result, _, _ = tune(
        shell,
        "--method grid --grid-points 3 --maximize --score acc",
        """
        x = hp.real(0, 1)
        acc = 1 - (x - 0.5) ** 2
        print("done")
        """,
        capsys,
    )
    assert result.success
    assert shell.user_ns["x"] == 0.5 and shell.user_ns["study"].best_value == 1.0


def test_a_missing_score_variable_fails_each_trial_clearly(shell, capsys):
    result, out, err = tune(shell, "--method random --trials 2 --score acc", "x = hp.real(0, 1)\nacs = x", capsys)
    assert "the cell did not set the score variable 'acc'" in out
    assert "all 2 trials failed" in usage_error(result)


@pytest.mark.parametrize(
    ("line", "body", "message"),
    [
        ("", "x = hp.real(0, 1)\ny = x * 2", "the cell has no score: end it with an expression"),
        ("", "x = 3\nx", "the cell declares no hyperparameters"),
        ("", "x = hp.real(0, 1)\nx +", "the cell has a syntax error on line 4: invalid syntax"),
        ("", "x = hp.real(0, 1)\nx = hp.int(1, 5)\nx", r"hyperparameter 'x' is declared twice \(lines 3 and 4\)"),
        ("", "x = hp.real(1, 0)\nx", r"hyperparameter 'x': low \(1.0\) must be less than high \(0.0\)"),
        ("", "u = hp.int(0, 9, log=True)\nu", "hyperparameter 'u': a log range needs low > 0"),
        ("", "c = hp.choice([])\nc", "hyperparameter 'c': options must not be empty"),
        ("", "print(hp.real(0, 1))\n1", r"line 3: hp.real\(...\) needs a name: assign it to a variable"),
        ("", "a, b = hp.real(0, 1), 2\na", r"line 3: hp.real\(...\) needs a name"),
        ("", "x = hp.real(0, 1)\nif x > 0.5:\n    x = hp.real(0, 2)\nx", r"'x' is declared twice \(lines 3 and 5\)"),
        ("", "n = 5\nk = hp.int(1, n)\nk", "hyperparameter 'k': its arguments must be computable before the cell runs"),
        ("--method annealing", "x = hp.real(0, 1)\nx", "argument --method: invalid choice: 'annealing'"),
        ("--trials -2", "x = hp.real(0, 1)\nx", "--trials must be a positive integer, got -2"),
        ("--trials many", "x = hp.real(0, 1)\nx", "argument --trials: invalid int value: 'many'"),
        ("--seed -4", "x = hp.real(0, 1)\nx", "seed must be an integer from 0"),
        ("--timeout 0", "x = hp.real(0, 1)\nx", "--timeout must be a positive number of seconds"),
        ("--method random --acq EI", "x = hp.real(0, 1)\nx", "--acq applies to --method bayes, not random"),
        ("--grid-points 3", "x = hp.real(0, 1)\nx", "--grid-points applies to --method grid, not bayes"),
        ("", "hp = hp.real(0, 1)\nhp", "line 3: a hyperparameter can't be named 'hp'"),
        ("--name x", "x = hp.real(0, 1)\nx", "--name x is also a hyperparameter's name"),
        ("--storage /proc/nope/s.sqlite", "x = hp.real(0, 1)\nx", "cannot open the study file /proc/nope/s.sqlite"),
        ("--name 2nd", "x = hp.real(0, 1)\nx", "--name must be a valid Python variable name"),
        ("--minimize --maximize", "x = hp.real(0, 1)\nx", "--minimize and --maximize contradict each other"),
        ("--method manual --trials 3", "x = hp.real(0, 1)\nx", "--trials does not apply to --method manual"),
        ("--method manual --point 'y=1'", "x = hp.real(0, 1)\nx", "unknown hyperparameter 'y'"),
        (
            "--method manual --point 'x=3'",
            "x = hp.real(0, 1)\nx",
            r"hyperparameter 'x': value 3.0 is outside the range",
        ),
        ("--method manual --point 'x:3'", "x = hp.real(0, 1)\nx", "write name=value pairs separated by commas"),
        ("--method grid", "x = hp.int(1, 10**5)\ny = hp.int(1, 10**5)\nx", "the grid has 10,000,000,000 points"),
    ],
)
def test_bad_input_is_refused_before_any_trial(shell, capsys, line, body, message):
    run(shell, "calls = []", capsys)
    result, _, _ = tune(shell, line, "calls.append(1)\n" + body, capsys)
    assert re.search(message, usage_error(result)), usage_error(result)
    assert shell.user_ns["calls"] == [], "a trial ran"
    assert "study" not in shell.user_ns


def test_manual_points_with_defaults_filling_the_rest(shell, capsys):
    result, out, _ = tune(
        shell,
        """--method manual --point "lr=0.01, act='tanh'" --point 'units=32' --name picks""",
        """
        lr = hp.real(1e-4, 1e-1, log=True, default=1e-3)
        units = hp.int(16, 256, default=64)
        act = hp.choice(["relu", "tanh"])
        lr * units
        """,
        capsys,
    )
    assert result.success, result.error_in_exec
    trials = shell.user_ns["picks"].trials
    assert [dict(t.params) for t in trials] == [
        {"lr": 0.01, "units": 64, "act": "tanh"},
        {"lr": 0.001, "units": 32, "act": "relu"},
    ]
    assert shell.user_ns["units"] == 32


def test_options_expand_notebook_variables_as_in_any_magic(shell, capsys):
    run(shell, "budget = 3\nfirst = 0.25", capsys)
    result, _, _ = tune(
        shell,
        '--method random --trials {budget + 1} --seed $budget --point "x={first}"',
        "x = hp.real(0, 1)\nx",
        capsys,
    )
    assert result.success, result.error_in_exec
    study = shell.user_ns["study"]
    assert len(study.trials) == 4 and study.trials[0].params == {"x": 0.25}
    assert study.snapshot().seed == 3


def test_resume_adds_trials_to_the_saved_study_and_mixes_methods(shell, capsys):
    body = "x = hp.real(-2, 2)\nk = hp.int(1, 3)\n(x - 0.3) ** 2 + k"
    _, out, _ = tune(shell, "--method manual --point 'x=0.0, k=1' --resume", body, capsys)
    assert out.splitlines()[0] == "No saved study 'study' to resume; starting a new one"
    _, out, _ = tune(shell, "--method random --trials 3 --seed 0 --resume", body, capsys)
    assert "No saved study" not in out
    result, out, _ = tune(shell, "--method bayes --trials 4 --seed 0 --resume", body, capsys)
    assert result.success
    study = shell.user_ns["study"]
    assert [t.number for t in study.trials] == list(range(8))
    assert [t.source for t in study.trials][:1] == ["manual"]
    assert "model fitted on 4 earlier trials" in out
    assert "8 trials in the study" in out
    assert len(SQLiteStorage(".hptune/study.sqlite").load("study").trials) == 8


def test_a_new_study_says_where_the_saved_one_went(shell, capsys):
    tune(shell, "--method random --trials 3 --seed 0", "x = hp.real(0, 1)\nx", capsys)
    _, out, _ = tune(shell, "--method random --trials 2 --seed 1", "x = hp.real(0, 1)\nx", capsys)
    assert out.splitlines()[0] == (
        "New study 'study': the saved one (3 trials) is kept in .hptune/study.previous.sqlite; "
        "use --resume to add trials to a saved study instead"
    )
    assert len(SQLiteStorage(".hptune/study.previous.sqlite").load("study").trials) == 3
    assert len(SQLiteStorage(".hptune/study.sqlite").load("study").trials) == 2


def test_resume_of_a_changed_cell_says_what_changed(shell, capsys):
    tune(shell, "--method random --trials 2 --seed 0", "x = hp.real(0, 1)\nx", capsys)
    result, _, _ = tune(shell, "--method random --trials 2 --resume", "x = hp.real(0, 2)\nx", capsys)
    assert "'x' changed from real [0, 1] to real [0, 2]" in usage_error(result)
    assert len(SQLiteStorage(".hptune/study.sqlite").load("study").trials) == 2


def test_a_failing_trial_is_shown_briefly_and_the_search_goes_on(shell, capsys):
    result, out, err = tune(
        shell,
        "--method grid",
        """
        k = hp.int(1, 4)
        if k == 3:
            raise ValueError("k=3 is unstable")
        k
        """,
        capsys,
    )
    assert result.success
    assert "failed: ValueError: k=3 is unstable" in out
    assert "Traceback" not in out + err
    assert "3 complete, 1 failed" in out
    failed = shell.user_ns["study"].trials[2]
    assert failed.state is TrialState.FAILED and 'raise ValueError("k=3 is unstable")' in failed.traceback


def test_when_every_trial_fails_the_first_traceback_is_shown_in_full(shell, capsys):
    result, out, err = tune(
        shell,
        "--method random --trials 20 --seed 0",
        """
        x = hp.real(0, 1)
        model = undefined_model(x)
        model.score()
        """,
        capsys,
    )
    assert "the search stopped" not in out
    assert "Traceback (most recent call last)" in err and "undefined_model(x)" in err
    assert "NameError: name 'undefined_model' is not defined" in err
    assert "all 5 trials failed" in usage_error(result)
    assert len(shell.user_ns["study"].trials) == 5


def test_when_every_score_is_nan_the_first_failure_is_named_without_a_traceback_heading(shell, capsys):
    result, out, err = tune(shell, "--method random --trials 3", "x = hp.real(0, 1)\nfloat('nan')", capsys)
    assert "all 3 trials failed" in usage_error(result)
    assert "Every trial failed. The first one: the score is nan" in err
    assert "traceback" not in err.lower()


def test_a_score_that_is_not_a_number(shell, capsys):
    result, _, _ = tune(shell, "--method random --trials 5", "x = hp.real(0, 1)\nprint(x)", capsys)
    assert "the score must be a number, got NoneType None" in usage_error(result)
    assert len(shell.user_ns["study"].trials) == 1


def test_an_interrupt_ends_the_search_cleanly(shell, capsys):
    run(shell, "count = [0]", capsys)
    result, out, _ = tune(
        shell,
        "--method random --trials 10 --seed 0",
        """
        x = hp.real(0, 1)
        count[0] += 1
        if count[0] == 4:
            raise KeyboardInterrupt
        x
        """,
        capsys,
    )
    assert isinstance(result.error_in_exec, KeyboardInterrupt), "Run All must stop after an interrupted search"
    assert "search interrupted; 3 finished trials are kept in `study`" in str(result.error_in_exec)
    assert "Search ended early: interrupted; finished trials are kept." in out
    study = shell.user_ns["study"]
    assert [t.state.value for t in study.trials] == ["complete"] * 3 + ["interrupted"]
    assert shell.user_ns["x"] == study.best_params["x"]
    assert len(SQLiteStorage(".hptune/study.sqlite").load("study").trials) == 4


def test_storage_option(shell, capsys):
    tune(shell, "--method random --trials 2 --storage runs/mine.sqlite", "x = hp.real(0, 1)\nx", capsys)
    assert len(SQLiteStorage("runs/mine.sqlite").load("study").trials) == 2
    tune(shell, "--method random --trials 2 --storage none --name mem", "x = hp.real(0, 1)\nx", capsys)
    assert not Path(".hptune/mem.sqlite").exists()
    assert shell.user_ns["mem"].storage is None


def test_grid_states_its_size_before_running(shell, capsys):
    _, out, _ = tune(
        shell, "--method grid --trials 5 --seed 2", "a = hp.int(1, 4)\nb = hp.choice(['x', 'y'])\na", capsys
    )
    assert out.splitlines()[0] == "Grid of 8 points (4 a × 2 b); running a shuffled subset of 5 (seed 2)"


def test_help_lists_every_option_with_an_example(shell):
    doc = shell.find_cell_magic("tune").__doc__
    for option in (
        "--method",
        "--trials",
        "--timeout",
        "--minimize",
        "--maximize",
        "--seed",
        "--name",
        "--resume",
        "--acq",
        "--initial-points",
        "--grid-points",
        "--point",
        "--score",
        "--storage",
        "--jobs",
        "--cluster",
    ):
        assert option in doc
    assert "%%tune --method bayes --trials 30 --maximize" in doc


def test_a_cell_for_workers_carries_only_the_notebook_variables_it_reads(shell, capsys):
    from jupyter_hptune.cell import compile_cell

    run(shell, "import numpy as np\nX = np.ones((3, 2))\ny = [1, 2, 3]\nunused = object()\nx = 7\nk = 2", capsys)
    run(shell, "def helper(v):\n    return v * k", capsys)
    cell = """
    from jupyter_hptune import hp as h
    alpha = h.real(0.1, 1.0)
    x = alpha * 2
    scores = [helper(v) for v in y if v != x]
    def shifted(k):
        return k + x
    sum(scores) + X.sum() + shifted(x)
    """
    objective = compile_cell(shell, textwrap.dedent(cell), None)
    program = objective.run.for_workers()
    # x is set before it is read, unused and k are not read by the cell (helper takes k with it), h is hp
    assert sorted(program.variables) == ["X", "helper", "y"]
    assert program({"alpha": 0.5}) == objective.run({"alpha": 0.5}) == (2 + 3) * 2 + 6 + 2
