"""The control panel of a %%tune cell: controls built from the declared space, live progress, plots and trials.

The panel observes a study's events and turns clicks into requests (run, continue, one manual trial, stop) that
its owner carries out; it never runs the search itself.
"""

from __future__ import annotations

import base64
import html
import math
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as w
import numpy as np

from .core.events import (
    Event,
    SearchFinished,
    SearchStarted,
    StudySnapshot,
    TrialFinished,
    TrialReported,
    TrialStarted,
    WorkerState,
    WorkersUpdated,
)
from .core.pruners import PRUNERS, step_count
from .core.samplers import METHODS
from .core.samplers.bayes import ACQUISITION_FUNCTIONS
from .core.space import Choice, Dimension, Int, Real, Space, SpaceError
from .core.study import DIRECTIONS
from .core.trial import TrialState
from .report import format_params, format_value

__all__ = ["ChoiceRow", "RangeRow", "TunePanel", "make_row", "trials_table_html"]

Handler = Callable[..., None]  # what a button of the panel calls (PanelController sets them)


# -- one row per hyperparameter ---------------------------------------------------------------------------------------
def value_label(value: float) -> str:
    """A compact label for a slider: 0.001, 250, 1000, 1e-4, 2.5e-6 (an integer below 100000 in full)."""
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    if -3 <= exponent < 5:
        if float(value).is_integer():
            return f"{value:.0f}"
        text = f"{value:.3g}"
        return f"{float(text):.0f}" if "e" in text else text  # 1234.5 reads 1230, never 1.23e+03
    mantissa = value / 10**exponent
    return f"{mantissa:.2g}e{exponent}"


def log_values(dim: Real | Int, low: float, high: float) -> list[float | int]:
    """Log-spaced slider stops from low to high, each the value its label shows (each integer once for an int)."""
    decades = math.log10(high / low)
    count = int(min(121, max(24, round(decades * 16) + 1)))  # 16 stops a decade
    if isinstance(dim, Int):
        return sorted({int(round(v)) for v in np.geomspace(low, high, count)} | {int(low), int(high)})
    inner = {float(value_label(v)) for v in np.geomspace(low, high, count)[1:-1]}
    return [float(low), *sorted(v for v in inner if low < v < high), float(high)]


class RangeRow:
    """A real or integer hyperparameter: a range slider (log-scaled labels for a log range) and a log toggle."""

    def __init__(self, name: str, dim: Real | Int) -> None:
        self.name = name
        self.declared = dim
        self.is_int = isinstance(dim, Int)
        self.log = w.Checkbox(value=dim.log, description="log", indent=False, layout=w.Layout(width="60px"))
        self.log.disabled = dim.low <= 0
        self.slot = w.HBox(layout=w.Layout(width="400px"))
        self.single_slot = w.Box(layout=w.Layout(width="400px", display="none"))
        self.label = w.HTML(f"<b>{html.escape(name)}</b>", layout=w.Layout(width="110px"))
        self.note = note_html(dim.describe())
        self.widget = row_box([self.label, self.slot, self.single_slot, self.log, self.note])
        self.slider = self._slider(dim.low, dim.high, dim.log)
        self.single = self._single(dim.log, dim.default_value)
        self.log.observe(self._toggle_log, names="value")

    def _slider(self, low: float, high: float, log: bool) -> w.DOMWidget:
        dim = self.declared
        if log:
            values = sorted(set(log_values(dim, dim.low, dim.high)) | {low, high})  # the selected bounds stay exact
            lo, hi = values.index(low), values.index(high)
            slider = w.SelectionRangeSlider(
                options=[(value_label(v), v) for v in values], index=(lo, hi), continuous_update=False, readout=False
            )
            # The slider's own readout joins the bounds with "-", which reads as a minus sign: show "1e-4 – 0.1".
            readout = w.HTML(layout=w.Layout(width="120px"))

            def show(_: Any = None) -> None:
                low_label, high_label = (slider.label[0], slider.label[1])
                readout.value = f"{low_label} – {high_label}"

            slider.observe(show, names="index")
            show()
            slider.layout = w.Layout(width="270px")
            self.slot.children = (slider, readout)
            return slider
        elif self.is_int:
            slider = w.IntRangeSlider(min=dim.low, max=dim.high, value=(int(low), int(high)), continuous_update=False)
        else:
            slider = w.FloatRangeSlider(
                min=dim.low,
                max=dim.high,
                step=(dim.high - dim.low) / 200,
                value=(low, high),
                readout_format=".3g",
                continuous_update=False,
            )
        slider.description = ""
        slider.layout = w.Layout(width="390px")
        self.slot.children = (slider,)
        return slider

    def _single(self, log: bool, value: float) -> w.DOMWidget:
        dim = self.declared
        if log and self.is_int:
            values = sorted(set(log_values(dim, dim.low, dim.high)) | {int(value)})
            single = w.SelectionSlider(options=[(value_label(v), v) for v in values], value=int(value))
        elif log:
            single = w.FloatLogSlider(
                min=math.log10(dim.low),
                max=math.log10(dim.high),
                step=0.0001,  # in decades: fine enough to hold any trial's value
                value=value,
                base=10,
                readout_format=".4g",
            )
        elif self.is_int:
            single = w.IntSlider(min=dim.low, max=dim.high, value=int(value))
        else:
            single = w.FloatSlider(
                min=dim.low, max=dim.high, step=(dim.high - dim.low) / 100_000, value=value, readout_format=".4g"
            )
        single.layout = w.Layout(width="390px")
        self.single_slot.children = (single,)
        return single

    def _toggle_log(self, change: Mapping[str, Any]) -> None:
        low, high = self.bounds()
        self.slider = self._slider(low, high, bool(change["new"]))
        self.single = self._single(bool(change["new"]), self.point_value())

    def bounds(self) -> tuple[Any, Any]:
        """The range the slider selects."""
        low, high = self.slider.value
        return (int(low), int(high)) if self.is_int else (float(low), float(high))

    def dimension(self) -> Real | Int:
        """The range this row selects, as the next search's dimension; SpaceError naming the parameter if empty."""
        low, high = self.bounds()
        default = self.declared.default if self.declared.default is not None else None
        if default is not None and not low <= default <= high:
            default = None
        try:
            if self.is_int:
                return Int(int(low), int(high), log=self.log.value, default=None if default is None else int(default))
            return Real(low, high, log=self.log.value, default=default)
        except SpaceError as error:
            raise SpaceError(f"hyperparameter {self.name!r}: {error}") from None

    def point_value(self) -> Any:
        """The single value chosen for a manual trial."""
        value = self.single.value
        return int(value) if self.is_int else float(value)

    def set_point(self, value: Any) -> None:
        """Set the manual trial's value."""
        if isinstance(self.single, w.SelectionSlider) and value not in [v for _, v in self.single.options]:
            self.single = self._single(self.log.value, value)  # a log integer slider gains the value as a stop
        else:
            self.single.value = value

    def set_manual(self, manual: bool) -> None:
        """Show the single-value control (manual trials) or the range slider (searches)."""
        self.slot.layout.display = "none" if manual else None
        self.single_slot.layout.display = None if manual else "none"


def note_html(text: str) -> w.HTML:
    """A grey note beside a control, kept on one line (a range never breaks in its middle)."""
    note = w.HTML(f"<span style='color:#777;white-space:nowrap'>{html.escape(text)}</span>")
    note.add_class("hptune-note")
    return note


def row_box(children: Sequence[w.Widget]) -> w.HBox:
    """A row of controls that wraps onto a second line when the panel is narrow."""
    return w.HBox(list(children), layout=w.Layout(flex_flow="row wrap", align_items="center"))


def option_label(option: Any, options: Sequence[Any]) -> str:
    """An option as shown in the panel: a string without quotes unless another option would read the same."""
    if isinstance(option, str) and not any(repr(other) == option for other in options):
        return option
    return format_value(option)


class ChoiceRow:
    """A categorical hyperparameter: a multi-select of the options to include."""

    def __init__(self, name: str, dim: Choice) -> None:
        self.name = name
        self.declared = dim
        labels = [(option_label(option, dim.options), i) for i, option in enumerate(dim.options)]
        self.select = w.SelectMultiple(
            options=labels,
            value=tuple(range(len(dim.options))),
            rows=min(4, len(labels)),
            layout=w.Layout(width="390px"),
        )
        self.single = w.Dropdown(options=labels, value=dim.index(dim.default_value))
        self.single.layout = w.Layout(width="390px", display="none")
        self.select.add_class("hptune-choice")  # the included options highlighted (the panel's CSS)
        self.label = w.HTML(f"<b>{html.escape(name)}</b>", layout=w.Layout(width="110px"))
        self.note = note_html("choice: ctrl/shift-click to include several")
        self.widget = row_box([self.label, self.select, self.single, self.note])

    def dimension(self) -> Choice:
        """The options this row includes, as the next search's dimension; SpaceError naming the parameter if none."""
        chosen = [self.declared.options[i] for i in sorted(self.select.value)]
        if not chosen:
            raise SpaceError(f"hyperparameter {self.name!r}: include at least one option")
        default = self.declared.default if self.declared.default in chosen else None
        return Choice(chosen, default=default)

    def point_value(self) -> Any:
        """The option chosen for a manual trial."""
        return self.declared.options[self.single.value]

    def set_point(self, value: Any) -> None:
        """Set the manual trial's option."""
        self.single.value = self.declared.index(value)

    def set_manual(self, manual: bool) -> None:
        """Show the single-option dropdown (manual trials) or the multi-select (searches)."""
        self.select.layout.display = "none" if manual else None
        self.single.layout.display = None if manual else "none"
        self.note.layout.display = "none" if manual else None


Row = RangeRow | ChoiceRow


def make_row(name: str, dim: Dimension) -> Row:
    """The panel row for a declared hyperparameter."""
    if isinstance(dim, Choice):
        return ChoiceRow(name, dim)
    if isinstance(dim, Real | Int):
        return RangeRow(name, dim)
    raise TypeError(f"hyperparameter {name!r}: no control for {type(dim).__name__}")


# -- the trials table -------------------------------------------------------------------------------------------------
_STATE_COLOURS = {"failed": "#c0392b", "interrupted": "#b9770e", "running": "#2471a3", "pruned": "#7f8c8d"}


def trials_table_html(snapshot: StudySnapshot, sort: str = "trial", limit: int = 500) -> str:
    """An HTML table of the trials (number, params, score, state, steps, duration), best row highlighted.

    When trials report values, the step each reached and its best step have columns of their own.
    """
    trials = list(snapshot.trials)
    if sort == "score":
        sign = 1 if snapshot.direction == "minimize" else -1
        trials.sort(key=lambda t: (t.value is None, sign * (t.value or 0.0), t.number))
    else:
        trials.reverse()
    best = snapshot.best_trial.number if snapshot.best_trial is not None else None
    names = list(trials[0].params) if trials else []
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
        cells = [str(trial.number), *(html.escape(format_value(trial.params[n])) for n in names)]
        cells += ["" if trial.value is None else format_value(trial.value), state]
        if steps:
            cells += ["" if trial.last_step is None else str(trial.last_step), _text(trial.best_step)]
        cells.append("" if trial.duration is None else f"{trial.duration:.2f} s")
        rows.append(f"<tr{style}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    more = f"<p>… {len(trials) - limit} more</p>" if len(trials) > limit else ""
    return (
        "<style>.hptune-trials td, .hptune-trials th {padding: 1px 8px; text-align: right}</style>"
        "<div style='max-height:320px;overflow:auto'><table class='hptune-trials' style='border-collapse:collapse'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}</div>"
    )


# -- when to redraw ----------------------------------------------------------------------------------------------------
LATENCY = 1.0  # seconds: how old a finished trial may get before the score plot shows it
SHARE = 0.05  # of the time since its last draw, that a redraw may take whenever it likes
FOLLOW_SHARE = 0.5  # of the search's own time, that the plots may take to keep up with trials ...
FOLLOW_FROM = 0.25  # ... of at least this many seconds (shorter ones: proportionally less)


class _Part:
    """Images the panel redraws together: when they were last drawn, what that costs, and the trials they miss."""

    def __init__(self, now: float, cost: float) -> None:
        self.last = now  # when last drawn (or when the search started)
        self.cost = cost  # what the latest draw took, in seconds
        self.behind = 0  # finished trials not shown yet
        self.since: float | None = None  # when the oldest of them finished
        self.drawn = 0  # draws in this search


class RedrawPace:
    """When the panel redraws, for a person watching a search at no more than a small cost to it.

    Each group of images redraws whenever the draw fits in SHARE of the time since its last draw. Beyond that, to
    keep up with trials, it may take up to FOLLOW_SHARE of the search's own time (the time between finished trials,
    less the panel's, so that its draws never make room for more of themselves); with trials shorter than
    FOLLOW_FROM, proportionally less: nobody follows such trials one by one, and zero-cost trials leave the plots
    about SHARE of the time each.
    The score plot keeps up by showing a finished trial within about LATENCY seconds: it redraws at a finish when
    waiting for the next one (as long as the latest trials took) would leave the oldest trial it misses older than
    LATENCY, and before the model views, which take longer. The first finished trial is drawn at once, unless
    trials take less time than a draw.
    The model views (posterior and the open tab) keep up within one more trial: at a trial's start (a Bayesian
    model has then learnt the trials before it) they redraw when the draw fits in FOLLOW_SHARE of the time the
    trials they miss took (a quarter of one trial's time when they miss only one): a draw that costs up to a
    quarter of a trial follows every trial, one that costs up to a trial every other trial.
    """

    def __init__(
        self, share: float = SHARE, latency: float = LATENCY, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.share, self.latency, self.clock = share, latency, clock
        now = clock()
        self.spent = 0.0  # seconds the panel has taken in this search
        self.finishes: deque[tuple[float, float]] = deque([(now, 0.0)], maxlen=6)  # (time, spent) at recent ends
        self.history = _Part(now, 0.1)
        self.views = _Part(now, 0.3)
        self.curves = _Part(now, 0.1)

    def finished(self) -> None:
        """Count a finished trial: the score plot and the model views miss it until their next draw."""
        now = self.clock()
        self.finishes.append((now, self.spent))
        for part in (self.history, self.views):
            part.behind += 1
            part.since = now if part.since is None else part.since

    def trial_time(self, *, own: bool = True) -> float:
        """The time from one finished trial to the next lately (median): the search's own, or with the panel's."""
        ends = list(self.finishes)
        if len(ends) < 2:
            return self.clock() - ends[0][0] - (self.spent if own else 0.0)
        gaps = sorted((t2 - t1) - ((s2 - s1) if own else 0.0) for (t1, s1), (t2, s2) in zip(ends, ends[1:]))
        return max(0.0, gaps[len(gaps) // 2])

    def _fits(self, part: _Part) -> bool:
        return part.cost <= self.share * (self.clock() - part.last)

    def _following(self) -> float:
        """The share of the search's own time the plots may take to keep up: less for trials too short to follow."""
        return FOLLOW_SHARE * min(1.0, self.trial_time() / FOLLOW_FROM)

    def history_due(self) -> bool:
        """Whether to redraw the score plot now."""
        part = self.history
        if not part.behind:
            return False
        trial = self.trial_time(own=False)
        if (not part.drawn and part.cost <= trial) or self._fits(part):
            return True
        wait = trial + part.cost  # until the next finished trial, and this draw
        late = self.clock() - (part.since or 0.0) + wait > self.latency
        return late and part.cost <= self._following() * (self.clock() - part.last)

    def views_due(self) -> bool:
        """Whether to redraw the model views now (at a trial's start)."""
        part = self.views
        if not part.behind:
            return False
        if self._fits(part):
            return True
        trial = self.trial_time()
        return part.cost <= self._following() * trial * (part.behind if part.behind >= 2 else 0.5)

    def curves_due(self) -> bool:
        """Whether to redraw the learning curves at a report of the running trial."""
        return self._fits(self.curves)

    def drew(self, part: _Part, seconds: float) -> None:
        """Count a draw of part that took this long: it now shows every finished trial."""
        part.last, part.cost, part.behind, part.since = self.clock(), seconds, 0, None
        part.drawn += 1

    def charge(self, seconds: float) -> None:
        """Count the panel's time on one event (draws included)."""
        self.spent += seconds


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
    elif snapshot.stop_reason not in (None, "completed"):
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


def png_image(fill: bool = False) -> w.Image:
    """An image widget for a rendered plot, hidden until it has one: at its size in inches (its pixels rendered at
    twice the density), or filling the width it is given; never wider than that."""
    layout = w.Layout(
        max_width="min(100%, 640px)" if fill else "100%",  # alone in its row, a plot's text grows no larger
        width="100%" if fill else None,
        height="auto",
        margin="2px 0" if fill else None,  # no side margins: 100% wide is all the width there is
        align_self="flex-start",
        display="none",
    )
    return w.Image(value=b"", format="png", layout=layout)


def show_png(image: w.Image, png: bytes) -> None:
    """Show a rendered plot in an image widget, at its size in CSS pixels (unless its layout gives a width)."""
    from .plots import CSS_DPI, DPI

    image.value = png
    if png[12:16] == b"IHDR":  # the PNG's width in pixels, shown at the CSS pixels it was drawn for
        image.width = str(round(int.from_bytes(png[16:20], "big") * CSS_DPI / DPI))
    image.layout.display = None


TRIALS_TAB = 2  # the tab of the trials table
CURVES_TAB = 4  # the tab of the learning curves


class TunePanel:
    """The widgets of one %%tune cell, kept up to date from the study's events."""

    def __init__(
        self,
        space: Space,
        *,
        name: str,
        method: str,
        n_trials: int | None,
        direction: str,
        seed: int | None,
        options: Mapping[str, Any],
        stopping: Mapping[str, Any] | None = None,
    ) -> None:
        self.space = space
        self.rows = {n: make_row(n, dim) for n, dim in space.items()}
        self.title = w.HTML(f"<b>%%tune</b> · study <code>{html.escape(name)}</code>")
        self.method = w.ToggleButtons(options=list(METHODS), value=method, style={"button_width": "90px"})
        self.acq = w.Dropdown(
            options=ACQUISITION_FUNCTIONS, value=options.get("acq") or "EI", description="acquisition"
        )
        self.initial_points = w.Text(
            value=_text(options.get("initial_points")),
            placeholder="auto",
            description="initial points",
            style={"description_width": "initial"},
            layout=w.Layout(width="170px"),
        )
        self.grid_points = w.Text(
            value=_text(options.get("grid_points")),
            placeholder="5",
            description="points per real range",
            style={"description_width": "initial"},
            layout=w.Layout(width="220px"),
        )
        self.bayes_options = w.HBox([self.acq, self.initial_points])
        self.grid_options = w.HBox([self.grid_points])
        stopping = dict(stopping or {})
        self.prune = w.Dropdown(
            options=list(PRUNERS),
            value=stopping.get("prune") or "none",
            description="prune",
            layout=w.Layout(width="200px"),
        )
        self.patience = w.Text(
            value=_text(stopping.get("patience")),
            placeholder="off",
            description="patience",
            layout=w.Layout(width="170px"),
        )
        self.max_steps = w.Text(
            value=_text(stopping.get("max_steps")),
            placeholder="none",
            description="max steps",
            layout=w.Layout(width="170px"),
        )
        self.stopping_options = w.HBox([self.prune, self.patience, self.max_steps])
        self.stopping_options.add_class("hptune-stopping")
        self.trials = w.Text(
            value=_text(n_trials), placeholder="20", description="trials", layout=w.Layout(width="150px")
        )
        self.direction = w.ToggleButtons(options=list(DIRECTIONS), value=direction, style={"button_width": "90px"})
        self.seed = w.Text(value=_text(seed), placeholder="random", description="seed", layout=w.Layout(width="170px"))
        self.run = w.Button(description="Run", icon="play", button_style="primary", tooltip="a new study")
        self.more = w.Button(description="Continue", icon="forward", tooltip="more trials in the same study")
        self.run_trial = w.Button(description="Run trial", icon="play", button_style="primary")
        self.stop = w.Button(description="Stop", icon="stop", button_style="danger", disabled=True)
        self.save = w.Button(
            description="Save to cell", icon="save", tooltip="write these ranges and settings into the %%tune cell"
        )
        self.use_best = w.Button(
            description="Use best params", icon="arrow-down", tooltip="insert a cell below with the best params"
        )
        self.stop.tooltip = "end after the trial now running; every finished trial is kept"
        self.workers = w.HTML()
        self.workers.add_class("hptune-workers")
        self.cancel_running = w.Checkbox(
            value=False,
            description="Stop cancels the running trials",
            indent=False,
            layout=w.Layout(width="auto", margin="0 0 0 16px"),
        )
        self.workers_row = w.HBox([self.workers, self.cancel_running], layout=w.Layout(display="none"))
        self.message = w.HTML()
        self.message.add_class("hptune-message")
        self.bar = w.IntProgress(value=0, min=0, max=max(1, n_trials or 1), layout=w.Layout(width="220px"))
        self.status = w.HTML()
        self.status.add_class("hptune-status")
        self.history = png_image(fill=True)
        self.posterior_param = w.Dropdown(options=list(space), description="along", layout=w.Layout(width="260px"))
        self.posterior = png_image(fill=True)
        self.surface_x = w.Dropdown(options=list(space), description="x", layout=w.Layout(width="220px"))
        self.surface_y = w.Dropdown(
            options=list(space),
            value=list(space)[min(1, len(space) - 1)],
            description="y",
            layout=w.Layout(width="220px"),
        )
        self.surface = png_image()
        self.params_plot = png_image()
        self.curves = png_image()
        self.sort = w.ToggleButtons(options=[("by trial", "trial"), ("by score", "score")], value="trial")
        self.table = w.HTML()
        self.log = w.Output(layout=w.Layout(max_height="240px", overflow="auto"))
        self.log_note = w.HTML(
            "<span style='color:#777'>When a search runs from this panel's buttons (or in the background), what its "
            "trials print, a line per finished trial with its score, and the summary appear here. A search run by "
            "the cell itself prints below the cell.</span>"
        )
        self.tabs = w.Tab(
            children=[
                w.VBox([w.HBox([self.surface_x, self.surface_y]), self.surface]),
                self.params_plot,
                w.VBox([self.sort, self.table]),
                w.VBox([self.log_note, self.log]),
                self.curves,
            ]
        )
        for i, title in enumerate(["Surface", "Parameters", "Trials", "Log", "Curves"]):
            self.tabs.set_title(i, title)
        self.tabs.selected_index = TRIALS_TAB
        if self.prune.value != "none" or self.patience.value or self.max_steps.value:
            self.tabs.selected_index = CURVES_TAB  # a cell that stops trials early: its learning curves first
        # Side by side where two plots of at least 420 px fit (their text then shows at 12 px or more), else one
        # above the other; their bottoms aligned, the posterior's dropdown above it.
        cell = w.Layout(min_width="0")
        plots = w.GridBox(
            [w.VBox([self.history], layout=cell), w.VBox([self.posterior_param, self.posterior], layout=cell)],
            layout=w.Layout(
                grid_template_columns="repeat(auto-fit, minmax(min(420px, 100%), 1fr))",
                grid_gap="4px 12px",
                align_items="flex-end",
            ),
        )
        plots.add_class("hptune-plots")
        # The settings of the next run fold into a one-line summary, so that the progress and the plots fit a
        # laptop's screen; the manual method starts unfolded, its rows being the point to run.
        self.controls = w.VBox(
            [
                w.VBox([row.widget for row in self.rows.values()]),
                row_box([self.method, self.bayes_options, self.grid_options]),
                self.stopping_options,
                row_box([self.trials, self.direction, self.seed]),
            ],
            layout=w.Layout(border_bottom="1px solid #eee", padding="0 0 4px 0"),
        )
        self.controls.add_class("hptune-controls")
        self.show_settings = w.ToggleButton(
            value=method == "manual",
            description="Settings",
            tooltip="show or hide the ranges and settings of the next run",
            layout=w.Layout(width="auto", flex="0 0 auto"),
        )
        self.show_settings.add_class("hptune-settings-toggle")
        self.settings_summary = w.HTML(layout=w.Layout(flex="1 1 0", min_width="0"))
        self.settings_summary.add_class("hptune-summary")
        buttons = [self.run, self.more, self.run_trial, self.stop, self.save, self.use_best]
        for button in buttons:
            button.layout.width = "auto"  # as wide as its label, never cut off
            button.layout.flex = "0 0 auto"
        self.bar.layout.flex = "0 0 auto"
        self.status.layout.flex = "1 1 0"
        self.status.layout.min_width = "0"
        self.widget = w.VBox(
            [
                row_box([self.title, self.show_settings, self.settings_summary]),
                self.controls,
                row_box(buttons),
                self.message,
                w.HBox([self.bar, self.status], layout=w.Layout(align_items="center")),
                self.workers_row,
                plots,
                self.tabs,
            ],
            layout=w.Layout(border="1px solid #ddd", padding="6px"),
        )
        self.widget.add_class("hptune-panel")
        self.display_handle: Any = None
        self._model_view: Any = None  # the posterior of the latest redraw, reused by the other views
        self._snapshot: StudySnapshot | None = None
        self._model: Callable[[], tuple[Any, Space] | None] = lambda: None
        self._pace = RedrawPace()
        self._last_progress = 0.0
        self._last_table = 0.0
        self.on_run: Handler | None = None
        self.on_continue: Handler | None = None
        self.on_trial: Handler | None = None
        self.on_stop: Handler | None = None
        self.on_save: Handler | None = None
        self.on_use_best: Handler | None = None
        self._trials_outside_grid = ""
        self.method.observe(self._method_changed, names="value")
        self.run.on_click(lambda _: self._request(self.on_run, self.settings))
        self.more.on_click(lambda _: self._request(self.on_continue, self.settings))
        self.run_trial.on_click(lambda _: self._request(self.on_trial, self.point))
        self.stop.on_click(lambda _: self._request(self.on_stop, None))
        self.save.on_click(lambda _: self._request(self.on_save, self.cell_settings))
        self.use_best.on_click(lambda _: self._request(self.on_use_best, None))
        self.posterior_param.observe(lambda _: self._draw_slice(), names="value")
        for control in (self.surface_x, self.surface_y):
            control.observe(lambda _: self._draw_tab(), names="value")
        self.sort.observe(lambda _: self._draw_table(), names="value")
        self.tabs.observe(lambda _: self._draw_tab(), names="selected_index")
        self.show_settings.observe(lambda _: self._fold_settings(), names="value")
        self._show_method()
        self._fold_settings()

    def _fold_settings(self) -> None:
        """Show the settings, or fold them into the one-line summary of what the next run does."""
        shown = self.show_settings.value
        self.controls.layout.display = None if shown else "none"
        self.show_settings.icon = "chevron-down" if shown else "chevron-right"
        self.settings_summary.value = "" if shown else f"<span class='hptune-summary'>{self.summary_html()}</span>"

    def summary_html(self) -> str:
        """The settings of the next run in one line: method, trials, direction, seed and each range."""
        method = self.method.value
        parts = [f"<b>{html.escape(method)}</b>"]
        if method != "manual":
            trials = self.trials.value.strip() or self.trials.placeholder
            parts += [f"{html.escape(trials)} trials", html.escape(self.direction.value)]
            parts.append(f"seed {html.escape(self.seed.value.strip())}" if self.seed.value.strip() else "random seed")
        else:
            parts.append(html.escape(self.direction.value))
        for name, row in self.rows.items():
            if isinstance(row, ChoiceRow):
                count = len(row.select.value)
                what = f"{count} of {len(row.declared.options)}"
            else:
                low, high = row.bounds()
                what = f"{value_label(low)}–{value_label(high)}{' log' if row.log.value else ''}"
            parts.append(f"<span style='white-space:nowrap'>{html.escape(name)} {html.escape(what)}</span>")
        return " · ".join(parts)

    # -- what the user set ------------------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """The next search's settings from the panel, checked; SpaceError with a message naming what is wrong."""
        method = self.method.value
        options: dict[str, Any] = {}
        if method == "bayes":
            options = {"acq": self.acq.value, "initial_points": _positive(self.initial_points.value, "initial points")}
        elif method == "grid":
            options = {"grid_points": _positive(self.grid_points.value, "points per real range")}
        n_trials = None if method == "manual" else _positive(self.trials.value, "trials")
        seed_text = self.seed.value.strip()
        try:
            seed = None if not seed_text else int(seed_text)
        except ValueError:
            raise SpaceError(f"seed must be a whole number (or blank for a random one), got {seed_text!r}") from None
        if seed is not None and not 0 <= seed < 2**32:
            raise SpaceError(f"seed must be from 0 to 2**32 - 1, got {seed}")
        space = Space({n: row.dimension() for n, row in self.rows.items()})
        return {
            "method": method,
            "n_trials": n_trials,
            "direction": self.direction.value,
            "seed": seed,
            "options": options,
            "space": space,
            **self.stopping(),
        }

    def stopping(self) -> dict[str, Any]:
        """How the next search stops trials early: prune, patience and max_steps, checked."""
        stopping = {
            "prune": self.prune.value,
            "patience": _positive(self.patience.value, "patience"),
            "max_steps": _positive(self.max_steps.value, "max steps"),
        }
        if stopping["prune"] == "hyperband" and stopping["max_steps"] is None:
            raise SpaceError("Hyperband needs max steps: the steps (e.g. epochs) a trial runs to its end")
        return stopping

    def cell_settings(self) -> dict[str, Any]:
        """What Save to cell writes: the next search's settings and, in the manual method, the point chosen."""
        settings = self.settings()
        snapshot = self._snapshot
        # After Continue the trials box holds the last batch: the cell gets the study's own trials instead, so that
        # re-running it repeats the search that was run (unless the user has typed another number since).
        if (
            snapshot is not None
            and snapshot.first_number
            and settings["method"] == snapshot.method != "manual"
            and settings["n_trials"] in (None, snapshot.n_planned)
        ):
            settings["n_trials"] = sum(t.source == "search" for t in snapshot.trials)
        return {**settings, "point": self.point() if settings["method"] == "manual" else None}

    def point(self) -> dict[str, Any]:
        """The point the manual controls select."""
        return {n: row.point_value() for n, row in self.rows.items()}

    def _request(self, handler: Handler | None, read: Callable[[], Any] | None) -> None:
        if handler is None:
            self.show_message("This panel's cell is no longer running in this kernel: run the cell again.", error=True)
            return
        try:
            argument = None if read is None else read()
        except SpaceError as error:
            self.show_message(str(error), error=True)
            return
        self.show_message("")
        if read is None:
            handler()
        else:
            handler(argument)

    def show_message(self, text: str, *, error: bool = False) -> None:
        """Show a message above the progress bar (red for an error)."""
        colour = "#c0392b" if error else "#555"
        self.message.value = f"<span style='color:{colour}'>{html.escape(text, quote=False)}</span>" if text else ""

    def _method_changed(self, change: Mapping[str, Any]) -> None:
        # Switching to grid clears the trials, so it runs the whole grid (its placeholder says so) rather than a
        # subset of the size the last method used; switching back brings that number back.
        if change["new"] == "grid" and change["old"] != "grid":
            self._trials_outside_grid, self.trials.value = self.trials.value, ""
        elif change["old"] == "grid" and not self.trials.value.strip():
            self.trials.value = self._trials_outside_grid
        self._show_method()

    def _show_method(self) -> None:
        method = self.method.value
        manual = method == "manual"
        self.bayes_options.layout.display = None if method == "bayes" else "none"
        self.grid_options.layout.display = None if method == "grid" else "none"
        self.trials.placeholder = "whole grid" if method == "grid" else "20"
        for control in (self.trials, self.seed, self.run, self.more):
            control.layout.display = "none" if manual else None
        self.run_trial.layout.display = None if manual else "none"
        if manual and self._snapshot is not None and self._snapshot.best_trial is not None:
            for name, value in self._snapshot.best_trial.params.items():
                self.rows[name].set_point(value)
        for row in self.rows.values():
            row.set_manual(manual)

    # -- following the search ---------------------------------------------------------------------------------------
    def attach(self, model: Callable[[], tuple[Any, Space] | None]) -> None:
        """Where to read the search's sampler and space from, for the posterior."""
        self._model = model

    def set_running(self, running: bool) -> None:
        """Enable Stop while a search runs, and the run buttons otherwise."""
        for button in (self.run, self.more, self.run_trial):
            button.disabled = running
        self.stop.disabled = not running
        self.stop.button_style = "danger" if running else ""  # a red button that does nothing would look live

    def __call__(self, event: Event) -> None:
        """Follow one event of the study."""
        began = time.perf_counter()
        self._snapshot = event.study
        if isinstance(event, SearchStarted):
            self._pace = RedrawPace()
            self.bar.max = max(1, event.study.n_planned)
            self.bar.bar_style = ""
            self.set_running(True)
            self.workers_row.layout.display = "none"  # until workers report: a search on workers shows them
            self._progress(force=True)
        elif isinstance(event, TrialReported):
            if self.tabs.selected_index == CURVES_TAB and self._pace.curves_due():  # they grow while a trial runs
                self._timed(self._pace.curves, self._draw_curves)
        elif isinstance(event, TrialFinished):
            self._pace.finished()
            self._progress()
        elif isinstance(event, SearchFinished):
            self._progress(force=True)
            self.bar.bar_style = "success" if event.study.stop_reason == "completed" else "warning"
            self.set_running(False)
            self.workers_row.layout.display = "none"
        elif isinstance(event, WorkersUpdated):
            self.workers.value = workers_html(event.workers, time.time())
            self.workers_row.layout.display = None
        if not isinstance(event, SearchStarted | SearchFinished):
            views = isinstance(event, TrialStarted) and self._pace.views_due()  # a bayes model knows the last trial
            if self._pace.history_due() or (views and self._pace.history.behind):  # not kept waiting by the views
                self._timed(self._pace.history, self._draw_history)
            if views:
                self._timed(self._pace.views, self._draw_model_views)
        self._pace.charge(time.perf_counter() - began)

    def _timed(self, part: _Part, draw: Callable[[], None]) -> None:
        began = time.perf_counter()
        draw()
        self._pace.drew(part, time.perf_counter() - began)

    def _progress(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_progress < 0.25:
            return
        self._last_progress = now
        snapshot = self._snapshot
        if snapshot is None:
            return
        self.bar.value = sum(t.state is not TrialState.RUNNING for t in snapshot.search_trials)
        self.status.value = progress_text(snapshot)
        if force or now - self._last_table >= 1.0:  # the table is larger: at most once a second, and only when seen
            self._last_table = now
            self._draw_table(force)

    def redraw(self, final: bool = False) -> None:
        """Redraw the plots, the posterior and the table from the latest snapshot (final: once a search ended)."""
        if self._snapshot is None:
            return
        self._draw_history()
        self._draw_model_views(final)
        self._draw_table(force=True)

    def _draw_history(self) -> None:
        """Redraw the score plot from the latest snapshot."""
        if self._snapshot is not None:
            from . import plots

            show_png(self.history, plots.figure_png(plots.plot_history(self._snapshot)))

    def _draw_model_views(self, final: bool = False) -> None:
        """Fit or read the model once, then redraw the posterior and the open tab from it."""
        if self._snapshot is None:
            return
        self._model_view = self._posterior(self._snapshot, final)
        self._draw_slice()
        self._draw_tab()

    def _draw_slice(self) -> None:
        """Redraw the posterior slice from the latest model, without refitting it."""
        if self._model_view is not None:
            from . import plots

            slice_ = self._model_view.slice(self.posterior_param.value)
            show_png(self.posterior, plots.figure_png(plots.plot_posterior(slice_)))

    def _draw_tab(self) -> None:
        """Redraw what the open tab shows (hidden tabs wait until opened), from the latest model and snapshot."""
        snapshot, model = self._snapshot, self._model_view
        if snapshot is None:
            return
        from . import plots

        tab = self.tabs.selected_index
        if tab == 0 and model is not None and self.surface_x.value != self.surface_y.value:
            surface = model.surface(self.surface_x.value, self.surface_y.value)
            show_png(self.surface, plots.figure_png(plots.plot_surface(surface)))
        elif tab == 1:
            show_png(self.params_plot, plots.figure_png(plots.plot_params(snapshot, self.space)))
        elif tab == TRIALS_TAB:
            self._draw_table()
        elif tab == CURVES_TAB:
            self._draw_curves()

    def _draw_curves(self) -> None:
        if self._snapshot is not None:
            from . import plots

            show_png(self.curves, plots.figure_png(plots.plot_curves(self._snapshot)))

    def _posterior(self, snapshot: StudySnapshot, final: bool = False) -> Any:
        from .core.posterior import posterior

        found = self._model()
        sampler, space = found if found is not None else (None, self.space)
        inside = [t for t in snapshot.trials if space.includes(t.params)]
        if final and sampler is not None:  # the model has not seen the last trial yet: one fit, at the end
            sampler.learn(space, inside)
        return posterior(space, inside, snapshot.direction, sampler, seed=snapshot.seed)

    def _draw_table(self, force: bool = False) -> None:
        """Rewrite the trials table when its tab is open (or with force: a search ended)."""
        if self._snapshot is not None and (force or self.tabs.selected_index == TRIALS_TAB):
            self.table.value = trials_table_html(self._snapshot, self.sort.value)

    def final_png(self) -> bytes | None:
        """One image of the final plots (history, posterior, parameters), for readers without a kernel."""
        snapshot = self._snapshot
        if snapshot is None or not snapshot.trials:
            return None
        from . import plots

        model = self._model_view
        slice_ = None if model is None else model.slice(self.posterior_param.value)
        # At the CSS pixels it is drawn for: a saved notebook shows it at its natural size (GitHub, nbviewer).
        return plots.figure_png(plots.plot_summary(snapshot, self.space, slice_), dpi=plots.CSS_DPI)

    def mimebundle(self, summary: str = "") -> dict[str, Any]:
        """The panel as a display: the live widget, with the final plots as a PNG for readers without widgets."""
        bundle: dict[str, Any] = dict(self.widget._repr_mimebundle_())
        png = self.final_png()
        if png is not None:
            bundle["image/png"] = base64.b64encode(png).decode("ascii")
        if summary:
            bundle["text/plain"] = summary
        return bundle


class PanelDisplay:
    """Displays a panel's mimebundle (IPython calls _repr_mimebundle_)."""

    def __init__(self, panel: TunePanel, summary: str = "") -> None:
        self.panel = panel
        self.summary = summary

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return self.panel.mimebundle(self.summary)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _positive(text: str, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise SpaceError(f"{what} must be a whole number, got {text!r}") from None
    if value < 1:
        raise SpaceError(f"{what} must be at least 1, got {value}")
    return value
