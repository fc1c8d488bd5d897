"""Text reports of a search: one line per trial and a closing summary, written to a stream."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, TextIO

from .core.events import Event, SearchFinished, SearchStarted, StudySnapshot, TrialFinished
from .core.pruners import step_count
from .core.search import StopReason
from .core.trial import TrialState

__all__ = ["ConsoleReporter", "format_params", "format_steps", "format_summary", "format_value"]

_REASONS: dict[StopReason, str | None] = {
    StopReason.COMPLETED: None,
    StopReason.TIMEOUT: "the time limit was reached",
    StopReason.STOPPED: "stopped on request",
    StopReason.INTERRUPTED: "interrupted; finished trials are kept",
    StopReason.FAILURES: "the first trials all failed",
    StopReason.ERROR: "the score was not a number",
}


def format_value(value: Any) -> str:
    """A number in 4 significant digits; anything else as its repr."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return repr(value)


def format_params(params: Mapping[str, Any]) -> str:
    """Params as 'lr=0.001, units=64, activation='relu''."""
    return ", ".join(f"{name}={format_value(value)}" for name, value in params.items())


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def format_summary(study: StudySnapshot) -> str:
    """What a search did: trials done and failed, best score and params, time taken, why it stopped."""
    trials = study.search_trials
    counts = {state: sum(t.state is state for t in trials) for state in TrialState}
    parts = [f"{counts[TrialState.COMPLETE]} complete"]
    parts += [
        f"{counts[s]} {s.value}" for s in (TrialState.PRUNED, TrialState.FAILED, TrialState.INTERRUPTED) if counts[s]
    ]
    earlier = len(study.trials) - len(trials)
    seeded = "" if study.method == "manual" else f", seed {study.seed}"
    lines = [
        f"Study {study.name!r}: {_count(len(trials), 'trial')} in {_duration(study.elapsed)} "
        f"({study.method}, {study.direction}{seeded}): "
        + ", ".join(parts)
        + (f"; {_count(len(study.trials), 'trial')} in the study" if earlier else "")
    ]
    best = study.best_trial
    if best is None:
        lines.append("No trial completed, so there is no best score yet.")
    else:
        at = f"trial {best.number}"
        if study.patience is not None and best.best_step is not None:
            at += f", step {best.best_step}"  # early stopping: the score is that of the best step
        lines.append(f"Best score {format_value(best.value)} at {at}: {format_params(best.params)}")
    steps = format_steps(study)
    if steps:
        lines.append(steps)
    elif (study.prune != "none" or study.patience is not None) and any(t.state is TrialState.COMPLETE for t in trials):
        lines.append(
            "No trial reported a value with hp.report(step, value), so pruning and patience had nothing to act on."
        )
    reason = None if study.stop_reason is None else _REASONS.get(study.stop_reason, study.stop_reason)
    if reason:
        lines.append(f"Search ended early: {reason}.")
    if study.storage:
        lines.append(f"Saved in {study.storage}")
    return "\n".join(lines)


def first_failure(snapshot: StudySnapshot) -> str:
    """Why every trial failed, from the first one: its traceback, or its error where it has none (a NaN score)."""
    first = snapshot.search_trials[0]
    if first.traceback:
        return f"Every trial failed. The first one's traceback:\n{first.traceback}"
    return f"Every trial failed. The first one: {first.error}"


def format_steps(study: StudySnapshot) -> str | None:
    """The steps (epochs) the latest search's trials ran against running each to the end, or None if none reported."""
    count = step_count(study.search_trials, study.max_steps, study.patience)
    if count is None:
        return None
    how = []
    if count.pruned:
        how.append(f"{count.pruned} pruned ({study.prune})")
    if count.stopped_early:
        patience = f" (patience {study.patience})" if study.patience is not None else ""
        how.append(f"{count.stopped_early} stopped early{patience}")
    if count.full is None:
        text = f"Steps run: {count.run:,} (give max steps to count the steps saved)"
    else:
        text = (
            f"Steps run: {count.run:,} instead of {count.full:,} with every trial run to the end "
            f"({count.saved:,} saved, {count.saved_share:.0%})"
        )
    return text + (": " + ", ".join(how) if how else "")


class ConsoleReporter:
    """An observer that prints a line per finished trial and the summary at the end."""

    def __init__(self, stream: TextIO | None = None, *, per_trial: bool = True) -> None:
        self.stream = stream
        self.per_trial = per_trial

    def _print(self, text: str) -> None:
        print(text, file=self.stream or sys.stdout, flush=True)

    def __call__(self, event: Event) -> None:
        """Print what the event tells."""
        if isinstance(event, SearchStarted) and event.note:
            self._print(event.note)
        elif isinstance(event, TrialFinished) and self.per_trial:
            self._print(self.trial_line(event))
        elif isinstance(event, SearchFinished):
            self._print(format_summary(event.study))

    @staticmethod
    def trial_line(event: TrialFinished) -> str:
        """One line about a finished trial."""
        trial = event.trial
        head = f"trial {trial.number:>3}"
        if trial.state is TrialState.COMPLETE:
            mark = "  (best so far)" if event.is_best else ""
            took = _duration(trial.duration or 0.0)
            if trial.best_step is not None:
                took += f", best at step {trial.best_step} of {trial.last_step}"
            return f"{head}  {format_value(trial.value):>10}  {format_params(trial.params)}  [{took}]{mark}"
        return f"{head}  {trial.state.value}: {trial.error}  ({format_params(trial.params)})"
