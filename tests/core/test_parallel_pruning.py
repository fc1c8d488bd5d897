"""Pruning and early stopping of trials on Dask workers: a real LocalCluster of 2 worker processes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from clusters import local_client

from jupyter_hptune import Real, Study, TrialState
from jupyter_hptune.core.events import TrialFinished, TrialReported
from jupyter_hptune.core.pruners import MedianPruner, SuccessiveHalvingPruner
from jupyter_hptune.core.samplers import make_sampler
from jupyter_hptune.core.storage import SQLiteStorage

distributed = pytest.importorskip("distributed")

SPACE = {"x": Real(0.0, 1.0)}
STEPS = 20


@pytest.fixture(scope="module")
def client():
    """A local Dask cluster of 2 worker processes and a client to it (not the default client)."""
    with local_client(2) as client:
        yield client


def curve(x: float, step: int) -> float:
    """A learning curve rising towards x."""
    return x * (1 - 0.8**step)


def reporting(params, trial) -> float:
    """20 steps of 0.05 s; a pruned trial ends in the TrialPruned that report() raises."""
    for step in range(1, STEPS + 1):
        time.sleep(0.05)
        trial.report(step, curve(params["x"], step))
    return curve(params["x"], STEPS)


def polling(params, trial) -> float:
    """20 steps of 0.05 s; the trial asks should_stop() after each report."""
    for step in range(1, STEPS + 1):
        time.sleep(0.05)
        trial.report(step, curve(params["x"], step))
        if trial.should_stop():
            break
    return curve(params["x"], step)


def saved_trials(path: Path):
    storage = SQLiteStorage(path)
    try:
        return storage.load("study").trials
    finally:
        storage.close()


@pytest.mark.parametrize(
    ("pruner", "objective"),
    [(MedianPruner(warmup_steps=0, min_trials=1), reporting), (SuccessiveHalvingPruner(), polling)],
    ids=["median-raises", "halving-polls"],
)
def test_the_kernels_pruner_stops_a_bad_trial_on_its_worker_at_its_next_report(client, tmp_path, pruner, objective):
    study = Study(SPACE, direction="maximize", storage=tmp_path / "s.sqlite")
    for x in (1.0, 1.0, 0.1):  # trial 2, the bad one, starts when a good one ends, and sees both curves
        study.enqueue({"x": x})
    events: list[object] = []
    study.subscribe(events.append)
    study.optimize(objective, 3, sampler=make_sampler("random", seed=0), prune=pruner, client=client)

    good, bad = study.trials[:2], study.trials[2]
    assert [t.state for t in good] == [TrialState.COMPLETE] * 2 and all(t.last_step == STEPS for t in good)
    assert bad.state is TrialState.PRUNED, bad
    assert 1 <= bad.last_step < STEPS / 2, f"trial 2 ran {bad.last_step} of {STEPS} steps"
    assert list(bad.intermediate) == list(range(1, bad.last_step + 1))
    assert bad.value == bad.intermediate[bad.last_step] and bad.error.startswith("at step ")
    assert study.snapshot().stop_reason == "completed"
    # Its curve followed it live: its reports came before its end, and the study file has every value.
    reported = [e.step for e in events if isinstance(e, TrialReported) and e.trial.number == 2]
    finished = next(i for i, e in enumerate(events) if isinstance(e, TrialFinished) and e.trial.number == 2)
    assert reported == list(range(1, len(reported) + 1)), reported
    assert not [e for e in events[finished:] if isinstance(e, TrialReported) and e.trial.number == 2]
    assert saved_trials(tmp_path / "s.sqlite") == study.trials


def test_patience_and_max_steps_stop_trials_on_their_workers(client) -> None:
    def peaked(params, trial) -> float:  # best at step 4, then worse
        for step in range(1, STEPS + 1):
            trial.report(step, -abs(step - 4) + params["x"])
            if trial.should_stop():
                break
        return 0.0

    study = Study(SPACE, direction="maximize")
    study.optimize(peaked, 2, sampler=make_sampler("random", seed=0), patience=2, client=client)
    assert [t.last_step for t in study.trials] == [6, 6]
    assert [t.value for t in study.trials] == [t.params["x"] for t in study.trials], "the best step's value"

    study = Study(SPACE, direction="maximize")
    study.optimize(peaked, 2, sampler=make_sampler("random", seed=0), max_steps=3, client=client)
    assert [(t.state, t.last_step) for t in study.trials] == [(TrialState.COMPLETE, 3)] * 2


def test_stop_cancelling_the_running_trials_keeps_what_they_reported(client) -> None:
    study = Study(SPACE, direction="maximize")

    def stop_at_step_3(event) -> None:
        if isinstance(event, TrialReported) and event.step == 3:
            study.stop(cancel=True)

    study.subscribe(stop_at_step_3)
    study.optimize(reporting, 6, sampler=make_sampler("random", seed=0), prune="median", client=client)
    assert study.snapshot().stop_reason == "stopped"
    assert [t.state for t in study.trials] == [TrialState.INTERRUPTED] * 2, study.trials
    assert all(t.error == "cancelled when the search was stopped" for t in study.trials)
    assert max(t.last_step for t in study.trials) >= 3, "the values reported before the stop are kept"


def test_a_worker_killed_mid_trial_fails_only_that_trial(client, tmp_path: Path) -> None:
    flag = str(tmp_path / "killed-once")

    def mortal(params, trial) -> float:
        for step in range(1, 6):
            time.sleep(0.05)
            trial.report(step, curve(params["x"], step))
            if step == 2 and not os.path.exists(flag):  # the first trial to get here kills its own worker
                open(flag, "w").close()
                time.sleep(1.0)  # its reports reach the kernel first, even on a loaded machine
                os.kill(os.getpid(), signal.SIGKILL)
        return curve(params["x"], 5)

    study = Study(SPACE, direction="maximize", storage=tmp_path / "k.sqlite")
    study.optimize(mortal, 5, sampler=make_sampler("random", seed=0), prune="halving", client=client)
    failed = [t for t in study.trials if t.state is TrialState.FAILED]
    assert len(failed) == 1 and failed[0].error.startswith("the worker process running this trial died")
    assert list(failed[0].intermediate) == [1, 2], "the values it reported before it died are kept"
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials if t is not failed[0])
    assert study.snapshot().stop_reason == "completed"
    assert saved_trials(tmp_path / "k.sqlite") == study.trials
    client.wait_for_workers(2, timeout=30)  # the nanny restarted the worker: later tests have 2 again


KERNEL_CELL = """\
%%tune --method random --trials 12 --seed 0 --maximize --jobs 2 --prune hyperband --max-steps 9
quality = hp.real(0.0, 1.0)
for epoch in range(1, 10):
    time.sleep(0.05)
    score = quality * (1 - 0.7 ** epoch)
    hp.report(epoch, score)
score
"""


@pytest.mark.slow
def test_hyperband_with_jobs_in_a_real_kernel(kernel, tmp_path) -> None:
    from kernels import Widgets, evaluate, execute

    widgets = Widgets()
    output = execute(kernel.kc, KERNEL_CELL, widgets=widgets)
    assert "up to 2 trials at once in 2 worker processes" in output.stdout, output.describe()
    state = evaluate(
        kernel.kc,
        "[(t.state.value, t.last_step, len(t.intermediate), t.value) for t in study.trials]",
    )
    pruned = [n for n, s in enumerate(state) if s[0] == "pruned"]
    assert pruned and {s[0] for s in state} == {"complete", "pruned"}, state
    assert [n for n, value in output.trial_lines if value == "pruned:"] == pruned, output.describe()
    assert all(s[1] < 9 and s[2] == s[1] for s in (state[n] for n in pruned)), state
    run = sum(s[1] for s in state)
    assert f"Steps run: {run} instead of 108 with every trial run to the end ({108 - run} saved" in output.stdout
    tabs = next(s for s in widgets.models.values() if s.get("_model_name") == "TabModel")
    assert tabs["titles"][tabs["selected_index"]] == "Curves"
    saved = SQLiteStorage(tmp_path / ".hptune" / "study.sqlite")
    try:
        assert [(t.state.value, t.last_step) for t in saved.load("study").trials] == [s[:2] for s in state]
    finally:
        saved.close()
