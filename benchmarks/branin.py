"""Best value found on Branin (minimum 0.397887) by bayes and random search, 40 trials, seeds 0-4, in one run.

Run: python benchmarks/branin.py [--trials 40] [--seeds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from problems import BRANIN, Problem  # noqa: E402

from jupyter_hptune import tune  # noqa: E402


def best_values(problem: Problem, method: str, trials: int, seeds: int) -> tuple[list[float], float]:
    """The best value of each seed's search, and the seconds the searches took."""
    start = time.perf_counter()
    values = [
        tune(problem.objective, problem.space, method=method, n_trials=trials, seed=seed).best_value
        for seed in range(seeds)
    ]
    return values, time.perf_counter() - start


def main() -> None:
    """Print the median best value of each method beside the known minimum."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    print(f"{BRANIN.name}, {args.trials} trials, seeds 0-{args.seeds - 1}, minimum {BRANIN.minimum}")
    print(f"{'method':<8} {'median best':>12} {'worst seed':>11} {'seconds':>8}")
    medians = {}
    for method in ("bayes", "random"):
        values, seconds = best_values(BRANIN, method, args.trials, args.seeds)
        medians[method] = statistics.median(values)
        print(f"{method:<8} {medians[method]:>12.4f} {max(values):>11.4f} {seconds:>8.1f}")
    print(
        f"bayes median regret / random median regret: "
        f"{(medians['bayes'] - BRANIN.minimum) / (medians['random'] - BRANIN.minimum):.2e}"
    )


if __name__ == "__main__":
    main()
