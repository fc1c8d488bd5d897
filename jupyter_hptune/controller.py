"""A cell's control panel wired to the cell's tuner: what each button does, and how a search ends in the panel."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Callable, Iterator
from typing import Any

from .busy import kernel_busy
from .comm import KERNEL_TOKEN, sidebar
from .core.errors import ScoreError, StudyError
from .core.search import StopReason
from .core.settings import SearchSettings
from .core.space import Space, SpaceError
from .core.trial import Trial
from .report import first_failure, format_summary
from .runner import CellTuner, stream_writer

__all__ = ["PanelController", "final_plots", "launch_task", "show_panel", "task_done"]

NO_EXTENSION = (
    "{action} edits the notebook through the jupyter-hptune JupyterLab extension, which is not connected: "
    "open the notebook in JupyterLab (or Notebook 7) with jupyter-hptune installed and re-run %load_ext"
)
BUSY = "A search is running: stop it first."


def show_panel(name: str, space: Space, settings: SearchSettings, tuner: CellTuner, kernel: Any) -> Any:
    """Display the control panel of a %%tune cell, following its tuner's study, its buttons wired to the tuner."""
    from IPython.display import display

    from .widgets import PanelDisplay, TunePanel

    panel = TunePanel(space, name=name, settings=settings)
    # Which kernel process the panel belongs to: the frontend marks the panels of a kernel since restarted or gone.
    panel.widget.add_class(f"hptune-kernel-{KERNEL_TOKEN}")
    tuner.observe(panel)
    panel.attach(lambda: None if tuner.sampler is None else (tuner.sampler, tuner.space))
    PanelController(name, panel, tuner, settings, kernel)
    panel.display_handle = display(PanelDisplay(panel), display_id=True)
    return panel


class PanelController:
    """Carries out a panel's requests (Run, Continue, Run trial, Stop, Save to cell, Use best params) on a tuner."""

    def __init__(self, name: str, panel: Any, tuner: CellTuner, settings: SearchSettings, kernel: Any) -> None:
        self.name, self.panel, self.tuner, self.kernel = name, panel, tuner, kernel
        # the cell's workers, kept by the panel's runs
        self.workers = {"jobs": settings.jobs, "cluster": settings.cluster, "sync": settings.sync}
        panel.on_run, panel.on_continue, panel.on_trial = self.run, self.more, self.trial
        panel.on_stop, panel.on_save, panel.on_use_best = self.stop, self.save, self.use_best

    def run(self, chosen: SearchSettings) -> None:
        """Start a new study with the panel's settings."""
        self._start(lambda: dataclasses.replace(chosen, **self.workers), new_study=True)

    def more(self, chosen: SearchSettings) -> None:
        """Add the panel's trials to the study."""
        self._start(lambda: dataclasses.replace(chosen, **self.workers), new_study=False)

    def trial(self, point: dict[str, Any]) -> None:
        """Evaluate the manual controls' point as one trial of the study, stopped early as the panel says."""

        def settings() -> SearchSettings:
            stopping = self.panel.controls.stopping()
            chosen = SearchSettings(method="manual", direction=self.tuner.study.direction, **stopping)
            self.tuner.study.enqueue(point)
            return chosen

        self._start(settings, new_study=False)

    def stop(self) -> None:
        """End the running search after its trial (or cancel the running trials, as the panel says)."""
        self.tuner.stop(cancel=self.panel.cancel_running.value)

    def save(self, chosen: tuple[SearchSettings, dict[str, Any] | None]) -> None:
        """Write the panel's settings into the cell, through the JupyterLab extension."""
        self._edit_notebook("Save to cell", lambda: sidebar().write_cell(self.name, chosen, tuner=self.tuner))

    def use_best(self) -> None:
        """Insert a cell that sets the best trial's params, through the JupyterLab extension."""
        self._edit_notebook("Use best params", lambda: sidebar().insert_cell(self.name, tuner=self.tuner))

    def _start(self, settings: Callable[[], SearchSettings], *, new_study: bool) -> None:
        if self._refuse_while_running():
            return
        try:
            trial_loop = self.tuner.begin(settings(), new_study=new_study)
        except (SpaceError, StudyError, ValueError) as error:
            self.panel.show_error(error)
            return
        self.panel.log.clear_output()
        launch_task(self.tuner, trial_loop, self.panel, self.kernel)

    def _refuse_while_running(self) -> bool:
        if self.tuner.running:
            self.panel.show_message(BUSY, error=True)
        return self.tuner.running

    def _edit_notebook(self, action: str, send: Callable[[], bool]) -> None:
        try:
            sent = send()
        except ValueError as error:
            self.panel.show_error(error)
            return
        if not sent:
            self.panel.show_message(NO_EXTENSION.format(action=action), error=True)


def launch_task(tuner: CellTuner, trial_loop: Iterator[Trial | None], panel: Any, kernel: Any) -> None:
    """Run a search as a task of the kernel (Busy until it ends), printing to the panel's log and ending in the panel."""
    output = None if panel is None else stream_writer(panel.log.append_stdout)
    tuner.launch(trial_loop, output, lambda error: task_done(tuner, panel, error), kernel_busy(kernel, task=True))


def final_plots(tuner: CellTuner, panel: Any) -> None:
    """Redraw a panel once its search ended, and give its display the final plots as a PNG for readers without widgets."""
    from .widgets import PanelDisplay

    try:
        panel.redraw(final=True)
        if panel.display_handle is not None:
            panel.display_handle.update(PanelDisplay(panel, format_summary(tuner.study.snapshot())))
    except Exception as failure:  # a plot that fails must not hide how the search ended
        print(f"The panel's final plots failed: {type(failure).__name__}: {failure}", file=sys.stderr)


def task_done(tuner: CellTuner, panel: Any, error: BaseException | None) -> None:
    """After a search that ran as a task (the panel's buttons, --background): show how it ended in the panel."""
    if panel is None:
        return
    with contextlib.redirect_stderr(stream_writer(panel.log.append_stderr)):
        final_plots(tuner, panel)
    snapshot = tuner.study.snapshot()
    if isinstance(error, ScoreError):
        panel.show_message(f"{error}. The cell's last expression must be the score", error=True)
    elif isinstance(error, KeyboardInterrupt) or snapshot.stop_reason is StopReason.INTERRUPTED:
        panel.show_message("Interrupted: every finished trial is kept.")
    elif error is not None:
        panel.show_message(f"{type(error).__name__}: {error}", error=True)
    elif snapshot.all_failed:
        panel.log.append_stderr(f"{first_failure(snapshot)}\n")
        panel.show_message(f"All {len(snapshot.search_trials)} trials failed: see the Log tab.", error=True)
    else:
        panel.show_message(format_summary(snapshot).splitlines()[0])
