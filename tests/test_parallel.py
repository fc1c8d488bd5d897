"""Trials on Dask workers: a real LocalCluster of 2 worker processes, shared by the tests of this module."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from jupyter_hptune import Choice, Real, Study, TrialState, tune
from jupyter_hptune.core.events import SearchStarted, TrialFinished, WorkersUpdated
from jupyter_hptune.core.samplers import make_sampler
from jupyter_hptune.core.storage import SQLiteStorage
from jupyter_hptune.core.study import ScoreError, StudyError

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
    sys.modules["__main__"].__dict__.setdefault("__spec__", None)  # spawn reads it; the shell fixture's reset drops it
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # its HTTP server on a free port
    )
    client = distributed.Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()


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


def test_a_variable_that_cannot_be_sent_is_named_before_any_trial(client) -> None:
    lock = threading.Lock()
    events: list[object] = []

    def locked(params) -> float:
        with lock:
            return score(params)

    with pytest.raises(StudyError, match=r"variable 'lock' \(lock: cannot pickle '_thread.lock' object\)"):
        tune(locked, SPACE, n_trials=3, client=client, observers=[events.append])
    assert events == [], "nothing started"
