"""The side-by-side benchmark's tables, from a small real run of benchmarks/compare.py."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import compare  # benchmarks/ is on sys.path (conftest.py): a broken benchmark module fails here, not skipped
import liveness
import pytest


def test_block_table_counts_the_blocks_each_method_leads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "run.json"
    argv = ["--seeds", "4", "--block", "2", "--methods", "hptune-bayes", "hptune-random", "--problems", "Branin"]
    compare.main([*argv, "--trials", "6", "--budgets", "6", "--no-timing", "--jobs", "1", "--json", str(saved)])
    printed = capsys.readouterr().out
    assert "in how many of the 2 blocks of 2 seeds" in printed

    # the counts, worked out again from the saved per-seed results
    runs = json.loads(saved.read_text())["runs"]
    minimum = compare.PROBLEMS["Branin"].minimum
    regret = {(r["method"], r["seed"]): r["best_so_far"][5] - minimum for r in runs}
    wins = {"hptune-bayes": 0, "hptune-random": 0}
    for seeds in ((0, 1), (2, 3)):
        medians = {m: statistics.median(regret[m, s] for s in seeds) for m in wins}
        for m in wins:
            wins[m] += medians[m] <= min(medians.values()) + 1e-9
    row = next(line for line in printed.splitlines() if line.startswith("| Branin @6 |") and " of 2 " in line)
    assert row == f"| Branin @6 | {wins['hptune-bayes']} of 2 | {wins['hptune-random']} of 2 |"

    # a saved run prints the same tables again, and --block 0 leaves this one out
    compare.main(["--from-json", str(saved), "--block", "2"])
    assert row in capsys.readouterr().out
    compare.main(["--from-json", str(saved), "--block", "0"])
    assert "blocks of" not in capsys.readouterr().out


def test_block_must_not_be_negative(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        compare.main(["--block", "-1", "--problems", "--no-timing"])
    assert "--block must be 0 or more, got -1" in capsys.readouterr().err


def test_liveness_delays_are_from_each_finish_to_the_first_image_that_shows_it() -> None:
    log = [
        (10.2, "plot_history", 1),
        (10.9, "plot_posterior", 1),
        (11.6, "plot_history", 3),
        (12.0, "plot_posterior", 3),
    ]
    finished = [10.0, 10.5, 11.0]
    assert liveness.delays(log, finished, {"plot_history"}, 0) == pytest.approx([0.2, 1.1, 0.6])
    assert liveness.delays(log, finished, {"plot_posterior"}, 1) == pytest.approx([1.5, 1.0])
    assert liveness.delays(log, [*finished, 13.0], {"plot_history"}, 3) == [float("inf")], "never shown"
    assert liveness.trials_late(log, finished, {"plot_history"}, 0) == 1, "trial 2 was shown after trial 3 finished"
    assert liveness.trials_late(log, finished, {"plot_posterior"}, 2) == 0
