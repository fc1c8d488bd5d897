"""Running a %%tune cell's searches: in the foreground (a plain or an async cell) or as a task in the kernel."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from .cell import CellObjective
from .core.events import Event
from .core.samplers import Sampler
from .core.settings import SearchSettings
from .core.space import Space
from .core.study import Study
from .core.trial import Trial

__all__ = ["CellTuner", "drive", "drive_async"]

PAUSE, MAX_PAUSE, PAUSE_EVERY = 0.005, 0.1, 0.05  # seconds: how a running search lets the kernel read messages


def drive(trial_loop: Iterator[Trial | None]) -> None:
    """Run a search's trial loop to the end."""
    try:
        for _ in trial_loop:
            pass
    except KeyboardInterrupt:  # between two trials: the search still ends as interrupted, its trials kept
        _interrupt(trial_loop)
        raise


def _interrupt(trial_loop: Iterator[Trial | None]) -> None:
    with contextlib.suppress(StopIteration, KeyboardInterrupt):
        trial_loop.throw(KeyboardInterrupt())  # type: ignore[attr-defined]


@contextlib.contextmanager
def _interrupt_raises() -> Iterator[None]:
    """Let SIGINT raise KeyboardInterrupt in the block, as in a plain cell (an async cell only cancels at an await)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


async def drive_async(trial_loop: Iterator[Trial | None], output: TextIO | None = None) -> None:
    """Run a search's trial loop, yielding to the event loop between trials so widget clicks are handled meanwhile.

    Each trial runs on this (the main) thread, where a kernel interrupt still stops it. With `output`, what the
    trials print goes there (a search running as a task has no cell to print to).
    """
    last_pause = time.perf_counter()
    while True:
        began = time.perf_counter()
        try:
            with _interrupt_raises(), _redirect(output):
                try:
                    next(trial_loop)
                except StopIteration:
                    return
        except KeyboardInterrupt:  # also one that lands just outside the loop: it ends the search as interrupted
            with _redirect(output):
                _interrupt(trial_loop)
            raise
        try:
            # A click takes several turns of the kernel's event loop (and a hop from a subshell) to reach its
            # handler: pause 2% of the trial's time, from PAUSE to MAX_PAUSE, and for fast trials at most once
            # per PAUSE_EVERY, so the search loses under 10%.
            took, now = time.perf_counter() - began, time.perf_counter()
            if took >= PAUSE_EVERY or now - last_pause >= PAUSE_EVERY:
                await asyncio.sleep(min(MAX_PAUSE, max(PAUSE, 0.02 * took)))
                last_pause = time.perf_counter()
            else:
                await asyncio.sleep(0)
        except asyncio.CancelledError:  # an interrupt that arrived between trials: end the search as one would
            with _redirect(output):
                _interrupt(trial_loop)
            raise KeyboardInterrupt() from None


@contextlib.contextmanager
def _redirect(output: TextIO | None) -> Iterator[None]:
    if output is None:
        yield
        return
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        yield


class CellTuner:
    """The searches of one %%tune cell: its current study, and the sampler and space of its latest search."""

    def __init__(self, objective: CellObjective, study: Study, *, bind: Callable[[Study], None]) -> None:
        self.objective = objective
        self.study = study
        self.sampler: Sampler | None = None
        self._bind = bind
        self._observers: list[Callable[[Event], None]] = []
        self._unsubscribe: list[Callable[[], None]] = []

    @property
    def space(self) -> Space:
        """The space of the latest search (the cell's before any): its model's, for the panel's posterior views."""
        return self.study.search_space if self.sampler is not None else self.objective.space

    @property
    def running(self) -> bool:
        """Whether a search of this cell is running."""
        return bool(self._unsubscribe)

    def observe(self, observer: Callable[[Event], None]) -> None:
        """Add an observer to every later search of this cell."""
        self._observers.append(observer)

    def begin(self, settings: SearchSettings, *, new_study: bool = False) -> Iterator[Trial | None]:
        """The trial loop of the next search (not started yet): a new study, or more trials in the current one."""
        if self.running:
            raise RuntimeError("a search of this cell is already running: stop it first")
        arguments = settings.search_arguments()
        arguments["space"] = settings.space or self.objective.space
        study = self.study
        if new_study:
            # the cell's declarations, and those its trials declared as they ran (the panel has rows for them)
            declared = {**dict(study.space.items()), **dict(self.objective.space.items())}
            study = Study(
                Space({name: declared[name] for name in [*self.objective.space, *study.space] if name in declared}),
                name=study.name,
                direction=settings.direction,
                storage=study.storage,
                notebook=study.notebook,
            )
        elif settings.direction != study.direction:
            raise ValueError(
                f"the study is a {study.direction} search: Continue keeps its direction; press Run for a new study"
            )
        trial_loop = study.search(self.objective.run, **arguments)
        self.study, self.sampler = study, arguments["sampler"]
        self._unsubscribe = [study.subscribe(observer) for observer in self._observers]
        return trial_loop

    def end(self) -> None:
        """Detach the observers of the search that ended and bind its results in the notebook."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self.study.trials:
            self._bind(self.study)

    def launch(
        self,
        trial_loop: Iterator[Trial | None],
        output: TextIO | None,
        done: Callable[[BaseException | None], None],
        busy: contextlib.AbstractContextManager[Any] | None = None,
    ) -> asyncio.Future[None]:
        """Run the trial loop as a task of the kernel's event loop; the cell (or click) that started it returns at once.

        busy: held from now until the task ends (the kernel's Busy status).
        """
        hold = contextlib.ExitStack()
        if busy is not None:
            hold.enter_context(busy)

        async def run() -> None:
            error: BaseException | None = None
            try:
                await drive_async(trial_loop, output)
            except BaseException as caught:  # a task has nobody to raise to: report it
                error = caught
            finally:
                self.end()
            with hold:  # the kernel reads idle once the search has ended and been reported
                done(error)

        return asyncio.ensure_future(run())

    def stop(self, cancel: bool = False) -> None:
        """End the running search after its current trial; cancel=True also cancels the trials running on workers."""
        self.study.stop(cancel)


def has_running_loop() -> bool:
    """Whether an asyncio event loop runs on this thread (as in a Jupyter kernel), so a search can run as a task."""
    try:
        return asyncio.get_event_loop().is_running()
    except RuntimeError:
        return False


def stream_writer(write: Callable[[str], None]) -> TextIO:
    """A text stream whose writes go to write()."""

    class _Stream:
        encoding = "utf-8"

        def write(self, text: str) -> int:
            if text:
                write(text)
            return len(text)

        def flush(self) -> None:
            pass

        def isatty(self) -> bool:
            return False

    return _Stream()  # type: ignore[return-value]
