"""A study: the trials of one search space and direction, the loop that runs them, and its events."""

from __future__ import annotations

import dataclasses
import inspect
import os
import sqlite3
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal, TypedDict, TypeGuard, Unpack, get_args

from .asking import Asking, Declaration
from .errors import ScoreError, StudyError, format_traceback, score_value
from .events import Event, StudySnapshot, TrialReported
from .importance import Importance
from .importance import importance as _importance
from .options import option_named
from .pruners import Pruner, RunningTrial, StopTrial, TrialPruned, make_pruner
from .samplers import Sampler, make_sampler
from .search import MAX_INITIAL_FAILURES, Search, SearchPlan, Stopping, ended_trial
from .space import Choice, Dimension, Space, SpaceError
from .storage import SQLiteStorage, StoredSearch
from .trial import Trial, TrialState, best_trial

__all__ = ["DIRECTIONS", "Direction", "Study", "is_direction", "tune"]

Direction = Literal["minimize", "maximize"]  # whether a study looks for the lowest score or the highest
DIRECTIONS: tuple[Direction, ...] = get_args(Direction)


def is_direction(value: object) -> TypeGuard[Direction]:
    """Whether value is a direction a study takes: 'minimize' or 'maximize'."""
    return value in DIRECTIONS


Objective = Callable[[dict[str, Any]], Any] | Callable[[dict[str, Any], RunningTrial], Any]
Observer = Callable[[Event], None]


class SearchOptions(TypedDict, total=False):
    """The keyword arguments of Study.search() (and optimize()): see search()."""

    timeout: float | None
    sampler: Sampler | None
    space: Mapping[str, Dimension] | Space | None
    max_initial_failures: int
    prune: str | Pruner
    patience: int | None
    max_steps: int | None
    n_jobs: int | None
    client: Any
    sync: bool


class Study:
    """The trials of one search, kept in memory and, given a storage path, in a study file."""

    def __init__(
        self,
        space: Mapping[str, Dimension] | Space,
        *,
        name: str = "study",
        direction: Direction = "minimize",
        storage: str | os.PathLike[str] | SQLiteStorage | None = None,
        resume: bool = False,
        notebook: str | None = None,
    ) -> None:
        if not is_direction(direction):
            raise StudyError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
        if not isinstance(name, str) or not name:
            raise StudyError(f"the study name must be a non-empty string, got {name!r}")
        self.name = name
        self.direction: Direction = direction
        self.space = Space(space)
        self.storage = SQLiteStorage(storage) if isinstance(storage, str | os.PathLike) else storage
        self.notebook = notebook  # the notebook running the study (its file name), recorded in the study file
        self.resumed = False
        self.replaces: int | None = None  # the number of trials of a saved study that this new one replaces
        self._trials: list[Trial] = []
        self._declared_at: dict[str, str] = {}  # where this kernel's trials declared each hyperparameter
        self._given = tuple(self.space)  # the space given up front: an objective reads its point from its params
        self._observers: list[Observer] = []
        self._started = time.time()
        # its searches' bookkeeping: the latest one's plan, stop reason and record, and the queued points
        self._search = Search(
            self,
            started=self._started,
            record=self._record,
            emit=self._emit,
            save=self._save_search,
            asking=self._asking,
            used=self._used,
        )
        self._unsaved = self.storage is not None  # a new study replaces a saved one only once it runs a trial
        if self.storage is not None:
            try:
                saved = self.storage.exists(name)
            except ValueError as error:
                raise StudyError(str(error)) from None
            if resume and saved:
                self._resume()
                self._unsaved = False
                if notebook is not None:
                    self.storage.set_notebook(name, notebook)
            elif saved:
                self.replaces = self.storage.count_trials(name)

    @classmethod
    def load(cls, storage: str | os.PathLike[str], name: str = "study") -> Study:
        """Open a saved study, its space and direction read from the file."""
        store = SQLiteStorage(storage)
        try:
            direction, space = store.header(name)
        except KeyError as error:
            raise StudyError(error.args[0]) from None
        except ValueError as error:
            raise StudyError(str(error)) from None
        if not is_direction(direction):
            raise StudyError(f"study {name!r} in {store.path} has an unknown direction {direction!r}")
        study = cls(space, name=name, direction=direction, storage=store, resume=True)
        study.notebook = store.notebook(name)
        search = store.last_search(name)
        if search is not None:  # its snapshot describes the latest search until a new one starts
            finished = [t.finished for t in study._trials[search.first_trial :] if t.finished is not None]
            study._search.restore(search, ended=max(finished, default=search.started))
        return study

    def _resume(self) -> None:
        assert self.storage is not None
        stored = self.storage.load(self.name)
        where = f"study {self.name!r} in {self.storage.path}"
        if stored.direction != self.direction:
            raise StudyError(
                f"{where} was a {stored.direction} search, not {self.direction}: "
                "resume it with the same direction, or start a new study"
            )
        # A hyperparameter of the saved study that the code no longer declares up front may be one its trials declare
        # as they run (in a loop, a branch, a function): it stays in the study, checked when a trial declares it.
        later = {name: dim for name, dim in stored.space.items() if name not in self.space}
        changes = self.space.differences(Space({n: d for n, d in stored.space.items() if n not in later}))
        if changes:
            raise StudyError(
                f"the search space of {where} changed since it was saved: "
                + "; ".join(changes)
                + ". Restore the declarations to resume it, or start a new study (drop --resume, or pick another name)"
            )
        self.space = Space({**dict(self.space.items()), **later})
        if stored.space.to_json() != self.space.to_json():
            self.storage.update_space(self.name, self.space)
        self._trials = list(stored.trials)
        self._search.first_number = len(self._trials)
        self.resumed = True

    def __getstate__(self) -> dict[str, Any]:
        """What a pickle or copy keeps: the trials and settings, not the observers or a running search's state."""
        state = self.__dict__.copy()
        state.update(_observers=[])  # the search keeps no queued point or stop request either (Search.__getstate__)
        return state

    # -- reading -------------------------------------------------------------------------------------------------
    @property
    def trials(self) -> list[Trial]:
        """Every trial so far, in order."""
        return list(self._trials)

    @property
    def search_space(self) -> Space:
        """The space of the latest search: the study's own, a narrowed one, with the names its trials declared."""
        return self._search.space or self.space

    @property
    def best_trial(self) -> Trial:
        """The completed trial with the best value (the earliest among equals)."""
        best = self._best()
        if best is None:
            raise ValueError(f"study {self.name!r} has no completed trial yet")
        return best

    @property
    def best_params(self) -> dict[str, Any]:
        """The params of the best trial."""
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        """The value of the best trial."""
        value = self.best_trial.value
        assert value is not None
        return value

    def _best(self) -> Trial | None:
        return best_trial([t for t in self._trials if t.state is TrialState.COMPLETE], self.direction)

    def snapshot(self) -> StudySnapshot:
        """An immutable view of the study now."""
        search = self._search
        return StudySnapshot(
            name=self.name,
            direction=self.direction,
            method=search.method,
            seed=search.seed,
            n_planned=search.n_planned,
            first_number=search.first_number,
            trials=tuple(self._trials),
            best_trial=self._best(),
            started=search.started,
            elapsed=(search.ended or time.time()) - search.started,
            stop_reason=search.stop_reason,
            storage=None if self.storage is None else str(self.storage.path),
            prune=search.prune,
            patience=search.patience,
            max_steps=search.max_steps,
            space=self.space,
            declared_at=dict(self._declared_at),
        )

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict of plain Python values per trial, a column per hyperparameter (None where unused)."""
        names = dict.fromkeys(self.space)
        for trial in self._trials:
            names.update(dict.fromkeys(trial.params))
        return [t.to_record(list(names)) for t in self._trials]

    def to_dataframe(self) -> Any:
        """The trials as a pandas DataFrame, one row per trial, with times as datetimes and durations.

        A hyperparameter a trial did not use is blank (NaN or None) in its row.
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_dataframe needs pandas (pip install pandas); to_records() needs nothing") from None
        frame = pd.DataFrame.from_records(self.to_records())
        for column in ("started", "finished"):
            frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
        frame["duration"] = pd.to_timedelta(frame["duration"], unit="s")
        return frame

    def importance(self, seed: int | None = None) -> Importance:
        """Each hyperparameter's share of the variance of the completed trials' scores (see core.importance).

        seed None: the latest search's seed. Raises ImportanceError below MIN_TRIALS completed trials.
        """
        return _importance(self._trials, self.space, self.direction, seed=self._search.seed if seed is None else seed)

    def __repr__(self) -> str:
        done = sum(t.state is TrialState.COMPLETE for t in self._trials)
        return f"<Study {self.name!r} {self.direction}: {len(self._trials)} trials, {done} complete>"

    # -- steering ------------------------------------------------------------------------------------------------
    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Call observer with every event of this study; returns a function that unsubscribes it."""
        self._observers.append(observer)
        return lambda: self._observers.remove(observer) if observer in self._observers else None

    def enqueue(self, params: Mapping[str, Any]) -> None:
        """Queue a point to evaluate before the method's own; declared defaults fill what it leaves out."""
        self._search.enqueue(self.space.validate(params, fill_defaults=True), "manual")

    def stop(self, cancel: bool = False) -> None:
        """Ask the running search to end after the trial now running; cancel=True also cancels those on workers."""
        self._search.request_stop(cancel)

    # -- running -------------------------------------------------------------------------------------------------
    def optimize(self, objective: Objective, n_trials: int | None = None, **options: Unpack[SearchOptions]) -> Study:
        """Run trials until n_trials, the timeout, stop(), an interrupt, or repeated failures at the start.

        The options are search()'s.
        """
        for _ in self.search(objective, n_trials, **options):
            pass
        return self

    def search(
        self,
        objective: Objective,
        n_trials: int | None = None,
        *,
        timeout: float | None = None,
        sampler: Sampler | None = None,
        space: Mapping[str, Dimension] | Space | None = None,
        max_initial_failures: int = MAX_INITIAL_FAILURES,
        prune: str | Pruner = "none",
        patience: int | None = None,
        max_steps: int | None = None,
        n_jobs: int | None = None,
        client: Any = None,
        sync: bool = False,
    ) -> Iterator[Trial | None]:
        """optimize() one trial at a time: yields each finished trial, so the caller can pause between trials.

        `space` narrows the study's space for this search only (tighter ranges, fewer options, a log toggle).
        An objective that takes a second argument, objective(params, trial), gets the RunningTrial to report to;
        `prune`, `patience` and `max_steps` act on what it reports (see RunningTrial).
        With `n_jobs` or `client`, up to n_jobs trials run at once on Dask workers (core/parallel.py): a local
        cluster of n_jobs worker processes, or the cluster of `client` (a distributed.Client or a scheduler
        address). Such a search also yields None whenever no trial finished for a quarter of a second.
        `sync=True` (with workers only) proposes the trials in fixed batches, each once the last has finished and
        been learned in trial-number order, so that the same seed and n_jobs repeat the search whatever the timing.
        """
        n_trials, timeout, patience, max_steps = (
            option_named(name).check(value)
            for name, value in (
                ("n_trials", n_trials),
                ("timeout", timeout),
                ("patience", patience),
                ("max_steps", max_steps),
            )
        )
        if option_named("sync").check(sync) and n_jobs is None and client is None:
            raise StudyError(
                "sync=True applies to trials on workers (n_jobs or client): in-process trials run one at a time, "
                "and the same seed already repeats the search; drop sync or give n_jobs"
            )
        try:
            pruner = make_pruner(prune, max_steps)
        except ValueError as error:
            raise StudyError(str(error)) from None
        max_steps = max_steps if max_steps is not None else getattr(pruner, "max_steps", None)
        run_space = self.space if space is None or Space(space) == self.space else self._check_narrowed(Space(space))
        stopping = Stopping(pruner, None if patience is None else int(patience), max_steps, _takes_trial(objective))
        plan = SearchPlan(
            sampler or make_sampler("bayes"), run_space, n_trials, timeout, max_initial_failures, stopping
        )
        if n_jobs is not None or client is not None:
            from .parallel import parallel_loop  # imports Dask when it runs, never before

            return parallel_loop(self._search, objective, plan, n_jobs=n_jobs, client=client, sync=bool(sync))
        return self._loop(objective, plan)

    def _check_narrowed(self, space: Space) -> Space:
        """The space of one search, checked to lie inside the study's space.

        It may leave out a hyperparameter that trials declare as they run (a panel made before the trial that first
        declared it): that one keeps the study's range.
        """
        missing = [name for name in self._given if name not in space]
        if missing or any(name not in self.space for name in space):
            raise StudyError(
                f"a search's space must have the study's hyperparameters ({', '.join(self.space)}), "
                f"got {', '.join(space)}"
            )
        space = Space({name: space.get(name, dim) for name, dim in self.space.items()})
        for name, dim in space.items():
            wide = self.space[name]
            if dim.kind != wide.kind:
                raise StudyError(f"hyperparameter {name!r} is {wide.describe()} in the study, not {dim.kind}")
            if isinstance(dim, Choice):
                for option in dim.options:
                    try:
                        wide.validate(option, "option")
                    except SpaceError as error:
                        raise StudyError(f"hyperparameter {name!r}: {error}") from None
            elif not isinstance(wide, Choice) and (dim.low < wide.low or dim.high > wide.high):
                raise StudyError(
                    f"hyperparameter {name!r}: [{dim.low:g}, {dim.high:g}] goes outside the study's range "
                    f"[{wide.low:g}, {wide.high:g}]"
                )
        return space

    def _loop(self, objective: Objective, plan: SearchPlan) -> Iterator[Trial]:
        run, stopping = self._search, plan.stopping
        assert stopping is not None, "a search in the kernel says how it stops trials early"
        run.begin(plan)
        trial: Trial | None = None
        try:
            while run.left and not run.should_stop():
                trial = run.start(*run.next_point())
                trial, score_error = self._evaluate(objective, trial, stopping)
                run.finish(trial, score_error)
                finished, trial = trial, None
                if run.judge_failures() is not None:
                    break
                yield finished
            run.complete()
        except KeyboardInterrupt:
            run.interrupt()
            if trial is not None and trial.state is not TrialState.RUNNING and self._trials[trial.number] is not trial:
                run.finish(trial)  # finished, but not yet recorded, when the interrupt came
            run.abandon("interrupted by the user")  # the trial running, with the values it reported before
        finally:
            run.end()
        if run.score_error is not None:
            raise run.score_error

    def _save_search(self, search: StoredSearch) -> None:
        """Record how the search that ended went, beside its trials (a search that ran no trial leaves no record)."""
        if self.storage is None or self._unsaved:
            return
        try:
            self.storage.save_search(self.name, search)
        except (OSError, ValueError, sqlite3.Error) as error:  # the trials are saved; only this summary is lost
            warnings.warn(f"could not record the search in {self.storage.path}: {error}", stacklevel=2)

    def _evaluate(self, objective: Objective, trial: Trial, stopping: Stopping) -> tuple[Trial, ScoreError | None]:
        trial = dataclasses.replace(trial, started=time.time())  # the objective's time only, not the observers'
        asking = self._asking(trial.params, trial.number)
        asks_all = getattr(objective, "asks_its_params", False)
        running = RunningTrial(
            trial,
            direction=self.direction,
            pruner=stopping.pruner,
            patience=stopping.patience,
            max_steps=stopping.max_steps,
            others=self._trials[: trial.number],
            on_report=self._reported,
            asking=asking,
        )
        stop: StopTrial | None = None
        try:
            call: Callable[..., Any] = objective  # with the running trial when it takes one (_takes_trial)
            with running.current():  # hp.report() and hp.should_stop() in the objective speak to it
                raw = call(dict(trial.params), running) if stopping.takes_trial else call(dict(trial.params))
        except StopTrial as raised:  # report() ended the trial, or the objective raised it itself
            stop, raw = raised, None
        except Exception as error:
            failed = dataclasses.replace(trial, params=self._used(trial.params, asking, asks_all)).finish(
                TrialState.FAILED,
                finished=time.time(),
                error=f"{type(error).__name__}: {error}",
                traceback=format_traceback(error),
                intermediate=running.values,
                best_step=running.best_step,
            )
            return failed, None
        trial = dataclasses.replace(
            trial,
            params=self._used(trial.params, asking, asks_all),
            intermediate=running.values,
            best_step=running.best_step,
        )
        score: float | ScoreError | None = None
        if stop is None:
            try:
                score = score_value(raw)
            except ScoreError as error:
                score = error
        pruned = running.pruned or isinstance(stop, TrialPruned)
        return ended_trial(
            trial,
            time.time(),
            pruned=str(running.stopped if running.pruned else stop) if pruned else None,
            stopped=None if stop is None else f"{type(stop).__name__}: {stop}",
            patience=stopping.patience is not None,
            score=score,
        )

    def _asking(self, proposal: Mapping[str, Any], number: int) -> Asking:
        """What trial `number` asks for: from its proposed point, else drawn by the search's method."""
        return Asking(
            proposal,
            lambda name, dim, asked: self._search.ask_param(name, dim, number, asked),
            known=self._declaration,
            declare=self._declare,
        )

    def _used(self, proposal: Mapping[str, Any], asking: Asking, asks_its_params: bool) -> dict[str, Any]:
        """A trial's params: the hyperparameters its code asked for (hp.real, ...); an objective that reads its
        point from the dict it is passed also used the point's values of the space it was given up front (a cell,
        which asks for each, does not)."""
        if asks_its_params:
            return dict(asking.asked)
        read = {name: proposal[name] for name in self._given if name in proposal}
        return {**read, **asking.asked}

    def _declaration(self, name: str) -> Declaration | None:
        """How the study knows a hyperparameter: its dimension, and where a trial of this kernel declared it."""
        if name not in self.space:
            return None
        return Declaration(self.space[name], self._declared_at.get(name, "an earlier declaration of the study"))

    def _declare(self, name: str, declaration: Declaration) -> None:
        """A hyperparameter a trial declared for the first time: the study's space gains it (and its file)."""
        self._declared_at.setdefault(name, declaration.where)
        if name in self.space:
            return
        self.space = Space({**dict(self.space.items()), name: declaration.dim})
        self._search.grow(self.space)
        if self.storage is not None and not self._unsaved:
            self.storage.update_space(self.name, self.space)

    def _reported(self, running: RunningTrial, step: int, value: float) -> None:
        """Keep a value a running trial reported, in memory and in the study file, and tell the observers."""
        trial = dataclasses.replace(
            self._trials[running.number], intermediate=running.values, best_step=running.best_step
        )
        self._trials[running.number] = trial
        if self.storage is not None:
            self.storage.save_step(self.name, trial.number, step, value)
        self._emit(TrialReported(self.snapshot(), trial, step, value))

    def _record(self, trial: Trial) -> None:
        if trial.number < len(self._trials):
            self._trials[trial.number] = trial
        else:
            self._trials.append(trial)
        if self.storage is not None:
            if self._unsaved:
                self.storage.create(self.name, self.direction, self.space, self._started, notebook=self.notebook)
                self._unsaved = False
            self.storage.save_trial(self.name, self.space, trial)

    def _emit(self, event: Event) -> None:
        for observer in list(self._observers):
            try:
                observer(event)
            except KeyboardInterrupt:
                raise
            except Exception as error:  # an observer must never break the search
                warnings.warn(f"observer {observer!r} failed on {type(event).__name__}: {error!r}", stacklevel=2)


def _takes_trial(objective: Callable[..., Any]) -> bool:
    """Whether the objective takes a second argument without a default: objective(params, trial)."""
    try:
        parameters = list(inspect.signature(objective).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 and positional[1].default is inspect.Parameter.empty


def tune(
    objective: Objective,
    space: Mapping[str, Dimension] | Space | None = None,
    *,
    method: str = "bayes",
    n_trials: int | None = None,
    timeout: float | None = None,
    direction: Direction = "minimize",
    seed: int | None = None,
    name: str = "study",
    storage: str | os.PathLike[str] | None = None,
    resume: bool = False,
    points: list[Mapping[str, Any]] | None = None,
    observers: list[Observer] | None = None,
    prune: str | Pruner = "none",
    patience: int | None = None,
    max_steps: int | None = None,
    n_jobs: int | None = None,
    client: Any = None,
    sync: bool = False,
    **method_options: Any,
) -> Study:
    """Search the space for the params that minimize (or maximize) objective(params) and return the study.

    The objective may also declare hyperparameters as it runs, with hp.real / hp.int / hp.choice (in a loop, a
    branch, a function it calls), as a notebook cell does; `space` may then be left out. A trial's params are the
    space's point and whatever it declared.
    An objective(params, trial) may report its progress with trial.report(step, value) and ask trial.should_stop();
    `prune` ("none", "median", "halving", "hyperband"), `patience` and `max_steps` stop trials early from it.
    n_jobs runs up to that many trials at once in worker processes (a local Dask cluster); client runs them on
    an existing Dask cluster (a distributed.Client or a scheduler address); with either, sync=True proposes the
    trials in fixed batches so that the same seed and number of workers give the same trials.
    """
    sampler = make_sampler(method, seed=seed, **method_options)
    study = Study(space or {}, name=name, direction=direction, storage=storage, resume=resume)
    for point in points or []:
        study.enqueue(point)
    for observer in observers or []:
        study.subscribe(observer)
    study.optimize(
        objective,
        n_trials,
        timeout=timeout,
        sampler=sampler,
        prune=prune,
        patience=patience,
        max_steps=max_steps,
        n_jobs=n_jobs,
        client=client,
        sync=sync,
    )
    snapshot = study.snapshot()
    if snapshot.all_failed:
        first = snapshot.search_trials[0]
        warnings.warn(
            f"every trial of study {name!r} failed; the first with {first.error}\n{first.traceback or ''}",
            RuntimeWarning,
            stacklevel=2,
        )
    return study
