"""Searches at equal total epochs: bayes + hyperband against bayes without pruning, random + hyperband and Optuna.

Two learning-curve problems, each trained for at most 27 epochs, each epoch reporting the validation accuracy; a
trial's score is the best it reached:

- `torch` (the default): notebook 02's PyTorch network on scikit-learn's digits, with notebook 02's split (1000
  training, 400 validation images) and eight hyperparameters: learning rate, its decay per epoch, momentum (SGD),
  batch size, hidden layers, units per layer, dropout, activation.
- `numpy`: a one-hidden-layer network in NumPy (an epoch costs a few milliseconds) with six hyperparameters.

Every search runs until its trials have trained 2/3 of the epochs 50 full-length trials cost (900 of 1350); the
script prints, per method, the median (quartiles) and mean over seeds of the best validation accuracy found within
1/3 (450) and 2/3 (900) of those epochs. A trial counts once it has finished inside the budget; a stopped trial
counts with its last reported accuracy.

Methods: `bayes-hb` (our bayes, hyperband, its model knowing the step of each value), `bayes-hb-last` (the same
with each stopped trial told as if it had finished at its last value: the model before the budget-aware one),
`bayes` (no pruning, every trial 27 epochs), `random-hb`, and `optuna-tpe-hb` (Optuna's TPESampler with its
HyperbandPruner, min 1, max 27 epochs, reduction factor 3).

Run: python benchmarks/budget.py [--problem torch] [--seeds 20] [--jobs 2] [--methods ...] [--json out.jsonl]
     python benchmarks/budget.py --from-json out.jsonl
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

EPOCHS = 27  # a full-length trial
FULL = 50 * EPOCHS  # the epochs of 50 full-length trials
BUDGETS = (FULL // 3, 2 * FULL // 3)  # where the best score is read: 450 and 900 epochs
METHODS = ("bayes-hb", "bayes-hb-last", "bayes", "random-hb", "optuna-tpe-hb")


class NumpyMLP:
    """A one-hidden-layer network in NumPy on digits scaled to [0, 1], split 2:1 into training and validation sets."""

    name = "NumPy MLP on digits"

    @staticmethod
    def space() -> dict[str, Any]:
        """The six hyperparameters of the network and its training."""
        from jupyter_hptune import Choice, Int, Real

        return {
            "units": Int(8, 64, log=True),
            "lr": Real(1e-3, 1.0, log=True),
            "momentum": Real(0.0, 0.95),
            "batch_size": Choice([32, 64, 128, 256]),
            "l2": Real(1e-6, 1e-1, log=True),
            "decay": Real(0.7, 1.0),
        }

    def __init__(self) -> None:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        self.X_train, self.X_val, self.y_train, self.y_val = train_test_split(
            X / 16.0, y, test_size=1 / 3, stratify=y, random_state=0
        )
        self.Y_train = np.eye(10)[self.y_train]

    def curve(self, params: dict[str, Any]):
        """The validation accuracy after each epoch (a generator), the same for the same params.

        A one-hidden-layer ReLU network, softmax cross-entropy, minibatch SGD with momentum, L2 weight decay and
        the learning rate multiplied by `decay` after each epoch.
        """
        rng = np.random.default_rng(zlib.crc32(repr(sorted(params.items())).encode()))
        units, batch, lr = params["units"], params["batch_size"], params["lr"]
        weights = [
            rng.normal(0.0, np.sqrt(2 / 64), (64, units)),
            np.zeros(units),
            rng.normal(0.0, np.sqrt(1 / units), (units, 10)),
            np.zeros(10),
        ]
        velocity = [np.zeros_like(w) for w in weights]
        X, Y = self.X_train, self.Y_train
        with np.errstate(all="ignore"):
            for _ in range(EPOCHS):
                order = rng.permutation(len(X))
                for start in range(0, len(X), batch):
                    rows = order[start : start + batch]
                    W1, b1, W2, b2 = weights
                    hidden = X[rows] @ W1 + b1
                    active = np.maximum(hidden, 0)
                    logits = active @ W2 + b2
                    logits -= logits.max(axis=1, keepdims=True)
                    probs = np.exp(logits)
                    probs /= probs.sum(axis=1, keepdims=True)
                    g = (probs - Y[rows]) / len(rows)
                    back = (g @ W2.T) * (hidden > 0)
                    grads = [
                        X[rows].T @ back + params["l2"] * W1,
                        back.sum(0),
                        active.T @ g + params["l2"] * W2,
                        g.sum(0),
                    ]
                    for w, v, grad in zip(weights, velocity, grads):
                        v *= params["momentum"]
                        v -= lr * grad
                        w += v
                lr *= params["decay"]
                W1, b1, W2, b2 = weights
                predicted = (np.maximum(self.X_val @ W1 + b1, 0) @ W2 + b2).argmax(axis=1)
                yield float((predicted == self.y_val).mean())


class TorchMLP:
    """Notebook 02's PyTorch network on digits with notebook 02's split: 1000 training, 400 validation images."""

    name = "PyTorch MLP of notebook 02 on digits"

    @staticmethod
    def space() -> dict[str, Any]:
        """Eight hyperparameters of notebook 02 (its SGD branch, every layer of one width)."""
        from jupyter_hptune import Choice, Int, Real

        return {
            "lr": Real(1e-3, 1.0, log=True),
            "lr_decay": Real(0.8, 1.0),
            "momentum": Real(0.5, 0.99),
            "batch_size": Choice([32, 64, 128, 256]),
            "n_layers": Int(1, 3),
            "units": Int(16, 256, log=True),
            "dropout": Real(0.0, 0.5),
            "activation": Choice(["relu", "tanh", "sigmoid"]),
        }

    def __init__(self) -> None:
        import torch
        from sklearn.datasets import load_digits

        torch.set_num_threads(1)
        images, labels = load_digits(return_X_y=True)
        order = np.random.default_rng(0).permutation(len(labels))
        images = torch.tensor(images[order] / 16.0, dtype=torch.float32)
        labels = torch.tensor(labels[order])
        self.X_train, self.y_train = images[:1000], labels[:1000]
        self.X_val, self.y_val = images[1000:1400], labels[1000:1400]

    def curve(self, params: dict[str, Any]):
        """The validation accuracy after each epoch (a generator), the same for the same params.

        Hidden layers of `units` with the activation and dropout after each, He-initialised, cross-entropy, SGD with
        momentum, the learning rate multiplied by `lr_decay` after each epoch (as notebook 02 trains).
        """
        import torch
        from torch import nn

        seed = zlib.crc32(repr(sorted(params.items())).encode())
        torch.manual_seed(seed)
        shuffle = torch.Generator().manual_seed(seed)
        activation = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[params["activation"]]
        layers: list[nn.Module] = []
        width = 64
        for _ in range(params["n_layers"]):
            linear = nn.Linear(width, params["units"])
            nn.init.kaiming_uniform_(linear.weight, nonlinearity="relu")
            nn.init.zeros_(linear.bias)
            layers += [linear, activation(), nn.Dropout(params["dropout"])]
            width = params["units"]
        layers.append(nn.Linear(width, 10))
        network = nn.Sequential(*layers)
        optimizer = torch.optim.SGD(network.parameters(), lr=params["lr"], momentum=params["momentum"])
        schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=params["lr_decay"])
        loss_fn = nn.CrossEntropyLoss()
        for _ in range(EPOCHS):
            network.train()
            for batch in torch.randperm(len(self.X_train), generator=shuffle).split(params["batch_size"]):
                optimizer.zero_grad()
                loss = loss_fn(network(self.X_train[batch]), self.y_train[batch])
                if torch.isfinite(loss):  # a diverged network stops learning; its accuracy shows it
                    loss.backward()
                    optimizer.step()
            schedule.step()
            network.eval()
            with torch.no_grad():
                yield float((network(self.X_val).argmax(1) == self.y_val).float().mean())


PROBLEMS: dict[str, Any] = {"torch": TorchMLP, "numpy": NumpyMLP}
Problem = TorchMLP | NumpyMLP


def ours(method: str, seed: int, data: Problem) -> list[tuple[int, float]]:
    """One search of ours until 900 epochs: (epochs so far, the trial's score) after each trial."""
    from jupyter_hptune import Study
    from jupyter_hptune.core.samplers import make_sampler

    sampler_method = "random" if method.startswith("random") else "bayes"
    sampler = make_sampler(sampler_method, seed=seed)
    if method == "bayes-hb-last":
        sampler.budget_aware = False  # type: ignore[attr-defined]
    prune = "none" if method == "bayes" else "hyperband"

    def objective(params: dict[str, Any], trial: Any) -> float:
        best = 0.0
        for epoch, accuracy in enumerate(data.curve(params), start=1):
            best = max(best, accuracy)
            trial.report(epoch, accuracy)
            if trial.should_stop():
                break
        return best

    study = Study(data.space(), direction="maximize")
    history, epochs = [], 0
    for trial in study.search(objective, 10_000, sampler=sampler, prune=prune, max_steps=EPOCHS):
        if trial is None:
            continue
        epochs += trial.last_step or 0
        if trial.value is not None:
            history.append((epochs, float(trial.value)))
        if epochs >= BUDGETS[-1]:
            break
    return history


def optuna_tpe(seed: int, data: Problem) -> list[tuple[int, float]]:
    """Optuna's TPE with its hyperband pruner until 900 epochs, as ours() reports it."""
    import optuna
    from problems import Suggest  # benchmarks/ is on the path: this script's folder

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dims = data.space()
    study = optuna.create_study(
        study_name=f"budget-{seed}",  # its hyperband pruner draws brackets from a hash of the name: fixed
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=EPOCHS, reduction_factor=3),
    )
    history: list[tuple[int, float]] = []
    epochs = 0
    while epochs < BUDGETS[-1]:
        trial = study.ask()
        params = Suggest(trial).point(dims)
        best, last, pruned = 0.0, 0, False
        for epoch, accuracy in enumerate(data.curve(params), start=1):
            best, last = max(best, accuracy), epoch
            trial.report(accuracy, epoch)
            if trial.should_prune():
                pruned = True
                break
        epochs += last
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            history.append((epochs, accuracy))  # a stopped trial counts with its last accuracy, as ours
        else:
            study.tell(trial, best)
            history.append((epochs, best))
    return history


def run(task: tuple[str, str, int]) -> dict[str, Any]:
    """One search: its problem, method, seed, history and seconds."""
    problem, method, seed = task
    start = time.perf_counter()
    data = PROBLEMS[problem]()
    history = optuna_tpe(seed, data) if method == "optuna-tpe-hb" else ours(method, seed, data)
    seconds = time.perf_counter() - start
    return {"problem": problem, "method": method, "seed": seed, "history": history, "seconds": seconds}


def best_within(history: list[tuple[int, float]], budget: int) -> float:
    """The best score of the trials that finished within `budget` epochs."""
    return max((value for epochs, value in history if epochs <= budget), default=float("nan"))


def search_all(problem: str, methods: list[str], seeds: int, jobs: int, path: str | None) -> list[dict[str, Any]]:
    """Every method's search for every seed, seed by seed, each saved to `path` as it finishes."""
    tasks = [(problem, method, seed) for seed in range(seeds) for method in methods]
    results = []
    with ProcessPoolExecutor(jobs) as pool:
        for result in pool.map(run, tasks):
            results.append(result)
            print(f"  {result['method']} seed {result['seed']}: {result['seconds']:.1f} s", file=sys.stderr, flush=True)
            if path:
                with open(path, "a") as out:
                    out.write(json.dumps(result) + "\n")
    return results


def main() -> int:
    """Run every method and seed, print the median best validation accuracy at 450 and 900 epochs."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problem", default="torch", choices=list(PROBLEMS))
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=1, help="searches run in this many processes")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--json", help="save each search's history here as it finishes (one JSON line each)")
    parser.add_argument("--from-json", help="print the table of the searches saved in this file instead")
    args = parser.parse_args()
    if args.from_json:
        with open(args.from_json) as saved:
            results = [json.loads(line) for line in saved]
        for result in results:
            result.setdefault("problem", "numpy")  # saved before there were two problems
        results = [r for r in results if r["problem"] == args.problem]
        args.methods = [m for m in METHODS if any(r["method"] == m for r in results)]
        args.seeds = len({r["seed"] for r in results})
    else:
        if "optuna-tpe-hb" in args.methods and importlib.util.find_spec("optuna") is None:
            print("optuna-tpe-hb skipped: Optuna is not installed (pip install optuna)", file=sys.stderr)
            args.methods.remove("optuna-tpe-hb")
        results = search_all(args.problem, args.methods, args.seeds, args.jobs, args.json)
    print(
        f"{PROBLEMS[args.problem].name}, {len(PROBLEMS[args.problem].space())} hyperparameters, "
        f"up to {EPOCHS} epochs a trial, {args.seeds} seeds: "
        f"median (quartiles) and mean of the best validation accuracy within {BUDGETS[0]} and {BUDGETS[1]} epochs"
    )
    print(
        f"{'method':<15} {'at ' + str(BUDGETS[0]) + ', mean':>29} {'at ' + str(BUDGETS[1]) + ', mean':>29} {'trials':>7} {'s/search':>9} {'seeds':>6}"
    )
    for method in args.methods:
        rows = [r for r in results if r["method"] == method]
        if not rows:
            continue
        cells = []
        for budget in BUDGETS:
            bests = [best_within(r["history"], budget) for r in rows]
            q = np.quantile(bests, [0.25, 0.5, 0.75])
            cells.append(f"{q[1]:.4f} ({q[0]:.4f}-{q[2]:.4f}) {np.mean(bests):.4f}")
        trials = statistics.median(len(r["history"]) for r in rows)
        seconds = statistics.mean(r["seconds"] for r in rows)
        print(f"{method:<15} {cells[0]:>29} {cells[1]:>29} {trials:>7.0f} {seconds:>9.1f} {len(rows):>6}")
    print_head_to_head(results, args.methods)
    return 0


def print_head_to_head(results: list[dict[str, Any]], methods: list[str], first: str = "bayes-hb") -> None:
    """Seed by seed, `first` against each other method: wins / ties / losses at each budget."""
    if first not in methods:
        return
    by_seed = {(r["method"], r["seed"]): r["history"] for r in results}
    for other in methods:
        if other == first:
            continue
        counts = []
        for budget in BUDGETS:
            diffs = [
                best_within(by_seed[first, seed], budget) - best_within(by_seed[other, seed], budget)
                for method, seed in by_seed
                if method == first and (other, seed) in by_seed
            ]
            counts.append(f"{sum(d > 0 for d in diffs)}/{sum(d == 0 for d in diffs)}/{sum(d < 0 for d in diffs)}")
        print(
            f"{first} against {other:<15} wins/ties/losses by seed: {counts[0]} at {BUDGETS[0]}, {counts[1]} at {BUDGETS[1]}"
        )


if __name__ == "__main__":
    sys.exit(main())
