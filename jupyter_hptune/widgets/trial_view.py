"""One trial in detail, chosen beside the trials table: its params, score, duration, state, learning curve and
traceback, and a button that puts its params into the manual controls."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w

from ..core.events import StudySnapshot
from ..core.trial import Trial, TrialState
from ..report import format_value
from .plots_view import png_image, show_png
from .table import sorted_trials

__all__ = ["CURVE_SIZE", "TrialView", "trial_detail_html", "trial_label"]

CURVE_SIZE = (4.0, 2.8)  # inches: a trial's own learning curve, smaller than the panel's plots


def trial_label(trial: Trial) -> str:
    """How the chooser names a trial: '#12 · 0.973 · complete'."""
    score = "–" if trial.value is None else format_value(float(trial.value))
    return f"#{trial.number} · {score} · {trial.state.value}"


def trial_detail_html(trial: Trial, order: Sequence[str] = (), best: bool = False) -> str:
    """A trial's params (only those it used, in the order of `order` then as used), score, state, duration, steps,
    and its error and traceback if it did not complete."""
    names = [n for n in order if n in trial.params] + [n for n in trial.params if n not in order]
    rows = [(name, format_value(trial.params[name])) for name in names]
    facts = [
        ("score", "–" if trial.value is None else format_value(float(trial.value))),
        ("state", trial.state.value + (" (the best trial)" if best else "")),
        ("duration", "–" if trial.duration is None else f"{trial.duration:.2f} s"),
    ]
    if trial.source != "search":
        facts.append(("source", trial.source))
    if trial.intermediate:
        facts.append(("steps", f"{len(trial.intermediate)} reported, last {trial.last_step}, best {trial.best_step}"))

    def table(pairs: list[tuple[str, str]], cls: str) -> str:
        body = "".join(
            f"<tr><th style='text-align:left;padding:1px 8px 1px 0'>{html.escape(k, quote=False)}</th>"
            f"<td style='text-align:right;padding:1px 0'>{html.escape(v, quote=False)}</td></tr>"
            for k, v in pairs
        )
        return f"<table class='{cls}' style='border-collapse:collapse'>{body}</table>"

    parts = [
        f"<div class='hptune-trial-title'><b>Trial #{trial.number}</b></div>",
        "<div style='display:flex;flex-wrap:wrap;gap:4px 28px;align-items:flex-start'>",
        table(rows, "hptune-trial-params") if rows else "<i>no hyperparameters</i>",
        table(facts, "hptune-trial-facts"),
        "</div>",
    ]
    if trial.state is not TrialState.COMPLETE and trial.error:
        parts.append(
            f"<div class='hptune-trial-error' style='color:#c0392b'>{html.escape(trial.error, quote=False)}</div>"
        )
    if trial.traceback:
        parts.append(
            "<pre class='hptune-trial-traceback' style='max-height:240px;overflow:auto;font-size:11px;"
            f"background:#fdf2f2;padding:4px;margin:4px 0'>{html.escape(trial.traceback, quote=False)}</pre>"
        )
    return "".join(parts)


def curve_png(snapshot: StudySnapshot, trial: Trial) -> bytes:
    """The learning curve of one trial: the panel's curves plot of a snapshot holding that trial alone."""
    from matplotlib.figure import Figure

    from .. import plots

    alone = dataclasses.replace(snapshot, trials=(trial,), best_trial=None, first_number=0)
    fig = plots.plot_curves(alone, Figure(figsize=CURVE_SIZE))
    ax = fig.axes[0]
    ax.set_title(f"Trial #{trial.number}: reported values", fontsize=plots.TITLE)
    legend = ax.get_legend()
    if legend is not None:  # one line, named by the title
        legend.remove()
    return plots.figure_png(fig)


class TrialView:
    """A chooser of the trials (in the table's order, the best chosen until the user chooses another) and the chosen
    trial's detail, with 'Use in manual'."""

    def __init__(self, order: list[str] | None = None, limit: int = 500) -> None:
        self.order = [] if order is None else order  # the params' order: the study's space (shared with the table)
        self.limit = limit
        self.chooser = w.Dropdown(description="Trial", options=[], layout=w.Layout(width="300px"))
        self.chooser.add_class("hptune-trial-chooser")
        self.use = w.Button(
            description="Use in manual",
            icon="arrow-up",
            tooltip="put this trial's params into the manual controls, to run it again or a variant of it",
            disabled=True,
            layout=w.Layout(width="auto", flex="0 0 auto"),
        )
        self.detail = w.HTML()
        self.detail.add_class("hptune-trial-detail")
        self.curve = png_image()
        # The chooser and the button sit in the table's top row (TrialsTable); the detail below the table, the curve
        # beside it where both fit.
        self.widget = w.GridBox(
            [self.detail, self.curve],
            layout=w.Layout(
                grid_template_columns="repeat(auto-fit, minmax(min(360px, 100%), 1fr))",
                grid_gap="4px 12px",
                align_items="flex-start",
                border_top="1px solid #eee",
                padding="4px 0 0 0",
                margin="6px 0 0 0",
            ),
        )
        self.widget.add_class("hptune-trial-view")
        self.on_use: Callable[[Trial], None] | None = None
        self.chosen: int | None = None  # the trial the user chose (None: follow the best)
        self._snapshot: StudySnapshot | None = None
        self._shown: tuple[Trial, bool] | None = None
        self._offering = False
        self.chooser.observe(self._chose, names="value")
        self.use.on_click(lambda _: self._use())

    @property
    def trial(self) -> Trial | None:
        """The trial shown."""
        if self._snapshot is None or self.chooser.value is None:
            return None
        return next((t for t in self._snapshot.trials if t.number == self.chooser.value), None)

    def draw(self, snapshot: StudySnapshot, sort: str = "trial") -> None:
        """Offer the snapshot's trials in the table's order and show the chosen one (the best, unless chosen)."""
        self._snapshot = snapshot
        trials = sorted_trials(snapshot, sort)[: self.limit]
        options = [(trial_label(t), t.number) for t in trials]
        numbers = [number for _, number in options]
        best = snapshot.best_trial.number if snapshot.best_trial is not None else None
        if self.chosen not in numbers:  # a new study (Run), or a trial beyond the table's limit: the best again
            self.chosen = None
        wanted = self.chosen if self.chosen is not None else best if best in numbers else None
        if wanted is None and numbers:
            wanted = numbers[0]
        if list(self.chooser.options) != options or self.chooser.value != wanted:
            self._offering = True  # the dropdown passes through its first option on the way: not a choice
            try:
                self.chooser.options = options
                self.chooser.value = wanted
            finally:
                self._offering = False
        self._show()

    def choose(self, number: int) -> None:
        """Choose a trial by its number, as the user does with the chooser."""
        self.chooser.value = number

    def _chose(self, change: dict[str, Any]) -> None:
        if self._offering:
            return
        self.chosen = change["new"]
        self._show()

    def _show(self) -> None:
        trial = self.trial
        snapshot = self._snapshot
        self.use.disabled = trial is None or not trial.params
        if trial is None or snapshot is None:
            self.detail.value, self._shown = "", None
            self.curve.layout.display = "none"
            return
        best = snapshot.best_trial is not None and snapshot.best_trial.number == trial.number
        if self._shown == (trial, best):  # a trial's record changes as it reports and finishes: else nothing new
            return
        self._shown = (trial, best)
        self.detail.value = trial_detail_html(trial, self.order, best)
        if trial.intermediate:
            show_png(self.curve, curve_png(snapshot, trial))
        else:
            self.curve.layout.display = "none"

    def _use(self) -> None:
        trial = self.trial
        if trial is not None and self.on_use is not None:
            self.on_use(trial)
