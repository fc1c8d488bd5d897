"""The panel's plots: the score plot and the model's slice side by side, the Surface, Parameters, Curves, Importance
and Parallel coordinates tabs, and when to redraw them so that a person can follow a search at a small cost to it."""

from __future__ import annotations

import html
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..core.events import StudySnapshot
from ..core.space import Space

__all__ = [
    "CURVES_TAB",
    "IMPORTANCE_TAB",
    "PARALLEL_TAB",
    "PARAMS_TAB",
    "SURFACE_TAB",
    "PlotsView",
    "RedrawPace",
    "png_image",
    "show_png",
]

# The tabs whose plots this view draws (2 and 3: trials and log).
SURFACE_TAB, PARAMS_TAB, CURVES_TAB, IMPORTANCE_TAB, PARALLEL_TAB = 0, 1, 4, 5, 6

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
    from ..plots import CSS_DPI, DPI

    image.value = png
    if png[12:16] == b"IHDR":  # the PNG's width in pixels, shown at the CSS pixels it was drawn for
        image.width = str(round(int.from_bytes(png[16:20], "big") * CSS_DPI / DPI))
    image.layout.display = None


class PlotsView:
    """The score plot, the model's slice along one hyperparameter, and the plots of the Surface, Parameters,
    Curves, Importance and Parallel coordinates tabs; the model is fitted (or read) once per redraw and shared by
    the views."""

    def __init__(self, space: Space) -> None:
        self.space = space
        self.history = png_image(fill=True)
        self.posterior_param = w.Dropdown(options=list(space), description="along", layout=w.Layout(width="260px"))
        self.posterior = png_image(fill=True)
        self.surface_x = w.Dropdown(options=list(space), description="x", layout=w.Layout(width="220px"))
        self.surface_y = w.Dropdown(
            options=list(space),
            value=list(space)[min(1, len(space) - 1)] if len(space) else None,
            description="y",
            layout=w.Layout(width="220px"),
        )
        self.surface = png_image()
        self.params_plot = png_image()
        self.curves = png_image()
        self.importance = png_image()
        self.importance_note = w.HTML()  # why there is no importance yet (too few trials)
        self.importance_note.add_class("hptune-importance-note")
        self.importance_tab = w.VBox([self.importance_note, self.importance])
        self.importance_tab.add_class("hptune-importance")
        self.parallel = png_image()
        self.parallel.add_class("hptune-parallel")
        self._insights: dict[int, Any] = {}  # the finished trials each of those two tabs last drew
        self.surface_tab = w.VBox([w.HBox([self.surface_x, self.surface_y]), self.surface])
        # Side by side where two plots of at least 420 px fit (their text then shows at 12 px or more), else one
        # above the other; their bottoms aligned, the posterior's dropdown above it.
        cell = w.Layout(min_width="0")
        self.widget = w.GridBox(
            [w.VBox([self.history], layout=cell), w.VBox([self.posterior_param, self.posterior], layout=cell)],
            layout=w.Layout(
                grid_template_columns="repeat(auto-fit, minmax(min(420px, 100%), 1fr))",
                grid_gap="4px 12px",
                align_items="flex-end",
            ),
        )
        self.widget.add_class("hptune-plots")
        self.model_view: Any = None  # the posterior of the latest redraw, reused by the other views
        self._offering = False  # while the slices offered change
        self._model: Callable[[], tuple[Any, Space] | None] = lambda: None

    def set_space(self, space: Space) -> None:
        """The hyperparameters the plots offer, once trials declared more of them."""
        self.space = space
        for control in (self.posterior_param, self.surface_x, self.surface_y):
            chosen = control.value
            control.options = list(space)
            if chosen in space:
                control.value = chosen

    def attach(self, model: Callable[[], tuple[Any, Space] | None]) -> None:
        """Where to read the search's sampler and space from, for the posterior."""
        self._model = model

    def draw_history(self, snapshot: StudySnapshot) -> None:
        """Redraw the score plot."""
        from .. import plots

        show_png(self.history, plots.figure_png(plots.plot_history(snapshot)))

    def draw_model_views(self, snapshot: StudySnapshot, tab: int | None, final: bool = False) -> None:
        """Fit or read the model once, then redraw the posterior slice and the open tab from it."""
        self.model_view = self._posterior(snapshot, final)
        self._offer_slices(snapshot)
        self.draw_slice()
        self.draw_tab(snapshot, tab)

    def draw_slice(self) -> None:
        """Redraw the posterior slice from the latest model, without refitting it."""
        if self.model_view is not None and not self._offering:
            from .. import plots

            slice_ = self.model_view.slice(self.posterior_param.value)
            show_png(self.posterior, plots.figure_png(plots.plot_posterior(slice_)))

    def draw_tab(self, snapshot: StudySnapshot, tab: int | None) -> None:
        """Redraw the plot of the open tab, if it is one of this view's, from the latest model and snapshot."""
        from .. import plots

        model = self.model_view
        if tab == SURFACE_TAB and model is not None and self.surface_x.value != self.surface_y.value:
            surface = model.surface(self.surface_x.value, self.surface_y.value)
            show_png(self.surface, plots.figure_png(plots.plot_surface(surface)))
        elif tab == PARAMS_TAB:
            show_png(self.params_plot, plots.figure_png(plots.plot_params(snapshot, self.space)))
        elif tab == CURVES_TAB:
            self.draw_curves(snapshot)
        elif tab in (IMPORTANCE_TAB, PARALLEL_TAB):
            # Opened again with nothing new, a tab is not redrawn: the importance refits a forest.
            drawn = self._drawn_from(snapshot)
            if self._insights.get(tab) == drawn:
                return
            if tab == IMPORTANCE_TAB:
                self.draw_importance(snapshot)
            else:
                show_png(self.parallel, plots.figure_png(plots.plot_parallel(snapshot, self._space(snapshot))))
            self._insights[tab] = drawn

    def draw_importance(self, snapshot: StudySnapshot) -> None:
        """Redraw the importance bars, or say why there are none yet (e.g. too few completed trials)."""
        from .. import plots
        from ..core.importance import ImportanceError, importance

        try:
            found = importance(snapshot.trials, self._space(snapshot), snapshot.direction, seed=snapshot.seed)
        except ImportanceError as error:
            self.importance_note.value = f"<span style='color:#777'>{html.escape(str(error), quote=False)}</span>"
            self.importance.layout.display = "none"
            return
        self.importance_note.value = ""
        show_png(self.importance, plots.figure_png(plots.plot_importance(found)))

    def _space(self, snapshot: StudySnapshot) -> Space:
        """The study's hyperparameters: those declared up front and those its trials declared as they ran."""
        return snapshot.space if snapshot.space is not None else self.space

    def _drawn_from(self, snapshot: StudySnapshot) -> Any:
        """What the Importance and Parallel coordinates tabs are drawn from: the finished trials and the space."""
        finished = tuple((t.number, t.state, t.value) for t in snapshot.trials if t.finished is not None)
        return finished, tuple(self._space(snapshot).items()), snapshot.seed, snapshot.direction

    def draw_curves(self, snapshot: StudySnapshot) -> None:
        """Redraw the learning curves."""
        from .. import plots

        show_png(self.curves, plots.figure_png(plots.plot_curves(snapshot)))

    def _offer_slices(self, snapshot: StudySnapshot) -> None:
        """Offer the slices along the hyperparameters that at least 2 completed trials used (all, until some did)."""
        from ..core.posterior import sliceable

        options = sliceable(self.space, snapshot.trials) or list(self.space)
        dropdown = self.posterior_param
        if list(dropdown.options) != options:
            value = dropdown.value if dropdown.value in options else options[0]
            self._offering = True  # the dropdown passes through other values on the way: no slice drawn for them
            try:
                dropdown.options, dropdown.value = options, value
            finally:
                self._offering = False

    def _posterior(self, snapshot: StudySnapshot, final: bool = False) -> Any:
        from ..core.posterior import posterior

        found = self._model()
        sampler, space = found if found is not None else (None, self.space)
        inside = [t for t in snapshot.trials if space.includes(t.params, partial=True)]
        if final and sampler is not None:  # the model has not seen the last trial yet: one fit, at the end
            sampler.learn(space, inside)
        return posterior(space, inside, snapshot.direction, sampler, seed=snapshot.seed)

    def final_png(self, snapshot: StudySnapshot) -> bytes | None:
        """One image of the final plots (history, posterior, parameters), for readers without a kernel."""
        if not snapshot.trials:
            return None
        from .. import plots

        model = self.model_view
        slice_ = None if model is None else model.slice(self.posterior_param.value)
        # At the CSS pixels it is drawn for: a saved notebook shows it at its natural size (GitHub, nbviewer).
        return plots.figure_png(plots.plot_summary(snapshot, self.space, slice_), dpi=plots.CSS_DPI)
