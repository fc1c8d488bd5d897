"""The `%%tune` cell magic: a thin adapter from a notebook cell to a Study."""

from __future__ import annotations

import ast
import dataclasses
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, argument_group, magic_arguments, parse_argstring

from .busy import kernel_busy
from .cell import CellObjective, compile_cell
from .comm import current_cell_id, sidebar
from .controller import final_plots, launch_task, show_panel
from .core.errors import ScoreError, StudyError
from .core.options import SEARCH_OPTIONS, Option, OptionError, option_named
from .core.samplers import METHOD, all_method_options
from .core.search import StopReason
from .core.settings import SearchSettings
from .core.space import SpaceError
from .core.storage import default_storage_path
from .core.study import Study
from .core.trial import Trial, TrialState
from .params import hp
from .report import ConsoleReporter, first_failure
from .runner import CellTuner, drive, drive_async, has_running_loop

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


def _argument(option: Option, methods: Sequence[str] = ()) -> Callable[[Any], Any]:
    """The magic's argument for a search option (methods: those that declare it, named in its help)."""
    help = option.help
    if option.default is not None and "default" not in help:
        help += f" (default: {option.default})"
    if methods:
        help = f"{' and '.join(methods)}: {help}"
    if option.choices:
        return argument(option.flag, dest=option.name, choices=list(option.choices), help=help)
    if option.type is bool:
        return argument(option.flag, dest=option.name, action="store_true", help=help)
    return argument(option.flag, dest=option.name, type=option.type, metavar=option.metavar, help=help)


def _method_arguments() -> list[Callable[[Any], Any]]:
    """One argument per option that a method declares (an option of several methods, once)."""
    declaring: dict[str, list[str]] = {}
    options: dict[str, Option] = {}
    for method, declared in all_method_options().items():
        for option in declared:
            declaring.setdefault(option.name, []).append(method)
            options.setdefault(option.name, option)
    return [_argument(option, declaring[name]) for name, option in options.items()]


def _search(name: str) -> Callable[[Any], Any]:
    return _argument(option_named(name))


def tune_arguments() -> list[Callable[[Any], Any]]:
    """The magic's arguments, in the order its help lists them: search options come from their descriptions."""
    return [
        argument_group("search"),
        _argument(METHOD),
        _search("n_trials"),
        _search("timeout"),
        argument("--minimize", action="store_true", help="lower scores are better (default)"),
        argument("--maximize", action="store_true", help="higher scores are better"),
        _search("seed"),
        argument(
            "--score", metavar="NAME", help="take the score from this variable instead of the cell's last expression"
        ),
        argument_group("study"),
        argument(
            "--name",
            default="study",
            metavar="NAME",
            help="variable the study is bound to, and its file name (default: study)",
        ),
        argument(
            "--resume",
            action="store_true",
            help="continue the saved study NAME with more trials instead of starting anew",
        ),
        argument(
            "--storage",
            metavar="PATH",
            help="study file (default: .hptune/NAME.sqlite; 'none' keeps it in memory only)",
        ),
        argument(
            "--background",
            action="store_true",
            help="return at once and search in the background; the panel follows it and NAME is bound when it ends",
        ),
        argument(
            "--no-panel", action="store_true", help="print text progress only, without the control panel and plots"
        ),
        argument_group("workers (Dask)"),
        _search("jobs"),
        argument(
            "--cluster",
            nargs="?",
            const="",
            metavar="ADDRESS",
            help="run the trials on the Dask cluster at ADDRESS (tcp://host:8786); no address: the current Dask client's",
        ),
        _search("sync"),
        argument_group("method options"),
        *_method_arguments(),
        argument(
            "--point",
            action="append",
            default=[],
            metavar='"NAME=VALUE, ..."',
            help="manual: a point to evaluate (repeatable); defaults fill the rest",
        ),
        argument_group("pruning and early stopping (of a cell that reports with hp.report(step, value))"),
        _search("prune"),
        _search("patience"),
        _search("max_steps"),
    ]


def _arguments(arguments: Sequence[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    """Apply magic_arguments decorators as if written one above the other in this order."""

    def decorate(function: Any) -> Any:
        for decorator in reversed(arguments):
            function = decorator(function)
        return function

    return decorate


def flag_of(option: Option) -> str:
    """How the magic names an option: --initial-points."""
    return option.flag


@magics_class
class TuneMagics(Magics):
    """The %%tune magic."""

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self._tuners: dict[str, CellTuner] = {}  # the latest cell of each study name, to refuse a second search

    @magic_arguments(name="%tune")
    @_arguments(tune_arguments())
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
                drive(job.trial_loop)
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
                await drive_async(job.trial_loop)
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
            trial_loop = tuner.begin(settings)
        except (SpaceError, StudyError) as error:
            raise UsageError(str(error)) from None
        if args.background:
            launch_task(tuner, trial_loop, panel, kernel)
            print(f"Searching in the background: `{args.name}` is bound when the search ends.")
            return None
        return _Job(args.name, tuner, panel, trial_loop)

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
        if snapshot.stop_reason is StopReason.INTERRUPTED or isinstance(error, KeyboardInterrupt):
            # Like any interrupted cell, end in KeyboardInterrupt, so Jupyter cancels the cells queued after this one.
            kept = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials)
            raise SearchInterrupted(f"search interrupted; {kept} finished trials are kept in `{job.name}`") from None
        if snapshot.all_failed:
            print(f"\n{first_failure(snapshot)}", file=sys.stderr)
            raise UsageError(f"all {len(snapshot.search_trials)} trials failed; fix the cell and run it again")

    def _prepare(self, args: Any, cell: str) -> tuple[Study, CellObjective, SearchSettings]:
        """Check the options and the cell, and create or resume the study; nothing runs yet."""
        if args.method == "manual" and args.n_trials is not None:
            raise UsageError("--trials does not apply to --method manual: it runs one trial per --point")
        if args.minimize and args.maximize:
            raise UsageError("--minimize and --maximize contradict each other: give one")
        try:
            settings = SearchSettings(
                method=args.method or METHOD.default,
                direction="maximize" if args.maximize else "minimize",
                options={o.name: getattr(args, o.name) for os in all_method_options().values() for o in os},
                **{option.name: getattr(args, option.name) for option in SEARCH_OPTIONS},
            )
        except OptionError as error:
            raise UsageError(error.render(flag_of)) from None
        if not args.name.isidentifier():
            raise UsageError(f"--name must be a valid Python variable name, got {args.name!r}")
        if args.sync and args.jobs is None and args.cluster is None:
            raise UsageError(
                "--sync applies to trials on workers (--jobs or --cluster): in the kernel the trials run one at a "
                "time, and the same --seed already repeats the search; drop --sync or add --jobs"
            )
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
                direction=settings.direction,
                storage=None if str(storage).lower() == "none" else storage,
                resume=args.resume,
                notebook=sidebar().notebook,
            )
            for text in args.point:
                study.enqueue(parse_point(text))
            settings = dataclasses.replace(settings, cluster=_cluster(args.cluster))
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

    def __init__(self, name: str, tuner: CellTuner, panel: Any, trial_loop: Iterator[Trial | None]) -> None:
        self.name = name
        self.tuner = tuner
        self.panel = panel
        self.trial_loop = trial_loop
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
