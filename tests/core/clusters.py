"""Workers for the tests of trials on workers: a local Dask cluster of worker processes, or simulated ones."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from jupyter_hptune.core.parallel import start_local_cluster
from jupyter_hptune.core.samplers import ask_batch
from jupyter_hptune.core.trial import Trial, TrialState


@contextlib.contextmanager
def local_client(n_workers: int) -> Iterator[Any]:
    """A client to the local cluster a search starts, of n_workers processes (not the default client), closed after."""
    cluster, client = start_local_cluster(n_workers)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def on_simulated_workers(
    sampler: Any, space: Any, workers: int, n_trials: int, finish: Callable[[Trial, list[Trial]], Trial]
) -> list[Trial]:
    """The trials of a search on `workers` simulated workers whose trials end in the order they started, driven as
    the parallel search drives a sampler: a batch for the free workers, asked with the running trials in view.

    `finish(trial, finished)` is the record of the oldest running trial, given the trials finished before it.
    """
    trials: list[Trial] = []
    while len(trials) < n_trials:
        free = min(workers - sum(t.state is TrialState.RUNNING for t in trials), n_trials - len(trials))
        numbers = list(range(len(trials), len(trials) + free))
        trials += [Trial(number=n, params=p) for n, p in zip(numbers, ask_batch(sampler, space, trials, numbers))]
        oldest = next(t for t in trials if t.state is TrialState.RUNNING)
        trials[oldest.number] = finish(oldest, [t for t in trials if t.state is not TrialState.RUNNING])
    return trials
