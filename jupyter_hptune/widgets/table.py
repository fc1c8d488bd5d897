"""The trials table: a row per trial, sortable by trial or by score, the best highlighted."""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as w

from ..core.events import StudySnapshot
from ..core.trial import Trial, TrialState
from ..report import format_value
from .rows import row_box

__all__ = ["TrialsTable", "sorted_trials", "trials_table_html"]

LIMIT = 500  # trials the table (and the chooser) lists
_STATE_COLOURS = {"failed": "#c0392b", "interrupted": "#b9770e", "running": "#2471a3", "pruned": "#7f8c8d"}


def sorted_trials(snapshot: StudySnapshot, sort: str = "trial") -> list[Trial]:
    """The trials in the table's order: the latest first, or by score (best first, trials without one last)."""
    trials = list(snapshot.trials)
    if sort == "score":
        sign = 1 if snapshot.direction == "minimize" else -1
        trials.sort(key=lambda t: (t.value is None, sign * (t.value or 0.0), t.number))
    else:
        trials.reverse()
    return trials


def trials_table_html(snapshot: StudySnapshot, sort: str = "trial", limit: int = 500, order: Sequence[str] = ()) -> str:
    """An HTML table of the trials (number, params, score, state, steps, duration), best row highlighted.

    A hyperparameter has a column when some trial used it (in the order of `order`, e.g. the study's space, then
    as first used), blank where a trial did not.
    When trials report values, the step each reached and its best step have columns of their own.
    """
    trials = sorted_trials(snapshot, sort)
    best = snapshot.best_trial.number if snapshot.best_trial is not None else None
    used = dict.fromkeys(name for t in snapshot.trials for name in t.params)  # in the order first used
    names = [name for name in order if name in used] + [name for name in used if name not in order]
    steps = any(t.intermediate for t in trials)
    columns = ["#", *names, "score", "state", *(["step", "best step"] if steps else []), "time"]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in columns)
    rows = []
    for trial in trials[:limit]:
        style = " style='background:#fff3b0;font-weight:bold'" if trial.number == best else ""
        colour = _STATE_COLOURS.get(trial.state.value)
        state = trial.state.value if colour is None else f"<span style='color:{colour}'>{trial.state.value}</span>"
        if trial.error and trial.state is not TrialState.COMPLETE:
            state = f"<span title='{html.escape(trial.error)}'>{state}</span>"
        cells = [str(trial.number)]
        cells += [html.escape(format_value(trial.params[n])) if n in trial.params else "" for n in names]
        cells += ["" if trial.value is None else format_value(trial.value), state]
        if steps:
            cells += [
                "" if trial.last_step is None else str(trial.last_step),
                "" if trial.best_step is None else str(trial.best_step),
            ]
        cells.append("" if trial.duration is None else f"{trial.duration:.2f} s")
        rows.append(f"<tr{style}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    more = f"<p>… {len(trials) - limit} more</p>" if len(trials) > limit else ""
    return (
        "<style>.hptune-trials td, .hptune-trials th {padding: 1px 8px; text-align: right}</style>"
        "<div style='max-height:320px;overflow:auto'><table class='hptune-trials' style='border-collapse:collapse'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}</div>"
    )


class TrialsTable:
    """The trials table of a panel's Trials tab, with its sort order, and beside it a chooser of one trial to see in
    detail (an HTML table sends no clicks to the kernel: the chooser lists the trials in the table's order)."""

    def __init__(self, order: Sequence[str] = ()) -> None:
        from .trial_view import TrialView

        self.order = list(order)  # the hyperparameters' column order: the study's space
        self.sort = w.ToggleButtons(options=[("by trial", "trial"), ("by score", "score")], value="trial")
        self.table = w.HTML()
        self.trial = TrialView(self.order, LIMIT)
        self.widget = w.VBox([row_box([self.sort, self.trial.chooser, self.trial.use]), self.table, self.trial.widget])

    def draw(self, snapshot: StudySnapshot) -> None:
        """Rewrite the table from a snapshot, and the chosen trial's detail if it changed."""
        self.table.value = trials_table_html(snapshot, self.sort.value, LIMIT, self.order)
        self.trial.draw(snapshot, self.sort.value)
