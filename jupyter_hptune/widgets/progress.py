"""How a search is going: a progress bar, a line of figures (trials, failures, time left, best) and the workers."""

from __future__ import annotations

import html
import time
from collections.abc import Sequence

import ipywidgets as w

from ..core.events import StudySnapshot, WorkerState
from ..core.pruners import step_count
from ..core.search import StopReason
from ..core.trial import TrialState
from ..report import format_params, format_value

__all__ = ["ProgressView", "progress_text", "workers_html"]


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 3600:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def progress_text(snapshot: StudySnapshot) -> str:
    """Trials done of planned, failed, elapsed, estimated time left, and the best score with its params."""
    trials = [t for t in snapshot.search_trials if t.state is not TrialState.RUNNING]
    failed = sum(t.state is TrialState.FAILED for t in trials)
    parts = [f"<b>{len(trials)}</b> / {snapshot.n_planned} trials"]
    if snapshot.first_number:
        parts[0] += f" ({snapshot.first_number + len(trials)} in the study)"
    if failed:
        parts.append(f"<span style='color:#c0392b'>{failed} failed</span>")
    pruned = sum(t.state is TrialState.PRUNED for t in trials)
    if pruned:
        parts.append(f"{pruned} pruned")
    steps = step_count(trials, snapshot.max_steps, snapshot.patience)
    if steps is not None and steps.saved:
        parts.append(f"{steps.saved:,} of {steps.full:,} steps saved ({steps.saved_share:.0%})")
    parts.append(f"{_duration(snapshot.elapsed)} elapsed")
    running = snapshot.stop_reason is None
    if running and trials:
        per_trial = sum(t.duration or 0.0 for t in trials) / len(trials)
        at_once = max(1, sum(t.state is TrialState.RUNNING for t in snapshot.search_trials))  # workers run several
        parts.append(f"~{_duration(per_trial * max(0, snapshot.n_planned - len(trials)) / at_once)} left")
    elif snapshot.stop_reason not in (None, StopReason.COMPLETED):
        parts.append(f"ended: {snapshot.stop_reason}")
    best = snapshot.best_trial
    if best is not None:
        parts.append(
            f"best <b>{format_value(best.value)}</b> (trial {best.number}: {html.escape(format_params(best.params))})"
        )
    return " · ".join(parts)


def workers_html(workers: Sequence[WorkerState], now: float) -> str:
    """Which trial each worker runs and for how long, or that it is idle."""
    parts = []
    for worker in workers:
        name = html.escape(worker.name)
        if worker.trial is None:
            parts.append(f"{name}: <span style='color:#777'>idle</span>")
        else:
            parts.append(f"{name}: trial <b>{worker.trial}</b> · {_duration(now - (worker.since or now))}")
    return f"<b>workers</b> &nbsp;{' &nbsp;|&nbsp; '.join(parts) or 'none yet'}"


class ProgressView:
    """The progress bar and its line of figures, and the workers' row of a search on workers."""

    def __init__(self, n_trials: int | None) -> None:
        self.bar = w.IntProgress(value=0, min=0, max=max(1, n_trials or 1), layout=w.Layout(width="220px"))
        self.bar.layout.flex = "0 0 auto"
        self.status = w.HTML(layout=w.Layout(flex="1 1 0", min_width="0"))
        self.status.add_class("hptune-status")
        self.workers = w.HTML()
        self.workers.add_class("hptune-workers")
        self.cancel_running = w.Checkbox(
            value=False,
            description="Stop cancels the running trials",
            indent=False,
            layout=w.Layout(width="auto", margin="0 0 0 16px"),
        )
        self.workers_row = w.HBox([self.workers, self.cancel_running], layout=w.Layout(display="none"))
        self.line = w.HBox([self.bar, self.status], layout=w.Layout(align_items="center"))

    def start(self, snapshot: StudySnapshot) -> None:
        """A search started: an empty bar of its planned trials, no workers shown until they report."""
        self.bar.max = max(1, snapshot.n_planned)
        self.bar.bar_style = ""
        self.workers_row.layout.display = "none"

    def show(self, snapshot: StudySnapshot) -> None:
        """The trials finished so far and the line of figures."""
        self.bar.value = sum(t.state is not TrialState.RUNNING for t in snapshot.search_trials)
        self.status.value = progress_text(snapshot)

    def end(self, snapshot: StudySnapshot) -> None:
        """A search ended: green when it ran every trial, orange otherwise."""
        self.bar.bar_style = "success" if snapshot.stop_reason is StopReason.COMPLETED else "warning"
        self.workers_row.layout.display = "none"

    def show_workers(self, workers: Sequence[WorkerState]) -> None:
        """What each worker runs."""
        self.workers.value = workers_html(workers, time.time())
        self.workers_row.layout.display = None
