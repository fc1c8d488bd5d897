"""Pruning on Dask workers: the wall time of a pruned search on 4 workers, against the same search unpruned on
4 workers and against the pruned search run in the kernel, one trial at a time, divided by 4.

The objective sleeps 0.05 s per step for 27 steps and reports a learning curve after each, whose final value
depends on its params. Every search is random (the same trials for a seed whichever way it runs), with
hyperband (max_steps 27) for the pruned ones. The 4 workers are a LocalCluster started once, before the
timed searches, and warmed by a short untimed search (their first trial imports the package); each search is
timed from the call to tune() to its return; the kernel's search runs in this process.

Targets: pruned / unpruned on workers at most 1/3; pruned on workers / (pruned in the kernel / 4) at most 1.15.

Run: python benchmarks/parallel_pruning.py [--trials 120] [--seeds 3] [--step 0.05] [--workers 4]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

from jupyter_hptune import Real, tune

STEPS = 27
SPACE = {"lr": Real(1e-4, 1.0, log=True), "width": Real(0.0, 1.0)}


def learning_curve(params: dict, step: int) -> float:
    """A validation loss falling towards a floor set by the params, faster for a larger learning rate."""
    floor = (math.log10(params["lr"]) + 2) ** 2 / 4 + (params["width"] - 0.7) ** 2
    speed = 0.05 + 0.5 * params["lr"] ** 0.5
    return floor + 2.0 * math.exp(-speed * step)


def objective(seconds: float):
    """An objective that sleeps `seconds` per step, as an epoch of training would, and reports each step."""

    def train(params: dict, trial) -> float:
        value = math.inf
        for step in range(1, STEPS + 1):
            time.sleep(seconds)
            value = learning_curve(params, step)
            trial.report(step, value)
        return value

    return train


def timed(seconds: float, trials: int, seed: int, **options) -> tuple[float, int, float]:
    """The wall time of one search, the steps its trials ran, and its best value."""
    began = time.perf_counter()
    study = tune(objective(seconds), SPACE, method="random", n_trials=trials, seed=seed, **options)
    took = time.perf_counter() - began
    assert len(study.trials) == trials and all(t.state.value in ("complete", "pruned") for t in study.trials)
    return took, sum(t.last_step or 0 for t in study.trials), study.best_value


def main(argv: list[str] | None = None) -> None:
    """Time the three searches for each seed and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=120)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--step", type=float, default=0.05, help="seconds of sleep per step")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    from jupyter_hptune.core.parallel import start_local_cluster

    cluster, client = start_local_cluster(args.workers)  # the one a search with --jobs starts
    n = args.workers
    timed(0.0, 2 * n, 0, prune="hyperband", max_steps=STEPS, client=client)  # the workers import the package
    print(
        f"random search, {args.trials} trials of {STEPS} steps of {args.step} s, hyperband (max_steps {STEPS}); "
        f"{n} local workers; seeds 0-{args.seeds - 1}"
    )
    header = "| seed | search | seconds | steps run | best |"
    print(header + "\n| --- | --- | ---: | ---: | ---: |")
    ratios: dict[str, list[float]] = {"unpruned": [], "kernel": []}
    try:
        for seed in range(args.seeds):
            runs = {
                f"hyperband, {n} workers": dict(prune="hyperband", max_steps=STEPS, client=client),
                f"no pruning, {n} workers": dict(client=client),
                "hyperband, in the kernel": dict(prune="hyperband", max_steps=STEPS),
            }
            took = {}
            for label, options in runs.items():
                took[label], steps, best = timed(args.step, args.trials, seed, **options)
                print(f"| {seed} | {label} | {took[label]:.2f} | {steps} | {best:.4f} |")
            pruned = took[f"hyperband, {n} workers"]
            ratios["unpruned"].append(pruned / took[f"no pruning, {n} workers"])
            ratios["kernel"].append(pruned / (took["hyperband, in the kernel"] / n))
    finally:
        client.close()
        cluster.close()
    unpruned, kernel = (statistics.median(ratios[k]) for k in ("unpruned", "kernel"))
    print(f"\n| ratio (median of {args.seeds} seeds) | value | target |\n| --- | ---: | ---: |")
    print(f"| pruned / unpruned, both on {n} workers | {unpruned:.2f} | at most 0.33 |")
    print(f"| pruned on {n} workers / (pruned in the kernel / {n}) | {kernel:.2f} | at most 1.15 |")
    print(
        "per seed: "
        + ", ".join(f"{a:.2f} and {b:.2f}" for a, b in zip(ratios["unpruned"], ratios["kernel"], strict=True))
    )


if __name__ == "__main__":  # worker processes are spawned and import this file: run only in the main process
    main()
