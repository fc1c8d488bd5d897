"""Plots of a study: data in, matplotlib figure out (no pyplot, no global state, no backend choice)."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullLocator, PercentFormatter

from .core.events import StudySnapshot
from .core.posterior import Slice, Surface
from .core.pruners import step_count
from .core.space import Choice, Int, Space
from .core.study import Direction
from .core.trial import Trial, TrialState, best_trial
from .report import format_value

if TYPE_CHECKING:
    from .core.compare import Comparison
    from .core.importance import Importance

__all__ = [
    "figure_png",
    "plot_compare",
    "plot_curves",
    "plot_history",
    "plot_importance",
    "plot_parallel",
    "plot_params",
    "plot_posterior",
    "plot_summary",
    "plot_surface",
]

SIZE = (4.75, 3.75)  # inches: shown at 456 x 360 CSS pixels (96 to the inch), so a point is the page's own point
CSS_DPI = 96  # CSS pixels to the inch: a plot is shown at its size in inches times this
DPI = 2 * CSS_DPI  # rendered at twice the pixels it is shown at: crisp on high-density screens
TITLE, LABEL, TICK, LEGEND = 11.0, 10.5, 10.0, 10.0  # points: 10 pt is 13.3 CSS pixels, the notebook's text size
STAR = 14  # the best trial's star, in points
SCORE, BEST, BAD, MANUAL, MODEL = "C0", "C3", "#d62728", "C2", "C0"
PRUNED = "0.55"  # pruned trials: grey, and faded in the learning curves
PARAMS_COLUMNS = 2  # panels a row in plot_params: 6 in wide, shown unshrunk in the panel at a 1024-pixel window
PANEL_GAP = 0.5  # inches between neighbouring panels of plot_params: room for the tick labels at their ends
JITTER = 0.15  # half the width of a choice's strip of points, in option spacings

FigureLike = Figure | SubFigure


def plot_history(snapshot: StudySnapshot, fig: FigureLike | None = None) -> FigureLike:
    """The score of every trial by trial number, with the best so far and the failed trials marked."""
    fig = _figure(fig)
    ax = fig.subplots(gridspec_kw=_margins(fig))
    done = [t for t in snapshot.trials if t.state is TrialState.COMPLETE]
    search = [t for t in done if t.source != "manual"]
    manual = [t for t in done if t.source == "manual"]
    if search:
        ax.plot([t.number for t in search], [_score(t) for t in search], "o", ms=4, color=SCORE, label="trial")
    if manual:
        ax.plot([t.number for t in manual], [_score(t) for t in manual], "D", ms=5, color=MANUAL, label="manual")
    pruned = [t for t in snapshot.trials if t.state is TrialState.PRUNED and t.value is not None]
    if pruned:
        ax.plot(
            [t.number for t in pruned],
            [_score(t) for t in pruned],
            "o",
            ms=4,
            mfc="none",
            color=PRUNED,
            alpha=0.7,
            label=f"pruned ({len(pruned)}, last value)",
        )
    if done:
        values = np.array([t.value for t in done], dtype=float)
        running = np.maximum.accumulate(values) if snapshot.direction == "maximize" else np.minimum.accumulate(values)
        ax.plot([t.number for t in done], running, drawstyle="steps-post", color=BEST, lw=1.5, label="best so far")
    # Failed and interrupted trials have no score: mark them on the worse edge of the axes.
    edge = 0.03 if snapshot.direction == "maximize" else 0.97
    for state, marker, color in ((TrialState.FAILED, "x", BAD), (TrialState.INTERRUPTED, "x", "0.45")):
        numbers = [t.number for t in snapshot.trials if t.state is state]
        if numbers:
            ax.plot(
                numbers,
                [edge] * len(numbers),
                marker,
                ms=6,
                mew=1.5,
                color=color,
                transform=ax.get_xaxis_transform(),
                clip_on=False,
                label=f"{state.value} ({len(numbers)})",
            )
    title = f"Scores ({snapshot.direction})"
    if snapshot.best_trial is not None and snapshot.best_trial.value is not None:
        title += f": best {format_value(snapshot.best_trial.value)} at trial {snapshot.best_trial.number}"
    ax.set_title(title, fontsize=TITLE)
    ax.set_xlabel("trial", fontsize=LABEL)
    ax.set_ylabel("score", fontsize=LABEL)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(labelsize=TICK)
    if not snapshot.trials:
        _note(ax, "no trials yet")
    elif not done:
        _note(ax, "no completed trial yet")
        ax.set_yticks([])
    if ax.get_legend_handles_labels()[0]:
        _legend(ax)
    return fig


def plot_curves(snapshot: StudySnapshot, fig: FigureLike | None = None) -> FigureLike:
    """The learning curves: each trial's reported value by step, pruned trials faded and ending where they were
    stopped, the trial running now dashed, the best trial highlighted with its best step starred."""
    fig = _figure(fig)
    ax = fig.subplots(gridspec_kw=_margins(fig))
    reported = [t for t in snapshot.trials if t.intermediate]
    best = snapshot.best_trial if snapshot.best_trial is not None and snapshot.best_trial.intermediate else None
    styles: dict[TrialState, dict[str, Any]] = {
        TrialState.PRUNED: {"color": PRUNED, "alpha": 0.35, "lw": 0.9},
        TrialState.COMPLETE: {"color": SCORE, "alpha": 0.55, "lw": 1.0},
        TrialState.RUNNING: {"color": SCORE, "alpha": 0.9, "lw": 1.4, "ls": "--"},
        TrialState.FAILED: {"color": BAD, "alpha": 0.5, "lw": 0.9, "ls": ":"},
        TrialState.INTERRUPTED: {"color": PRUNED, "alpha": 0.5, "lw": 0.9, "ls": ":"},
    }
    counts: dict[TrialState, int] = {}
    for trial in sorted(reported, key=lambda t: t.state is not TrialState.PRUNED):  # pruned ones underneath
        if best is not None and trial.number == best.number:
            continue
        counts[trial.state] = counts.get(trial.state, 0) + 1
        steps, values = list(trial.intermediate), list(trial.intermediate.values())
        ax.plot(steps, values, gid=f"trial {trial.number}", **styles[trial.state])
        if trial.state is TrialState.PRUNED:  # where it was stopped
            ax.plot(steps[-1:], values[-1:], "x", ms=4, mew=1.0, color=PRUNED, alpha=0.7, gid=f"stop {trial.number}")
    if best is not None:
        steps, values = list(best.intermediate), list(best.intermediate.values())
        ax.plot(steps, values, color=BEST, lw=2.2, gid=f"trial {best.number}", zorder=3)
        if best.best_step is not None:
            ax.plot([best.best_step], [best.intermediate[best.best_step]], "*", **_star())
    handles = []
    if best is not None:
        handles.append(Line2D([], [], color=BEST, lw=2.2, label=f"best: trial {best.number}"))
    for state, label in (
        (TrialState.COMPLETE, "complete"),
        (TrialState.RUNNING, "running"),
        (TrialState.PRUNED, "pruned"),
        (TrialState.FAILED, "failed"),
        (TrialState.INTERRUPTED, "interrupted"),
    ):
        if counts.get(state):
            style = {k: v for k, v in styles[state].items() if k != "alpha"} | {
                "alpha": max(styles[state]["alpha"], 0.6)
            }
            handles.append(Line2D([], [], label=f"{label} ({counts[state]})", **style))
    if handles:
        _legend(ax, handles=handles)
    title = "Learning curves"
    count = step_count(snapshot.search_trials, snapshot.max_steps, snapshot.patience)
    if count is not None and count.saved:
        title += f": {count.saved:,} of {count.full:,} steps saved ({count.saved_share:.0%})"
    ax.set_title(title, fontsize=TITLE)
    ax.set_xlabel("step", fontsize=LABEL)
    ax.set_ylabel("reported value", fontsize=LABEL)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(labelsize=TICK)
    if not reported:
        _note(ax, "no values reported yet: hp.report(step, value) in the cell")
        ax.set_yticks([])
    return fig


def _band_limits(mean: np.ndarray, low: np.ndarray, high: np.ndarray, observed: list[float]) -> tuple[float, float]:
    """The scores a posterior plot spans: the trials, the mean, and the band up to half their range beyond them."""
    seen = [*mean, *observed]
    near, far = min(seen), max(seen)
    reach = 0.5 * (far - near)
    return min(near, max(float(np.min(low)), near - reach)), max(far, min(float(np.max(high)), far + reach))


def plot_posterior(slice: Slice, fig: FigureLike | None = None) -> FigureLike:
    """The model's predicted score along one hyperparameter (mean and ±2σ), the trials, and its acquisition."""
    has_acq = slice.acquisition is not None
    fig = _figure(fig)  # the size of the scores beside it, with or without the acquisition below
    choice = slice.kind == "choice"
    layout: dict[str, Any] = _margins(
        fig, top=_title_height(2 if slice.fixed else 1), bottom=_bottom(slice.x if choice else None)
    )
    if has_acq:
        layout.update(height_ratios=[3, 1], hspace=0.15)
        ax, acq_ax = fig.subplots(2, 1, sharex=True, gridspec_kw=layout)
    else:
        ax, acq_ax = fig.subplots(gridspec_kw=layout), None
    mean, low, high = (np.asarray(a, dtype=float) for a in (slice.mean, slice.low, slice.high))
    bottom, top = _band_limits(mean, low, high, slice.observed_y)
    pad = 0.06 * (top - bottom) or 0.5
    best = _best_index(slice.observed_y, slice.direction)
    if choice:
        positions = np.arange(len(slice.x))
        observed = [Choice(slice.x).index(v) for v in slice.observed_x]
        base = bottom - pad  # bars rise from the bottom of the axes, not from zero, so differences stay visible
        ax.bar(
            positions,
            mean - base,
            bottom=base,
            width=0.6,
            yerr=[mean - low, high - mean],
            capsize=4,
            color=MODEL,
            alpha=0.35,
            error_kw={"elinewidth": 1, "ecolor": "0.3"},
            label="mean ±2σ",
        )
        ax.set_ylim(base, top + pad)
        xs = np.asarray(observed, dtype=float) + _jitter(len(observed))
        _set_option_ticks(acq_ax or ax, slice.x)
    else:
        ax.fill_between(slice.x, low, high, color=MODEL, alpha=0.2, lw=0, label="±2σ")
        ax.set_ylim(bottom - pad, top + pad)
        ax.plot(slice.x, mean, color=MODEL, lw=1.5, label="mean")
        xs = np.asarray(slice.observed_x, dtype=float)
        if slice.log:
            _log_scale(ax, "x", slice.x[0], slice.x[-1])
        elif slice.kind == "int":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.plot(xs, slice.observed_y, "o", ms=4, color="k", alpha=0.7, label="trials")
    if best is not None:
        ax.plot(
            [xs[best]], [slice.observed_y[best]], "*", label=f"best trial ({_fmt(slice.observed_x[best])})", **_star()
        )
    title = f"{slice.name}: {slice.source}"
    if slice.fixed:
        title += "\n" + _held(fig, slice.fixed)
    ax.set_title(title, fontsize=TITLE)
    ax.set_ylabel("score", fontsize=LABEL)
    ax.tick_params(labelsize=TICK)
    _legend(ax, ncols=2)
    _clipped_note(ax, slice.clipped)
    if acq_ax is not None:
        acq = np.asarray(slice.acquisition, dtype=float)
        grid = np.arange(len(slice.x)) if choice else np.asarray(slice.x, dtype=float)
        acq_ax.plot(grid, acq, "o-" if choice else "-", ms=4, color="C2", lw=1.2)
        if slice.next_x is not None:
            where = Choice(slice.x).index(slice.next_x) if choice else float(slice.next_x)
            label = "next point" if slice.next_trial is None else f"chose trial {slice.next_trial}"
            acq_ax.axvline(where, color=BEST, ls="--", lw=1.2, label=f"{label} ({_fmt(slice.next_x)})")
            _legend(acq_ax)
        acq_ax.yaxis.set_major_locator(MaxNLocator(3))
        acq_ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.3g}"))
        acq_ax.set_ylabel(slice.acq_name or "acquisition", fontsize=LABEL)
        acq_ax.tick_params(labelsize=TICK)
        acq_ax.set_xlabel(slice.name, fontsize=LABEL)
    else:
        ax.set_xlabel(slice.name, fontsize=LABEL)
    return fig


def plot_surface(surface: Surface, fig: FigureLike | None = None) -> FigureLike:
    """The model's predicted score over two hyperparameters, with the trials."""
    fig = _figure(fig)
    x_choice, y_choice = surface.x_kind == "choice", surface.y_kind == "choice"
    layout = _margins(
        fig,
        top=_title_height(2 if surface.fixed else 1),
        bottom=_bottom(surface.x if x_choice else None),
        left=_left(surface.y if y_choice else None),
        right=0.95,
    )
    ax, cax = fig.subplots(1, 2, gridspec_kw={**layout, "width_ratios": [1, 0.035], "wspace": 0.04})
    gx = np.arange(len(surface.x)) if x_choice else np.asarray(surface.x, dtype=float)
    gy = np.arange(len(surface.y)) if y_choice else np.asarray(surface.y, dtype=float)
    mean = np.asarray(surface.mean, dtype=float)
    cmap = "viridis" if surface.direction == "maximize" else "viridis_r"  # bright is better either way
    if x_choice or y_choice or len(gx) < 2 or len(gy) < 2:
        shaded = ax.pcolormesh(gx, gy, mean, shading="nearest", cmap=cmap)  # options are cells, not a continuum
    else:
        shaded = ax.contourf(gx, gy, mean, levels=14, cmap=cmap)
    for axis, kind, log, grid in (
        ("x", surface.x_kind, surface.x_log, surface.x),
        ("y", surface.y_kind, surface.y_log, surface.y),
    ):
        if log and kind != "choice":
            _log_scale(ax, axis, grid[0], grid[-1])
        elif kind == "int":
            (ax.xaxis if axis == "x" else ax.yaxis).set_major_locator(MaxNLocator(integer=True))
    ox = _positions(surface.x, surface.observed_x, x_choice, seed=0)
    oy = _positions(surface.y, surface.observed_y, y_choice, seed=1)
    ax.scatter(ox, oy, s=14, c="white", edgecolors="k", linewidths=0.6, zorder=3, label="trials")
    best = _best_index(surface.observed_score, surface.direction)
    if best is not None:
        ax.plot([ox[best]], [oy[best]], "*", label="best trial", **_star())
    if x_choice:
        _set_option_ticks(ax, surface.x)
    if y_choice:
        _set_option_ticks(ax, surface.y, axis="y")
    colorbar = fig.colorbar(shaded, cax=cax)
    colorbar.set_label("predicted score", fontsize=LABEL)
    colorbar.ax.tick_params(labelsize=TICK)
    title = f"{surface.y_name} vs {surface.x_name}: {surface.source}"
    if surface.fixed:
        title += "\n" + _held(fig, surface.fixed)
    ax.set_title(title, fontsize=TITLE)
    ax.set_xlabel(surface.x_name, fontsize=LABEL)
    ax.set_ylabel(surface.y_name, fontsize=LABEL)
    ax.tick_params(labelsize=TICK)
    _clipped_note(ax, surface.clipped)
    return fig


def plot_params(snapshot: StudySnapshot, space: Space, fig: FigureLike | None = None) -> FigureLike:
    """One scatter per hyperparameter of score against value, completed trials only, the best trial highlighted.

    A trial appears only on the axes of the hyperparameters it used.
    """
    names = list(space)
    cols = min(len(names), PARAMS_COLUMNS)
    rows = math.ceil(len(names) / cols)
    fig = _figure(fig, _params_size(len(names)))
    choices = [list(d.options) for d in space.values() if isinstance(d, Choice)]
    bottom = max((_bottom(options) for options in choices), default=_bottom(None))
    layout = _margins(fig, top=_title_height(1), bottom=bottom)
    if layout:  # gaps between the panels, in inches: room for x labels below each, and for the tick labels at
        # the ends of neighbouring x axes (the y ticks are shared, shown on the left only)
        width, height = _size(fig)
        panel_w = (width * (layout["right"] - layout["left"]) - PANEL_GAP * (cols - 1)) / cols
        panel_h = (height * (layout["top"] - layout["bottom"]) - bottom * (rows - 1)) / rows
        layout.update(wspace=PANEL_GAP / max(panel_w, 0.1), hspace=bottom / max(panel_h, 0.1))
    grid = fig.add_gridspec(rows, cols, **layout)
    axes: list[Any] = []
    for i in range(len(names)):
        axes.append(fig.add_subplot(grid[i // cols, i % cols], sharey=axes[0] if axes else None))
        if i % cols:
            axes[-1].tick_params(labelleft=False)
    done = [t for t in snapshot.trials if t.state is TrialState.COMPLETE and space.includes(t.params, partial=True)]
    best = best_trial(done, snapshot.direction)
    for i, (name, ax) in enumerate(zip(names, axes)):
        dim = space[name]
        choice = isinstance(dim, Choice)
        used = [t for t in done if name in t.params]  # a trial shows only where it used the hyperparameter
        scores = [_score(t) for t in used]
        values = [t.params[name] for t in used]
        xs = _positions(list(dim.options) if isinstance(dim, Choice) else [], values, choice, seed=i)
        ax.plot(xs, scores, "o", ms=4, color=SCORE, alpha=0.7)
        if best is not None and name in best.params:
            j = next(k for k, t in enumerate(used) if t is best)
            ax.plot([xs[j]], [scores[j]], "*", **_star())
        if isinstance(dim, Choice):
            _set_option_ticks(ax, list(dim.options))
            ax.set_xlim(-0.5, len(dim.options) - 0.5)
        elif dim.log:
            _log_scale(ax, "x", dim.low, dim.high)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=isinstance(dim, Int)))
        ax.set_xlabel(name, fontsize=LABEL)
        if i % cols == 0:
            ax.set_ylabel("score", fontsize=LABEL)
        ax.tick_params(labelsize=TICK)
        if not done:
            _note(ax, "no scores yet")
        elif not used:
            _note(ax, "no scored trial used it yet")
            if not isinstance(dim, Choice):
                ax.set_xlim(dim.low, dim.high)
    title = f"Score by hyperparameter ({snapshot.direction})"
    if best is not None:
        title += f": best {_fmt(best.value)} at trial {best.number}"
    fig.suptitle(title, fontsize=TITLE, y=1 - 0.08 / _size(fig)[1], va="top")
    return fig


def _params_size(count: int) -> tuple[float, float]:
    """The size in inches of plot_params for this many hyperparameters: up to PARAMS_COLUMNS panels a row."""
    cols = min(count, PARAMS_COLUMNS)
    rows = math.ceil(count / cols)
    return 1.0 + (PANEL_GAP + 2.0) * cols, 0.625 + 2.25 * rows  # whole pixels at DPI


def plot_importance(importance: Importance, fig: FigureLike | None = None) -> FigureLike:
    """Each hyperparameter's share of the score's variance as a bar, largest on top, with the method named.

    A hyperparameter only some trials used is labelled with how many: its share is among those trials. Those too
    few trials used to rank are listed below the bars.
    """
    shares = sorted(importance.shares.items(), key=lambda item: -item[1])
    labels = [_used_label(name, importance.used.get(name), importance.n_trials) for name, _ in shares]
    width = _bar_labels_width(labels)
    skipped = [f"{name} (used by {importance.used.get(name, 0)})" for name in importance.skipped]
    bottom = _bottom(None) + (0.3 if skipped else 0.0)
    fig = _figure(fig, (max(SIZE[0], width + 3.0), max(SIZE[1], 1.7 + 0.3 * len(shares)) + bottom - _bottom(None)))
    ax = fig.subplots(gridspec_kw=_margins(fig, left=width, top=_title_height(2) + 0.1, right=0.2, bottom=bottom))
    values = [float(share) for _, share in shares]
    rows = np.arange(len(shares))[::-1]  # the largest share on the top row
    ax.barh(rows, values, height=0.62, color=SCORE)
    for row, value in zip(rows, values):
        ax.text(value, row, f" {value:.0%}", va="center", ha="left", fontsize=TICK, color="0.2")
    ax.set_yticks(rows, labels)
    ax.set_ylim(-0.6, max(len(shares), 1) - 0.4)
    # Room for the percentages after the bars (a share of 100% too), ticks only where shares can be.
    ax.set_xlim(0, max(values, default=1.0) * 1.25 or 1.0)
    ax.xaxis.set_major_locator(
        FixedLocator([t for t in MaxNLocator(nbins=4).tick_values(0, min(ax.get_xlim()[1], 1.0)) if 0 <= t <= 1])
    )
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("share of the score's variance", fontsize=LABEL)
    ax.tick_params(labelsize=TICK)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    trials = f"{importance.n_trials} completed trial{'' if importance.n_trials == 1 else 's'}"
    # Across the figure, not the bars: the labels take the left of it.
    fig.suptitle(f"Importance: {trials}\n{importance.method}", fontsize=TITLE, y=1 - 0.08 / _size(fig)[1], va="top")
    if skipped:  # below the axis label: the names too few trials used to rank
        text = "too few trials to rank: " + ", ".join(skipped)
        ax.annotate(text, (0, 0), xycoords="axes fraction", xytext=(0, -3.1 * LABEL), textcoords="offset points")
        ax.texts[-1].set(fontsize=TICK, color="0.35", ha="left", va="top")
    if not shares:
        _note(ax, "no hyperparameter to rank")
        ax.set_yticks([])
    return fig


def _used_label(name: str, used: int | None, trials: int) -> str:
    """A hyperparameter's name, with how many of the trials used it when not all did."""
    return name if used is None or used >= trials else f"{name} ({used} of {trials} trials)"


def _bar_labels_width(labels: Sequence[str]) -> float:
    """Room in inches left of horizontal bars for their labels."""
    return 0.25 + 0.075 * max((len(label) for label in labels), default=6)


PARALLEL_GAP = 0.85  # inches between neighbouring axes of plot_parallel: room for one axis's tick labels
UNUSED = -0.12  # where a trial meets the axis of a hyperparameter it did not use: below the axis's range


def plot_parallel(snapshot: StudySnapshot, space: Space, fig: FigureLike | None = None, best: int = 5) -> FigureLike:
    """Parallel coordinates: an axis per hyperparameter and the score last, a line per completed trial coloured by
    its score (bright is better), the `best` best trials on top in red.

    A trial meets the axis of a hyperparameter it did not use at an "unused" mark below the axis's range, so that
    its line never reads as a value it did not have. Failed and pruned trials are not drawn (a pruned trial's last
    reported value is not a score on the same footing), only counted in the title.
    """
    names = list(space)
    count = len(names) + 1
    slanted = max((len(n) for n in names), default=0) * 0.085 > PARALLEL_GAP - 0.1  # names wider than the gap
    bottom = 0.6 + (0.06 * max(len(n) for n in names) if slanted else 0.0)
    left = 0.35 + (0.065 * len(names[0]) if slanted and names else 0.0)  # a slanted first name reaches left
    fig = _figure(fig, (max(SIZE[0], left + 1.45 + PARALLEL_GAP * count), SIZE[1] + bottom - _bottom(None)))
    # A narrow figure (few axes) gives the title's best score a line of its own: centred on the axes, a long
    # first line would run off the figure's left edge.
    narrow = _size(fig)[0] * 72 / (TITLE * 0.6) < 58  # characters of the longest first line
    layout: dict[str, Any] = _margins(fig, left=left, right=0.75, top=_title_height(3 if narrow else 2), bottom=bottom)
    if layout:  # the colour bar a fixed width, after a gap for the score axis's tick labels
        width = _size(fig)[0] * (layout["right"] - layout["left"])
        gap, bar = 0.5, 0.12
        layout.update(width_ratios=[max(width - gap - bar, 0.1), bar], wspace=gap / max((width - gap) / 2, 0.1))
    else:
        layout.update(width_ratios=[1, 0.03], wspace=0.1)
    ax, cax = fig.subplots(1, 2, gridspec_kw=layout)
    done = [
        t
        for t in snapshot.trials
        if t.state is TrialState.COMPLETE and t.value is not None and space.includes(t.params, partial=True)
    ]
    scores = [float(t.value) for t in done if t.value is not None]
    low, high = _score_range(scores)
    score_axis = _score_scale(low, high) if scores else (*_score_scale(low, high)[:2], [], [])  # no scores, no ticks
    axes = [(name, _unit_scale(space[name])) for name in names] + [("score", score_axis)]
    margin = 0.08
    ax.set_xlim(-margin, count - 1 + margin)
    unused = {name for name in names if any(name not in t.params for t in done)}
    ax.set_ylim(UNUSED - 0.1 if unused else -0.04, 1.04)
    cmap = colormaps["viridis" if snapshot.direction == "maximize" else "viridis_r"]  # bright is better either way
    norm = Normalize(low, high)
    ranked = sorted(done, key=lambda t: _score(t), reverse=snapshot.direction == "maximize")
    top = {t.number for t in ranked[: max(best, 0)]}
    alpha = float(np.clip(25 / max(len(done), 1), 0.3, 0.85))

    def heights(trial: Trial) -> list[float]:  # where its line meets each axis
        ys = [_unit(space[name], trial.params[name]) if name in trial.params else UNUSED for name in names]
        return [*ys, float(norm(_score(trial)))]

    for trial in done:
        if trial.number not in top:
            colour = cmap(norm(_score(trial)))
            ax.plot(range(count), heights(trial), color=colour, lw=1.0, alpha=alpha, gid=f"trial {trial.number}")
    for trial in reversed(ranked[: max(best, 0)]):  # the best on top, the very best last
        ax.plot(range(count), heights(trial), color=BEST, lw=2.2, zorder=3, gid=f"trial {trial.number}", label="best")
    for i, (name, (forward, inverse, ticks, labels)) in enumerate(axes):
        axis = ax.secondary_yaxis((i + margin) / (count - 1 + 2 * margin), functions=(forward, inverse))
        axis.set_yticks(ticks, labels)
        axis.yaxis.set_ticks_position("right")
        axis.yaxis.set_minor_locator(NullLocator())
        axis.tick_params(labelsize=TICK)
        for label in axis.get_yticklabels():  # readable over the lines
            label.set_bbox({"facecolor": "white", "alpha": 0.75, "lw": 0, "pad": 0.6})
        for spine in axis.spines.values():
            spine.set_bounds(float(forward(0.0)), float(forward(1.0)))
        axis.set_gid(f"axis {name}")
        axis.set_zorder(3.5)  # its labels over the lines
        if name in unused:
            ax.plot([i - 0.04, i + 0.04], [UNUSED, UNUSED], color="0.45", lw=1.2, gid=f"unused {name}")
            ax.text(
                i,
                UNUSED - 0.03,
                "unused",
                va="top",
                ha="center",
                fontsize=TICK,
                color="0.4",
                bbox={"facecolor": "white", "alpha": 0.75, "lw": 0, "pad": 0.6},
                zorder=4,
            )
    ax.set_yticks([])
    ax.set_xticks(
        range(count),
        [name for name, _ in axes],
        rotation=30 if slanted else 0,
        ha="right" if slanted else "center",
        rotation_mode="anchor" if slanted else "default",
    )
    ax.tick_params(axis="x", length=0, labelsize=LABEL, pad=6)
    for spine in ax.spines.values():
        spine.set_visible(False)
    colorbar = fig.colorbar(ScalarMappable(norm, cmap), cax=cax)
    colorbar.set_label("score (bright is better)", fontsize=LABEL)
    colorbar.ax.tick_params(labelsize=TICK)
    colorbar.ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: _fmt(float(value))))
    title = f"Parallel coordinates ({snapshot.direction})"
    if ranked:
        title += f": best {_fmt(_score(ranked[0]))} at trial {ranked[0].number}"
    left_out = [
        f"{n} {state.value}"
        for state in (TrialState.PRUNED, TrialState.FAILED)
        if (n := sum(t.state is state for t in snapshot.trials))
    ]
    shown = f"{len(done)} trial{'' if len(done) == 1 else 's'}"
    if top:
        shown += f", best {len(top)} in red" if len(top) > 1 else ", the best in red"
    if left_out:
        shown += f"; {' and '.join(left_out)} not drawn"
    if not done:  # said under the title: across the axes, a note would hide their labels
        shown = "no completed trial yet" + shown.removeprefix("0 trials")
        cax.set_visible(False)  # no scores to colour by
    ax.set_title(f"{title.replace(': ', chr(10), 1) if narrow else title}\n{shown}", fontsize=TITLE)
    return fig


Scale = tuple[Any, Any, list[float], list[str]]  # to value, to the unit range, tick values, tick labels


def _unit(dim: Any, value: Any) -> float:
    """Where a value sits on its axis of plot_parallel, from 0 (its range's low end) to 1 (its high end)."""
    if isinstance(dim, Choice):
        return (dim.index(value) + 0.5) / len(dim.options)
    if dim.log:
        return math.log(value / dim.low) / math.log(dim.high / dim.low)
    return (value - dim.low) / (dim.high - dim.low)


def _unit_scale(dim: Any) -> Scale:
    """A hyperparameter's axis of plot_parallel: its value at each height, and its ticks at round values."""
    if isinstance(dim, Choice):
        k = len(dim.options)
        return (
            lambda u: np.asarray(u) * k - 0.5,
            lambda i: (np.asarray(i) + 0.5) / k,
            list(range(k)),
            [_fmt(o) for o in dim.options],
        )
    low, high = float(dim.low), float(dim.high)
    if dim.log:
        ratio = high / low

        def forward(u: Any) -> Any:
            return low * ratio ** np.asarray(u, dtype=float)

        def inverse(v: Any) -> Any:
            return np.log(np.clip(np.asarray(v, dtype=float), low * 1e-12, None) / low) / math.log(ratio)

        decades = math.log10(ratio)
        locator: LogLocator | MaxNLocator = LogLocator(subs=(1.0, 2.0, 5.0) if decades <= 1.5 else (1.0,), numticks=8)
        if decades > 6:
            locator = LogLocator(subs=(1.0,), numticks=5)
    else:

        def forward(u: Any) -> Any:
            return low + np.asarray(u, dtype=float) * (high - low)

        def inverse(v: Any) -> Any:
            return (np.asarray(v, dtype=float) - low) / (high - low)

        locator = MaxNLocator(nbins=5, integer=isinstance(dim, Int))
    ticks = [float(t) for t in locator.tick_values(low, high) if low * (1 - 1e-9) <= t <= high * (1 + 1e-9)]
    ticks = ticks or [low, high]
    return forward, inverse, ticks, [f"{t:g}" if dim.log or isinstance(dim, Int) else _fmt(t) for t in ticks]


def _score_scale(low: float, high: float) -> Scale:
    """The score's axis of plot_parallel, from the lowest score to the highest."""

    def forward(u: Any) -> Any:
        return low + np.asarray(u, dtype=float) * (high - low)

    def inverse(v: Any) -> Any:
        return (np.asarray(v, dtype=float) - low) / (high - low)

    span = high - low
    ticks = [
        float(t) for t in MaxNLocator(nbins=5).tick_values(low, high) if low - 1e-9 * span <= t <= high + 1e-9 * span
    ]
    return forward, inverse, ticks, [_fmt(t) for t in ticks]


def _score_range(scores: Sequence[float]) -> tuple[float, float]:
    """The scores' range, widened around a single value so that it has a height."""
    if not scores:
        return 0.0, 1.0
    low, high = min(scores), max(scores)
    if high > low:
        return low, high
    pad = 0.05 * abs(low) or 0.5
    return low - pad, high + pad


def plot_compare(
    comparison: Comparison,
    x: str = "trials",
    fig: FigureLike | None = None,
    *,
    xscale: str = "linear",
    yscale: str = "linear",
) -> FigureLike:
    """The best score so far of each study against trials run (x="trials") or time since its first trial started
    (x="time"); studies sharing a name drawn thin, with their median thick."""
    if x not in ("trials", "time"):
        raise ValueError(f"x must be 'trials' or 'time', got {x!r}")
    fig = _figure(fig, (1.6 * SIZE[0], SIZE[1]))
    ax = fig.subplots(gridspec_kw=_margins(fig, left=_left(None) + 0.1))
    by_trials = x == "trials"
    longest = max((r.n_trials if by_trials else r.total_time for r in comparison.runs), default=0.0)
    minutes = not by_trials and longest > 300
    unit = 60.0 if minutes else 1.0
    drew = False
    for i, (name, runs) in enumerate(comparison.groups.items()):
        color = f"C{i % 10}"
        curves = []
        for run in runs:
            xs = np.asarray(run.trials if by_trials else run.times, dtype=float)
            ys = np.asarray(run.best_by_trial if by_trials else run.best_by_time, dtype=float)
            if not len(xs):
                continue
            end = float(run.n_trials if by_trials else run.total_time)
            xs, ys = np.append(xs, max(end, xs[-1])), np.append(ys, ys[-1])  # the best holds until the study ended
            curves.append((xs, ys, run))
        if not curves:
            continue
        drew = True
        several = len(runs) > 1
        for xs, ys, _ in curves:
            ax.plot(
                xs / unit,
                ys,
                drawstyle="steps-post",
                color=color,
                lw=0.8 if several else 1.8,
                alpha=0.3 if several else 1.0,
                label=None if several else name,
                gid=f"run {name}",
            )
        if several:
            median = _median_curve([run for _, _, run in curves], by_trials)
            label = f"{name} (median of {len(curves)} runs)"
            if median is None:  # the runs do not overlap: no median to draw, the thin lines named instead
                ax.plot([], [], color=color, lw=0.8, label=f"{name} ({len(curves)} runs)")
            else:
                grid, values = median
                ax.plot(
                    grid / unit, values, drawstyle="steps-post", color=color, lw=2.4, label=label, gid=f"median {name}"
                )
    ax.set_xscale(xscale)
    ax.set_yscale(yscale)
    if by_trials and xscale == "linear":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if yscale == "log":
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda value, _: ""))
    ax.set_xlabel(
        "trials run" if by_trials else f"time since the first trial started ({'min' if minutes else 's'})",
        fontsize=LABEL,
    )
    ax.set_ylabel(f"best score so far ({comparison.direction})", fontsize=LABEL)
    names = comparison.names
    compared = " vs ".join(names) if len(names) <= 4 and sum(map(len, names)) <= 40 else f"{len(names)} studies"
    ax.set_title(f"Best score so far: {compared}", fontsize=TITLE)
    ax.tick_params(labelsize=TICK)
    ax.grid(alpha=0.3, which="major")
    if drew:
        _legend(ax)
    else:
        _note(ax, "no completed trial to compare")
    return fig


def _median_curve(runs: Sequence[Any], by_trials: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """The median of several runs' best-so-far, where every run has a completed trial and has not yet ended."""
    starts = [r.trials[0] if by_trials else r.times[0] for r in runs]
    ends = [r.n_trials if by_trials else r.total_time for r in runs]
    start, end = max(starts), min(ends)
    if end < start:
        return None
    steps = {start, end, *(x for r in runs for x in (r.trials if by_trials else r.times) if start <= x <= end)}
    grid = np.array(sorted(steps), dtype=float)
    values = np.array([r.best_after(grid) if by_trials else r.best_at(grid) for r in runs])
    return grid, np.median(values, axis=0)


def plot_summary(snapshot: StudySnapshot, space: Space, slice: Slice | None = None) -> Figure:
    """The search at a glance: scores and the posterior side by side, the learning curves when trials reported
    values, and score by hyperparameter below."""
    params_height = _params_size(len(space))[1]
    curves_height = SIZE[1] if any(t.intermediate for t in snapshot.trials) else 0.0
    heights = [h for h in (SIZE[1], curves_height, params_height) if h]
    fig = Figure(figsize=(2 * SIZE[0], sum(heights)))
    parts = _subfigures(fig, len(heights), 1, height_ratios=heights)
    left, right = _subfigures(parts[0], 1, 2)
    plot_history(snapshot, left)
    if slice is not None:
        plot_posterior(slice, right)
    if curves_height:
        plot_curves(snapshot, parts[1])
    plot_params(snapshot, space, parts[-1])
    return fig


def figure_png(fig: FigureLike, dpi: float = DPI) -> bytes:
    """The figure (for a SubFigure, the whole figure it belongs to) as PNG bytes."""
    root = _root(fig)
    canvas = root.canvas if isinstance(root.canvas, FigureCanvasAgg) else FigureCanvasAgg(root)
    buffer = io.BytesIO()
    canvas.print_figure(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


# -- helpers -------------------------------------------------------------------------------------------------------
def _subfigures(fig: FigureLike, rows: int, cols: int, **kwargs: Any) -> list[SubFigure]:
    """A grid of subfigures as a flat list (matplotlib returns a single one unwrapped)."""
    found = fig.subfigures(rows, cols, **kwargs)
    return [found] if isinstance(found, SubFigure) else list(found.ravel())


def _score(trial: Trial) -> float:
    """A finished trial's score (a complete trial, or a pruned one with a value, has one)."""
    return math.nan if trial.value is None else float(trial.value)


def _figure(fig: FigureLike | None, size: tuple[float, float] = SIZE) -> FigureLike:
    """The figure to draw into: the one given, or a new one."""
    return Figure(figsize=size) if fig is None else fig


def _root(fig: FigureLike) -> Figure:
    """The top-level figure a figure or subfigure belongs to."""
    while isinstance(fig, SubFigure):
        fig = fig.figure
    return fig


def _size(fig: FigureLike) -> tuple[float, float]:
    """A figure's or subfigure's width and height in inches."""
    return fig.bbox.width / fig.dpi, fig.bbox.height / fig.dpi


def _margins(
    fig: FigureLike, *, left: float | None = None, right: float = 0.15, bottom: float | None = None, top: float = 0.35
) -> dict[str, float]:
    """Subplot margins given in inches, as figure fractions; none when the figure has a layout engine of its own."""
    # Fixed margins rather than a layout engine of our own: constrained layout doubles the time of a render.
    if _root(fig).get_layout_engine() is not None:
        return {}
    width, height = _size(fig)
    left = _left(None) if left is None else left
    bottom = _bottom(None) if bottom is None else bottom
    return {
        "left": min(left / width, 0.45),
        "right": max(1 - right / width, 0.55),
        "bottom": min(bottom / height, 0.45),
        "top": max(1 - top / height, 0.55),
    }


def _star() -> dict[str, Any]:
    """The best trial's star: drawn whole even at the edge of its axes."""
    return {"ms": STAR, "color": BEST, "mec": "k", "mew": 0.6, "zorder": 4, "clip_on": False}


def _legend(ax: Any, **options: Any) -> None:
    """A compact legend in the corner where it hides least."""
    spacing = {"handlelength": 1.3, "handletextpad": 0.4, "labelspacing": 0.25, "borderpad": 0.3}
    ax.legend(fontsize=LEGEND, loc="best", framealpha=0.8, columnspacing=0.8, **spacing, **options)


def _chars(labels: Sequence[Any] | None, default: int) -> int:
    return max([default, *(len(_fmt(label)) for label in labels or ())])


def _left(options: Sequence[Any] | None) -> float:
    """Room in inches left of the axes for tick labels (option labels, or numbers of up to 6 characters) and a label."""
    return 0.38 + 0.078 * _chars(options, 6)


def _bottom(options: Sequence[Any] | None) -> float:
    """Room in inches below the axes for tick labels (slanted options rise with their length) and a label."""
    if options is not None and _slanted([_fmt(o) for o in options]):
        return 0.6 + 0.05 * _chars(options, 0)
    return 0.58


def _title_height(lines: int) -> float:
    return 0.12 + 0.21 * lines


def _fmt(value: Any) -> str:
    """A value in a few characters: 3 significant digits for floats, options as written."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float | np.floating):
        return f"{value:.3g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return str(value)


def _held(fig: FigureLike, fixed: Mapping[str, Any]) -> str:
    """'others at the best trial: a=1, b=relu', cut short to fit a title line of the figure."""
    limit = int(_size(fig)[0] * 72 / (0.6 * TITLE))  # characters of about 0.6 em
    text = "others at the best trial: " + ", ".join(f"{k}={_fmt(v)}" for k, v in fixed.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _log_scale(ax: Any, axis: str, low: float, high: float) -> None:
    """A log axis labelled with plain numbers, at 1-2-5 steps when it spans few decades, without minor ticks."""
    getattr(ax, f"set_{axis}scale")("log")
    target = ax.xaxis if axis == "x" else ax.yaxis
    decades = math.log10(high / low)
    target.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if decades <= 2 else (1.0,), numticks=8))
    target.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    target.set_minor_locator(NullLocator())


def _clipped_note(ax: Any, share: float) -> None:
    """Say where the model's mean left the scores' range and was drawn at its edge instead."""
    if share > 0:
        where = "a few points" if share < 0.005 else f"{share:.0%} of points"
        text = f"model clipped to the range\nof the scores seen at {where}"
        ax.text(
            0.01,
            0.01,
            text,
            transform=ax.transAxes,
            ha="left",
            va="bottom",
            fontsize=LEGEND,
            color="0.3",
            bbox={"facecolor": "white", "alpha": 0.7, "lw": 0, "pad": 1},
        )


def _note(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=LABEL, color="0.4")


def _jitter(n: int, seed: int = 0) -> np.ndarray:
    """Seeded offsets that spread a choice's points into a strip."""
    return np.random.default_rng(seed).uniform(-JITTER, JITTER, n)


def _positions(options: Sequence[Any], values: Sequence[Any], choice: bool, seed: int) -> np.ndarray:
    """Where values sit on an axis: the values themselves, or a choice's option index plus seeded jitter."""
    if not choice:
        return np.asarray(values, dtype=float)
    index = Choice(options).index
    return np.asarray([index(v) for v in values], dtype=float) + _jitter(len(values), seed)


def _set_option_ticks(ax: Any, options: Sequence[Any], axis: str = "x") -> None:
    """A choice's options as the tick labels at their indexes, slanted when they would collide."""
    labels = [_fmt(o) for o in options]
    slanted = axis == "x" and _slanted(labels)
    if axis == "x":
        ax.set_xticks(range(len(labels)), labels, rotation=30 if slanted else 0, ha="right" if slanted else "center")
    else:
        ax.set_yticks(range(len(labels)), labels)


def _slanted(labels: Sequence[str]) -> bool:
    """Whether option labels along an x axis would collide unless slanted."""
    return sum(len(label) for label in labels) > 40 or len(labels) > 8


def _best_index(scores: Sequence[float], direction: Direction) -> int | None:
    if not scores:
        return None
    pick = np.argmax if direction == "maximize" else np.argmin
    return int(pick(np.asarray(scores, dtype=float)))
