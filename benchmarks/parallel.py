"""Trials on Dask workers: the speedup of 2 workers over 1, what 2 workers cost the Bayesian search in quality, and
what reproducible batches (sync) cost in time.

1. Speedup: a random search of 40 trials whose objective sleeps 0.5 s, run with n_jobs=1 and n_jobs=2 in the same
   run, each timed from the call to tune() to its return (starting and closing its local cluster included).
2. Quality: bayes on Branin (minimum 0.397887), 40 trials, seeds 0-4, one trial at a time against 2 workers; each
   trial sleeps 0.2 s so that, as with real trials, one trial is still running whenever the next is proposed.
   With 2 workers the proposals depend on the order in which results arrive, so this half varies between runs.
3. Sync: the wall time of a random search of 40 trials on 4 workers of one local cluster, each trial sleeping
   0.1-0.5 s (uniform, set by its point, so both modes run the same trials for the same times), with sync=True
   (batches of 4, each after the last has finished) against without; the modes alternate, the median of 3 rounds.

Run: python benchmarks/parallel.py [--trials 40] [--sleep 0.5] [--seeds 5] [--skip-quality] [--skip-sync]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from problems import BRANIN, branin  # noqa: E402

from jupyter_hptune import Choice, Real, tune  # noqa: E402

SPACE = {"x": Real(-5.0, 5.0), "kind": Choice(["a", "b"])}


def sleeper(seconds: float):
    """An objective that sleeps, as a trial waiting on I/O or a GPU would."""

    def objective(params: dict) -> float:
        time.sleep(seconds)
        return (params["x"] - 1.0) ** 2 + (params["kind"] == "b")

    return objective


def slow_branin(params: dict) -> float:
    """Branin, after a pause that stands for a real trial's training time."""
    time.sleep(0.2)
    return branin(params)


def speedup(trials: int, seconds: float) -> None:
    """Time the same random search with 1 and 2 workers and print the speedup."""
    print(f"Random search, {trials} trials of {seconds} s each (workers started and closed by each search)")
    print(f"{'workers':>7} {'seconds':>8} {'trials/s':>9}")
    took = {}
    for workers in (1, 2):
        began = time.perf_counter()
        study = tune(sleeper(seconds), SPACE, method="random", n_trials=trials, seed=0, n_jobs=workers)
        took[workers] = time.perf_counter() - began
        assert len(study.trials) == trials and study.best_trial is not None
        print(f"{workers:>7} {took[workers]:>8.1f} {trials / took[workers]:>9.2f}")
    print(f"speedup with 2 workers: {took[1] / took[2]:.2f} (ideal 2.00; the machine has {os.cpu_count()} CPUs)")


def quality(trials: int, seeds: int) -> None:
    """The median best value on Branin of bayes with 1 and with 2 workers, and of random search for scale."""
    print(f"\n{BRANIN.name}, {trials} trials, seeds 0-{seeds - 1}, minimum {BRANIN.minimum}; median of the seeds' best")
    print(f"{'search':<22} {'median best':>12} {'median regret':>14} {'worst seed':>11} {'seconds':>8}")
    regrets = {}
    runs = {
        "bayes, one at a time": dict(method="bayes"),
        "bayes, 2 workers": dict(method="bayes", n_jobs=2),
        "random, one at a time": dict(method="random"),
    }
    for label, options in runs.items():
        objective = slow_branin if "n_jobs" in options else BRANIN.objective
        began = time.perf_counter()
        best = [
            tune(objective, BRANIN.space, n_trials=trials, seed=seed, **options).best_value for seed in range(seeds)
        ]
        median = statistics.median(best)
        regrets[label] = median - BRANIN.minimum
        print(
            f"{label:<22} {median:>12.4f} {regrets[label]:>14.4f} {max(best):>11.4f} "
            f"{time.perf_counter() - began:>8.1f}"
        )
    one, two = regrets["bayes, one at a time"], regrets["bayes, 2 workers"]
    print(f"median regret with 2 workers / one at a time: {two / one:.2f} ({two - one:+.4f} in value)")


def uneven(params: dict) -> float:
    """A trial that sleeps 0.1-0.5 s, uniformly over the trials of a random search (its x sets how long)."""
    time.sleep(0.1 + 0.4 * (params["x"] + 5.0) / 10.0)
    return (params["x"] - 1.0) ** 2 + (params["kind"] == "b")


def sync_cost(trials: int, workers: int, rounds: int) -> None:
    """The wall time of the same random search on workers with and without sync, on one cluster started once."""
    from jupyter_hptune.core.parallel import start_local_cluster

    print(
        f"\nRandom search, {trials} trials of 0.1-0.5 s on {workers} workers of one local cluster; median of {rounds}"
    )
    cluster, client = start_local_cluster(workers)
    took: dict[bool, list[float]] = {False: [], True: []}
    try:
        for _ in range(rounds):
            for sync in (False, True):
                began = time.perf_counter()
                study = tune(uneven, SPACE, method="random", n_trials=trials, seed=0, client=client, sync=sync)
                took[sync].append(time.perf_counter() - began)
                assert len(study.trials) == trials and study.best_trial is not None
    finally:
        client.close()
        cluster.close()
    ideal = sum(0.1 + 0.4 * (t.params["x"] + 5.0) / 10.0 for t in study.trials) / workers
    print(f"{'mode':<6} {'seconds':>8} {'rounds':>22}")
    for sync in (False, True):
        rounds_text = " ".join(f"{t:.2f}" for t in took[sync])
        print(f"{'sync' if sync else 'async':<6} {statistics.median(took[sync]):>8.2f} {rounds_text:>22}")
    ratio = statistics.median(took[True]) / statistics.median(took[False])
    print(
        f"sync takes {ratio:.2f} times as long ({(ratio - 1) * 100:+.0f}%); the trials' own time / {workers}: {ideal:.2f} s"
    )


def main() -> None:
    """Print the speedup, then the quality figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--sleep", type=float, default=0.5)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-sync", action="store_true")
    parser.add_argument("--sync-only", action="store_true", help="run the sync comparison only")
    args = parser.parse_args()
    if not args.sync_only:
        speedup(args.trials, args.sleep)
        if not args.skip_quality:
            quality(args.trials, args.seeds)
    if not args.skip_sync:
        sync_cost(args.trials, workers=4, rounds=3)


if __name__ == "__main__":  # worker processes are spawned and import this file: run only in the main process
    main()
