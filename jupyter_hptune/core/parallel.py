"""Trials in parallel on Dask workers: a local cluster of worker processes, or a cluster of the user's own.

Study.search() imports this module only when a search asks for workers, and this module imports Dask only then.
The process that runs the search stays the only one that proposes points, records trials, writes the study file
and sends events (through the study's Search, as the loop in the kernel does); a worker only runs the objective
and returns its score, so workers need no shared disk.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import functools
import io
import logging
import math
import pickle
import queue
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .asking import Asking, DeclarationError
from .errors import ScoreError, StudyError, format_traceback, score_value
from .events import WorkerState, WorkersUpdated
from .pruners import Rungs, RunningTrial, StopTrial, TrialPruned
from .samplers import draw_param
from .search import Search, SearchPlan, StopReason, ended_trial
from .space import Dimension
from .trial import Trial, TrialState

__all__ = ["WorkerPool", "current_client", "pack", "parallel_loop", "start_local_cluster"]

TICK = 0.25  # seconds: the longest a search waits for a result before it yields None, so its caller can pause
POLL = 0.5  # seconds between two looks at the cluster's workers (which joined, which are gone)
ACTIVITY_EVERY = 1.0  # seconds between two WorkersUpdated events while trials run
MAX_OUTPUT = 100_000  # characters of a trial's printed output sent back from its worker
KEEP_LOADED = 2  # objectives a worker keeps unpickled (of searches sharing a cluster)
VERDICT_WAIT = 2.0  # seconds a trial at a rung waits for the pruner's verdict before it goes on (and learns it later)

NEEDS_DASK = "running trials on workers needs Dask: pip install 'jupyter-hptune[dask]' (or 'dask[distributed]')"

Objective = Callable[..., Any]  # called with a trial's params (and the running trial, when it takes one)


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise StudyError(NEEDS_DASK) from None
    return distributed


def current_client() -> Any:
    """The current default distributed.Client; StudyError when there is none."""
    distributed = _distributed()
    try:
        return distributed.default_client()
    except ValueError:
        raise StudyError(
            "no Dask client is running: connect one first (from distributed import Client; "
            "client = Client('tcp://scheduler:8786')), or give the scheduler's address"
        ) from None


def check_jobs(n_jobs: Any) -> int | None:
    """n_jobs as an int, or StudyError naming what is wrong."""
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise StudyError(f"n_jobs (trials at once) must be a positive integer, got {n_jobs!r}")
    return int(n_jobs)


# -- sending the objective ----------------------------------------------------------------------------------------
def pack(objective: Objective) -> bytes:
    """The objective pickled for the workers; StudyError naming each variable it uses that cannot be sent.

    An objective with a for_workers() method (a notebook cell) is sent as what that returns.
    """
    try:
        import cloudpickle
    except ImportError:
        raise StudyError(NEEDS_DASK) from None
    portable = objective.for_workers() if hasattr(objective, "for_workers") else objective
    try:
        return cloudpickle.dumps(portable)
    except Exception as error:
        raise StudyError(_unsendable(portable, error)) from None


def _unsendable(portable: Any, error: Exception) -> str:
    """Which variables of an objective could not be pickled, and why."""
    import cloudpickle

    variables = getattr(portable, "variables", None)
    if isinstance(variables, Mapping):
        what, used = "the notebook variable", dict(variables)
        advice = "create it inside the cell, or leave it out of the cell, to run the trials on workers"
    else:
        what, used = "the objective's variable", _function_variables(portable)
        advice = "create it inside the objective to run the trials on workers"
    culprits = []
    for name, value in used.items():
        try:
            cloudpickle.dumps(value)
        except Exception as failure:
            culprits.append(f"{name!r} ({type(value).__name__}: {failure})")
    if not culprits:
        return f"the objective cannot be sent to the workers: {type(error).__name__}: {error}"
    plural = "s" if len(culprits) > 1 else ""
    return f"{what}{plural} {', '.join(culprits)} cannot be sent to the workers: {advice}"


def _function_variables(function: Any) -> dict[str, Any]:
    """The globals and closure variables a function uses (its own and its nested functions')."""
    code = getattr(function, "__code__", None)
    if code is None:
        return {}
    names, stack = set(), [code]
    while stack:
        current = stack.pop()
        names |= set(current.co_names)
        stack += [c for c in current.co_consts if hasattr(c, "co_names")]
    found = {n: function.__globals__[n] for n in sorted(names) if n in getattr(function, "__globals__", {})}
    for name, cell in zip(code.co_freevars, function.__closure__ or ()):
        with contextlib.suppress(ValueError):  # an empty cell
            found[name] = cell.cell_contents
    return found


# -- on a worker --------------------------------------------------------------------------------------------------
_LOADED: dict[str, Any] = {}  # on a worker: the objectives it unpickled, by search, so each is unpickled once


def run_trial(
    token: str,
    payload: bytes,
    params: dict[str, Any],
    seed: int = 0,
    number: int = 0,
    reporting: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Run one trial on a worker: its score or its error, how long it took, what it printed, and the params it used.

    A hyperparameter its code declares that params do not hold is drawn here from the seed, the trial number and
    its name; `asked` lists each declaration (name, value, dimension, where), for the kernel to check and record.
    With `reporting` (see _ParallelSearch.reporting), each value the trial reports goes to the kernel as it runs,
    the kernel's pruner stops it at its next report, and `intermediate`, `best_step` and `stopped` say how it went.
    """
    out, err = io.StringIO(), io.StringIO()
    began = time.perf_counter()
    result: dict[str, Any] = {}

    def draw(name: str, dim: Dimension, asked: Mapping[str, Any]) -> Any:
        return draw_param(seed, number, name, dim)

    asking = Asking(params, draw)
    running = _reporting_trial(token, number, params, asking, reporting)
    takes_trial = bool(reporting and reporting.get("takes_trial"))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            objective = _LOADED.get(token)
            if objective is None:  # the first trial of a search on this worker unpickles it (and imports)
                objective = pickle.loads(payload)
                while len(_LOADED) >= KEEP_LOADED:  # an earlier search's objective and data are let go
                    del _LOADED[next(iter(_LOADED))]
                _LOADED[token] = objective
            began = time.perf_counter()  # a trial's duration is the objective's time, as in the kernel
            with running.current():
                raw = objective(params, running) if takes_trial else objective(params)
        result["value"] = score_value(raw)
    except StopTrial as stop:  # report() ended the trial, or the objective raised it itself
        pruned = running.pruned or isinstance(stop, TrialPruned)
        why = str(running.stopped if running.pruned else stop)
        result["stopped"] = {"pruned": pruned, "reason": why if pruned else f"{type(stop).__name__}: {stop}"}
    except ScoreError as error:
        result["score_error"] = str(error)
    except Exception as error:
        result.update(error=f"{type(error).__name__}: {error}", traceback=format_traceback(error))
    result.update(duration=time.perf_counter() - began, stdout=out.getvalue()[-MAX_OUTPUT:])
    result["stderr"] = err.getvalue()[-MAX_OUTPUT:]
    result["asked"] = [
        (n, v, asking.declarations[n].dim, asking.declarations[n].where) for n, v in asking.asked.items()
    ]
    if running.pruned and "error" not in result and "stopped" not in result:  # it caught TrialPruned itself
        result["stopped"] = {"pruned": True, "reason": str(running.stopped)}
    result.update(intermediate=dict(running.values), best_step=running.best_step)
    with _ARRIVED:
        _VERDICTS.pop(_verdict_key(token, number), None)
    return result


# -- reports from a worker, and the kernel's verdicts -------------------------------------------------------------
# On a worker: the kernel's latest verdict on each trial running there, by _verdict_key: the step it judged and
# why it pruned the trial (None: go on).
_VERDICTS: dict[str, tuple[int, str | None]] = {}
_ARRIVED = threading.Condition()  # notified when verdicts arrive


def _verdict_key(token: str, number: int) -> str:
    return f"{token}-{number}"


class _KernelVerdict:
    """On a worker, the pruner of a trial: the kernel's verdict. At a rung of successive halving (where it is
    decided) the trial waits for it; elsewhere it learns at its next report a verdict that arrived meanwhile."""

    name = "kernel"

    def __init__(self, key: str, rungs: Rungs | None) -> None:
        self.key = key
        self.rungs = rungs

    def plan(self, direction: Any, seed: int) -> None:
        """Nothing to prepare: the kernel plans its own pruner."""

    def prune(self, number: int, values: Mapping[int, float], others: Any) -> str | None:
        """Why the kernel pruned the trial, once it did; None to go on."""
        step = list(values)[-1]
        with _ARRIVED:
            if self.rungs is not None and self.rungs.judged(values) is not None:
                _ARRIVED.wait_for(lambda: self._judged(step), VERDICT_WAIT)
            return _VERDICTS.get(self.key, (-1, None))[1]

    def _judged(self, step: int) -> bool:
        judged, reason = _VERDICTS.get(self.key, (-1, None))
        return judged >= step or reason is not None


def _rungs(pruner: Any, number: int) -> Rungs | None:
    """Where the pruner judges trial `number`: the rungs of successive halving; None for a pruner that may judge at
    any step."""
    rungs = getattr(pruner, "rungs", None)
    return None if rungs is None else rungs(number)


def _reporting_trial(
    token: str, number: int, params: dict[str, Any], asking: Asking, reporting: Mapping[str, Any] | None
) -> RunningTrial:
    """The running trial on a worker: it sends each report to the kernel and stops on the kernel's verdict, or on
    its own patience and max_steps (which need no other trial)."""
    trial = Trial(number=number, params=params)
    if not reporting:
        return RunningTrial(trial, asking=asking)
    distributed = _distributed()
    worker = distributed.get_worker()
    topic = str(reporting["topic"])

    def send(running: RunningTrial, step: int, value: float) -> None:
        worker.log_event(topic, {"number": number, "step": step, "value": value})

    return RunningTrial(
        trial,
        direction=reporting["direction"],
        pruner=_KernelVerdict(_verdict_key(token, number), reporting.get("rungs")),
        patience=reporting.get("patience"),
        max_steps=reporting.get("max_steps"),
        on_report=send,
        asking=asking,
    )


def _give_verdicts(verdicts: Mapping[str, tuple[int, str | None]]) -> None:
    """Run on a worker by the kernel: its verdicts on trials running there (the step judged, and why it pruned)."""
    with _ARRIVED:
        for key, (step, reason) in verdicts.items():
            if _VERDICTS.get(key, (-1, None))[1] is None:  # a trial once pruned stays pruned
                _VERDICTS[key] = (step, reason)
        _ARRIVED.notify_all()


def _importable() -> bool:
    """Run on the workers to see that they have this package: unpickling this function imports it there."""
    return True


# -- the workers --------------------------------------------------------------------------------------------------
def start_local_cluster(n_workers: int) -> tuple[Any, Any]:
    """A local Dask cluster of n_workers single-threaded worker processes, and a client to it (not the default)."""
    distributed = _distributed()
    main = sys.modules.get("__main__")
    if main is not None and not hasattr(main, "__spec__"):
        main.__spec__ = None  # spawning a worker reads it; an interactive namespace cleared by %reset lost it
    cluster = distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # its HTTP server: any free port, loopback
        memory_limit=0,  # no limit of Dask's own: a trial may use the memory it would use in the kernel
        silence_logs=logging.ERROR,
    )
    try:
        return cluster, distributed.Client(cluster, set_as_default=False)
    except BaseException:
        cluster.close()
        raise


class WorkerPool:
    """The Dask workers of one search: its client, the cluster started for it, and how many trials run at once."""

    def __init__(self, client: Any, *, limit: int | None, where: str, cluster: Any = None, owned: bool = False) -> None:
        self.client = client
        self.limit = limit  # None: as many as the workers have threads
        self.where = where
        self.cluster = cluster  # the LocalCluster started for this search, closed with it
        self.owned = owned  # whether the client is ours to close
        self.threads: dict[str, int] = {}
        self.names: dict[str, str] = {}
        self.refresh()

    @classmethod
    def open(cls, n_jobs: int | None, client: Any = None) -> WorkerPool:
        """The workers a search asked for: a client's (or an address's) cluster, or a local one of n_jobs processes."""
        distributed = _distributed()
        if isinstance(client, str):
            try:
                connected = distributed.Client(client, set_as_default=False, timeout=10)
            except Exception as error:
                raise StudyError(f"cannot connect to the Dask scheduler at {client}: {error}") from None
            pool = cls(connected, limit=n_jobs, where=f"the Dask cluster at {client}", owned=True)
            pool.check_workers()
            return pool
        if client is not None:
            if not hasattr(client, "submit") or not hasattr(client, "scatter"):
                raise StudyError(f"client must be a distributed.Client or a scheduler address, got {client!r}")
            pool = cls(client, limit=n_jobs, where=f"the Dask cluster at {client.scheduler.address}")
            pool.check_workers()
            return pool
        assert n_jobs is not None
        running = _running_local_cluster(distributed)
        if running is not None:
            return cls(running, limit=n_jobs, where="the local Dask cluster already running")
        try:
            cluster, client = start_local_cluster(n_jobs)
        except Exception as error:
            raise StudyError(f"cannot start {n_jobs} local worker processes: {error}") from None
        where = f"{n_jobs} worker process{'es' if n_jobs > 1 else ''} (a local Dask cluster)"
        return cls(client, limit=n_jobs, where=where, cluster=cluster, owned=True)

    def describe(self) -> str:
        """Where the trials run and how many at once, for the search's opening note."""
        if self.cluster is not None:
            return f"up to {self.limit} trials at once in {self.where}"
        threads = sum(self.threads.values())
        at_once = threads if self.limit is None else min(self.limit, threads)
        return f"up to {at_once} trials at once on {self.where} ({len(self.threads)} workers, {threads} threads now)"

    def check_workers(self) -> None:
        """StudyError if the cluster's workers cannot import this package."""
        try:
            self.client.run(_importable)
        except Exception as error:
            raise StudyError(
                f"the workers of {self.where} cannot run trials ({type(error).__name__}: {error}): "
                "install jupyter-hptune, and the packages the objective uses, on them"
            ) from None

    def refresh(self) -> set[str]:
        """Look at the workers again; returns the addresses of those gone since the last look."""
        threads = {address: int(n) for address, n in self.client.nthreads().items()}
        gone = set(self.threads) - set(threads)
        if set(threads) - set(self.names):
            info = self.client.scheduler_info()["workers"]
            for address in threads:
                self.names.setdefault(address, str(info.get(address, {}).get("name", address)))
        self.threads = threads
        return gone

    def free(self, busy: Mapping[str, int], running: int) -> list[str]:
        """One worker address per trial that can start now, in the workers' order."""
        room = math.inf if self.limit is None else self.limit - running
        slots: list[str] = []
        for address in sorted(self.threads, key=lambda a: (_order(self.names[a]), a)):
            slots += [address] * max(0, self.threads[address] - busy.get(address, 0))
        return slots[: int(min(room, len(slots)))]

    def close(self) -> None:
        """Close the client and the cluster if this search started them (ending any trial still running there)."""
        if self.owned:
            with contextlib.suppress(Exception):
                self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()


def _running_local_cluster(distributed: Any) -> Any:
    """The default client when it runs a local cluster of worker processes, to reuse; else None."""
    try:
        client = distributed.default_client()
    except ValueError:
        return None
    cluster = getattr(client, "cluster", None)
    if not isinstance(cluster, distributed.LocalCluster):
        return None
    specs = getattr(cluster, "worker_spec", {}).values()
    if not specs or not all(spec.get("cls") is distributed.Nanny for spec in specs):
        return None  # a cluster of threads would run the trials inside this process
    return client


def _order(name: str) -> tuple[float, str]:
    """Workers named 0, 1, 2... in that order, then the others by name."""
    return (int(name), "") if name.isdigit() else (math.inf, name)


# -- the search ---------------------------------------------------------------------------------------------------
@dataclass
class _Running:
    trial: Trial
    future: Any
    worker: str
    since: float


@dataclass(frozen=True)
class _Report:
    """A value a trial on a worker reported: the message its worker logged under the search's topic."""

    message: Mapping[str, Any]


def parallel_loop(
    run: Search, objective: Objective, plan: SearchPlan, *, n_jobs: int | None, client: Any, sync: bool = False
) -> Iterator[Trial | None]:
    """The trial loop of a search whose trials run on Dask workers (see Study.search); checks what it can at once.

    sync=True proposes the trials in fixed batches (see _ParallelSearch), so that a seed repeats the search.
    """
    n_jobs = check_jobs(n_jobs)
    payload = pack(objective)  # an unsendable variable is named now, before anything starts
    search = _ParallelSearch(run, payload, plan, n_jobs, client)
    search.sync = sync
    search.asks_its_params = getattr(objective, "asks_its_params", False)
    return search.loop()


Outcome = tuple[Trial, ScoreError | None]  # a trial's final record, and the ScoreError that ends the search, if any


class _ParallelSearch:
    """One search on workers: proposes points for free workers, records what comes back, ends as asked.

    In sync mode the points come in fixed batches instead, so that nothing depends on which trial finishes first:
    a batch (as many trials as run at once, the last one cut to the trials left) is asked for once every earlier
    trial has been recorded, its trials are started as workers are free, and finished trials are recorded in the
    order of their numbers (a trial that finishes early waits for the earlier ones), so the study's space grows and
    the method learns in the same order in every run.
    """

    def __init__(self, run: Search, payload: bytes, plan: SearchPlan, n_jobs: int | None, client: Any) -> None:
        self.run = run
        self.payload = payload
        self.token = uuid.uuid4().hex
        self.plan = plan
        self.asks_its_params = False  # whether a trial's params are only what its code asked for (a cell's)
        self.n_jobs = n_jobs
        self.client = client
        self.running: dict[str, _Running] = {}
        self.done: queue.Queue[Any] = queue.Queue()
        self.sent: Any = None  # the payload's future once scattered to the workers
        self.pool: WorkerPool | None = None
        self.last_activity = 0.0
        self.gone: set[str] = set()  # addresses of workers that went away during the search
        self.sync = False  # whether the points come in fixed batches (see the class)
        self.batch_size = 1  # sync: the trials of a batch, fixed when the search opens
        self.batch: list[tuple[dict[str, Any], str]] = []  # sync: the points of the batch not started yet
        self.held: dict[int, Callable[[], Outcome]] = {}  # sync: finished trials waiting for earlier ones, by number
        self.topic = f"hptune-reports-{self.token}"  # the Dask event topic the search's trials report under
        self.reports: dict[int, RunningTrial] = {}  # the kernel's view of each running trial that reported
        self.direction: Any = "minimize"
        self.sender: concurrent.futures.ThreadPoolExecutor | None = None  # sends the pruner's verdicts to workers

    def loop(self) -> Iterator[Trial | None]:
        run = self.run
        run.begin(self.plan, setup=self._open)
        pool = self.pool
        assert pool is not None
        last_poll = time.monotonic()
        try:
            while True:
                if not run.should_stop():
                    self._launch_batch() if self.sync else self._launch(run.left)
                if run.ending is not None and run.cancel_requested and self.running:
                    self._abandon("cancelled when the search was stopped")
                if not self.running and (run.ending is not None or not run.left):
                    break
                wait = max(0.0, min(TICK, last_poll + POLL - time.monotonic()))
                finished = self._collect_in_order(wait) if self.sync else self._collect(wait)
                if time.monotonic() - last_poll >= POLL:
                    last_poll = time.monotonic()
                    lost = self._lost_workers(self._refresh())
                    finished += self._in_order(lost) if self.sync else lost
                for trial, error in finished:
                    run.finish(trial, error)
                if run.judge_failures() is StopReason.ERROR:
                    self._abandon("cancelled: another trial's score was not a number")
                # on StopReason.FAILURES the trials running now still end, as they may tell what goes wrong
                self._activity()
                if not finished:
                    yield None  # nothing finished: the caller may pause (e.g. to handle a click)
                for trial, _ in finished:
                    yield trial
            run.complete()
        except KeyboardInterrupt:
            run.interrupt()
            self._abandon("interrupted by the user")
        finally:
            self._abandon("the search ended before this trial finished")
            self._activity(force=True)
            if self.sent is not None:  # the workers may let the objective and its data go
                with contextlib.suppress(Exception):
                    self.sent.release()
            self._unlisten()
            pool.close()  # a cluster started for the search ends with it, and any trial still running there
            run.end()
        if run.score_error is not None:
            raise run.score_error

    def _open(self) -> str:
        """Open the search's workers; where its trials run, for the note that opens the search."""
        self.pool = WorkerPool.open(self.n_jobs, self.client)
        self._listen()
        if not self.sync:
            return self.pool.describe()
        # --jobs N: batches of N; on a cluster without it, of the threads its workers have now (printed, to repeat)
        self.batch_size = max(1, self.pool.limit or sum(self.pool.threads.values()))
        return f"{self.pool.describe()}; points proposed in fixed batches of {self.batch_size} (sync)"

    # -- starting trials ------------------------------------------------------------------------------------------
    def _launch(self, left: int) -> int:
        """Start a trial on each free worker (at most `left`); the number started."""
        workers = self._free_workers()[:left]
        if not workers:
            return 0
        points = self.run.next_points(len(workers))
        for worker, (params, source) in zip(workers, points):
            self._submit(worker, params, source)
        self._activity(force=True)
        return len(points)

    def _launch_batch(self) -> int:
        """Sync mode: ask for the next batch once every trial so far is recorded, and start its trials on the free
        workers (the rest as workers free up); the number started."""
        run = self.run
        if not self.batch and not self.running and not self.held and run.left:
            self.batch = run.next_points(min(self.batch_size, run.left))
        workers = self._free_workers()[: len(self.batch)]
        for worker in workers:
            self._submit(worker, *self.batch.pop(0))
        if workers:
            self._activity(force=True)
        return len(workers)

    def _free_workers(self) -> list[str]:
        """The workers with room for another trial now."""
        assert self.pool is not None
        busy = collections.Counter(running.worker for running in self.running.values())
        return self.pool.free(busy, len(self.running))

    def _submit(self, worker: str, params: dict[str, Any], source: str) -> None:
        """Start a trial with these params on that worker: recorded as running, its future watched."""
        run, pool = self.run, self.pool
        assert pool is not None
        payload = self._payload()
        trial = run.start(params, source)
        future = pool.client.submit(
            run_trial,
            self.token,
            payload,
            dict(trial.params),
            self.plan.sampler.seed,
            trial.number,
            self.reporting(trial.number),
            key=f"hptune-trial-{trial.number}-{uuid.uuid4().hex}",
            workers=[worker],
            allow_other_workers=False,
            pure=False,
        )
        self.running[future.key] = _Running(trial, future, worker, time.time())
        future.add_done_callback(self.done.put)

    def _payload(self) -> Any:
        """The objective's future on the workers: sent once to every worker, again only if the cluster lost it."""
        if self.sent is None or self.sent.status != "finished":
            assert self.pool is not None
            self.sent = self.pool.client.scatter(self.payload, broadcast=True, hash=False)
        return self.sent

    # -- collecting results ---------------------------------------------------------------------------------------
    def _collect(self, wait: float) -> list[tuple[Trial, ScoreError | None]]:
        """The trials whose futures finished within `wait` seconds (all those finished, once one has)."""
        finished = []
        for future in self._next_done(wait):
            running = self.running.pop(future.key, None)
            if running is not None:  # else abandoned already
                finished.append(self._outcome(running, future))
        return finished

    def _collect_in_order(self, wait: float) -> list[Outcome]:
        """Sync mode: the trials to record now, in the order of their numbers: those finished (within `wait` seconds)
        that no earlier trial is still running before; the others are held until the earlier ones have finished."""
        futures = self._next_done(wait)
        now = time.time()
        for future in futures:
            running = self.running.pop(future.key, None)
            if running is not None:  # else abandoned already
                # read when released, as what a trial declared joins the study's space then, in the trials' order
                self.held[running.trial.number] = functools.partial(self._outcome, running, future, now)
        return self._release()

    def _in_order(self, outcomes: list[Outcome]) -> list[Outcome]:
        """Sync mode: trials failed as their workers went away, held with the finished ones; those to record now."""
        for outcome in outcomes:
            self.held[outcome[0].number] = functools.partial(_same, outcome)
        return self._release()

    def _release(self, every: bool = False) -> list[Outcome]:
        """Sync mode: the held trials numbered below every running one (every=True: all of them), in their order."""
        below = math.inf if every else min((r.trial.number for r in self.running.values()), default=math.inf)
        return [self.held.pop(number)() for number in sorted(n for n in self.held if n < below)]

    def _outcome(self, running: _Running, future: Any, now: float | None = None) -> tuple[Trial, ScoreError | None]:
        """A finished future as the trial's final record (and the ScoreError that ends the search, if any); `now`:
        when it was seen to finish, if not now."""
        trial, now = running.trial, time.time() if now is None else now
        if future.status != "finished":
            error = future.exception() if future.status == "error" else None
            if type(error).__name__ == "KilledWorker" or running.worker in self._refresh():
                message = f"the worker process running this trial died ({running.worker})"
            elif error is not None:
                message = f"{type(error).__name__}: {error}"
            else:
                message = f"the Dask scheduler dropped this trial ({future.status})"
            return trial.finish(TrialState.FAILED, finished=now, error=message), None
        result = future.result()
        _echo(result)
        self._catch_up(running, result.get("intermediate") or {})
        trial = replace(trial, started=now - result["duration"])  # the objective's time, on the kernel's clock
        if result.get("intermediate"):  # every value it reported, those still on their way to the kernel included
            trial = replace(trial, intermediate=result["intermediate"], best_step=result["best_step"])
        try:
            trial = replace(trial, params=self.run.replay(trial, result.get("asked", []), self.asks_its_params))
        except DeclarationError as conflict:
            return trial.finish(TrialState.FAILED, finished=now, error=f"DeclarationError: {conflict}"), None
        if "error" in result:
            failed = trial.finish(TrialState.FAILED, finished=now, error=result["error"], traceback=result["traceback"])
            return failed, None
        stopping, stopped = self.plan.stopping, result.get("stopped")
        return ended_trial(
            trial,
            now,
            pruned=stopped["reason"] if stopped is not None and stopped["pruned"] else None,
            stopped=stopped["reason"] if stopped is not None and not stopped["pruned"] else None,
            patience=stopping is not None and stopping.patience is not None,
            score=ScoreError(result["score_error"]) if "score_error" in result else result.get("value"),
        )

    def _refresh(self) -> set[str]:
        """The addresses of the workers gone since the last look (their trials failed by the next _lost_workers)."""
        assert self.pool is not None
        before = set(self.pool.threads)
        self.pool.refresh()
        self.gone = (self.gone | (before - set(self.pool.threads))) - set(self.pool.threads)
        return self.gone

    def _lost_workers(self, gone: set[str]) -> list[tuple[Trial, ScoreError | None]]:
        """The trials of workers that went away, failed (a worker that dies takes its trial with it)."""
        lost = [key for key, running in self.running.items() if running.worker in gone]
        failed: list[tuple[Trial, ScoreError | None]] = []
        for key in lost:
            running = self.running.pop(key)
            running.future.cancel()
            error = f"the worker process running this trial died ({running.worker})"
            failed.append((running.trial.finish(TrialState.FAILED, finished=time.time(), error=error), None))
        return failed

    def _abandon(self, reason: str) -> None:
        """Cancel every running trial and record it as interrupted, with the reason (held ones finished: recorded)."""
        for trial, error in self._release(every=True):
            self.run.finish(trial, error)
        futures = [running.future for running in self.running.values()]
        if self.pool is not None and self.pool.cluster is None:  # a cluster of the user's runs on: stop them there
            self._prune_on_workers({r.trial.number: r for r in self.running.values()}, reason)
        self.running.clear()
        if futures and self.pool is not None:
            with contextlib.suppress(Exception):
                self.pool.client.cancel(futures)
        self.run.abandon(reason)  # started, or recorded but not yet sent when an interrupt came

    # -- what the workers do --------------------------------------------------------------------------------------
    def _activity(self, force: bool = False) -> None:
        """Tell observers which trial each worker runs: when that changed (force) or once a second meanwhile."""
        now = time.monotonic()
        if not force and (not self.running or now - self.last_activity < ACTIVITY_EVERY):
            return
        self.last_activity = now
        pool = self.pool
        assert pool is not None
        states = []
        by_worker: dict[str, list[_Running]] = {}
        for running in sorted(self.running.values(), key=lambda r: r.trial.number):
            by_worker.setdefault(running.worker, []).append(running)
        for address in sorted(pool.threads, key=lambda a: (_order(pool.names[a]), a)):
            name = pool.names[address]
            trials = by_worker.get(address, [])
            states += [WorkerState(name, r.trial.number, r.since) for r in trials] or [WorkerState(name)]
        self.run.emit(WorkersUpdated(self.run.snapshot(), tuple(states)))

    # -- reports from the trials, and the pruner's verdicts --------------------------------------------------------
    def reporting(self, number: int) -> dict[str, Any]:
        """What trial `number` needs on its worker to report to this search: its topic, where it waits for the
        pruner's verdict, and how it stops early by itself."""
        stopping = self.plan.stopping
        return {
            "rungs": None if stopping is None else _rungs(stopping.pruner, number),
            "topic": self.topic,
            "direction": self.direction,
            "patience": None if stopping is None else stopping.patience,
            "max_steps": None if stopping is None else stopping.max_steps,
            "takes_trial": stopping is not None and stopping.takes_trial,
        }

    def _listen(self) -> None:
        """Receive the values the search's trials report, through the scheduler, as their workers log them."""
        assert self.pool is not None
        self.direction = self.run.snapshot().direction
        self.pool.client.subscribe_topic(self.topic, lambda event: self.done.put(_Report(event[1])))

    def _unlisten(self) -> None:
        if self.sender is not None:
            self.sender.shutdown(wait=True)  # the verdicts sent before the cluster closes
            self.sender = None
        if self.pool is not None:
            with contextlib.suppress(Exception):
                self.pool.client.unsubscribe_topic(self.topic)
        self.reports.clear()

    def _next_done(self, wait: float) -> list[Any]:
        """The futures that finished within `wait` seconds (all those finished, once one has); the reports that
        arrive meanwhile are recorded and judged at once."""
        deadline = time.monotonic() + wait
        futures: list[Any] = []
        while True:
            try:
                left = deadline - time.monotonic()
                item = self.done.get(timeout=left) if left > 0 and not futures else self.done.get_nowait()
            except queue.Empty:
                return futures
            if isinstance(item, _Report):
                self._take_report(item.message)
            else:
                futures.append(item)

    def _take_report(self, message: Mapping[str, Any]) -> None:
        """Record a value a running trial reported (its curve, the study file, TrialReported), and prune the trial
        on its worker if the pruner says so, with every trial's values in view."""
        number = int(message["number"])
        running = next((r for r in self.running.values() if r.trial.number == number), None)
        if running is None:  # it finished, or the search let it go
            return
        seen = self.reports.get(number)
        if seen is None:
            stopping = self.plan.stopping
            seen = self.reports[number] = RunningTrial(
                running.trial,
                direction=self.direction,
                pruner=None if stopping is None else stopping.pruner,
                others=_OtherTrials(self.run, number),
                on_report=self.run.reported,
            )
        if seen.pruned:  # the trial learns it at this report
            return
        step = int(message["step"])
        try:
            seen.report(step, float(message["value"]))
        except TrialPruned as pruned:
            self._prune_on_workers({number: running}, str(pruned), step)
        except (StopTrial, TypeError, ValueError):
            pass
        else:
            stopping = self.plan.stopping
            rungs = None if stopping is None else _rungs(stopping.pruner, number)
            if rungs is not None and rungs.judged(seen.values) is not None:
                self._prune_on_workers({number: running}, None, step)  # it waits for the verdict: go on
        running.trial = replace(running.trial, intermediate=seen.values, best_step=seen.best_step)

    def _catch_up(self, running: _Running, values: Mapping[int, float]) -> None:
        """Record the values a finished trial reported that had not reached the kernel before its result."""
        seen = running.trial.intermediate
        if all(step in seen for step in values):
            return

        def forward(replay: RunningTrial, step: int, value: float) -> None:
            if step not in seen:
                self.run.reported(replay, step, value)

        replay = RunningTrial(running.trial, direction=self.direction, on_report=forward)
        for step, value in values.items():
            replay.report(step, value)

    def _prune_on_workers(self, trials: Mapping[int, _Running], reason: str | None, step: int = -1) -> None:
        """Tell the workers running these trials to stop them at their next report, for this reason (None: the
        trials go on from this step)."""
        if self.pool is None or not trials:
            return
        by_worker: dict[str, dict[str, tuple[int, str | None]]] = {}
        for number, running in trials.items():
            by_worker.setdefault(running.worker, {})[_verdict_key(self.token, number)] = (step, reason)
        if self.sender is None:  # a thread of its own, so that the search goes on while a verdict travels
            self.sender = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hptune-verdicts")
        for worker, verdicts in by_worker.items():
            self.sender.submit(_send_verdicts, self.pool.client, worker, verdicts)


def _send_verdicts(client: Any, worker: str, verdicts: Mapping[str, tuple[int, str | None]]) -> None:
    with contextlib.suppress(Exception):  # a worker gone takes its trials with it
        client.run(_give_verdicts, verdicts, workers=[worker], on_error="ignore")


class _OtherTrials(Sequence[Trial]):
    """The study's trials other than one, as they are when a pruner looks (running ones with their values so far)."""

    def __init__(self, run: Search, number: int) -> None:
        self.run, self.number = run, number

    def _trials(self) -> list[Trial]:
        return [t for t in self.run.trials if t.number != self.number]

    def __len__(self) -> int:
        return len(self._trials())

    def __getitem__(self, index: Any) -> Any:
        return self._trials()[index]

    def __iter__(self) -> Iterator[Trial]:
        return iter(self._trials())


def _same(outcome: Outcome) -> Outcome:
    """The outcome it is given (a held trial whose record is made already)."""
    return outcome


def _echo(result: Mapping[str, Any]) -> None:
    """Print what a trial printed on its worker, as a trial in the kernel would have."""
    if result.get("stdout"):
        sys.stdout.write(result["stdout"])
    if result.get("stderr"):
        sys.stderr.write(result["stderr"])
