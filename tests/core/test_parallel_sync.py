"""Reproducible searches on workers (sync): a real LocalCluster of 4 worker processes, shared by this module's tests."""

from __future__ import annotations

import random
import time

import pytest
from clusters import local_client
from IPython.core.error import UsageError

from jupyter_hptune import Choice, Real, TrialState, tune
from jupyter_hptune.core.errors import StudyError
from jupyter_hptune.core.events import SearchStarted

distributed = pytest.importorskip("distributed")

WORKERS = 4
SPACE = {"x": Real(-5.0, 5.0), "kind": Choice(["a", "b"])}


def jittery(params) -> float:
    """A deterministic score after a random pause of 0-0.2 s, so that trials finish in a different order each run."""
    time.sleep(random.uniform(0.0, 0.2))
    return (params["x"] - 1.0) ** 2 + (params["kind"] == "b")


def jittery_conditional(params) -> float:
    """Declares its hyperparameters as it runs: `shift` only for kind "b", `units_{i}` per layer; a random pause."""
    from jupyter_hptune import hp

    time.sleep(random.uniform(0.0, 0.2))
    x = hp.real(-5.0, 5.0, name="x")
    widths = [hp.int(1, 9, name=f"units_{i}") for i in range(hp.int(1, 3, name="layers"))]
    if hp.choice(["a", "b"], name="kind") == "b":
        return (x - 1.0) ** 2 + hp.real(0.0, 2.0, name="shift") + sum(widths) / 10
    return (x - 1.0) ** 2 + sum(widths) / 10


@pytest.fixture(scope="module")
def client():
    """A local Dask cluster of 4 worker processes and a client to it (not the default client)."""
    with local_client(WORKERS) as client:
        yield client


def record(study) -> list[tuple]:
    """What a search found, trial by trial: number, state, params (in the order the trial asked), value."""
    return [(t.number, t.state, list(t.params.items()), t.value) for t in study.trials]


@pytest.mark.parametrize("method", ["random", "bayes"])
def test_sync_repeats_a_search_on_four_workers_whatever_the_finishing_order(client, method) -> None:
    runs, notes = [], []
    for _ in range(2):
        events: list = []
        study = tune(
            jittery,
            SPACE,
            method=method,
            n_trials=14,
            seed=11,
            client=client,
            n_jobs=WORKERS,
            sync=True,
            observers=[events.append],
        )
        runs.append(study)
        notes.append(next(e.note for e in events if isinstance(e, SearchStarted)))
    first, second = runs
    assert [t.state for t in first.trials] == [TrialState.COMPLETE] * 14
    assert record(first) == record(second), "the same seed and workers give the same trials"
    assert all("points proposed in fixed batches of 4 (sync)" in note for note in notes), notes
    for study in runs:  # batches of 4, 4, 4 and 2: each starts once the one before has finished
        trials = study.trials
        for start in (4, 8, 12):
            ended = max(t.finished for t in trials[start - 4 : start])
            assert min(t.started for t in trials[start : start + 4]) >= ended - 0.01, f"batch at trial {start}"
        assert any(b.started < a.finished for a, b in zip(trials[:3], trials[1:4])), "a batch runs at once"


def test_sync_repeats_hyperparameters_first_declared_on_workers(client) -> None:
    first, second = (
        tune(jittery_conditional, method="bayes", n_trials=12, seed=2, client=client, n_jobs=WORKERS, sync=True)
        for _ in range(2)
    )
    assert [t.state for t in first.trials] == [TrialState.COMPLETE] * 12
    assert record(first) == record(second)
    assert list(first.space) == list(second.space), "the space grows in the trials' order, not the finishing order"
    assert {"shift", "units_1"} <= set(first.space), "the search met the conditional hyperparameters"


def test_without_sync_the_workers_take_the_next_trial_as_soon_as_they_are_free(client) -> None:
    events: list = []
    study = tune(jittery, SPACE, method="random", n_trials=12, seed=11, client=client, observers=[events.append])
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 12
    note = next(e.note for e in events if isinstance(e, SearchStarted))
    assert "up to 4 trials at once" in note and "batches" not in note
    trials = study.trials
    early = [k for k in range(4, 12) if trials[k].started < max(t.finished for t in trials[k - k % 4 - 4 : k - k % 4])]
    assert early, "without sync, a free worker starts the next trial at once"


def test_sync_without_workers_is_refused(shell) -> None:
    with pytest.raises(StudyError, match=r"sync=True applies to trials on workers \(n_jobs or client\)"):
        tune(jittery, SPACE, method="random", n_trials=2, sync=True)
    with pytest.raises(UsageError, match=r"--sync applies to trials on workers \(--jobs or --cluster\)"):
        shell.run_cell_magic("tune", "--trials 2 --sync --name s", "x = hp.real(-1.0, 1.0)\nx ** 2\n")
    assert "s" not in shell.user_ns
    assert "--sync" in shell.find_cell_magic("tune").__doc__


SYNC_CELL = """\
%%tune --jobs 2 --sync --seed 3 --trials 8 --name {name}
x = hp.real(-5.0, 5.0)
kind = hp.choice(["a", "b"])
time.sleep(random.uniform(0.0, 0.2))
(x - 1.0) ** 2 + (kind == "b")
"""


@pytest.mark.slow
def test_tune_jobs_sync_in_a_real_kernel_repeats_its_trials(kernel) -> None:
    from kernels import evaluate, execute

    kc = kernel.kc
    execute(kc, "import random, time")
    for name in ("first", "second"):
        output = execute(kc, SYNC_CELL.format(name=name), timeout=120)
        assert "points proposed in fixed batches of 2 (sync)" in output.stdout, output.describe()
        assert sorted(n for n, _ in output.trial_lines) == list(range(8)), output.describe()
    same = evaluate(
        kc,
        "[(t.number, t.params, t.value) for t in first.trials] == [(t.number, t.params, t.value) for t in second.trials]",
    )
    assert same is True
    assert evaluate(kc, "[t.state.value for t in first.trials]") == ["complete"] * 8
