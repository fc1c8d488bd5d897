"""End-to-end: `%%tune` in a real IPython kernel, interrupted and killed as a user would."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from kernels import TIMEOUT, Kernel, Output, collect, evaluate, execute, start

from jupyter_hptune.core.storage import SQLiteStorage
from jupyter_hptune.core.trial import TrialState

pytestmark = pytest.mark.slow

SLEEPY_CELL = """\
%%tune --method random --trials {trials} --seed 0 --name {name} {extra}
x = hp.real(-5.0, 5.0)
kind = hp.choice(["a", "b"])
time.sleep(0.3)
(x - 1.0) ** 2 + (kind == "b")
"""


def wait_for_trials(kc, output: Output, count: int) -> None:
    collect(kc, output, until=lambda out: len(out.complete_lines) >= count)
    assert not output.idle, f"the cell ended before {count} trials\n{output.describe()}"


def test_tune_binds_study_and_best_params_without_leaking(kernel: Kernel, tmp_path: Path) -> None:
    kc = kernel.kc
    execute(
        kc,
        "from sklearn.datasets import load_breast_cancer\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.model_selection import cross_val_score\n"
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import StandardScaler\n"
        "X, y = load_breast_cancer(return_X_y=True)",
    )
    output = execute(
        kc,
        "%%tune --method random --trials 4 --seed 0 --maximize --name s\n"
        "C = hp.real(1e-3, 1e2, log=True)\n"
        "clf = make_pipeline(StandardScaler(), LogisticRegression(C=C))\n"
        "cv_scores = cross_val_score(clf, X, y, cv=3)\n"
        "cv_scores.mean()\n",
    )
    assert "Best score" in output.stdout, output.describe()
    assert [n for n, _ in output.trial_lines] == [0, 1, 2, 3], output.describe()
    assert "4 complete" in output.stdout

    state = evaluate(
        kc,
        "dict(study_type=type(s).__name__, c_type=type(C).__name__, c_is_best=C == s.best_params['C'], "
        "best=s.best_value, n=len(s.trials), leaked=[n for n in ('clf', 'cv_scores') if n in globals()], "
        "states=[t.state.value for t in s.trials])",
    )
    assert state["study_type"] == "Study"
    assert state["c_type"] == "float"
    assert state["c_is_best"] is True
    assert 0.9 < state["best"] <= 1.0
    assert state["n"] == 4 and state["states"] == ["complete"] * 4
    assert state["leaked"] == []
    assert (tmp_path / ".hptune" / "s.sqlite").is_file()


def test_interrupt_keeps_finished_trials(kernel: Kernel, tmp_path: Path) -> None:
    km, kc = kernel.km, kernel.kc
    output = start(kc, SLEEPY_CELL.format(trials=50, name="s", extra=""))
    queued = start(kc, "print('the next cell ran')")  # as in Run All: a cell waiting behind the search
    wait_for_trials(kc, output, 2)
    time.sleep(0.1)  # into the next trial's sleep, past the short pause between trials
    km.interrupt_kernel()
    collect(kc, output)
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    while reply["parent_header"].get("msg_id") != queued.msg_id:
        reply = kc.get_shell_msg(timeout=TIMEOUT)

    assert [e["ename"] for e in output.errors] == ["KeyboardInterrupt"], output.describe()
    assert "finished trials are kept in `s`" in output.errors[0]["evalue"]
    shown = output.errors[0]["traceback"]  # what the notebook shows and saves: one line, none of the package's frames
    assert len(shown) == 1 and shown[0].startswith("KeyboardInterrupt: search interrupted"), shown
    assert reply["content"]["status"] == "aborted", "the cell queued after an interrupted search still ran"
    assert "Best score" in output.stdout, output.describe()
    assert "interrupted" in output.stdout.split("Best score")[-1], output.describe()
    printed = output.complete_lines
    assert len(printed) >= 2
    assert output.trial_lines[-1] == (len(printed), "interrupted:"), output.describe()

    state = evaluate(
        kc,
        "dict(states=[t.state.value for t in s.trials], numbers=[t.number for t in s.trials], "
        "x_is_best=x == s.best_params['x'], kind_is_best=kind == s.best_params['kind'], "
        "x_type=type(x).__name__, best=s.best_trial.number)",
    )
    states = state["states"]
    assert states[-1] == "interrupted", state
    assert states[:-1] == ["complete"] * (len(states) - 1), state
    assert len(states) - 1 >= 2
    assert state["numbers"] == list(range(len(states)))
    assert state["x_is_best"] and state["kind_is_best"] and state["x_type"] == "float", state

    path = tmp_path / ".hptune" / "s.sqlite"
    assert path.is_file()
    storage = SQLiteStorage(path)
    try:
        stored = storage.load("s")
    finally:
        storage.close()
    assert [t.state.value for t in stored.trials] == states
    for number, value in printed.items():
        assert stored.trials[number].state is TrialState.COMPLETE
        assert f"{stored.trials[number].value:.4g}" == value
    assert stored.trials[-1].error == "interrupted by the user"


def test_kill_keeps_saved_trials_and_resume_continues(kernels, tmp_path: Path) -> None:
    first = kernels()
    output = start(first.kc, SLEEPY_CELL.format(trials=50, name="k", extra=""))
    wait_for_trials(first.kc, output, 3)
    # Kill in the middle of the next trial's sleep: the line is printed a few milliseconds before that trial is
    # committed to the study file as running.
    time.sleep(0.1)
    os.kill(first.km.provisioner.process.pid, signal.SIGKILL)
    first.km.provisioner.process.wait(timeout=10)

    path = tmp_path / ".hptune" / "k.sqlite"
    storage = SQLiteStorage(path)
    try:
        stored = storage.load("k").trials
    finally:
        storage.close()
    printed = output.complete_lines
    assert len(printed) >= 3
    for number, value in printed.items():
        trial = stored[number]
        assert trial.state is TrialState.COMPLETE, trial
        assert f"{trial.value:.4g}" == value
    assert [t.number for t in stored] == list(range(len(stored)))
    # The trial running when the kernel died was saved as running and is read back as interrupted;
    # any between the last printed one and it had finished (its line was not read before the kill).
    last = stored[-1]
    assert len(stored) > len(printed), "no trial was running when the kernel died"
    assert last.state is TrialState.INTERRUPTED, last
    assert last.error == "the process ended while this trial ran"
    assert all(t.state is TrialState.COMPLETE for t in stored[:-1])

    second = kernels()
    resumed = execute(second.kc, SLEEPY_CELL.format(trials=3, name="k", extra="--resume"))
    assert "Best score" in resumed.stdout, resumed.describe()
    new_numbers = list(range(len(stored), len(stored) + 3))
    assert [n for n, _ in resumed.trial_lines] == new_numbers, resumed.describe()

    state = evaluate(second.kc, "dict(states=[t.state.value for t in k.trials], resumed=k.resumed)")
    assert state["resumed"] is True
    assert state["states"] == [t.state.value for t in stored] + ["complete"] * 3

    storage = SQLiteStorage(path)
    try:
        after = storage.load("k").trials
    finally:
        storage.close()
    assert [t.number for t in after] == list(range(len(stored) + 3))
    assert after[: len(stored)] == stored
    assert [t.state for t in after[len(stored) :]] == [TrialState.COMPLETE] * 3


def test_an_interrupt_between_two_trials_ends_the_search_the_same_way(kernel: Kernel) -> None:
    km, kc = kernel.km, kernel.kc
    # Trials of 1 s leave a 0.1 s pause between them, when the kernel's own interrupt handler is in place.
    output = start(kc, SLEEPY_CELL.format(trials=20, name="p", extra="").replace("time.sleep(0.3)", "time.sleep(1.0)"))
    wait_for_trials(kc, output, 1)
    km.interrupt_kernel()
    collect(kc, output)
    assert [e["ename"] for e in output.errors] == ["KeyboardInterrupt"], output.describe()
    assert "finished trials are kept in `p`" in output.errors[0]["evalue"]
    assert output.errors[0]["traceback"] == [f"KeyboardInterrupt: {output.errors[0]['evalue']}"], output.errors[0]
    states = evaluate(kc, "[t.state.value for t in p.trials]")
    assert states[0] == "complete" and len(states) <= 2, states
    assert set(states[1:]) <= {"interrupted"}, states
