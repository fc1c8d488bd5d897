"""Several studies side by side: each one's best score so far by trials run and by time, its best trial and cost."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .events import StudySnapshot
from .study import Direction, Study
from .trial import Trial, TrialState, best_trial

if TYPE_CHECKING:
    from matplotlib.figure import Figure, SubFigure

__all__ = ["Comparison", "CompareError", "StudyRun", "compare"]


class CompareError(ValueError):
    """Studies that cannot be compared as asked."""


@dataclass(frozen=True)
class StudyRun:
    """One study of a comparison: its best score so far after each completed trial, by trials run and by time.

    `trials[k]` is the number of trials run (failed and pruned ones included: they cost their run) when the k-th
    completed trial ended, `times[k]` the seconds since the study's first trial started when one ended (in order of
    ending); `best_by_trial` and `best_by_time` are the best score among the completed trials up to there.
    """

    name: str
    direction: Direction
    trials: tuple[int, ...]
    best_by_trial: tuple[float, ...]
    times: tuple[float, ...]
    best_by_time: tuple[float, ...]
    best_value: float | None
    best_params: dict[str, Any] | None
    n_trials: int
    n_complete: int
    total_time: float

    def best_after(self, trials: Sequence[int] | np.ndarray) -> np.ndarray:
        """The best score after each given number of trials run (NaN before the first completed one)."""
        return _step_values(self.trials, self.best_by_trial, trials)

    def best_at(self, seconds: Sequence[float] | np.ndarray) -> np.ndarray:
        """The best score at each given time since the first trial started (NaN before the first completed one)."""
        return _step_values(self.times, self.best_by_time, seconds)


@dataclass(frozen=True)
class Comparison:
    """Studies of one direction side by side; studies given the same name are runs (seeds) of one method."""

    runs: tuple[StudyRun, ...]
    direction: Direction
    groups: dict[str, tuple[StudyRun, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        groups: dict[str, list[StudyRun]] = {}
        for run in self.runs:
            groups.setdefault(run.name, []).append(run)
        object.__setattr__(self, "groups", {name: tuple(runs) for name, runs in groups.items()})

    @property
    def names(self) -> list[str]:
        """The names compared, each once, in the order given."""
        return list(self.groups)

    def plot(self, x: str = "trials", fig: Figure | SubFigure | None = None, **options: Any) -> Figure | SubFigure:
        """The best score so far of each study against trials run (x="trials") or elapsed time (x="time")."""
        from ..plots import plot_compare

        return plot_compare(self, x=x, fig=fig, **options)

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per study: name, trials, completed trials, best value and params, total time."""
        return [
            {
                "name": run.name,
                "trials": run.n_trials,
                "complete": run.n_complete,
                "best_value": run.best_value,
                "best_params": run.best_params,
                "time": run.total_time,
            }
            for run in self.runs
        ]

    def to_dataframe(self) -> Any:
        """The studies as a pandas DataFrame, one row per study (time in seconds)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_dataframe needs pandas (pip install pandas); to_records() needs nothing") from None
        return pd.DataFrame.from_records(self.to_records())

    def _repr_html_(self) -> str:
        """A small table: one row per name, with the median over its runs where it has several."""
        several = any(len(runs) > 1 for runs in self.groups.values())
        head = ["study", *(["runs"] if several else []), "trials", f"best ({self.direction})", "time"]
        rows = []
        for name, runs in self.groups.items():
            bests = [r.best_value for r in runs if r.best_value is not None]
            if not bests:
                best = "none complete"
            elif len(runs) == 1:
                best = f"{bests[0]:.4g}"
            else:
                best = f"median {np.median(bests):.4g} ({min(bests):.4g} to {max(bests):.4g})"
            trials = sorted({r.n_trials for r in runs})
            cells = [
                name,
                *([str(len(runs))] if several else []),
                str(trials[0]) if len(trials) == 1 else f"{trials[0]} to {trials[-1]}",
                best,
                _duration(float(np.median([r.total_time for r in runs]))) + (" each (median)" if len(runs) > 1 else ""),
            ]
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        header = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
        return f"<table><thead>{header}</thead><tbody>{''.join(rows)}</tbody></table>"

    def __repr__(self) -> str:
        return f"<Comparison {self.direction}: {len(self.runs)} studies, names {', '.join(map(repr, self.names))}>"


def compare(studies: Sequence[Study | StudySnapshot], names: Sequence[str] | None = None) -> Comparison:
    """Studies of one direction side by side: best score so far by trials and by time, best trial, cost.

    `names` gives one name per study (default: each study's own, numbered when they repeat). Studies given the same
    name are runs of one method (seeds, say): a plot draws each of them thin and their median thick.
    """
    studies = list(studies)
    if not studies:
        raise CompareError("compare needs at least one study")
    for study in studies:
        if not isinstance(study, Study | StudySnapshot):
            raise CompareError(f"compare takes studies (or their snapshots), got {type(study).__name__} {study!r}")
    if names is None:
        names = _own_names([s.name for s in studies])
    else:
        names = [str(n) for n in names]
        if len(names) != len(studies):
            raise CompareError(f"{len(names)} names for {len(studies)} studies: give one name per study")
    directions = {s.direction for s in studies}
    if len(directions) > 1:
        listed = ", ".join(f"{n!r} ({s.direction})" for n, s in zip(names, studies))
        raise CompareError(
            f"studies of different directions can't be compared on one score: {listed}; compare those that "
            "minimize apart from those that maximize"
        )
    runs = tuple(_run(name, study) for name, study in zip(names, studies))
    return Comparison(runs=runs, direction=studies[0].direction)


def _own_names(names: list[str]) -> list[str]:
    """The studies' names, numbered in order where several studies share one ('study 1', 'study 2')."""
    counts = {n: names.count(n) for n in names}
    seen: dict[str, int] = {}
    numbered = []
    for name in names:
        if counts[name] > 1:
            seen[name] = seen.get(name, 0) + 1
            numbered.append(f"{name} {seen[name]}")
        else:
            numbered.append(name)
    return numbered


def _run(name: str, study: Study | StudySnapshot) -> StudyRun:
    trials: list[Trial] = list(study.trials)
    direction: Direction = study.direction
    better = np.fmin if direction == "minimize" else np.fmax
    done = [t for t in trials if t.state is TrialState.COMPLETE and t.value is not None]
    by_number = sorted(done, key=lambda t: t.number)
    # The trials run when each completed: its number counts the trials started before it, itself included.
    counts = [t.number + 1 for t in by_number]
    best_by_trial: np.ndarray = better.accumulate(np.array([t.value for t in by_number], dtype=float))
    starts = [t.started for t in trials if t.started is not None]
    first = min(starts, default=None)
    timed = sorted((t for t in done if t.finished is not None and first is not None), key=lambda t: t.finished or 0.0)
    times = [(t.finished or 0.0) - (first or 0.0) for t in timed]
    best_by_time: np.ndarray = better.accumulate(np.array([t.value for t in timed], dtype=float))
    ends = [t.finished for t in trials if t.finished is not None]
    best = best_trial(done, direction)
    return StudyRun(
        name=name,
        direction=direction,
        trials=tuple(counts),
        best_by_trial=tuple(float(v) for v in best_by_trial),
        times=tuple(float(t) for t in times),
        best_by_time=tuple(float(v) for v in best_by_time),
        best_value=None if best is None else float(best.value or 0.0),
        best_params=None if best is None else dict(best.params),
        n_trials=len(trials),
        n_complete=len(done),
        total_time=max(ends) - first if ends and first is not None else 0.0,
    )


def _step_values(xs: Sequence[float], ys: Sequence[float], at: Sequence[float] | np.ndarray) -> np.ndarray:
    """A step function's values (ys from each x on) at the given points; NaN before the first x."""
    at = np.asarray(at, dtype=float)
    index = np.searchsorted(np.asarray(xs, dtype=float), at, side="right") - 1
    values = np.asarray(ys, dtype=float)
    out = np.full(at.shape, np.nan)
    if len(values):
        out[index >= 0] = values[index[index >= 0]]
    return out


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
