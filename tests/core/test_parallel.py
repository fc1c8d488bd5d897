"""Trials on Dask workers: a real LocalCluster of 2 worker processes, shared by the tests of this module."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from clusters import local_client
from IPython.core.error import UsageError

from jupyter_hptune import Choice, Real, Study, TrialState, tune
from jupyter_hptune.core.errors import ScoreError, StudyError
from jupyter_hptune.core.events import SearchStarted, TrialFinished, WorkersUpdated
from jupyter_hptune.core.samplers import make_sampler
from jupyter_hptune.core.storage import SQLiteStorage

distributed = pytest.importorskip("distributed")

SPACE = {"x": Real(-5.0, 5.0), "kind": Choice(["a", "b"])}


def score(params) -> float:
    return (params["x"] - 1.0) ** 2 + (params["kind"] == "b")


def sleepy(params) -> float:
    time.sleep(0.4)
    return score(params)


@pytest.fixture(scope="module")
def client():
    """A local Dask cluster of 2 worker processes and a client to it (not the default client)."""
    with local_client(2) as client:
        yield client


def overlapping(trials) -> bool:
    """Whether two of the trials ran at the same time."""
    spans = sorted((t.started, t.finished) for t in trials)
    return any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:]))


def saved_trials(path: Path, name: str):
    storage = SQLiteStorage(path)
    try:
        return storage.load(name).trials
    finally:
        storage.close()


def test_a_search_on_a_client_runs_two_trials_at_once_and_saves_them(client, tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    events: list[object] = []
    began = time.perf_counter()
    study = tune(
        sleepy, SPACE, method="random", n_trials=8, seed=0, client=client, storage=path, observers=[events.append]
    )
    took = time.perf_counter() - began
    alone = tune(score, SPACE, method="random", n_trials=8, seed=0)

    assert [t.number for t in study.trials] == list(range(8))
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 8
    assert [t.params for t in study.trials] == [t.params for t in alone.trials], "the seed decides the points"
    assert [t.value for t in study.trials] == [t.value for t in alone.trials]
    assert all(type(t.params["x"]) is float and type(t.value) is float for t in study.trials)
    assert all(0.35 < t.duration < 3 for t in study.trials)
    assert overlapping(study.trials)
    assert took < 8 * 0.4, f"8 trials of 0.4 s on 2 workers took {took:.1f} s"
    assert saved_trials(path, "study") == study.trials

    started = next(e for e in events if isinstance(e, SearchStarted))
    assert "up to 2 trials at once on the Dask cluster at tcp://127.0.0.1:" in started.note
    activity = [e.workers for e in events if isinstance(e, WorkersUpdated)]
    assert {w.name for workers in activity for w in workers} == {"0", "1"}
    assert any(all(w.trial is not None for w in workers) for workers in activity), "never both workers busy"
    assert all(w.trial is None for w in activity[-1]), "the last update shows the workers idle"


def test_resume_on_workers_continues_the_saved_study(client, tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    first = tune(score, SPACE, method="bayes", n_trials=4, seed=3, client=client, storage=path, name="r")
    resumed = tune(score, SPACE, method="bayes", n_trials=3, seed=3, client=client, storage=path, name="r", resume=True)
    assert resumed.resumed and [t.number for t in resumed.trials] == list(range(7))
    assert resumed.trials[:4] == first.trials
    assert [t.state for t in resumed.trials] == [TrialState.COMPLETE] * 7
    assert saved_trials(path, "r") == resumed.trials


def fragile(params) -> float:
    if params["kind"] == "b":
        raise ValueError(f"kind b diverged at x={params['x']:g}")
    return score(params)


def slow_first_option(params) -> float:
    time.sleep(1.5 if params["kind"] == "a" else 0.1)
    return 1.0


def test_on_a_tie_the_log_names_the_same_best_trial_as_the_summary(client) -> None:
    events: list = []
    study = tune(
        slow_first_option, {"kind": Choice(["a", "b"])}, method="grid", client=client, observers=[events.append]
    )
    finished = [e for e in events if isinstance(e, TrialFinished)]
    assert [e.trial.number for e in finished] == [1, 0], "trial 1 finishes first"
    assert study.best_trial.number == 0, "the earliest trial among equals"
    assert [e.is_best for e in finished] == [True, True]
    assert finished[-1].study.best_trial.number == 0


def test_a_trial_that_raises_on_a_worker_fails_and_the_search_goes_on(client) -> None:
    study = tune(fragile, SPACE, method="grid", grid_points=3, client=client)
    failed = [t for t in study.trials if t.state is TrialState.FAILED]
    assert len(study.trials) == 6 and len(failed) == 3
    assert {t.error for t in failed} == {
        "ValueError: kind b diverged at x=-5",
        "ValueError: kind b diverged at x=0",
        "ValueError: kind b diverged at x=5",
    }
    assert 'raise ValueError(f"kind b diverged' in failed[0].traceback, failed[0].traceback
    assert "jupyter_hptune" not in failed[0].traceback, "the traceback shows the user's code only"
    assert study.best_params == {"x": 0.0, "kind": "a"}
    assert study.snapshot().stop_reason == "completed"


def test_a_worker_killed_mid_trial_fails_that_trial_and_the_search_goes_on(client, tmp_path: Path) -> None:
    flag = str(tmp_path / "killed-once")

    def mortal(params) -> float:
        if not os.path.exists(flag):  # the first trial to run kills its own worker process
            open(flag, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.2)
        return score(params)

    study = tune(mortal, SPACE, method="random", n_trials=6, seed=1, client=client, storage=tmp_path / "k.sqlite")
    failed = [t for t in study.trials if t.state is TrialState.FAILED]
    assert len(failed) == 1, study.trials
    assert failed[0].number in (0, 1)
    assert failed[0].error.startswith("the worker process running this trial died (tcp://127.0.0.1:")
    assert [t.state for t in study.trials if t is not failed[0]] == [TrialState.COMPLETE] * 5
    assert study.snapshot().stop_reason == "completed"
    assert saved_trials(tmp_path / "k.sqlite", "study") == study.trials
    client.wait_for_workers(2, timeout=30)  # the nanny restarted the worker: later tests have 2 again


def test_stop_lets_running_trials_finish_or_cancels_them(client) -> None:
    def uneven(params) -> float:
        time.sleep(0.2 if params["x"] < 2 else 1.5)
        return score(params)

    for cancel in (False, True):
        study = Study(SPACE)
        study.enqueue({"x": 0.0, "kind": "a"})  # trial 0: short
        study.enqueue({"x": 4.0, "kind": "a"})  # trial 1: long, still running when trial 0 ends

        def stop_after_trial_0(event, study=study, cancel=cancel) -> None:
            if isinstance(event, TrialFinished) and event.trial.number == 0:
                study.stop(cancel=cancel)

        study.subscribe(stop_after_trial_0)
        began = time.perf_counter()
        study.optimize(uneven, 10, sampler=make_sampler("random", seed=0), client=client)
        took = time.perf_counter() - began
        states = [t.state for t in study.trials]
        assert study.snapshot().stop_reason == "stopped"
        if cancel:
            assert states == [TrialState.COMPLETE, TrialState.INTERRUPTED]
            assert study.trials[1].error == "cancelled when the search was stopped"
            assert took < 1.4, f"the cancelled trial was waited for ({took:.1f} s)"
        else:
            assert states == [TrialState.COMPLETE, TrialState.COMPLETE]
            assert study.trials[1].value == score({"x": 4.0, "kind": "a"})
    time.sleep(1.5)  # the cancelled trial's code runs to its end on its worker (Dask cannot stop a running task)


def test_a_score_that_is_not_a_number_ends_the_search_as_in_the_kernel(client) -> None:
    study = Study(SPACE)
    with pytest.raises(ScoreError, match=r"trial \d: the score must be a number, got str 'high'"):
        study.optimize(lambda params: "high", 6, sampler=make_sampler("random", seed=0), client=client)
    states = [t.state for t in study.trials]
    assert TrialState.FAILED in states and TrialState.RUNNING not in states and len(states) <= 2
    assert study.snapshot().stop_reason == "error"


def test_when_the_first_trials_all_fail_the_search_stops(client) -> None:
    def broken(params) -> float:
        raise KeyError("X_train")

    with pytest.warns(RuntimeWarning, match="every trial of study 'study' failed; the first with KeyError: 'X_train'"):
        study = tune(broken, SPACE, method="random", n_trials=30, seed=0, client=client)
    assert 5 <= len(study.trials) <= 6 and study.snapshot().stop_reason == "failures"
    assert all(t.state is TrialState.FAILED for t in study.trials)


def partly_valid(params) -> float:
    """Fails for x > 0.4 (60% of the space); its minimum, 0 at (0.2, 0.5), is in the valid part."""
    if params["x"] > 0.4:
        raise ValueError("no score here")
    return (params["x"] - 0.2) ** 2 + (params["y"] - 0.5) ** 2


@pytest.mark.parametrize(("method", "good"), [("grid", 0.1), ("random", 0.1), ("bayes", 0.01)])
def test_on_workers_a_search_finds_the_valid_part_of_a_mostly_failing_space(client, method, good) -> None:
    space = {"x": Real(0.0, 1.0), "y": Real(0.0, 1.0)}
    study = tune(partly_valid, space, method=method, n_trials=16, seed=1, client=client)
    assert len(study.trials) == 16 and study.snapshot().stop_reason == "completed"
    assert len({tuple(t.params.values()) for t in study.trials}) == 16, "no point proposed twice"
    assert study.best_trial.params["x"] <= 0.4 and study.best_trial.value < good


def test_a_variable_that_cannot_be_sent_is_named_before_any_trial(client) -> None:
    lock = threading.Lock()
    events: list[object] = []

    def locked(params) -> float:
        with lock:
            return score(params)

    with pytest.raises(StudyError, match=r"variable 'lock' \(lock: cannot pickle '_thread.lock' object\)"):
        tune(locked, SPACE, n_trials=3, client=client, observers=[events.append])
    assert events == [], "nothing started"


def test_a_cell_with_an_open_file_is_refused_naming_it(shell, client, tmp_path: Path) -> None:
    shell.run_cell(f"log = open({str(tmp_path / 'log.txt')!r}, 'w')\nimport time")
    cell = "x = hp.real(-1.0, 1.0)\nlog.write(str(x))\nx ** 2\n"
    with pytest.raises(UsageError, match=r"the notebook variable 'log' \(TextIOWrapper: .*\) cannot be sent"):
        shell.run_cell_magic("tune", f"--trials 2 --cluster {client.scheduler.address} --name u", cell)
    assert "u" not in shell.user_ns
    storage = SQLiteStorage(tmp_path / ".hptune" / "u.sqlite")
    try:
        assert not storage.exists("u"), "no trial started"
    finally:
        storage.close()
    with pytest.raises(UsageError, match=r"magics or shell commands"):
        shell.run_cell_magic("tune", "--trials 2 --jobs 2 --name u", "x = hp.real(-1.0, 1.0)\n%time y = x\nx ** 2\n")


PROBE = """
import os, time
class Probe:
    '''Writes the id of each process that unpickles it to a file.'''
    def __init__(self, path):
        self.path = path
    def __setstate__(self, state):
        self.__dict__.update(state)
        with open(self.path, "a") as f:
            f.write(f"{os.getpid()}\\n")
probe = Probe(PATH)
"""


def test_a_cell_on_the_running_local_cluster_gets_its_data_once_per_worker(shell, client, tmp_path: Path) -> None:
    unpickled = tmp_path / "unpickled.txt"
    shell.user_ns["PATH"] = str(unpickled)
    shell.run_cell(PROBE)
    cell = "x = hp.real(-2.0, 2.0)\nkind = hp.choice(['a', 'b'])\nprobe.path\ntime.sleep(0.2)\n(x - 1) ** 2\n"
    with client.as_current():  # --jobs reuses a running local cluster of worker processes
        result = shell.run_cell(f"%%tune --method random --trials 6 --seed 0 --jobs 2 --no-panel --name p\n{cell}")
    assert result.success, result.error_in_exec
    study = shell.user_ns["p"]
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 6
    assert shell.user_ns["x"] == study.best_params["x"] and type(shell.user_ns["x"]) is float
    assert "probe" not in (study.trials[0].error or "")
    pids = unpickled.read_text().split()
    assert 1 <= len(pids) <= 2 and len(set(pids)) == len(pids), f"the data was unpickled {len(pids)} times"
    assert os.getpid() not in map(int, pids)


def test_cluster_without_an_address_needs_a_client(shell, client) -> None:
    cell = "x = hp.real(-1.0, 1.0)\nx ** 2\n"
    with pytest.raises(UsageError, match="no Dask client is running"):
        shell.run_cell_magic("tune", "--trials 2 --cluster --name c", cell)
    with client.as_current():
        result = shell.run_cell(f"%%tune --method random --trials 3 --seed 0 --cluster --no-panel --name c\n{cell}")
    assert result.success, result.error_in_exec
    assert [t.state for t in shell.user_ns["c"].trials] == [TrialState.COMPLETE] * 3


KERNEL_CELL = """\
%%tune --method {method} --trials {trials} --seed 0 --maximize --jobs 2 --name {name}
C = hp.real(1e-3, 1e2, log=True)
time.sleep({sleep})
cross_val_score(LogisticRegression(C=C, max_iter=300), X, y, cv=3).mean()
"""


@pytest.mark.slow
def test_jobs_in_a_real_kernel_with_the_panel_stop_and_an_interrupt(kernel, tmp_path) -> None:
    from kernels import Widgets, click, collect, evaluate, execute, set_state, start

    kc, km = kernel.kc, kernel.km
    execute(
        kc,
        "from sklearn.datasets import load_breast_cancer\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.model_selection import cross_val_score\n"
        "from sklearn.preprocessing import scale\n"
        "X, y = load_breast_cancer(return_X_y=True)\nX = scale(X)",
    )
    # A whole search: two trials at once, each worker's trial shown in the panel, the cluster closed after.
    widgets = Widgets()
    output = start(kc, KERNEL_CELL.format(method="bayes", trials=6, name="s", sleep=0.5))
    collect(kc, output, widgets=widgets, until=lambda out: len(out.complete_lines) >= 2)
    busy = [m["value"] for m in widgets.models.values() if "hptune-workers" in m.get("_dom_classes", ())]
    collect(kc, output, widgets=widgets)
    assert not output.errors, output.describe()
    assert "up to 2 trials at once in 2 worker processes (a local Dask cluster)" in output.stdout
    assert sorted(n for n, _ in output.trial_lines) == list(range(6)), output.describe()
    assert "6 complete" in output.stdout and "Best score" in output.stdout
    assert len(busy) == 1 and "0: trial" in busy[0] and "1: trial" in busy[0], busy
    state = evaluate(
        kc,
        "dict(spans=sorted((t.started, t.finished) for t in s.trials), best=s.best_value, "
        "c_is_best=C == s.best_params['C'], c_type=type(C).__name__, "
        "children=len(__import__('multiprocessing').active_children()))",
    )
    spans = state["spans"]
    assert any(b[0] < a[1] for a, b in zip(spans, spans[1:])), "no two trials ran at once"
    assert state["best"] > 0.95 and state["c_is_best"] and state["c_type"] == "float"
    assert state["children"] == 0, "the local cluster started for the search was not closed"

    # Stop from the panel, with its choice to cancel the running trials.
    widgets = Widgets()
    output = start(kc, KERNEL_CELL.format(method="random", trials=40, name="c", sleep=1.0))

    def later_trials_running(out) -> bool:  # Stop then finds trials to cancel, not the moment between two pairs
        rows = [m["value"] for m in widgets.models.values() if "hptune-workers" in m.get("_dom_classes", ())]
        return len(out.complete_lines) >= 2 and any(
            int(n) >= 2 for row in rows for n in re.findall(r": trial <b>(\d+)</b>", row)
        )

    collect(kc, output, widgets=widgets, until=later_trials_running)
    set_state(kc, widgets.find("CheckboxModel", description="Stop cancels the running trials"), value=True)
    click(kc, widgets.button("Stop"))
    collect(kc, output, widgets=widgets)
    assert not output.errors, output.describe()
    assert "Search ended early: stopped on request." in output.stdout, output.describe()
    errors = evaluate(kc, "[(t.state.value, t.error) for t in c.trials]")
    assert [e for e in errors if e[0] != "complete"] == [("interrupted", "cancelled when the search was stopped")] * (
        len(errors) - sum(e[0] == "complete" for e in errors)
    )
    assert 1 <= sum(e[0] == "interrupted" for e in errors) <= 2, errors

    # An interrupt: the running trials are cancelled, the finished ones kept.
    output = start(kc, KERNEL_CELL.format(method="random", trials=40, name="p", sleep=1.0))
    collect(kc, output, until=lambda out: len(out.complete_lines) >= 2)
    km.interrupt_kernel()
    collect(kc, output)
    assert [e["ename"] for e in output.errors] == ["KeyboardInterrupt"], output.describe()
    assert "finished trials are kept in `p`" in output.errors[0]["evalue"]
    states = evaluate(kc, "[t.state.value for t in p.trials]")
    assert states.count("complete") >= 2 and "running" not in states, states
    assert 1 <= states.count("interrupted") <= 2 and len(states) < 10, states
    assert [t.state.value for t in saved_trials(tmp_path / ".hptune" / "p.sqlite", "p")] == states


def test_one_worker_proposes_the_trials_of_a_search_in_the_kernel(client) -> None:
    alone = tune(score, SPACE, method="bayes", n_trials=8, seed=5)
    on_one = tune(score, SPACE, method="bayes", n_trials=8, seed=5, client=client, n_jobs=1)
    assert [t.params for t in on_one.trials] == [t.params for t in alone.trials]
    assert not overlapping(on_one.trials)


def test_dask_is_imported_only_by_a_search_on_workers() -> None:
    code = (
        "import sys\n"
        "from jupyter_hptune import Real, tune\n"
        "import jupyter_hptune.magic, jupyter_hptune.widgets\n"
        "tune(lambda p: p['x'] ** 2, {'x': Real(-1.0, 1.0)}, method='random', n_trials=3, seed=0)\n"
        "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def conditional(params) -> float:
    """Declares its hyperparameters as it runs: a width per layer, and momentum only for SGD."""
    from jupyter_hptune import hp

    widths = [hp.int(8, 64, name=f"units_{i}") for i in range(hp.int(1, 3, name="n_layers"))]
    if hp.choice(["sgd", "adam"], name="optimiser") == "sgd":
        return sum(widths) / 64 + hp.real(0.0, 0.99, name="momentum")
    return sum(widths) / 64


def test_hyperparameters_declared_on_a_worker_are_drawn_there_and_recorded(client, tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    study = tune(conditional, method="random", n_trials=8, seed=4, client=client, storage=path, name="c")
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    for trial in study.trials:
        expected = ["units_" + str(i) for i in range(trial.params["n_layers"])]
        assert set(trial.params) == {"n_layers", "optimiser", *expected} | (
            {"momentum"} if trial.params["optimiser"] == "sgd" else set()
        ), trial.params
    assert set(study.space) == {"n_layers", "units_0", "units_1", "units_2", "optimiser", "momentum"} & set(
        name for t in study.trials for name in t.params
    )
    in_kernel = tune(conditional, method="random", n_trials=2, seed=4)
    assert study.trials[0].params == in_kernel.trials[0].params, "drawn from the seed, the trial number and the name"
    assert [t.params for t in saved_trials(path, "c")] == [t.params for t in study.trials]
