"""The control panel of a %%tune cell: the search controls, live progress, plots and the trials table.

The panel observes a study's events and turns clicks into requests (run, continue, one manual trial, stop) that
its owner (controller.PanelController) carries out; it never runs the search itself. Its parts live beside it:
controls.py (the settings of the next search), rows.py (a row per hyperparameter), progress.py, plots_view.py
(and when to redraw), table.py and trial_view.py (one trial in detail, chosen beside the table).
"""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as w

from ..core.errors import StudyError
from ..core.events import (
    Event,
    SearchFinished,
    SearchStarted,
    StudySnapshot,
    TrialFinished,
    TrialReported,
    TrialStarted,
    WorkersUpdated,
)
from ..core.options import in_panel_words
from ..core.settings import SearchSettings
from ..core.space import Space, SpaceError
from ..core.trial import Trial
from .controls import OptionControl, SearchControls
from .plots_view import (
    CURVES_TAB,
    IMPORTANCE_TAB,
    LATENCY,
    PARALLEL_TAB,
    SHARE,
    PlotsView,
    RedrawPace,
    png_image,
    show_png,
)
from .progress import ProgressView, progress_text, workers_html
from .rows import ChoiceRow, RangeRow, log_values, make_row, row_box, value_label
from .table import TrialsTable, trials_table_html
from .trial_view import TrialView, trial_detail_html, trial_label

__all__ = [
    "CURVES_TAB",
    "IMPORTANCE_TAB",
    "LATENCY",
    "PARALLEL_TAB",
    "SHARE",
    "TAB_TITLES",
    "TRIALS_TAB",
    "ChoiceRow",
    "OptionControl",
    "PanelDisplay",
    "RangeRow",
    "RedrawPace",
    "SearchControls",
    "TrialView",
    "TunePanel",
    "log_values",
    "make_row",
    "png_image",
    "progress_text",
    "show_png",
    "trial_detail_html",
    "trial_label",
    "trials_table_html",
    "value_label",
    "workers_html",
]

Handler = Callable[..., None]  # what a button of the panel calls (PanelController sets them)

TRIALS_TAB = 2  # the tab of the trials table
# Seven tabs do not fit a laptop's panel at ipywidgets' fixed tab width: each tab as wide as its title, the tab bar
# wrapping onto a second line rather than cutting titles off (in the panel itself, so that every frontend has it).
TAB_CSS = (
    "<style>.hptune-panel .jupyter-widgets.jupyter-widget-tab > .lm-TabBar > .lm-TabBar-content {flex-wrap: wrap}"
    ".hptune-panel .jupyter-widgets.jupyter-widget-tab > .lm-TabBar .lm-TabBar-tab {flex: 0 0 auto}</style>"
)
TAB_TITLES = ("Surface", "Parameters", "Trials", "Log", "Curves", "Importance", "Parallel coordinates")


class TunePanel:
    """The widgets of one %%tune cell, kept up to date from the study's events."""

    def __init__(self, space: Space, *, name: str, settings: SearchSettings) -> None:
        self.space = space
        self.title = w.HTML(f"<b>%%tune</b> · study <code>{html.escape(name)}</code>")
        self.controls = SearchControls(space, settings)
        self.progress = ProgressView(settings.n_trials)
        self.plots = PlotsView(space)
        self.table = TrialsTable(list(space))
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
        self.message = w.HTML()
        self.message.add_class("hptune-message")
        self.log = w.Output(layout=w.Layout(max_height="240px", overflow="auto"))
        self.log_note = w.HTML(
            "<span style='color:#777'>When a search runs from this panel's buttons (or in the background), what its "
            "trials print, a line per finished trial with its score, and the summary appear here. A search run by "
            "the cell itself prints below the cell.</span>"
        )
        plots = self.plots
        self.tabs = w.Tab(
            children=[
                plots.surface_tab,
                plots.params_plot,
                self.table.widget,
                w.VBox([self.log_note, self.log]),
                plots.curves,
                plots.importance_tab,
                plots.parallel,
            ]
        )
        for i, title in enumerate(TAB_TITLES):
            self.tabs.set_title(i, title)
        self.tabs.selected_index = TRIALS_TAB
        if self.controls.stops_early:
            self.tabs.selected_index = CURVES_TAB  # a cell that stops trials early: its learning curves first
        # The settings of the next run fold into a one-line summary, so that the progress and the plots fit a
        # laptop's screen; the manual method starts unfolded, its rows being the point to run.
        self.show_settings = w.ToggleButton(
            value=settings.method == "manual",
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
        self.widget = w.VBox(
            [
                row_box([self.title, self.show_settings, self.settings_summary]),
                self.controls.widget,
                row_box(buttons),
                self.message,
                self.progress.line,
                self.progress.workers_row,
                plots.widget,
                self.tabs,
                w.HTML(TAB_CSS, layout=w.Layout(display="none")),
            ],
            layout=w.Layout(border="1px solid #ddd", padding="6px"),
        )
        self.widget.add_class("hptune-panel")
        self.display_handle: Any = None
        self._snapshot: StudySnapshot | None = None
        self._pace = RedrawPace()
        self._last_progress = 0.0
        self._last_table = 0.0
        self.on_run: Handler | None = None
        self.on_continue: Handler | None = None
        self.on_trial: Handler | None = None
        self.on_stop: Handler | None = None
        self.on_save: Handler | None = None
        self.on_use_best: Handler | None = None
        controls = self.controls
        controls.method.observe(self._method_changed, names="value")
        self.run.on_click(lambda _: self._request(self.on_run, controls.settings))
        self.more.on_click(lambda _: self._request(self.on_continue, controls.settings))
        self.run_trial.on_click(lambda _: self._request(self.on_trial, controls.point))
        self.stop.on_click(lambda _: self._request(self.on_stop, None))
        self.save.on_click(lambda _: self._request(self.on_save, self.cell_settings))
        self.use_best.on_click(lambda _: self._request(self.on_use_best, None))
        plots.posterior_param.observe(lambda _: plots.draw_slice(), names="value")
        for control in (plots.surface_x, plots.surface_y):
            control.observe(lambda _: self._draw_tab(), names="value")
        self.table.sort.observe(lambda _: self._draw_table(), names="value")
        self.table.trial.on_use = self.use_in_manual
        self.tabs.observe(lambda _: self._draw_tab(), names="selected_index")
        self.show_settings.observe(lambda _: self._fold_settings(), names="value")
        self._show_buttons()
        self._fold_settings()

    @property
    def cancel_running(self) -> w.Checkbox:
        """Whether Stop cancels the trials running on workers."""
        return self.progress.cancel_running

    def _fold_settings(self) -> None:
        """Show the settings, or fold them into the one-line summary of what the next run does."""
        shown = self.show_settings.value
        self.controls.widget.layout.display = None if shown else "none"
        self.show_settings.icon = "chevron-down" if shown else "chevron-right"
        self.settings_summary.value = "" if shown else self.controls.summary_html()

    # -- what the user asked for ------------------------------------------------------------------------------------
    def _request(self, handler: Handler | None, read: Callable[[], Any] | None) -> None:
        if handler is None:
            self.show_message("This panel's cell is no longer running in this kernel: run the cell again.", error=True)
            return
        try:
            argument = None if read is None else read()
        except (SpaceError, StudyError) as error:
            self.show_error(error)
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

    def cell_settings(self) -> tuple[SearchSettings, dict[str, Any] | None]:
        """What Save to cell writes: the next search's settings and, in the manual method, the point chosen."""
        return self.controls.cell_settings(self._snapshot)

    def show_error(self, error: Exception) -> None:
        """Show what was wrong, an option named by its label in the panel."""
        self.show_message(in_panel_words(error), error=True)

    def _method_changed(self, change: dict[str, Any]) -> None:
        if change["new"] == "manual" and self._snapshot is not None and self._snapshot.best_trial is not None:
            self.controls.set_point(self._snapshot.best_trial.params)
        self._show_buttons()

    def use_in_manual(self, trial: Trial) -> None:
        """Put a trial's params into the manual controls (the method switched to manual), for Run trial."""
        controls = self.controls
        controls.method.value = "manual"  # first: switching sets the best trial's params
        try:
            controls.set_point({name: value for name, value in trial.params.items() if name in controls.rows})
        except (ValueError, TypeError) as error:  # e.g. an option no longer declared
            self.show_message(f"Trial #{trial.number}'s params do not fit the controls: {error}", error=True)
            return
        self.show_settings.value = True  # the controls it set, in view
        self.show_message(f"Trial #{trial.number}'s params are in the manual controls: Run trial runs them.")

    def _show_buttons(self) -> None:
        manual = self.controls.method.value == "manual"
        for button in (self.run, self.more):
            button.layout.display = "none" if manual else None
        self.run_trial.layout.display = None if manual else "none"

    # -- following the search ---------------------------------------------------------------------------------------
    def attach(self, model: Callable[[], tuple[Any, Space] | None]) -> None:
        """Where to read the search's sampler and space from, for the posterior."""
        self.plots.attach(model)

    def set_running(self, running: bool) -> None:
        """Enable Stop while a search runs, and the run buttons otherwise."""
        for button in (self.run, self.more, self.run_trial):
            button.disabled = running
        self.stop.disabled = not running
        self.stop.button_style = "danger" if running else ""  # a red button that does nothing would look live

    def __call__(self, event: Event) -> None:
        """Follow one event of the study."""
        began = time.perf_counter()
        self._snapshot = snapshot = event.study
        if snapshot.space is not None and any(name not in self.controls.rows for name in snapshot.space):
            self._declared(snapshot.space, snapshot.declared_at)
        if isinstance(event, SearchStarted):
            self._pace = RedrawPace()
            self.progress.start(snapshot)
            self.set_running(True)
            self._progress(force=True)
        elif isinstance(event, TrialReported):
            if self.tabs.selected_index == CURVES_TAB and self._pace.curves_due():  # they grow while a trial runs
                self._timed(self._pace.curves, lambda: self.plots.draw_curves(snapshot))
        elif isinstance(event, TrialFinished):
            self._pace.finished()
            self._progress()
        elif isinstance(event, SearchFinished):
            self._progress(force=True)
            self.progress.end(snapshot)
            self.set_running(False)
        elif isinstance(event, WorkersUpdated):
            self.progress.show_workers(event.workers)
        if not isinstance(event, SearchStarted | SearchFinished):
            views = isinstance(event, TrialStarted) and self._pace.views_due()  # a bayes model knows the last trial
            if self._pace.history_due() or (views and self._pace.history.behind):  # not kept waiting by the views
                self._timed(self._pace.history, lambda: self.plots.draw_history(snapshot))
            if views:
                self._timed(self._pace.views, lambda: self.plots.draw_model_views(snapshot, self.tabs.selected_index))
        self._pace.charge(time.perf_counter() - began)

    def _declared(self, space: Space, declared_at: Mapping[str, str]) -> None:
        """Trials declared hyperparameters as they ran: rows for them, and the plots offer them."""
        self.controls.add_declared(space, declared_at)
        self.space = space
        self.plots.set_space(space)
        if not self.show_settings.value:
            self._fold_settings()

    def _timed(self, part: Any, draw: Callable[[], None]) -> None:
        began = time.perf_counter()
        draw()
        self._pace.drew(part, time.perf_counter() - began)

    def _progress(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_progress < 0.25:
            return
        self._last_progress = now
        if self._snapshot is None:
            return
        self.progress.show(self._snapshot)
        if force or now - self._last_table >= 1.0:  # the table is larger: at most once a second, and only when seen
            self._last_table = now
            self._draw_table(force)

    def redraw(self, final: bool = False) -> None:
        """Redraw the plots, the posterior and the table from the latest snapshot (final: once a search ended)."""
        snapshot = self._snapshot
        if snapshot is None:
            return
        self.plots.draw_history(snapshot)
        self.plots.draw_model_views(snapshot, self.tabs.selected_index, final)
        self._draw_table(force=True)

    def _draw_tab(self) -> None:
        """Redraw what the open tab shows (hidden tabs wait until opened), from the latest model and snapshot."""
        if self._snapshot is None:
            return
        if self.tabs.selected_index == TRIALS_TAB:
            self._draw_table()
        else:
            self.plots.draw_tab(self._snapshot, self.tabs.selected_index)

    def _draw_table(self, force: bool = False) -> None:
        """Rewrite the trials table when its tab is open (or with force: a search ended)."""
        if self._snapshot is not None and (force or self.tabs.selected_index == TRIALS_TAB):
            self.table.draw(self._snapshot)

    def final_png(self) -> bytes | None:
        """One image of the final plots (history, posterior, parameters), for readers without a kernel."""
        return None if self._snapshot is None else self.plots.final_png(self._snapshot)

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
