"""The `%%tune` cell magic: a thin adapter from a notebook cell to a Study."""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Iterator
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, argument_group, magic_arguments, parse_argstring

from .busy import kernel_busy
from .cell import CellObjective, compile_cell
from .comm import current_cell_id, sidebar
from .controller import final_plots, launch_task, show_panel
from .core.errors import ScoreError, StudyError
from .core.pruners import PRUNERS
from .core.samplers import METHOD_OPTIONS, METHODS
from .core.samplers.bayes import ACQUISITION_FUNCTIONS
from .core.space import SpaceError
from .core.storage import default_storage_path
from .core.study import Study
from .core.trial import Trial, TrialState
from .params import hp
from .report import ConsoleReporter, first_failure
from .runner import CellTuner, Settings, drive, drive_async, has_running_loop

__all__ = ["TuneMagics", "load_ipython_extension", "parse_point"]


def parse_point(text: str) -> dict[str, Any]:
    """Parse "lr=0.01, units=64" into {'lr': 0.01, 'units': 64}."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    try:
        call = ast.parse(f"point({text})", mode="eval").body
        assert isinstance(call, ast.Call) and not call.args
        return {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg is not None}
    except (SyntaxError, ValueError, AssertionError):
        raise UsageError(
            f'--point {text!r}: write name=value pairs separated by commas, e.g. --point "lr=0.01, units=64"'
        ) from None


class SearchInterrupted(KeyboardInterrupt):
    """An interrupted search: ends the cell as KeyboardInterrupt does (queued cells are cancelled), shown in one line."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows what this returns instead of a traceback through the package's own frames.
        return [f"KeyboardInterrupt: {self}"]


SearchInterrupted.__name__ = SearchInterrupted.__qualname__ = "KeyboardInterrupt"  # what the notebook names it


@magics_class
class TuneMagics(Magics):
    """The %%tune magic."""

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self._tuners: dict[str, CellTuner] = {}  # the latest cell of each study name, to refuse a second search

    @magic_arguments(name="%tune")
    @argument_group("search")
    @argument("--method", choices=list(METHODS), default="bayes", help="search method (default: bayes)")
    @argument(
        "--trials",
        type=int,
        metavar="N",
        help="number of trials (default: 20; grid: the whole grid; not for manual, which runs one per --point)",
    )
    @argument("--timeout", type=float, metavar="SECONDS", help="start no new trial after this many seconds")
    @argument("--minimize", action="store_true", help="lower scores are better (default)")
    @argument("--maximize", action="store_true", help="higher scores are better")
    @argument("--seed", type=int, metavar="N", help="random seed; the same seed gives the same trials")
    @argument("--score", metavar="NAME", help="take the score from this variable instead of the cell's last expression")
    @argument_group("study")
    @argument(
        "--name",
        default="study",
        metavar="NAME",
        help="variable the study is bound to, and its file name (default: study)",
    )
    @argument(
        "--resume", action="store_true", help="continue the saved study NAME with more trials instead of starting anew"
    )
    @argument(
        "--storage", metavar="PATH", help="study file (default: .hptune/NAME.sqlite; 'none' keeps it in memory only)"
    )
    @argument(
        "--background",
        action="store_true",
        help="return at once and search in the background; the panel follows it and NAME is bound when it ends",
    )
    @argument("--no-panel", action="store_true", help="print text progress only, without the control panel and plots")
    @argument_group("workers (Dask)")
    @argument(
        "--jobs",
        type=int,
        metavar="N",
        help="run up to N trials at once in worker processes on this machine (a local Dask cluster)",
    )
    @argument(
        "--cluster",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="run the trials on the Dask cluster at ADDRESS (tcp://host:8786); no address: the current Dask client's",
    )
    @argument_group("method options")
    @argument("--acq", choices=ACQUISITION_FUNCTIONS, help="bayes: acquisition function (default: EI)")
    @argument(
        "--initial-points",
        type=int,
        metavar="N",
        help="bayes: trials spread by a Sobol sequence before the model takes over (default: trials/4, at most 5)",
    )
    @argument("--grid-points", type=int, metavar="N", help="grid: points per real range (default: 5)")
    @argument(
        "--point",
        action="append",
        default=[],
        metavar='"NAME=VALUE, ..."',
        help="manual: a point to evaluate (repeatable); defaults fill the rest",
    )
    @argument_group("pruning and early stopping (of a cell that reports with hp.report(step, value))")
    @argument(
        "--prune",
        choices=list(PRUNERS),
        default="none",
        help="stop unpromising trials early: the median rule, successive halving or Hyperband (default: none)",
    )
    @argument(
        "--patience",
        type=int,
        metavar="N",
        help="stop a trial when its reported value has not improved for N steps; its score is the best step's",
    )
    @argument(
        "--max-steps",
        type=int,
        metavar="N",
        help="the steps (e.g. epochs) a trial runs at most; hp.should_stop() is True from step N (hyperband needs it)",
    )
    @cell_magic
    def tune(self, line: str, cell: str) -> None:
        """Tune the hyperparameters a cell declares; the cell's last expression is the score.

        Declare each hyperparameter by assigning an hp call to a name:

            %%tune --method bayes --trials 30 --maximize
            lr = hp.real(1e-4, 1e-1, log=True)
            units = hp.int(16, 256, log=True)
            activation = hp.choice(["relu", "tanh", "logistic"])
            clf = MLPClassifier(hidden_layer_sizes=(units,), activation=activation,
                                learning_rate_init=lr, max_iter=50, random_state=0)
            cross_val_score(clf, X, y, cv=3).mean()

        A cell that trains epoch by epoch reports its validation score with hp.report(epoch, score) and ends its
        loop when hp.should_stop() is True; --prune, --patience and --max-steps then stop trials early:

            %%tune --trials 30 --maximize --prune hyperband --max-steps 30 --patience 5
            lr = hp.real(1e-4, 1e-1, log=True)
            for epoch in range(1, 31):
                score = train_one_epoch_and_validate(lr)
                hp.report(epoch, score)
                if hp.should_stop():
                    break
            score

        Each trial runs the cell in its own copy of the notebook's namespace. Afterwards the study is bound
        to NAME (default `study`) and each hyperparameter name to its best value. Without %%tune, the same
        cell runs once with every hp call returning its default.
        """
        with kernel_busy(getattr(self.shell, "kernel", None)):  # no "idle" status while the search runs
            job = self._start(line, cell)
            if job is None:
                return
            try:
                drive(job.steps)
            except BaseException as error:
                job.failed(error)
            self._end(job)

    async def tune_async(self, line: str, cell: str) -> None:
        """%%tune as an async cell: widget clicks (Stop) are handled between trials while the search runs."""
        with kernel_busy(getattr(self.shell, "kernel", None)):  # no "idle" status while the search runs
            job = self._start(line, cell)
            if job is None:
                return
            try:
                await drive_async(job.steps)
            except BaseException as error:
                job.failed(error)
            self._end(job)

    def _start(self, line: str, cell: str) -> _Job | None:
        """Check the cell, create the study, show the panel and begin the search; None when it runs in the background."""
        args = parse_argstring(self.tune, line)
        kernel = getattr(self.shell, "kernel", None)
        if args.background and not (kernel is not None and has_running_loop()):
            raise UsageError("--background needs a Jupyter kernel (it runs the search as a task of the kernel)")
        running = self._tuners.get(args.name)
        if running is not None and running.running:
            raise UsageError(
                f"a search of study {args.name!r} is still running (in the background or from its panel): "
                "press its Stop button, or give this search another --name"
            )
        study, objective, settings = self._prepare(args, cell)
        if args.resume and not study.resumed:
            print(f"No saved study {args.name!r} to resume; starting a new one")
        if study.replaces is not None and study.storage is not None:
            print(
                f"New study {args.name!r}: the saved one ({study.replaces} trials) is kept in "
                f"{study.storage.backup_path()}; use --resume to add trials to a saved study instead"
            )
        tuner = CellTuner(objective, study, bind=lambda found: self._bind(args.name, found))
        self._tuners[args.name] = tuner
        panel = None
        if kernel is not None and not args.no_panel:
            panel = show_panel(args.name, objective.space, settings, tuner, kernel)
        if kernel is not None:
            sidebar().track(args.name, tuner, cell_id=current_cell_id(self.shell), panel=panel)
        tuner.observe(ConsoleReporter())
        try:
            steps = tuner.begin(settings)
        except (SpaceError, StudyError) as error:
            raise UsageError(str(error)) from None
        if args.background:
            launch_task(tuner, steps, panel, kernel)
            print(f"Searching in the background: `{args.name}` is bound when the search ends.")
            return None
        return _Job(args.name, tuner, panel, steps)

    def _end(self, job: _Job) -> None:
        """After a foreground search: bind the results, show the final plots, and report how it ended."""
        tuner, study = job.tuner, job.tuner.study
        tuner.end()
        if job.panel is not None:
            final_plots(tuner, job.panel)
        error = job.error
        if isinstance(error, SpaceError | StudyError):  # the method's plan or the workers refused before any trial
            raise UsageError(str(error)) from None
        if isinstance(error, ScoreError):
            raise UsageError(f"{error}. The cell's last expression (or --score variable) must be the score")
        if error is not None and not isinstance(error, KeyboardInterrupt):
            raise error
        snapshot = study.snapshot()
        if snapshot.stop_reason == "interrupted" or isinstance(error, KeyboardInterrupt):
            # Like any interrupted cell, end in KeyboardInterrupt, so Jupyter cancels the cells queued after this one.
            kept = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials)
            raise SearchInterrupted(f"search interrupted; {kept} finished trials are kept in `{job.name}`") from None
        if snapshot.all_failed:
            print(f"\n{first_failure(snapshot)}", file=sys.stderr)
            raise UsageError(f"all {len(snapshot.search_trials)} trials failed; fix the cell and run it again")

    def _prepare(self, args: Any, cell: str) -> tuple[Study, CellObjective, Settings]:
        """Check the options and the cell, and create or resume the study; nothing runs yet."""
        for option in ("trials", "initial_points", "grid_points", "patience", "max_steps", "jobs"):
            value = getattr(args, option)
            if value is not None and value < 1:
                raise UsageError(f"--{option.replace('_', '-')} must be a positive integer, got {value}")
        if args.timeout is not None and not args.timeout > 0:
            raise UsageError(f"--timeout must be a positive number of seconds, got {args.timeout}")
        for method, allowed in METHOD_OPTIONS.items():
            for option in allowed:
                if getattr(args, option) is not None and args.method != method:
                    raise UsageError(f"--{option.replace('_', '-')} applies to --method {method}, not {args.method}")
        if args.prune == "hyperband" and args.max_steps is None:
            raise UsageError("--prune hyperband needs --max-steps N: the steps (e.g. epochs) a trial runs to its end")
        stopping = [f"--{o.replace('_', '-')}" for o in ("patience", "max_steps") if getattr(args, o) is not None]
        stopping = ([f"--prune {args.prune}"] if args.prune != "none" else []) + stopping
        if stopping and (args.jobs is not None or args.cluster is not None):
            raise UsageError(
                f"{' and '.join(stopping)} cannot be used with --jobs or --cluster yet: trials on workers do not "
                "report their steps to the kernel; drop one or the other"
            )
        if args.method == "manual" and args.trials is not None:
            raise UsageError("--trials does not apply to --method manual: it runs one trial per --point")
        if args.minimize and args.maximize:
            raise UsageError("--minimize and --maximize contradict each other: give one")
        if not args.name.isidentifier():
            raise UsageError(f"--name must be a valid Python variable name, got {args.name!r}")
        if not cell.strip():
            raise UsageError(
                "the cell is empty: declare hyperparameters with hp.real/hp.int/hp.choice and end with the score"
            )
        try:
            objective = compile_cell(self.shell, cell, args.score)
            if args.name in objective.space:
                raise UsageError(f"--name {args.name} is also a hyperparameter's name: give the study another name")
        except SpaceError as error:
            raise UsageError(str(error)) from None
        except SyntaxError as error:
            raise UsageError(f"the cell has a syntax error on line {error.lineno}: {error.msg}") from None
        storage = args.storage or default_storage_path(args.name)
        try:
            study = Study(
                objective.space,
                name=args.name,
                direction="maximize" if args.maximize else "minimize",
                storage=None if str(storage).lower() == "none" else storage,
                resume=args.resume,
                notebook=sidebar().notebook,
            )
            for text in args.point:
                study.enqueue(parse_point(text))
            options = {option: getattr(args, option) for option in METHOD_OPTIONS[args.method]}
            settings = Settings(
                method=args.method,
                n_trials=args.trials,
                direction=study.direction,
                seed=args.seed,
                options=options,
                timeout=args.timeout,
                prune=args.prune,
                patience=args.patience,
                max_steps=args.max_steps,
                jobs=args.jobs,
                cluster=_cluster(args.cluster),
            )
            settings.sampler()  # checks the seed and the method's options now, before anything is shown
        except (SpaceError, StudyError) as error:
            raise UsageError(str(error)) from None
        return study, objective, settings

    def _bind(self, name: str, study: Study) -> None:
        """Bind the study to its name and each hyperparameter to its best value."""
        assert self.shell is not None, "a magic runs in a shell"
        self.shell.user_ns[name] = study
        try:
            self.shell.user_ns.update(study.best_params)
        except ValueError:
            pass


class _Job:
    """A foreground search of a %%tune cell: its tuner, panel and display, and the error it ended with."""

    def __init__(self, name: str, tuner: CellTuner, panel: Any, steps: Iterator[Trial | None]) -> None:
        self.name = name
        self.tuner = tuner
        self.panel = panel
        self.steps = steps
        self.error: BaseException | None = None

    def failed(self, error: BaseException) -> None:
        """Keep the error the search ended with, to report once the results are bound."""
        self.error = error


def _cluster(address: str | None) -> Any:
    """What --cluster names: None without the option, the current Dask client without an address, else the address."""
    if address is None:
        return None
    if address.strip():
        return address.strip()
    from .core.parallel import current_client

    return current_client()


_MAGIC_LINE = "%%tune"


def async_tune_cells(lines: list[str]) -> list[str]:
    """Input transformer: run a %%tune cell as an async cell, so widget clicks reach the kernel during the search."""
    if not lines or not lines[0].startswith(_MAGIC_LINE):
        return lines
    rest = lines[0][len(_MAGIC_LINE) :]
    if rest.strip() and not rest[0].isspace():  # e.g. %%tune? asks for help: leave it to IPython
        return lines
    shell = _shell()
    if shell is None or not shell.autoawait or not _asyncio_loop_runner(shell):
        return lines
    line, cell = rest.strip(), "".join(lines[1:])
    # Expand $name and {expression} in the options at run time, in the notebook's namespace, as IPython does for
    # every magic it runs itself (run_cell_magic), so `%%tune --trials {N}` works in a kernel too.
    return [
        "await get_ipython().magics_manager.registry['TuneMagics']"
        f".tune_async(get_ipython().var_expand({line!r}), {cell!r})\n"
    ]


def _shell() -> Any:
    from IPython import get_ipython

    return get_ipython()


def _asyncio_loop_runner(shell: Any) -> bool:
    from IPython.core.interactiveshell import _asyncio_runner

    return shell.loop_runner is _asyncio_runner


def load_ipython_extension(ipython: Any) -> None:
    """Register %%tune, run its cells as async cells, and put `hp` in the namespace."""
    ipython.register_magics(TuneMagics)
    ipython.user_ns["hp"] = hp
    if getattr(ipython, "kernel", None) is not None:
        sidebar().install(os.getcwd())
    cleanup = ipython.input_transformers_cleanup
    cleanup[:] = [t for t in cleanup if getattr(t, "__name__", None) != async_tune_cells.__name__]
    cleanup.append(async_tune_cells)
