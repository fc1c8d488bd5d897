"""Pruning on a PyTorch MLP for scikit-learn's digits: the same searches with and without pruning, in one run.

Each trial trains a one-hidden-layer network epoch by epoch and reports its validation accuracy after every epoch;
its score is the best validation accuracy it reached (the epoch early stopping would keep). For each method and
seed, the search runs once without pruning and once with each pruning setting; the script prints the epochs every
setting trained and the best validation accuracy it found, and checks the target: pruning trains at most 50% of
the epochs while its best score stays within 1 percentage point of the unpruned search, for every seed.

Run: python benchmarks/pruning.py [--trials 30] [--epochs 30] [--seeds 3] [--methods random bayes]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import zlib
from dataclasses import dataclass
from typing import Any

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from jupyter_hptune import Choice, Int, Real, TrialState, tune

SPACE = {
    "lr": Real(1e-4, 0.3, log=True),
    "units": Int(8, 256, log=True),
    "dropout": Real(0.0, 0.6),
    "batch_size": Choice([64, 128, 256]),
}

# name: the tune() keywords of each setting ("none" is the unpruned search every other one is compared with)
SETTINGS: dict[str, dict[str, Any]] = {
    "none": {},
    "median": {"prune": "median"},
    "halving": {"prune": "halving"},
    "hyperband": {"prune": "hyperband"},
    "hyperband+patience": {"prune": "hyperband", "patience": 5},
}
MAX_EPOCH_SHARE, MAX_GAP = 0.5, 0.01  # the target: at most 50% of the epochs, within 1 percentage point


def digits() -> tuple[torch.Tensor, ...]:
    """Scikit-learn's digits, scaled to [0, 1], split 2:1 into training and validation sets (stratified, fixed)."""
    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X / 16.0, y, test_size=1 / 3, stratify=y, random_state=0)
    as_x = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    as_y = lambda a: torch.tensor(a, dtype=torch.long)  # noqa: E731
    return as_x(X_train), as_y(y_train), as_x(X_val), as_y(y_val)


def make_objective(data: tuple[torch.Tensor, ...], epochs: int):
    """An objective(params, trial) that trains the MLP epoch by epoch, reporting validation accuracy each epoch."""
    X_train, y_train, X_val, y_val = data

    def objective(params: dict[str, Any], trial: Any) -> float:
        # The same params train the same network, whatever search asks for them: a seed from the params alone.
        seed = zlib.crc32(repr(sorted(params.items())).encode())
        torch.manual_seed(seed)
        order = torch.Generator().manual_seed(seed)
        model = torch.nn.Sequential(
            torch.nn.Linear(64, params["units"]),
            torch.nn.ReLU(),
            torch.nn.Dropout(params["dropout"]),
            torch.nn.Linear(params["units"], 10),
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=params["lr"])
        loss = torch.nn.CrossEntropyLoss()
        best = 0.0
        for epoch in range(1, epochs + 1):
            model.train()
            for batch in torch.randperm(len(X_train), generator=order).split(params["batch_size"]):
                optimizer.zero_grad()
                loss(model(X_train[batch]), y_train[batch]).backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                accuracy = (model(X_val).argmax(1) == y_val).float().mean().item()
            best = max(best, accuracy)
            trial.report(epoch, accuracy)
            if trial.should_stop():
                break
        return best

    return objective


@dataclass
class Result:
    """One search: the epochs its trials trained, the best validation accuracy, trials pruned, and seconds."""

    epochs: int
    best: float
    pruned: int
    seconds: float


def search(objective, method: str, seed: int, trials: int, epochs: int, setting: dict[str, Any]) -> Result:
    """Run one search; count the epochs its trials trained."""
    start = time.perf_counter()
    study = tune(
        objective,
        SPACE,
        method=method,
        n_trials=trials,
        seed=seed,
        direction="maximize",
        max_steps=epochs,
        **setting,
    )
    return Result(
        epochs=sum(t.last_step or 0 for t in study.trials),
        best=study.best_value,
        pruned=sum(t.state is TrialState.PRUNED for t in study.trials),
        seconds=time.perf_counter() - start,
    )


def main() -> int:
    """Run every setting for every method and seed; print the table and whether each setting meets the target."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=30, help="epochs of a trial run to the end (max_steps)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=["random", "bayes"], choices=["random", "bayes"])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    objective = make_objective(digits(), args.epochs)
    settings = ["none", *(s for s in args.settings if s != "none")]

    print(
        f"Digits MLP (PyTorch, CPU): {args.trials} trials of up to {args.epochs} epochs, seeds 0-{args.seeds - 1}; "
        "score: best validation accuracy of a trial"
    )
    print(
        f"{'method':<7} {'pruning':<19} {'epochs':>7} {'share':>6} {'pruned':>7} {'best val acc by seed':<26} "
        f"{'worst gap':>9} {'seconds':>8}  target"
    )
    failed = []
    for method in args.methods:
        results: dict[str, list[Result]] = {}
        for name in settings:
            results[name] = []
            for seed in range(args.seeds):
                results[name].append(search(objective, method, seed, args.trials, args.epochs, SETTINGS[name]))
                print(f"  {method} {name} seed {seed}: done", file=sys.stderr, flush=True)
        base = results["none"]
        base_epochs = sum(r.epochs for r in base)
        for name in settings:
            rows = results[name]
            epochs = sum(r.epochs for r in rows)
            share = epochs / base_epochs
            gaps = [r.best - b.best for r, b in zip(rows, base)]
            bests = " ".join(f"{r.best:.4f}" for r in rows)
            verdict = ""
            if name != "none":
                ok = share <= MAX_EPOCH_SHARE and min(gaps) >= -MAX_GAP
                verdict = "met" if ok else "MISSED"
                if not ok:
                    failed.append(f"{method} {name}")
            print(
                f"{method:<7} {name:<19} {epochs:>7} {share:>6.0%} {sum(r.pruned for r in rows):>7} {bests:<26} "
                f"{100 * min(gaps):>+8.2f}pp {sum(r.seconds for r in rows):>8.1f}  {verdict}"
            )
    print(
        f"target: at most {MAX_EPOCH_SHARE:.0%} of the unpruned epochs, best score within "
        f"{100 * MAX_GAP:.0f} percentage point of the unpruned search for every seed"
    )
    print("every setting met it" if not failed else "missed by: " + ", ".join(failed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
